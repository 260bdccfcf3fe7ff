//! `cargo run --release -p herald-fuzz`: mutation fuzzing on stable Rust (cargo-fuzz needs
//! nightly), seeded from the real archive (`../shared/twir/content`, else the fixtures). Each target takes
//! inputs made from the seeds — bytes flipped, markup characters inserted, slices repeated,
//! seeds spliced, cut short — and must neither panic nor take long. Targets: the header parser,
//! the Markdown and reStructuredText renderers, the configuration, and post fitting (every
//! composed post within its platform's limit).
//!
//! `FUZZ_SECS` (default 600) is each target's time; `FUZZ_TARGETS` (comma-separated) picks
//! targets. Prints executions, panics and the slowest input per target; a panic or an input
//! over 1 s makes the run fail; the inputs that panicked and each target's slowest are
//! written to `target/fuzz/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use herald::announce::{AnnounceSettings, Announcing, Platform};
use herald::archive::{ParseSettings, parse_article};
use herald::render::budget::bounded;
use herald::render::{render_markdown, render_rst};
use rand::Rng;
use rand::seq::IndexedRandom;

/// An input slower than this is a finding.
const SLOW: Duration = Duration::from_secs(1);

/// Markup that the renderers and parsers treat specially, inserted by the mutator.
const TOKENS: &[&str] = &[
    "[", "]", "(", ")", "[^", "![", "*", "_", "`", "```", "<", ">", "<a ", "</div>", "<!--", "-->",
    "&", "&#", "\\", "\n", "\n\n", "    ", "- ", "1. ", "> ", "#", "|", "---", "==", "Title:",
    "Date:", "Number:", "Summary:", ":", "\u{feff}", "\r\n", "\t", "{", "}", "..", ".. ", "::",
    "`_", "__", "**", "=",
];

/// The repository (this package is its `fuzz/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn seeds() -> Vec<Vec<u8>> {
    let shared = root().join("../shared/twir/content");
    let dir = if shared.is_dir() { shared } else { root().join("tests/fixtures/twir") };
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    // Every tenth issue: enough variety, small enough to mutate quickly.
    paths.iter().step_by(10).filter_map(|p| std::fs::read(p).ok()).collect()
}

fn mutate(rng: &mut impl Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds.choose(rng).unwrap().clone();
    for _ in 0..rng.random_range(1..8) {
        let at = if data.is_empty() { 0 } else { rng.random_range(0..data.len()) };
        match rng.random_range(0..6) {
            0 if !data.is_empty() => data[at] = rng.random(),
            1 => {
                let token = TOKENS.choose(rng).unwrap().as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            2 => {
                // A slice repeated: the shape of a pathological input.
                let len = rng.random_range(1..16).min(data.len() - at.min(data.len()));
                let piece = data[at..at + len].to_vec();
                let times = rng.random_range(2..400);
                let repeated: Vec<u8> = piece.iter().copied().cycle().take(len * times).collect();
                data.splice(at..at, repeated);
            }
            3 => {
                let other = seeds.choose(rng).unwrap();
                let from = rng.random_range(0..other.len().max(1));
                let len = rng.random_range(0..2000).min(other.len() - from.min(other.len()));
                data.splice(at..at, other[from..from + len].iter().copied());
            }
            4 => data.truncate(at),
            _ => {
                let token = TOKENS.choose(rng).unwrap().repeat(rng.random_range(50..2000));
                data.splice(at..at, token.bytes());
            }
        }
    }
    data.truncate(4 * 1024 * 1024);
    data
}

type Target = fn(&[u8]);

fn header(data: &[u8]) {
    let _ = parse_article(Path::new("2026-01-01-fuzz.md"), data, &ParseSettings::default());
}

/// Rendered as herald renders an article: within its work budget.
fn markdown(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    drop(bounded(text.len(), || render_markdown(&text)));
}

fn rst(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    drop(bounded(text.len(), || render_rst(&text)));
}

fn config(data: &[u8]) {
    let _ = herald::config::parse(&String::from_utf8_lossy(data), Path::new("/nonexistent"));
}

fn fit(data: &[u8]) {
    let settings = AnnounceSettings::default();
    let Ok(article) =
        parse_article(Path::new("2026-01-01-fuzz.md"), data, &ParseSettings::default())
    else {
        return;
    };
    let issue =
        Announcing::new(&article, "https://this-week-in-rust.org/blog/x/".into(), &settings);
    for platform in [Platform::Bluesky, Platform::Mastodon] {
        if let Ok(post) = issue.compose(&settings, platform, None) {
            assert!(post.graphemes <= post.limit, "{platform:?} post over its limit: {post:?}");
        }
    }
}

fn main() {
    let secs: u64 = std::env::var("FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    let only = std::env::var("FUZZ_TARGETS").ok();
    let seeds = seeds();
    let config_seeds = vec![
        std::fs::read(root().join("config/herald.toml")).unwrap(),
        std::fs::read(root().join("config/herald.etc.toml")).unwrap(),
    ];
    let targets: [(&str, Target, &[Vec<u8>]); 5] = [
        ("header", header, &seeds),
        ("markdown", markdown, &seeds),
        ("rst", rst, &seeds),
        ("config", config, &config_seeds),
        ("fit", fit, &seeds),
    ];
    std::panic::set_hook(Box::new(|_| {}));
    let out = root().join("target/fuzz");
    let mut failed = false;
    let mut rng = rand::rng();
    println!(
        "{:<10} {:>8} {:>10} {:>8} {:>12} {:>10}",
        "target", "seconds", "executions", "panics", "slowest", "its bytes"
    );
    for (name, run, corpus) in targets {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|t| t == name)) {
            continue;
        }
        let start = Instant::now();
        let (mut runs, mut panics) = (0u64, 0u64);
        let mut slowest = (Duration::ZERO, Vec::new());
        while start.elapsed() < Duration::from_secs(secs) {
            let input = mutate(&mut rng, corpus);
            let t = Instant::now();
            let ok = std::panic::catch_unwind(|| run(&input)).is_ok();
            let took = t.elapsed();
            runs += 1;
            if !ok {
                panics += 1;
                std::fs::create_dir_all(&out).unwrap();
                std::fs::write(out.join(format!("{name}-panic-{panics}")), &input).unwrap();
            }
            if took > slowest.0 {
                slowest = (took, input);
            }
        }
        // The slowest input is kept to look at, a finding or not.
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(format!("{name}-slowest")), &slowest.1).unwrap();
        failed |= panics > 0 || slowest.0 > SLOW;
        println!(
            "{name:<10} {secs:>8} {runs:>10} {panics:>8} {:>10.1}ms {:>10}",
            slowest.0.as_secs_f64() * 1e3,
            slowest.1.len()
        );
    }
    if failed {
        eprintln!("fuzz: a panic or an input over {SLOW:?}; the inputs are in {}", out.display());
        std::process::exit(1);
    }
}
