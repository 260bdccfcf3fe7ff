//! Exactly once: herald is killed with SIGKILL at every point of a posting run, restarted,
//! and in the end each account holds exactly one post for the issue.
//!
//! These runs use dry-run sinks, which keep the platforms' contract (a post can be found
//! again by its key); `tests/*_fake.rs` and `tests/bluesky_pds.rs` cover the real clients.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use herald::failpoint::POINTS;

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    sink: PathBuf,
    db: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("posts.jsonl");
    let db = dir.path().join("state/herald.db");
    let config = dir.path().join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = {:?}\n[state]\npath = {:?}\n\
             [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = {sink:?}\n\
             [[dry_run]]\nname = \"toot\"\nplatform = \"mastodon\"\npath = {sink:?}\n",
            fixture_archive(),
            db
        ),
    )
    .unwrap();
    Setup { _dir: dir, config, sink, db }
}

fn announce(config: &Path, failpoint: Option<&str>) -> std::process::ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.args(["-c", config.to_str().unwrap(), "announce", "--issue", "665"]);
    match failpoint {
        Some(p) => cmd.env("HERALD_FAILPOINTS", p),
        None => cmd.env_remove("HERALD_FAILPOINTS"),
    };
    cmd.output().unwrap().status
}

/// Posts per account in the sink.
fn posts(sink: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(sink).unwrap_or_default();
    let count = |name: &str| {
        text.lines().filter(|l| l.contains(&format!("\"account\":\"{name}\""))).count()
    };
    (count("sky"), count("toot"))
}

#[test]
fn killed_at_every_point_then_restarted_posts_once() {
    for point in POINTS {
        let s = setup();
        let status = announce(&s.config, Some(point));
        assert!(!status.success(), "{point}: the process should have been killed");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "{point}: killed by SIGKILL");
        }
        // Restart: whatever state the kill left, the result is one post per account.
        assert!(announce(&s.config, None).success(), "{point}: restart");
        assert_eq!(posts(&s.sink), (1, 1), "{point}");
        // And a further run posts nothing.
        assert!(announce(&s.config, None).success());
        assert_eq!(posts(&s.sink), (1, 1), "{point}: second restart");
    }
}

#[test]
fn killed_at_random_moments_posts_once() {
    let s = setup();
    // Kill at a spread of moments (including during start-up, the state writes and the
    // sink's fsync), restarting each time.
    for delay_ms in [0u64, 2, 5, 8, 12, 16, 20, 25, 30, 40, 55, 70] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["-c", s.config.to_str().unwrap(), "announce", "--issue", "665"])
            .env_remove("HERALD_FAILPOINTS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let (sky, toot) = posts(&s.sink);
        assert!(sky <= 1 && toot <= 1, "duplicate after a kill at {delay_ms} ms: {sky} {toot}");
    }
    assert!(announce(&s.config, None).success());
    assert_eq!(posts(&s.sink), (1, 1));
    assert!(s.db.exists());
}
