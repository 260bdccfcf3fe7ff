//! `herald run --once` end to end over a copy of real issues: baseline, settle time,
//! publish/revert/re-add, edits after posting, restarts — one post per account per issue.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::*;

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
                 [daemon]\nsettle = \"{settle_secs}s\"\n{daemon_extra}\n\
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
        let (ok, text) = self.run_any();
        assert!(ok, "{text}");
        text
    }

    /// Posts in the sink mentioning `needle`.
    fn posts(&self, needle: &str) -> usize {
        let text = std::fs::read_to_string(self.path("posts.jsonl")).unwrap_or_default();
        text.lines().filter(|l| l.contains(needle)).count()
    }

    /// Publishes a new issue dated today (so it is not too old to announce).
    fn publish(&self, number: u32) -> PathBuf {
        let today = crate::common::today();
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
    let today = crate::common::today();
    format!("/blog/{}/this-week-in-rust-{number}/", today.format("%Y/%m/%d"))
}

#[test]
fn baseline_then_a_new_issue_is_posted_once_after_settling() {
    let site = Site::new(1);
    let first = site.run();
    assert!(first.contains("recorded (baseline: not announced)"), "{first}");
    let status =
        crate::common::herald_cmd().arg("-c").arg(&site.config).arg("status").output().unwrap();
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

/// The fixture issue's Crate of the Week link, which its post is made from.
const COTW_LINK: &str = "](https://crates.io/crates/";

#[test]
fn a_held_draft_waits_until_its_placeholders_are_gone() {
    let site = Site::new(0);
    site.run(); // baseline
    let issue = site.publish(702);
    let text = std::fs::read_to_string(&issue).unwrap();
    assert!(text.contains(COTW_LINK), "the fixture has a Crate of the Week link");
    std::fs::write(&issue, text.replacen(COTW_LINK, "](INSERT_LINK_HERE#", 1)).unwrap();
    let held = site.run();
    assert!(held.contains("held: line") && held.contains("in a highlight"), "{held}");
    assert_eq!(site.posts(&url_of(702)), 0);
    std::fs::write(&issue, text).unwrap();
    site.run();
    assert_eq!(site.posts(&url_of(702)), 2);
}

/// Issue #12: a placeholder outside the post's text (TWiR's footer `REDDIT_LINK_HERE`, which
/// 10 published issues kept for good) delays the announcement by the grace period, then the
/// issue is announced (the post carries no placeholder) and the log names what was left.
#[test]
fn a_footer_placeholder_delays_by_the_grace_period_then_the_issue_is_announced() {
    let site = Site::with(0, "");
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(&site.config, format!("{text}\n[announce]\nplaceholder_grace = \"2s\"\n"))
        .unwrap();
    site.run(); // baseline
    let issue = site.publish(709);
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(
        &issue,
        format!("{text}\n<small>[Discuss on r/rust](REDDIT_LINK_HERE)</small>\n"),
    )
    .unwrap();
    let delayed = site.run();
    assert!(delayed.contains("waiting until"), "{delayed}");
    assert_eq!(site.posts(&url_of(709)), 0);
    let (_, status) = site.herald(&["status"]);
    assert!(status.contains("delayed") && status.contains("REDDIT_LINK_HERE"), "{status}");
    std::thread::sleep(Duration::from_millis(2100));
    let announced = site.run();
    assert_eq!(site.posts(&url_of(709)), 2, "{announced}");
    assert!(
        announced.contains("placeholders left") && announced.contains("REDDIT_LINK_HERE"),
        "{announced}"
    );
    let sink = std::fs::read_to_string(site.path("posts.jsonl")).unwrap();
    assert!(!sink.contains("REDDIT_LINK_HERE"), "no post carries the placeholder");
}

/// Issue #12: an issue first seen older than `max_age` is a warning (once) and shows in
/// `status` with the command that would post it; fixing its date is not a rename of an
/// announced issue: the corrected issue is announced under the normal rules.
#[test]
fn too_old_then_its_date_fixed_is_announced() {
    let site = Site::new(0);
    site.run(); // baseline
    let issue = site.publish(711);
    let today = crate::common::today();
    let stale = today - chrono::Duration::days(30);
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, text.replace(&format!("Date: {today}"), &format!("Date: {stale}")))
        .unwrap();
    let out = site.run();
    assert!(out.contains("recorded (too old to announce)"), "{out}");
    assert!(out.contains("WARN") && out.contains("herald announce --issue 711"), "{out}");
    let (_, status) = site.herald(&["status"]);
    assert!(status.contains("#711") && status.contains("too old"), "{status}");
    // The date fixed: a new URL, eligible like any new issue.
    std::fs::write(&issue, text).unwrap();
    let fixed = site.run();
    assert!(!fixed.contains("issue renamed"), "{fixed}");
    assert_eq!(site.posts(&url_of(711)), 2, "{fixed}");
}

