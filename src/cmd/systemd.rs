//! `herald systemd-dropin`: the drop-in that makes the packaged unit fit this configuration.
//!
//! The unit in the package loads no credential and opens no path of its own beyond the state
//! directory, so that a Bluesky-only site does not fail on a missing Mastodon token
//! (243/CREDENTIALS) and a missing web root does not fail the namespace (226/NAMESPACE). This
//! drop-in adds, from the configuration:
//!
//! - `LoadCredential=NAME:/etc/herald/credentials/NAME` for each account whose secret file is
//!   `/run/credentials/herald.service/NAME` (systemd 252, as in Debian 12, has no
//!   `ImportCredential=`);
//! - `ReadWritePaths=` for the feed output directory and the state database's directory;
//! - read access to the archive (`ReadOnlyPaths=`), and `ProtectHome=read-only` when the
//!   archive or the output lies under /home (the unit's `ProtectHome=yes` would hide it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::announce::Account;
use crate::daemon::Settings;
use crate::secret::SecretSource;

/// Where systemd hands the service its credentials.
pub const CREDENTIALS_DIR: &str = "/run/credentials/herald.service";
/// Where the package keeps the credentials' sources.
pub const CREDENTIAL_SOURCES: &str = "/etc/herald/credentials";

/// Runs `herald systemd-dropin`.
pub fn run(config_path: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(config_path)?;
    out.write_all(dropin(&config, config_path).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// The drop-in's text for `config` (read from `config_path`).
pub fn dropin(config: &Settings, config_path: &Path) -> String {
    let mut text = format!(
        "# Written by `herald systemd-dropin` from {}; run it again after changing accounts or paths.\n\
         # Install: /etc/systemd/system/herald.service.d/config.conf, then `systemctl daemon-reload`.\n\
         [Service]\n",
        absolute(config_path).display()
    );
    for account in &config.accounts {
        let source = match account {
            Account::Bluesky { password, .. } => password,
            Account::Mastodon { token, .. } => token,
            Account::DryRun { .. } => continue,
        };
        match source {
            SecretSource::File(path) if path.starts_with(CREDENTIALS_DIR) => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                text.push_str(&format!(
                    "# account {}\nLoadCredential={name}:{CREDENTIAL_SOURCES}/{name}\n",
                    account.name()
                ));
            }
            SecretSource::File(path) => text.push_str(&format!(
                "# account {}: its secret file {} is read directly (not a systemd credential)\n",
                account.name(),
                path.display()
            )),
            SecretSource::Env(var) => text.push_str(&format!(
                "# account {}: its secret comes from ${var}; set it with Environment= or EnvironmentFile=\n",
                account.name()
            )),
        }
    }
    let feeds = absolute(&config.feeds.files.output);
    let state = absolute(config.state_path.parent().unwrap_or(Path::new(".")));
    let archive = absolute(&config.archive_dir);
    // `-`: a path that does not exist yet does not fail the unit; `herald check` says so.
    text.push_str(&format!("ReadWritePaths=-{}\n", feeds.display()));
    if !state.starts_with("/var/lib/herald") {
        text.push_str(&format!("ReadWritePaths=-{}\n", state.display()));
    }
    text.push_str(&format!("ReadOnlyPaths=-{}\n", archive.display()));
    if [&feeds, &state, &archive].iter().any(|p| p.starts_with("/home") || p.starts_with("/root")) {
        text.push_str("ProtectHome=read-only\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_only_for_configured_accounts_and_the_paths_of_the_config() {
        let text = "[archive]\npath = \"/home/editor/twir/content\"\n[feeds]\noutput = \"/srv/www/twir\"\n\
                    [state]\npath = \"/var/lib/herald/herald.db\"\n\
                    [[bluesky]]\nidentifier = \"twir.bsky.social\"\npassword_file = \"/run/credentials/herald.service/bluesky-password\"\n";
        let config = crate::config::parse(text, Path::new("/etc/herald")).unwrap();
        let dropin = dropin(&config, Path::new("/etc/herald/herald.toml"));
        assert!(dropin.contains(
            "LoadCredential=bluesky-password:/etc/herald/credentials/bluesky-password\n"
        ));
        assert!(!dropin.contains("mastodon-token"), "{dropin}");
        assert!(dropin.contains("ReadWritePaths=-/srv/www/twir\n"), "{dropin}");
        assert!(dropin.contains("ReadOnlyPaths=-/home/editor/twir/content\n"), "{dropin}");
        assert!(dropin.contains("ProtectHome=read-only\n"), "{dropin}");
        assert!(!dropin.contains("ReadWritePaths=-/var/lib/herald"), "the unit's StateDirectory");
    }
}
