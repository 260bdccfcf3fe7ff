//! `cargo bench --bench replay`: TWiR's whole `content/` history, 2022-01 to 2025-05 (381
//! commits), replayed under `herald run` with the real gaps compressed 200 times (TWiR's
//! 10-minute settle time takes 3 s, the hour of grace for a footer placeholder 18 s), and the
//! counts that hold the promise printed: issues published, announced exactly once per
//! account, duplicates, posts with placeholder text, issues announced after the grace
//! period with the placeholder left. Exits 1 if the promise broke.

use std::path::{Path, PathBuf};

/// `../shared` beside the repository.
fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

#[path = "../tests/it/common/replay.rs"]
mod replay;

fn main() {
    // `cargo bench` passes `--bench`; a number picks how many commits to replay.
    let count = std::env::args().skip(1).find_map(|a| a.parse::<usize>().ok());
    let replay = replay::Replay::new(200.0);
    let end = count.map_or(replay.commits.len(), |n| n.min(replay.commits.len()));
    eprintln!("replaying {end} commits of TWiR's history (this takes a while)…");
    let outcome = replay.run(0..end);
    let accounts = ["sky", "toot"];
    println!("{}", outcome.report(&accounts));
    for d in outcome.duplicates() {
        println!("duplicate: {d}");
    }
    for m in outcome.missing(&accounts) {
        println!("not announced: {m}");
    }
    for p in &outcome.with_placeholder {
        println!("post with placeholder text: {p}");
    }
    for a in &outcome.after_grace {
        println!("announced after the grace period: {a}");
    }
    let broken = !outcome.duplicates().is_empty()
        || !outcome.missing(&accounts).is_empty()
        || !outcome.with_placeholder.is_empty()
        || !outcome.baseline_posted.is_empty();
    if broken {
        eprintln!("the log is at {}", replay.dir.join("herald.log").display());
        std::process::exit(1);
    }
}