#[test]
fn announce_latest_on_first_start() {
    let site = Site::new(0);
    site.publish(703);
    let out = crate::common::herald_cmd()
        .args(["-c", site.config.to_str().unwrap(), "run", "--once", "--announce-latest"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(site.posts(&url_of(703)), 2);
    assert_eq!(site.posts("this-week-in-rust-665"), 0);
}

#[test]
fn a_draft_held_past_max_hold_is_an_error_in_the_log_and_still_held() {
    let site = Site::with(0, "max_hold = \"0s\"");
    site.run(); // baseline
    let issue = site.publish(704);
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, text.replacen(COTW_LINK, "](INSERT_LINK_HERE#", 1)).unwrap();
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

impl Site {
    /// Runs `herald run --once`, whatever its exit status: (success, stdout + stderr).
    fn run_any(&self) -> (bool, String) {
        self.herald(&["run", "--once"])
    }

    /// Runs `herald ARGS` on the site: (success, stdout + stderr).
    fn herald(&self, args: &[&str]) -> (bool, String) {
        let config = self.config.to_str().unwrap();
        let all: Vec<&str> = ["-c", config].into_iter().chain(args.iter().copied()).collect();
        herald_text(&all, None)
    }
}

/// Issue #11: an issue whose post cannot be composed (a 10,000-character title) fails alone:
/// the other new issue is announced, the failure names the file and what to do, `status`
/// shows it, and later cycles do not fail again.
#[test]
fn an_issue_whose_post_cannot_be_composed_fails_alone() {
    let site = Site::new(0);
    site.run(); // baseline
    let bad = site.publish(705);
    let text = std::fs::read_to_string(&bad).unwrap().replacen(
        "Title: This Week in Rust 705",
        &format!("Title: This Week in Rust 705 {}", "very ".repeat(2000)),
        1,
    );
    std::fs::write(&bad, text).unwrap();
    site.publish(706);
    let (ok, out) = site.run_any();
    assert!(!ok, "a failed announcement is a failed run --once\n{out}");
    assert_eq!(site.posts(&url_of(706)), 2, "the other issue is announced\n{out}");
    let file = bad.file_name().unwrap().to_str().unwrap();
    assert!(out.contains(file) && out.contains("herald announce --issue 705"), "{out}");
    let (_, status) = site.herald(&["status"]);
    assert!(status.contains("FAILED") && status.contains(file), "{status}");
    // Recorded once: the next cycles are clean.
    let (ok, again) = site.run_any();
    assert!(ok && !again.contains("cannot compose"), "{again}");
}

/// Issue #11: a feed directory that cannot be written does not stop the announcements.
#[test]
fn announcements_go_on_when_the_feeds_cannot_be_written() {
    let site = Site::new(0);
    site.run(); // baseline
    site.publish(707);
    // The output directory is replaced by a file: nothing can be written below it (as a
    // full or read-only disk; root ignores permissions).
    std::fs::remove_dir_all(site.path("out")).unwrap();
    std::fs::write(site.path("out"), "not a directory").unwrap();
    let (ok, out) = site.run_any();
    assert!(!ok, "{out}");
    assert!(out.contains("feeds not written"), "{out}");
    assert_eq!(site.posts(&url_of(707)), 2, "announced all the same\n{out}");
}

/// Issue #11: two files with the same URL (same title and date) or the same `Number:` are
/// reported naming both files, by the cycle and by `check`; neither new issue is announced
/// (which file would it be?), and `announce --issue N` refuses to pick one.
#[test]
fn duplicate_issues_are_reported_with_both_files_and_not_announced() {
    let site = Site::new(0);
    site.run(); // baseline
    let first = site.publish(708);
    let copy = site.path("content/copy-of-708.md");
    std::fs::copy(&first, &copy).unwrap();
    let (_, out) = site.run_any();
    assert!(out.contains("copy-of-708.md") && out.contains("same URL"), "{out}");
    site.run_any();
    assert_eq!(site.posts(&url_of(708)), 0, "neither file is announced\n{out}");
    let (ok, check) = site.herald(&["check"]);
    assert!(!ok && check.contains("copy-of-708.md") && check.contains("same URL"), "{check}");

    // The copy retitled: now two URLs with one number.
    let text = std::fs::read_to_string(&copy)
        .unwrap()
        .replace("Title: This Week in Rust 708", "Title: This Week in Rust 708 again");
    std::fs::write(&copy, text).unwrap();
    let (_, out) = site.run_any();
    assert!(out.contains("both say `Number: 708`"), "{out}");
    assert_eq!(site.posts("this-week-in-rust-708"), 0, "{out}");
    let (ok, announce) = site.herald(&["announce", "--issue", "708"]);
    assert!(!ok && announce.contains("copy-of-708.md"), "{announce}");
    assert_eq!(site.posts("this-week-in-rust-708"), 0);

    // Resolved: the copy goes, the issue is announced once.
    std::fs::remove_file(&copy).unwrap();
    site.run();
    assert_eq!(site.posts(&url_of(708)), 2);
}

/// Found by the outside tester: `herald announce --issue N` after the issue's title was fixed
/// (a new URL) is the same issue, already announced, with no service run in between.
#[test]
fn announce_after_a_title_fix_does_not_post_again() {
    let site = Site::new(0);
    site.run(); // baseline
    let issue = site.publish(712);
    let (ok, first) = site.herald(&["announce", "--issue", "712"]);
    assert!(ok, "{first}");
    assert_eq!(site.posts("\"account\""), 2);
    let text = std::fs::read_to_string(&issue)
        .unwrap()
        .replace("Title: This Week in Rust 712", "Title: This Week in Rust 712 (fixed)");
    std::fs::write(&issue, text).unwrap();
    let (ok, again) = site.herald(&["announce", "--issue", "712"]);
    assert!(ok && again.contains("already announced"), "{again}");
    assert_eq!(site.posts("\"account\""), 2, "{again}");
}

/// A held or delayed issue takes no place under `max_posts_per_cycle`: an issue behind it
/// is announced in the same cycle, not never (before, the held draft took the one place in
/// every cycle and the service ran a cycle a second to wait for it).
#[test]
fn held_and_delayed_issues_take_no_place_under_the_per_cycle_limit() {
    let site = Site::with(0, "max_posts_per_cycle = 1");
    site.run(); // baseline
    let yesterday = crate::common::today() - chrono::Days::new(1);
    let clean = site.publish(705);
    let text = std::fs::read_to_string(&clean).unwrap();
    let held = text.replacen(COTW_LINK, "](INSERT_LINK_HERE#", 1).replace("705", "703");
    let delayed = text.replace("705", "704") + "\n[Discuss on r/rust](REDDIT_LINK_HERE)\n";
    for (n, body) in [(703, held), (704, delayed)] {
        let body = body
            .replace(&format!("Date: {}", crate::common::today()), &format!("Date: {yesterday}"));
        std::fs::write(site.path(&format!("content/{yesterday}-this-week-in-rust-{n}.md")), body)
            .unwrap();
    }
    let out = site.run();
    assert_eq!(site.posts(&url_of(705)), 2, "{out}");
    assert!(!out.contains("next cycle (per-cycle limit)"), "{out}");
    assert_eq!(site.posts("this-week-in-rust-703"), 0);
    assert_eq!(site.posts("this-week-in-rust-704"), 0);
}

/// A file that cannot be read (a typo in its date) is an archive problem `status` shows, not
/// only a line in the log: its issue would never be announced otherwise unnoticed.
#[test]
fn an_unreadable_issue_is_shown_by_status() {
    let site = Site::new(0);
    site.run();
    std::fs::write(
        site.path("content/2026-12-01-this-week-in-rust.md"),
        "Title: This Week in Rust 707\nNumber: 707\nDate: 2026-13-01\n\nHello.\n",
    )
    .unwrap();
    site.run();
    let status = herald(&["-c", site.config.to_str().unwrap(), "status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("archive problem: not read, so not announced:")
            && text.contains("2026-12-01-this-week-in-rust.md"),
        "{text}"
    );
}
