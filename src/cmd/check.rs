//! `herald check`: is this installation ready, and will it still work later? The
//! configuration, every account's secret (present, readable, not readable by others — never
//! printed), the state database (opens, read-only, with a schema this herald knows), the card
//! image (loads and fits), the state and feed directories, and the archive, with every
//! malformed article and every duplicate named. `--online` also logs in to every account and
//! reads each Mastodon instance. Exit 1 when anything is wrong; warnings do not fail.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::announce::Account;
use crate::archive;
use crate::cli::CheckArgs;
use crate::daemon::Settings;
use crate::secret::SecretSource;

/// Runs `herald check`, writing to `out`.
pub fn run(config_path: &Path, args: &CheckArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = match crate::config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            writeln!(out, "problem: {}", crate::report::describe_any(&e))?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut problems = 0;
    let mut report = |ok: bool, what: String, out: &mut dyn Write| -> std::io::Result<()> {
        if !ok {
            problems += 1;
        }
        writeln!(out, "{} {what}", if ok { "ok:     " } else { "problem:" })
    };
    report(true, format!("config {}", config_path.display()), out)?;

    for account in &config.accounts {
        let (name, source) = match account {
            Account::Bluesky { name, password, .. } => (name, Some(password)),
            Account::Mastodon { name, token, .. } => (name, Some(token)),
            Account::DryRun { name, .. } => (name, None),
        };
        match source.map(|s| (s, s.read())) {
            None => report(true, format!("account {name}: dry run"), out)?,
            Some((source, Ok(_))) => {
                report(true, format!("account {name} ({}): secret readable", account.kind()), out)?;
                if let SecretSource::File(path) = source
                    && let Some(mode) = loose_mode(path)
                {
                    let what = format!(
                        "account {name}: secret file {} is readable by {} (mode {mode:o}); `chmod 600` it",
                        path.display(),
                        if mode & 0o004 != 0 { "everyone" } else { "its group" }
                    );
                    if mode & 0o004 != 0 {
                        report(false, what, out)?;
                    } else {
                        writeln!(out, "warning: {what}")?;
                    }
                }
            }
            Some((source, Err(e))) => {
                let mut what = format!("account {name}: {}", crate::report::describe_any(&e));
                if let SecretSource::File(path) = source
                    && path.starts_with("/run/credentials")
                    && std::env::var_os("CREDENTIALS_DIRECTORY").is_none()
                {
                    let file = path.file_name().unwrap_or_default().to_string_lossy();
                    what.push_str(&format!(
                        ". That path exists only inside the running service (systemd's LoadCredential=); \
                         check as the service does: `sudo systemd-run --pipe --wait --property=LoadCredential={file}:/etc/herald/credentials/{file} herald --config {} check`",
                        config_path.display()
                    ));
                }
                report(false, what, out)?
            }
        }
    }

    // The state database: opens read-only, with a schema this herald knows.
    if config.state_path.exists() {
        match crate::state::Db::open_read_only(&config.state_path) {
            Ok(version) => report(
                true,
                format!("state {} (schema {version})", config.state_path.display()),
                out,
            )?,
            Err(e) => report(false, crate::report::describe(&e), out)?,
        }
    } else {
        report(
            true,
            format!(
                "state {}: none yet (the first run records a baseline)",
                config.state_path.display()
            ),
            out,
        )?;
    }

    // The card image: every Bluesky post carries it, so it must load and fit.
    if let Some(path) = &config.announce.bluesky.card_image {
        match crate::announce::thumb::prepare_thumbnail(path) {
            Ok(t) => report(
                true,
                format!(
                    "card image {}: {}×{}, {} bytes as sent",
                    path.display(),
                    t.dimensions.0,
                    t.dimensions.1,
                    t.bytes.len()
                ),
                out,
            )?,
            Err(e) => report(false, crate::report::describe(&e), out)?,
        }
    }

    for (what, dir) in [
        ("state directory", config.state_path.parent().unwrap_or(Path::new("."))),
        ("feed output", config.feeds.files.output.as_path()),
    ] {
        let ok = writable(dir);
        report(
            ok,
            format!(
                "{what} {}{}",
                dir.display(),
                if ok { " is writable" } else { " is not writable" }
            ),
            out,
        )?;
    }

    match archive::scan(&config.archive_dir, &config.parse) {
        Ok(scan) => {
            for e in &scan.errors {
                report(false, e.to_string(), out)?;
            }
            let urls: Vec<String> = scan
                .articles
                .iter()
                .map(|a| crate::feeds::Entry::new(a, &config.feeds).url)
                .collect();
            let duplicates = archive::duplicates::find_duplicates(
                scan.articles
                    .iter()
                    .zip(&urls)
                    .map(|(a, url)| (url.as_str(), a.number, a.source.as_path())),
            );
            for dup in &duplicates {
                report(false, dup.to_string(), out)?;
            }
            // The newest issue, as the service would judge it now: not a problem of the
            // installation, but what an editor wants to know before publishing.
            if let Some(newest) = scan.articles.iter().max_by_key(|a| a.date) {
                let highlights = crate::announce::highlights::extract_highlights(&newest.body());
                let guard = crate::announce::inspect(newest, &highlights, &config.announce.guard);
                let name = newest.source.display();
                for f in &guard.findings {
                    let effect = match f.effect {
                        crate::announce::Effect::Hold => "held until fixed",
                        crate::announce::Effect::Delay => "delays the announcement",
                    };
                    writeln!(out, "note:    newest issue {name}: {f} ({effect})")?;
                }
            }
            let ok = !scan.articles.is_empty();
            report(
                ok,
                format!(
                    "archive {}: {} articles, {} malformed",
                    config.archive_dir.display(),
                    scan.articles.len(),
                    scan.errors.len()
                ),
                out,
            )?;
        }
        Err(e) => report(false, e.to_string(), out)?,
    }
    if args.online {
        for (ok, what) in online(&config) {
            report(ok, what, out)?;
        }
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `--online`: logs in to every account (a stored session made for it is reused) and reads
/// each Mastodon instance's limits. Nothing is posted.
fn online(config: &Settings) -> Vec<(bool, String)> {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return vec![(false, format!("online checks: {e}"))],
    };
    let db = match crate::state::Db::open(&config.state_path) {
        Ok(db) => std::sync::Arc::new(std::sync::Mutex::new(db)),
        Err(e) => return vec![(false, crate::report::describe(&e))],
    };
    let mut results = Vec::new();
    for account in &config.accounts {
        let name = account.name();
        let sender =
            match crate::announce::Outlet::new(account, &db, config.announce.request_timeout) {
                Ok(outlet) => outlet.sender,
                Err(e) => {
                    results.push((
                        false,
                        format!("account {name}: {}", crate::report::describe_any(&e)),
                    ));
                    continue;
                }
            };
        let result = runtime.block_on(async {
            use crate::announce::sender::Sender;
            match &sender {
                Sender::DryRun(_) => Ok("dry run, nothing to log in to".to_string()),
                Sender::Bluesky(client) => client
                    .check_session()
                    .await
                    .map(|(handle, did)| format!("logged in as {handle} ({did})")),
                Sender::Mastodon(client) => {
                    let id = client.verify().await?;
                    let limits = client.limits(config.announce.mastodon.limits).await;
                    Ok(format!(
                        "token accepted (account id {id}); statuses up to {} characters",
                        limits.max_graphemes
                    ))
                }
            }
        });
        results.push(match result {
            Ok(what) => (true, format!("account {name} online: {what}")),
            Err(e) => (false, format!("account {name} online: {e}")),
        });
    }
    results
}

/// The mode of a file readable by its group or others (a secret should be neither).
fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether herald can create files in `dir` (or create `dir`): tried with a probe file.
fn writable(dir: &Path) -> bool {
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(Path::new("."));
    tempfile::Builder::new().prefix(".herald-check").tempfile_in(existing).is_ok()
}
