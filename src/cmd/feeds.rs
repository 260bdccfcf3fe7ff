//! `herald feeds`: scan the archive, build every feed, write the ones that changed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::archive;
use crate::cli::FeedsArgs;
use crate::feeds::{self, cache::FeedCache, write::WriteOutcome};

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
    // Without --strict, the beginnings of files and the renderings an earlier run made are
    // taken from the cache beside the state (see `feeds::cache`), when it can be used.
    let cache = (!args.strict).then(|| FeedCache::open(&config.state_path)).flatten();
    let (scan, fresh, fresh_count) = if args.strict {
        let scan = archive::scan(&config.archive_dir, &config.parse)?;
        let read = scan.articles.len() + scan.errors.len() + scan.unpublished.len();
        (scan, Default::default(), read)
    } else {
        let known = cache.as_ref().map(FeedCache::heads);
        let heads = archive::heads::scan_heads_with(
            &config.archive_dir,
            &config.parse,
            known.unwrap_or(&Default::default()),
        )?;
        let mut scan = heads.scan;
        // In full: the articles the feeds hold whose content hash the cache does not know
        // (with it, their renderings are looked for in the cache, and a body read only for
        // one not there).
        archive::heads::read_bodies(&mut scan, &config.parse, |articles| {
            let mut needed = feeds::articles_in_feeds(articles, &config.feeds);
            needed.retain(|&i| articles[i].hash_taken().is_none());
            needed
        });
        (scan, heads.fresh, heads.read)
    };
    for e in &scan.errors {
        eprintln!("{e}");
    }
    for e in &scan.unpublished {
        eprintln!("note: {e}");
    }
    if scan.articles.is_empty() {
        let (errors, unpublished) = (scan.errors.len(), scan.unpublished.len());
        anyhow::bail!(archive::nothing_published(&config.archive_dir, errors, unpublished));
    }
    if args.strict && !scan.errors.is_empty() {
        anyhow::bail!(
            "{} article(s) could not be read (--strict); feeds left as they were",
            scan.errors.len()
        );
    }
    let parse = config.parse.clone();
    let reread: feeds::rendered::Reread = Box::new(move |a| archive::scan::read_body(a, &parse));
    let store = cache.as_ref().map(FeedCache::renderings);
    let mut renderings = feeds::Renderings::one_off(store, Some(reread));
    let results = feeds::update(&scan.articles, &config.feeds, &mut renderings);
    let rendered = renderings.rendered_last();
    drop(renderings);
    if let Some(cache) = cache {
        let present: Vec<&Path> = scan
            .articles
            .iter()
            .map(|a| a.source.as_path())
            .chain(scan.errors.iter().chain(&scan.unpublished).map(|e| e.path.as_path()))
            .collect();
        let heads = heads_to_keep(&cache, fresh, &scan.articles);
        cache.finish(&heads, &present);
    }
    let results = results.context(
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
        "{} articles ({} skipped), {} feeds: {} written, {} unchanged, in {} ms; {} headers read, {} articles rendered",
        scan.articles.len(),
        scan.errors.len(),
        results.len(),
        written,
        results.len() - written,
        started.elapsed().as_millis(),
        fresh_count,
        rendered,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The beginnings of files to keep in the cache: those read now, and each with the content
/// hash this run learned of its article, if the file is still as its stamp was when its
/// beginning was read (so the hash is of that file).
fn heads_to_keep(
    cache: &FeedCache,
    mut fresh: archive::heads::KnownHeads,
    articles: &[archive::Article],
) -> archive::heads::KnownHeads {
    for article in articles {
        let Some(hash) = article.hash_taken() else { continue };
        let path = &article.source;
        let head = match fresh.get_mut(path) {
            Some(head) => head,
            None => match cache.heads().get(path) {
                Some(known) if known.hash != Some(hash) => {
                    fresh.entry(path.clone()).or_insert_with(|| known.clone())
                }
                _ => continue,
            },
        };
        let stamp = archive::scan::Stamp::of_path(path).map(|s| s.key());
        if stamp.as_ref() == Some(&head.stamp) {
            head.hash = Some(hash);
        } else {
            head.hash = None;
        }
    }
    fresh
}
