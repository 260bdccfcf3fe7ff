//! A cycle's cost: how many transactions, what an unchanged archive writes, what is kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::announce::deliver::Owner;

/// A site whose archive holds `old` issues already recorded, then `new` ones just arrived.
struct Site {
    _tmp: tempfile::TempDir,
    settings: Settings,
    db: Arc<Mutex<Db>>,
    state: CycleState,
    commits: Arc<AtomicUsize>,
}

fn write_issue(dir: &std::path::Path, n: u32, date: DateTime<Utc>) {
    let text = format!(
        "Title: This Week in Rust {n}\nNumber: {n}\nDate: {}\nCategory: This Week in Rust\n\nHello {n}.\n",
        date.format("%Y-%m-%d %H:%M")
    );
    std::fs::write(dir.join(format!("issue-{n}.md")), text).unwrap();
}

impl Site {
    fn new(old: u32) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_tests();
        settings.archive_dir = tmp.path().join("content");
        settings.feeds.files.output = tmp.path().join("out");
        settings.state_path = tmp.path().join("herald.db");
        std::fs::create_dir_all(&settings.archive_dir).unwrap();
        let day = chrono::Duration::days(1);
        for n in 0..old {
            write_issue(&settings.archive_dir, n, Utc::now() - day * (old - n) as i32);
        }
        let db = Db::open(&settings.state_path).unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let counter = commits.clone();
        db.conn.commit_hook(Some(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            false
        }));
        Self {
            _tmp: tmp,
            settings,
            db: Arc::new(Mutex::new(db)),
            state: CycleState::default(),
            commits,
        }
    }

    /// Runs a cycle; returns the transactions it committed and the rows it changed.
    async fn cycle(&mut self) -> (usize, u64, CycleReport) {
        self.cycle_at(Utc::now()).await
    }

    /// [`Self::cycle`] at `now`.
    async fn cycle_at(&mut self, now: DateTime<Utc>) -> (usize, u64, CycleReport) {
        let before = (self.commits.load(Ordering::SeqCst), Db::lock(&self.db).conn.total_changes());
        let owner = Owner::new("test", std::time::Duration::from_secs(30));
        let report = run_cycle(
            &self.settings,
            &self.db,
            &[],
            &self.settings.policy.clone(),
            &mut self.state,
            &owner,
            now,
        )
        .await
        .unwrap();
        let after = (self.commits.load(Ordering::SeqCst), Db::lock(&self.db).conn.total_changes());
        (after.0 - before.0, after.1 - before.1, report)
    }

    fn publish(&self, from: u32, count: u32) {
        for n in from..from + count {
            write_issue(&self.settings.archive_dir, n, Utc::now() - chrono::Duration::hours(1));
        }
    }
}

#[tokio::test]
async fn verdicts_are_recorded_in_as_many_transactions_whatever_the_number_of_new_issues() {
    let mut transactions = Vec::new();
    for new in [3, 40] {
        let mut site = Site::new(20);
        site.cycle().await; // the baseline
        site.publish(100, new);
        let (commits, changes, report) = site.cycle().await;
        assert_eq!(report.decisions.len(), new as usize, "each new issue judged (waiting)");
        assert!(changes >= 2 * u64::from(new), "each new issue noted and its verdict recorded");
        transactions.push(commits);
    }
    assert_eq!(transactions[0], transactions[1], "transactions for 3 and for 40 new issues");
    assert!(transactions[1] <= 3, "{} transactions for one cycle", transactions[1]);
}

#[tokio::test]
async fn a_cycle_over_an_unchanged_archive_writes_nothing() {
    let mut site = Site::new(30);
    site.cycle().await;
    site.publish(100, 2); // two waiting issues: their verdicts are judged every cycle
    site.cycle().await;
    let (_, changes, report) = site.cycle().await;
    assert_eq!(changes, 0, "rows written by a cycle over an unchanged archive");
    assert_eq!(report.feeds_written, 0);
    assert_eq!(report.decisions.len(), 2, "the waiting issues are still judged");
}

#[tokio::test]
async fn a_feed_file_someone_removed_or_changed_is_written_again_though_the_archive_is_not() {
    let mut site = Site::new(10);
    site.cycle().await;
    let atom = site.settings.feeds.files.output.join("atom.xml");
    let bytes = std::fs::read(&atom).unwrap();
    std::fs::remove_file(&atom).unwrap();
    let (.., report) = site.cycle().await;
    assert_eq!(report.feeds_changed, ["atom.xml"]);
    assert_eq!(std::fs::read(&atom).unwrap(), bytes);
    std::fs::write(&atom, "truncated").unwrap();
    let (.., report) = site.cycle().await;
    assert_eq!(report.feeds_changed, ["atom.xml"]);
    assert_eq!(std::fs::read(&atom).unwrap(), bytes);
    let (.., report) = site.cycle().await;
    assert!(report.feeds_changed.is_empty());
    assert!(report.feeds_unchanged > 0);
}

