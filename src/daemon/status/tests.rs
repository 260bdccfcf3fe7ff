//! `status`'s text and JSON forms on a state with every kind of issue and row.
use super::*;
use crate::announce::Posted;
use crate::state::NewRow;
use crate::state::outbox::Fence;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A state holding every kind of issue, at fixed times.
pub(crate) fn every_kind() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("herald.db")).unwrap();
    let start = t("2026-08-01T10:00:00Z");
    let site = "https://this-week-in-rust.org/blog/2026/";
    let issue = |n: u32, day: &str, status: &str| {
        let key = format!("{site}{day}/this-week-in-rust-{n}/");
        let date = t(&format!("2026-{day}T04:00:00Z").replace('/', "-"));
        db.observe_issue(
            &key,
            Some(n),
            &format!("This Week in Rust {n}"),
            &format!("content/2026-{}-this-week-in-rust.md", day.replace('/', "-")),
            date,
            "h",
            start,
        )
        .unwrap();
        db.set_issue_status(&key, status, None, None, start).unwrap();
        key
    };
    for (n, day) in [(655, "06/10"), (656, "06/17"), (657, "06/24"), (658, "07/01")] {
        let key = issue(n, day, "baseline");
        db.decide_issue(&key, true).unwrap();
    }
    let old = issue(659, "07/08", "too_old");
    db.decide_issue(&old, false).unwrap();
    let now = t("2026-08-27T12:00:00Z");
    // Announced: one account posted, one failed.
    let done = issue(660, "08/19", "announced");
    db.decide_issue(&done, false).unwrap();
    for (account, platform) in [("sky", "bluesky"), ("toot", "mastodon")] {
        let row = NewRow {
            issue_key: &done,
            account,
            platform,
            post: "{}",
            platform_key: "3l2fekgjxw22a",
            held: None,
        };
        let id = db.enqueue(&row, t("2026-08-19T12:10:00Z")).unwrap().unwrap();
        if account == "sky" {
            let posted = Posted {
                id: "at://did:plc:x/app.bsky.feed.post/3l2fekgjxw22a".into(),
                cid: Some("c".into()),
                url: Some("https://bsky.app/profile/twir.example/post/3l2fekgjxw22a".into()),
            };
            let owner = "herald run, pid 7";
            let claimed = db
                .claim(id, owner, t("2026-08-19T12:10:00Z"), t("2026-08-19T12:11:30Z"))
                .unwrap()
                .unwrap();
            let fence = Fence::of(&claimed, owner);
            db.begin_send(id, fence, t("2026-08-19T12:10:00Z"), t("2026-08-19T12:11:30Z")).unwrap();
            db.mark_posted(id, fence, &posted, false, t("2026-08-19T12:10:01Z"), None).unwrap();
        } else {
            db.mark_failed(
                id,
                Fence::Unclaimed,
                "HTTP 401: The access token is invalid",
                t("2026-08-19T12:10:01Z"),
            )
            .unwrap();
        }
    }
    // Being sent right now by the service.
    let sending = issue(661, "08/20", "announced");
    db.decide_issue(&sending, false).unwrap();
    let row = NewRow {
        issue_key: &sending,
        account: "toot",
        platform: "mastodon",
        post: "{}",
        platform_key: "k",
        held: None,
    };
    let id = db.enqueue(&row, t("2026-08-27T11:59:00Z")).unwrap().unwrap();
    db.claim(id, "herald run, pid 7", t("2026-08-27T11:59:30Z"), t("2026-08-27T12:01:00Z"))
        .unwrap();
    let held = issue(662, "08/26", "waiting");
    db.set_issue_status(&held, "held", None, Some(&json!([
        "line 58: unfilled template comment `<!-- COTW goes here -->` in “Crate of the Week” (the crate_of_the_week highlight comes from there)",
        "line 143: unfilled template comment `<!-- Rust updates go here -->` in “Updates from the Rust Project” (the merged_prs highlight comes from there)"
    ]).to_string()), t("2026-08-26T12:00:00Z")).unwrap();
    let delayed = issue(663, "08/27", "waiting");
    db.set_issue_status(
        &delayed,
        "delayed",
        Some(t("2026-08-27T12:40:00Z")),
        Some(
            &json!(["line 360: placeholder `REDDIT_LINK_HERE` (not in the post's text)"])
                .to_string(),
        ),
        t("2026-08-27T11:40:00Z"),
    )
    .unwrap();
    let waiting = issue(664, "08/27", "waiting");
    db.set_issue_status(
        &waiting,
        "waiting",
        Some(t("2026-08-27T12:05:00Z")),
        Some(&json!(["settling: announced once unchanged for 600 s"]).to_string()),
        t("2026-08-27T11:55:00Z"),
    )
    .unwrap();
    db.set_meta("last_scan", &format!("{} ok", now.to_rfc3339())).unwrap();
    db.set_meta("next_scan", "2026-08-27T12:05:00+00:00").unwrap();
    db.set_meta("archive_problems", "content/a.md and content/b.md give the same URL https://x/ (same title and date); neither is announced until one is renamed or retitled").unwrap();
    (dir, db)
}

