//! `herald check`: is this installation ready? The configuration, every account's secret
//! (present and readable — never printed), the state and feed directories, and the archive,
//! with every malformed article named. Exit 1 when anything is wrong.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::archive;
use crate::config::{Account, Config};

/// Runs `herald check`, writing to `out`.
pub fn run(config_path: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = match Config::from_file(config_path) {
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
        match source.map(|s| s.read()) {
            None => report(true, format!("account {name}: dry run"), out)?,
            Some(Ok(_)) => {
                report(true, format!("account {name} ({}): secret readable", account.kind()), out)?
            }
            Some(Err(e)) => {
                report(false, format!("account {name}: {}", crate::report::describe_any(&e)), out)?
            }
        }
    }

    for (what, dir) in [
        ("state directory", config.state_path.parent().unwrap_or(Path::new("."))),
        ("feed output", config.feeds_dir.as_path()),
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
                let highlights = crate::render::highlights::extract_highlights(&newest.body());
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
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Whether herald can create files in `dir` (or create `dir`): tried with a probe file.
fn writable(dir: &Path) -> bool {
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(Path::new("."));
    tempfile::Builder::new().prefix(".herald-check").tempfile_in(existing).is_ok()
}