#[tokio::test]
async fn an_issue_removed_then_restored_between_cycles_settles_again() {
    let mut site = Site::new(5);
    site.cycle().await;
    site.publish(100, 1);
    site.cycle().await;
    let file = site.settings.archive_dir.join("issue-100.md");
    let text = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    site.cycle().await;
    let absent: Option<String> = Db::lock(&site.db)
        .conn
        .query_row("SELECT changed_at FROM issues WHERE number = 100", [], |r| r.get(0))
        .unwrap();
    assert_eq!(absent, None, "an issue gone is marked absent");
    std::fs::write(&file, text).unwrap();
    let (.., report) = site.cycle().await;
    assert_eq!(report.decisions.len(), 1, "back, and waiting again: {:?}", report.decisions);
}

#[tokio::test]
async fn what_the_service_keeps_between_cycles_holds_no_body_and_renders_only_the_feeds() {
    let mut site = Site::new(40);
    site.settings.feeds.files.max_items = crate::feeds::MaxItems::Count(4);
    site.cycle().await;
    site.publish(100, 3); // waiting issues: inspected (their bodies read) every cycle
    for _ in 0..3 {
        let (.., report) = site.cycle().await;
        assert_eq!(report.decisions.len(), 3);
        assert!(report.feeds_error.is_none() && !report.more_due);
    }
    assert_eq!(site.state.cache.bodies_held(), 0, "bodies kept between cycles");
    let in_feeds = crate::feeds::articles_in_feeds(
        site.state.recorded.as_ref().unwrap(),
        &site.settings.feeds,
    );
    assert_eq!(site.state.renderings.kept(), in_feeds.len());
    assert!(in_feeds.len() < 10, "{} articles in the feeds", in_feeds.len());
    // What was written is the feeds of the archive as a full read gives it.
    let full = crate::archive::scan(&site.settings.archive_dir, &site.settings.parse).unwrap();
    let expected =
        crate::feeds::render_feeds(&full.articles, &site.settings.feeds, &mut Default::default());
    for file in expected {
        let written = std::fs::read(site.settings.feeds.files.output.join(&file.path)).unwrap();
        assert!(written == file.bytes, "{} differs from a full read's", file.path);
    }
}

#[tokio::test]
async fn an_issue_marked_draft_or_hidden_is_neither_in_the_feeds_nor_announced_until_published() {
    for status in ["draft", "Hidden"] {
        let mut site = Site::new(5);
        site.cycle().await;
        site.publish(100, 1);
        let file = site.settings.archive_dir.join("issue-100.md");
        let published = std::fs::read_to_string(&file).unwrap();
        let marked = published.replacen("\n\n", &format!("\nStatus: {status}\n\n"), 1);
        std::fs::write(&file, &marked).unwrap();
        let atom = site.settings.feeds.files.output.join("atom.xml");
        for _ in 0..2 {
            let (.., report) = site.cycle().await;
            assert!(report.decisions.is_empty(), "{status}: {:?}", report.decisions);
            assert!(
                report.skipped.is_empty(),
                "{status}: reported as a fault: {:?}",
                report.skipped
            );
            let feed = std::fs::read_to_string(&atom).unwrap();
            assert!(!feed.contains("This Week in Rust 100"), "{status}: in the feed");
        }
        // Published: the line taken out (or `Status: published`), it is a new issue.
        std::fs::write(&file, marked.replace(&format!("Status: {status}"), "Status: Published"))
            .unwrap();
        let (.., report) = site.cycle().await;
        assert_eq!(report.decisions.len(), 1, "{status}: {:?}", report.decisions);
        assert!(std::fs::read_to_string(&atom).unwrap().contains("This Week in Rust 100"));
        let Decision::WaitUntil(settled) = report.decisions[0].1 else { panic!("{report:?}") };
        let (.., report) = site.cycle_at(settled).await;
        assert!(matches!(report.decisions[..], [(_, Decision::Announce)]), "{report:?}");
        // Back to a draft: out of the feed again, its record kept (no post is taken back);
        // published again, it is the issue already announced.
        std::fs::write(&file, &marked).unwrap();
        let (.., report) = site.cycle_at(settled).await;
        assert!(report.skipped.is_empty() && report.decisions.is_empty(), "{report:?}");
        assert!(!std::fs::read_to_string(&atom).unwrap().contains("This Week in Rust 100"));
        std::fs::write(&file, &published).unwrap();
        let later = settled + chrono::Duration::days(1);
        let (.., report) = site.cycle_at(later).await;
        assert!(report.decisions.is_empty(), "announced again: {report:?}");
        assert!(std::fs::read_to_string(&atom).unwrap().contains("This Week in Rust 100"));
    }
}
