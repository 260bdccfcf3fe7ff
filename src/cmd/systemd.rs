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

/// Where the drop-in goes.
pub const DROPIN_PATH: &str = "/etc/systemd/system/herald.service.d/config.conf";

/// Runs `herald systemd-dropin`: prints the drop-in, or with `install` writes it.
pub fn run(config_path: &Path, install: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(config_path)?;
    let text = dropin(&config, config_path);
    if !install {
        out.write_all(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    // The unit reads the installed configuration: a drop-in made from another one would load
    // the wrong credentials and open the wrong paths.
    let installed = Path::new(crate::config::INSTALLED_CONFIG);
    if absolute(config_path) != installed {
        anyhow::bail!(
            "the drop-in is made from {} but herald.service reads {}; run `herald --config {} \
             systemd-dropin --install`, or print this one (without --install) and install it \
             yourself",
            absolute(config_path).display(),
            installed.display(),
            installed.display()
        );
    }
    write_atomically(Path::new(DROPIN_PATH), text.as_bytes())?;
    writeln!(out, "wrote {DROPIN_PATH}; now run `systemctl daemon-reload`")?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` through a temporary file in its directory (made if missing),
/// synced and renamed over it: systemd never reads half a drop-in.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write {} (run it as root)", path.display()))
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
    let mut secrets: Vec<(String, &SecretSource)> = Vec::new();
    for account in &config.accounts {
        let source = match account {
            Account::Bluesky { password, .. } => password,
            Account::Mastodon { token, .. } => token,
            Account::DryRun { .. } => continue,
        };
        secrets.push((format!("account {}", account.name()), source));
    }
    for channel in &config.notify {
        for (what, source) in channel.secrets() {
            secrets.push((format!("notify {}: {what}", channel.name), source));
        }
    }
    for (owner, source) in secrets {
        match source {
            SecretSource::File(path) if path.starts_with(CREDENTIALS_DIR) => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                text.push_str(&format!(
                    "# {owner}\nLoadCredential={name}:{CREDENTIAL_SOURCES}/{name}\n"
                ));
            }
            SecretSource::File(path) => text.push_str(&format!(
                "# {owner}: its secret file {} is read directly (not a systemd credential)\n",
                path.display()
            )),
            SecretSource::Env(var) => text.push_str(&format!(
                "# {owner}: its secret comes from ${var}; set it with Environment= or EnvironmentFile=\n"
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
