//! `herald announce` end to end against a real Bluesky PDS on loopback
//! (`../shared/servers/pds/start.sh`): killed with SIGKILL at every point of a posting run and
//! restarted, the account holds exactly one post; restarts reuse the persisted session (one
//! login in all); the password never shows in output or state.

#[path = "common/pds.rs"]
mod pds;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use herald::failpoint::POINTS;
use pds::Pds;

const ISSUE_URL: &str = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";

fn config(dir: &Path, pds: &Pds) -> PathBuf {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twir");
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = {archive:?}\n[state]\npath = {:?}\n\
             [[bluesky]]\nname = \"sky\"\nservice = {:?}\nidentifier = {:?}\npassword_env = \"HERALD_TEST_BSKY_PASSWORD\"\n",
            dir.join("state/herald.db"),
            pds.url,
            pds.handle
        ),
    )
    .unwrap();
    config
}

fn announce(config: &Path, password: &str, failpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.args(["-c", config.to_str().unwrap(), "announce", "--issue", "665"])
        .env("HERALD_TEST_BSKY_PASSWORD", password)
        .env("HERALD_LOG", "debug");
    match failpoint {
        Some(p) => cmd.env("HERALD_FAILPOINTS", p),
        None => cmd.env_remove("HERALD_FAILPOINTS"),
    };
    cmd.output().unwrap()
}

/// The account's posts that link the issue, via `com.atproto.repo.listRecords`.
fn posts_of_issue(pds: &Pds) -> usize {
    let url = format!(
        "{}/xrpc/com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.post&limit=100",
        pds.url, pds.did
    );
    let out = Command::new("curl").args(["-sf", &url]).output().expect("curl");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("listRecords JSON");
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["value"]["text"].as_str().is_some_and(|t| t.contains(ISSUE_URL)))
        .count()
}

fn logins(dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join("state/herald.db")).unwrap();
    db.query_row("SELECT COUNT(*) FROM logins", [], |r| r.get(0)).unwrap()
}

#[test]
fn posts_exactly_once_through_crashes_on_a_real_pds() {
    let pds = Pds::start(2593);
    let mut posted_before = posts_of_issue(&pds);
    for point in POINTS {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &pds);
        let killed = announce(&config, &pds.password, Some(point));
        assert!(!killed.status.success(), "{point}: {}", String::from_utf8_lossy(&killed.stderr));
        let again = announce(&config, &pds.password, None);
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&again.stdout),
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(again.status.success(), "{point}: {out}");
        assert_eq!(posts_of_issue(&pds), posted_before + 1, "{point}: one new post\n{out}");
        posted_before += 1;
        // A third run posts nothing and logs in no more: the session was persisted.
        let third = announce(&config, &pds.password, None);
        assert!(String::from_utf8_lossy(&third.stdout).contains("already announced"));
        assert_eq!(posts_of_issue(&pds), posted_before);
        assert_eq!(logins(dir.path()), 1, "{point}: one login across all runs");
        // The password is in neither the output nor the state file.
        assert!(!out.contains(&pds.password));
        let state = std::fs::read(dir.path().join("state/herald.db")).unwrap();
        assert!(!String::from_utf8_lossy(&state).contains(&pds.password));
    }
}
