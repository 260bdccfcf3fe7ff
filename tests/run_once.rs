//! `herald run --once` end to end over a copy of real issues: baseline, settle time,
//! publish/revert/re-add, edits after posting, restarts — one post per account per issue.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;

struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Site {
    fn new(settle_secs: u64) -> Self {
        Self::with(settle_secs, "")
    }

    fn with(settle_secs: u64, daemon_extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        copy_articles(&fixture_archive(), &content);
        let config = dir.path().join("herald.toml");
        std::fs::write(
            &config,
            format!(
                "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
                 [daemon]\nsettle_secs = {settle_secs}\n{daemon_extra}\n\
                 [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n\
                 [[dry_run]]\nname = \"toot\"\nplatform = \"mastodon\"\npath = \"posts.jsonl\"\n"
            ),
        )
        .unwrap();
        Site { dir, config }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn run(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["-c", self.config.to_str().unwrap(), "run", "--once"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        text
    }

    /// Posts in the sink mentioning `needle`.
    fn posts(&self, needle: &str) -> usize {
        let text = std::fs::read_to_string(self.path("posts.jsonl")).unwrap_or_default();
        text.lines().filter(|l| l.contains(needle)).count()
    }

    /// Publishes a new issue dated today (so it is not too old to announce).
    fn publish(&self, number: u32) -> PathBuf {
        let today = chrono::Utc::now().date_naive();
        let body =
            std::fs::read_to_string(fixture_archive().join("2026-08-19-this-week-in-rust.md"))
                .unwrap();
        let body = body.split_once("\n\n").unwrap().1;
        let path = self.path(&format!("content/{today}-this-week-in-rust-{number}.md"));
        std::fs::write(
            &path,
            format!("Title: This Week in Rust {number}\nNumber: {number}\nDate: {today}\nCategory: This Week in Rust\n\n{body}"),
        )
        .unwrap();
        path
    }
}

fn url_of(number: u32) -> String {
    let today = chrono::Utc::now().date_naive();
    format!("/blog/{}/this-week-in-rust-{number}/", today.format("%Y/%m/%d"))
}

#[test]
fn baseline_then_a_new_issue_is_posted_once_after_settling() {
    let site = Site::new(1);
    let first = site.run();
    assert!(first.contains("recorded (baseline: not announced)"), "{first}");
    let status = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("-c")
        .arg(&site.config)
        .arg("status")
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(status.starts_with("last scan: 20") && status.contains(" ok\n"), "{status}");
    assert_eq!(site.posts("\"account\""), 0);

    let issue = site.publish(700);
    let seen = site.run();
    assert!(seen.contains("waiting until"), "{seen}");
    assert_eq!(site.posts("\"account\""), 0);
    // The feeds already carry it.
    let atom = std::fs::read_to_string(site.path("out/atom.xml")).unwrap();
    assert!(atom.contains(&url_of(700)));

    std::thread::sleep(Duration::from_millis(1100));
    let settled = site.run();
    assert!(settled.contains("announcing"), "{settled}");
    assert_eq!(site.posts(&url_of(700)), 2, "one post per account");

    // Restart, and an edit after posting: feeds change, nothing is posted again.
    let before = std::fs::read_to_string(site.path("out/atom.xml")).unwrap();
    let text =
        std::fs::read_to_string(&issue).unwrap().replace("Hello and welcome", "Hello, and welcome");
    std::fs::write(&issue, text).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    site.run();
    site.run();
    assert_ne!(std::fs::read_to_string(site.path("out/atom.xml")).unwrap(), before);
    assert_eq!(site.posts(&url_of(700)), 2);
}

#[test]
fn publish_revert_and_re_add_within_the_settle_time_posts_nothing_yet() {
    let site = Site::new(3);
    site.run(); // baseline
    let issue = site.publish(701);
    site.run();
    std::fs::remove_file(&issue).unwrap();
    site.run();
    std::thread::sleep(Duration::from_millis(3100));
    // Re-added after the first sighting's settle time: the clock starts again.
    site.publish(701);
    let again = site.run();
    assert!(again.contains("waiting until"), "{again}");
    assert_eq!(site.posts(&url_of(701)), 0);
    std::thread::sleep(Duration::from_millis(3100));
    site.run();
    assert_eq!(site.posts(&url_of(701)), 2);
}

#[test]
fn a_held_draft_waits_until_its_placeholders_are_gone() {
    let site = Site::new(0);
    site.run(); // baseline
    let issue = site.publish(702);
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(
        &issue,
        format!("{text}\n<small>[Discuss on r/rust](REDDIT_LINK_HERE)</small>\n"),
    )
    .unwrap();
    let held = site.run();
    assert!(held.contains("held: line"), "{held}");
    assert_eq!(site.posts(&url_of(702)), 0);
    std::fs::write(
        &issue,
        format!("{text}\n<small>[Discuss on r/rust](https://reddit.com/r/rust/x)</small>\n"),
    )
    .unwrap();
    site.run();
    assert_eq!(site.posts(&url_of(702)), 2);
}

#[test]
fn announce_latest_on_first_start() {
    let site = Site::new(0);
    site.publish(703);
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["-c", site.config.to_str().unwrap(), "run", "--once", "--announce-latest"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(site.posts(&url_of(703)), 2);
    assert_eq!(site.posts("this-week-in-rust-665"), 0);
}

#[test]
fn a_draft_held_past_max_hold_is_an_error_in_the_log_and_still_held() {
    let site = Site::with(0, "max_hold_hours = 0");
    site.run(); // baseline
    let issue = site.publish(704);
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, format!("{text}\n[Discuss](REDDIT_LINK_HERE)\n")).unwrap();
    site.run();
    std::thread::sleep(Duration::from_millis(1100));
    let out = site.run();
    assert!(out.contains("held longer than max_hold"), "{out}");
    assert!(out.contains("ERROR"), "{out}");
    assert_eq!(site.posts(&url_of(704)), 0);
}

/// Fixing an announced issue's title changes its URL (the slug follows the title): it is the
/// same issue, found by its number and file, and is not announced again. With
/// `edit_on_title_change` its Mastodon post is edited to the new title and link, once.
fn rename_after_posting(edit: bool) -> (Site, String) {
    let site = Site::with(0, &format!("edit_on_title_change = {edit}"));
    site.run(); // baseline
    let issue = site.publish(702);
    site.run();
    assert_eq!(site.posts(&url_of(702)), 2);
    let text = std::fs::read_to_string(&issue)
        .unwrap()
        .replace("Title: This Week in Rust 702", "Title: This Week in Rust 702 (fixed)");
    std::fs::write(&issue, text).unwrap();
    let renamed = site.run();
    let atom = std::fs::read_to_string(site.path("out/atom.xml")).unwrap();
    let new_url = url_of(702).replace("-702/", "-702-fixed/");
    assert!(atom.contains(&new_url) && !atom.contains(&url_of(702)), "the feeds follow");
    assert!(renamed.contains("issue renamed"), "{renamed}");
    site.run();
    (site, new_url)
}

#[test]
fn a_renamed_issue_is_not_announced_again() {
    let (site, new_url) = rename_after_posting(false);
    assert_eq!(site.posts(&new_url), 0, "not announced again, not edited");
    assert_eq!(site.posts("\"edit\":true"), 0);
}

#[test]
fn edit_on_title_change_edits_the_mastodon_post_once() {
    let (site, new_url) = rename_after_posting(true);
    let sink = std::fs::read_to_string(site.path("posts.jsonl")).unwrap();
    let edits: Vec<&str> = sink.lines().filter(|l| l.contains("\"edit\":true")).collect();
    assert_eq!(edits.len(), 1, "{sink}");
    assert!(edits[0].contains("\"account\":\"toot\""), "Bluesky posts cannot be edited");
    assert!(edits[0].contains("This Week in Rust 702 (fixed)") && edits[0].contains(&new_url));
    assert_eq!(site.posts(&new_url), 1, "the edit is the only line with the new link");
    site.run();
    assert_eq!(std::fs::read_to_string(site.path("posts.jsonl")).unwrap(), sink, "edited once");
}
