//! `herald feeds`: scan the archive, build every feed, write the ones that changed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::archive;
use crate::cli::FeedsArgs;
use crate::feeds::{self, write::WriteOutcome};

/// Runs `herald feeds`, printing one line per feed file and a summary to `out`; problems with
/// articles go to stderr as `path:line: what is wrong`.
pub fn run(config_path: &Path, args: &FeedsArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut config = crate::config::load(config_path)?;
    if let Some(dir) = &args.archive {
        config.archive_dir = dir.clone();
    }
    if let Some(dir) = &args.output {
        config.feeds.files.output = dir.clone();
    }
    if let Some(n) = args.max_items {
        config.feeds.files.max_items = n;
    }

    let started = Instant::now();
    // Only the articles the feeds hold are read past their header; --strict, which fails on
    // any article that cannot be read, reads every file in full.
    let scan = if args.strict {
        archive::scan(&config.archive_dir, &config.parse)?
    } else {
        let mut scan = archive::heads::scan_heads(&config.archive_dir, &config.parse)?;
        archive::heads::read_bodies(&mut scan, &config.parse, |articles| {
            feeds::articles_in_feeds(articles, &config.feeds)
        });
        scan
    };
    for e in &scan.errors {
        eprintln!("{e}");
    }
    if scan.articles.is_empty() {
        anyhow::bail!(
            "no article could be read from {} ({} skipped); feeds left as they were",
            config.archive_dir.display(),
            scan.errors.len()
        );
    }
    if args.strict && !scan.errors.is_empty() {
        anyhow::bail!(
            "{} article(s) could not be read (--strict); feeds left as they were",
            scan.errors.len()
        );
    }
    let results = feeds::update(&scan.articles, &config.feeds, &mut feeds::Renderings::one_off())
        .context(
        "feeds not fully written; the files not yet replaced keep their last good state",
    )?;
    let mut written = 0;
    for (path, outcome) in &results {
        let word = match outcome {
            WriteOutcome::Written => {
                written += 1;
                "written  "
            }
            WriteOutcome::Unchanged => "unchanged",
        };
        writeln!(out, "{word} {}", config.feeds.files.output.join(path).display())?;
    }
    writeln!(
        out,
        "{} articles ({} skipped), {} feeds: {} written, {} unchanged, in {} ms",
        scan.articles.len(),
        scan.errors.len(),
        results.len(),
        written,
        results.len() - written,
        started.elapsed().as_millis()
    )?;
    Ok(ExitCode::SUCCESS)
}
