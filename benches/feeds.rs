//! Regenerates the TWiR feeds from the full archive (`../shared/twir/content`) and prints the
//! median wall time and the peak memory, for the 4-item feeds and for all-items feeds.
//!
//! `cargo bench --bench feeds` (release build). Each run does what `herald feeds` does: read
//! and parse every article, render it, build every feed and write them (atomically, skipping
//! unchanged files) into a temporary directory: first as `herald feeds` processes (cold:
//! start, configuration, everything; with no cache, then with the last run's), with their
//! peak memory, then in this process (warm, no cache).

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::ms;

use herald::archive::{self, ParseSettings};
use herald::feeds::{self, FeedSettings, MaxItems};

const RUNS: usize = 15;

fn main() {
    let archive = std::env::var_os("HERALD_BENCH_ARCHIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/twir/content"));
    let out = tempfile::tempdir().expect("temp dir");
    let parse = ParseSettings::default();
    println!("archive: {} ({} runs each)", archive.display(), RUNS);
    // The whole process, as an operator or a timer runs it; first, while this process is
    // small (a child's peak RSS counts the parent's until it execs).
    let dir = tempfile::tempdir().expect("temp dir");
    for (label, args) in
        [("4-item feeds", &[][..]), ("all-items feeds", &["--max-items", "all"][..])]
    {
        for (cache, which) in [(false, "no cache"), (true, "the last run's cache")] {
            let (median, peak) = common::feeds(dir.path(), &archive, args, RUNS, cache);
            println!(
                "{label}, cold `herald feeds` process, {which}: median {:.1} ms; peak RSS {:.1} MiB",
                ms(median),
                peak as f64 / 1024.0
            );
        }
    }
    for (label, max_items) in
        [("4-item feeds", MaxItems::Count(4)), ("all-items feeds", MaxItems::All)]
    {
        let mut settings = FeedSettings::default();
        settings.files.max_items = max_items;
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        let mut articles = 0;
        let mut files_count = 0;
        for run in 0..RUNS {
            // Alternate between two output dirs' states: even runs write, odd runs find the
            // files unchanged, as a daemon mostly does.
            settings.files.output = out.path().join(format!("{label}-{}", run % 2));
            let start = Instant::now();
            let scan = archive::scan(&archive, &parse).expect("scan");
            let files = feeds::update(
                &scan.articles,
                &settings,
                &mut feeds::Renderings::one_off(None, None),
            )
            .expect("write");
            times.push(start.elapsed());
            bytes = files
                .iter()
                .map(|(path, _)| settings.files.output.join(path).metadata().map_or(0, |m| m.len()))
                .sum::<u64>();
            articles = scan.articles.len();
            files_count = files.len();
        }
        times.sort();
        let median = times[RUNS / 2];
        println!(
            "{label}: median {:.1} ms (min {:.1}, max {:.1}); {articles} articles, {} files, {:.1} MB of feeds; peak RSS so far {:.1} MiB",
            ms(median),
            ms(times[0]),
            ms(times[RUNS - 1]),
            files_count,
            bytes as f64 / 1e6,
            peak_rss_kib() as f64 / 1024.0
        );
    }
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