/// The view as `status` takes it beside the running service, a minute before its next
/// scan.
fn served(db: &Db) -> StatusView {
    let mut view = gather(db).unwrap();
    view.service = Some("pid 7, since 2026-08-27T09:00:00Z".into());
    view.now = t("2026-08-27T12:04:00Z");
    view
}

#[test]
fn status_text_shows_every_kind_of_issue() {
    let (_dir, db) = every_kind();
    let view = served(&db);
    insta::assert_snapshot!("status_text", render_text(&view, false));
    let all = render_text(&view, true);
    assert!(all.contains("#655") && !all.contains("older issues recorded as baseline"));
}

/// A service whose cycles cannot even be recorded (a full disk) is not "ok"; with no
/// service, no next scan is promised; rows under an account no longer configured, and rows
/// set aside as ambiguous, say what to do.
#[test]
fn status_says_what_the_state_cannot_record_and_what_waits_for_the_operator() {
    let (_dir, db) = every_kind();
    let mut view = served(&db);
    view.now = t("2026-08-27T12:30:00Z");
    let text = render_text(&view, false);
    assert!(text.contains("PROBLEM: the service runs but has recorded no cycle since one was due at 2026-08-27T12:05:00Z"), "{text}");
    assert!(!text.contains("next scan"), "{text}");
    assert_eq!(render_json(&view)["scans"]["overdue"], true);
    view.service = None;
    let text = render_text(&view, false);
    assert!(text.contains("service: not running on this state") && !text.contains("next scan"));
    assert_eq!(render_json(&view)["scans"]["next"], Value::Null);

    let mut view = served(&db);
    view.undeliverable = db.undeliverable(&["sky".into()]).unwrap().iter().map(|r| r.id).collect();
    let stuck = view.stuck();
    assert!(!stuck.is_empty() && stuck.iter().all(|(r, _)| r.account == "toot"));
    let text = render_text(&view, false);
    assert!(text.contains("UNDELIVERABLE: account \"toot\" is no longer configured"), "{text}");
    let json = render_json(&view);
    assert_eq!(json["outbox_problems"][0]["kind"], "undeliverable", "{json:#}");
    // A row set aside as ambiguous says how to settle it.
    let row = view.rows.iter().find(|r| r.status == RowStatus::Sending).unwrap();
    db.mark_ambiguous(
        row.id,
        Fence::Unclaimed,
        "status 9 has herald's text",
        t("2026-08-27T12:01:00Z"),
    )
    .unwrap();
    let view = served(&db);
    let text = render_text(&view, false);
    assert!(
        text.contains("AMBIGUOUS, neither sent nor recorded: status 9 has herald's text"),
        "{text}"
    );
    assert!(text.contains("--adopt <its id or link>"), "{text}");
}

#[test]
fn status_json_is_structured() {
    let (_dir, db) = every_kind();
    let view = served(&db);
    insta::assert_snapshot!(
        "status_json",
        serde_json::to_string_pretty(&render_json(&view)).unwrap()
    );
}

/// The text speaks the site's time zone: an issue's date is the one its file, URL and feeds
/// say, and times carry their offset. Before: UTC, a day off for an evening issue.
#[test]
fn status_text_speaks_the_site_s_time_zone() {
    let (_dir, db) = every_kind();
    // The State of Rust 0.9: `Date: 2014-01-12 22:00` in New York.
    let key = "https://this-week-in-rust.org/blog/2014/01/12/the-state-of-rust-0-9/";
    let date = t("2014-01-13T03:00:00Z");
    db.observe_issue(key, None, "The State of Rust 0.9", "content/rust-0.9.md", date, "h", date)
        .unwrap();
    db.set_issue_status(key, "too_old", None, None, date).unwrap();
    let mut view = served(&db);
    view.timezone = Zone::named("America/New_York").unwrap();
    let text = render_text(&view, true);
    assert!(text.contains("The State of Rust 0.9 — 2014-01-12"), "{text}");
    assert!(text.contains("next scan: 2026-08-27T08:05:00-04:00 at the latest"), "{text}");
    view.timezone = Zone::utc();
    let text = render_text(&view, true);
    assert!(text.contains("The State of Rust 0.9 — 2014-01-13"), "{text}");
}
