//! Exactly once on an account people share: editors post from herald's accounts, link the
//! issue before it goes out and reply to the announcement. herald adopts and deletes only
//! its own posts, finds them however many statuses follow, watches for a late landing as
//! long as one can happen, and a process that wakes after its lease records nothing over
//! another's. Against the fake that behaves like GoToSocial (ignores Idempotency-Key, pages
//! with `max_id`, names the posting application), with a person posting on the account.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fake_mastodon::{FakeMastodon, Mode};
use crate::exactly_once::field::{Site, site, stop, wait_for, wait_for_slowly};

/// The issue's URL in the fixture site (`mastodon_site`'s `[feeds]` defaults).
fn issue_url(site: &Site, needle: &str) -> String {
    let out = site.herald(&["preview", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find("https://").expect("the post has a link");
    let rest = &text[start..];
    let end = rest.find(needle).expect("the issue's URL") + needle.len();
    rest[..end].to_string()
}

/// `herald announce --issue n`, its output.
fn announce(site: &Site, n: u32) -> String {
    let out = site.herald(&["announce", "--issue", &n.to_string()]);
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The remote id the outbox recorded for the only posted row.
fn recorded_id(site: &Site) -> String {
    let out = site.herald(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<&serde_json::Value> =
        v["outbox"].as_array().unwrap().iter().filter(|r| r["status"] == "posted").collect();
    assert_eq!(rows.len(), 1, "{v:#}");
    rows[0]["remote_id"].as_str().unwrap().to_string()
}

/// An editor's status linking the issue before it goes out, then herald's first POST reset
/// before the server sees it: herald looks, finds only the editor's status, and posts its
/// announcement: the editor's status is never taken for it. Before: "found the earlier
/// post; recorded it", and the announcement was never posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_s_status_linking_the_issue_is_never_taken_for_the_announcement() {
    let fake = FakeMastodon::start(false).await;
    let site = site(&fake.server.uri(), 1000);
    let needle = site.publish(901);
    let url = tokio::task::block_in_place(|| issue_url(&site, &needle));
    let editor = fake.post_as_person(&format!("Issue 901 goes out soon {url}"));
    fake.state.lock().unwrap().post_modes.push_back(Mode::Lost502);
    let out = tokio::task::block_in_place(|| announce(&site, 901));
    let posted = tokio::task::block_in_place(|| recorded_id(&site));
    assert_ne!(posted, editor, "the editor's status was recorded as the announcement: {out}");
    assert!(fake.is_visible(&editor), "{out}");
    let s = fake.state.lock().unwrap();
    let herald: Vec<_> = s.statuses.iter().filter(|st| st.visible() && st.id != editor).collect();
    assert_eq!(herald.len(), 1, "{out}");
    assert!(herald[0].text.starts_with("This Week in Rust 901"), "{}", herald[0].text);
    assert_eq!(herald[0].id, posted);
}

/// The look for an unsure post reads back to the row's first call: the server stored the
/// status but its reply was lost, and 125 statuses follow on the account before herald looks
/// (three pages of 40 and more). Before: the look read 120 statuses, said "no status links
/// to the issue" and posted a second status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_look_reaches_back_past_any_number_of_later_statuses() {
    let fake = FakeMastodon::start(false).await;
    let site = site(&fake.server.uri(), 1000);
    let needle = site.publish(902);
    fake.state.lock().unwrap().post_modes.push_back(Mode::CreateThen502);
    let child = crate::common::herald_cmd()
        .arg("-c")
        .arg(&site.config)
        .args(["announce", "--issue", "902"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let f = &fake;
    tokio::task::block_in_place(|| {
        wait_for("the first POST", Duration::from_secs(20), || {
            f.state.lock().unwrap().posts_received == 1
        })
    });
    for i in 0..125 {
        fake.post_as_person(&format!("Rust meetup notes, part {i}"));
    }
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(fake.state.lock().unwrap().posts_received, 1, "posted again: {said}");
    assert_eq!(fake.visible_with(&needle), 1, "{said}");
}

/// A person replies with the issue's link while herald still watches for a late duplicate
/// of its announcement: the reply is not herald's and stays; the late duplicate, which is,
/// goes. Before: the reply was deleted as "a duplicate".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_linking_the_issue_is_never_deleted_as_a_duplicate() {
    let fake = FakeMastodon::start(false).await;
    // Request timeout 1 s: the first POST is stored 6 s late, herald re-sends after its lease
    // (3 s) and watches for the late one from 10 s after the re-send.
    let site = site(&fake.server.uri(), 1000);
    fake.state.lock().unwrap().store_delays.push_back(Duration::from_secs(6));
    let mut service = site.start();
    let f = &fake;
    let reply = tokio::task::block_in_place(|| {
        wait_for("the first cycle", Duration::from_secs(20), || {
            site.dir.join("out/atom.xml").exists()
        });
        let needle = site.publish(903);
        wait_for("the re-send", Duration::from_secs(30), || {
            f.state.lock().unwrap().posts_received == 2
        });
        let url = issue_url(&site, &needle);
        let reply = f.post_as_person(&format!("Great issue, thanks all! {url}"));
        wait_for("the late original to land", Duration::from_secs(10), || {
            f.state.lock().unwrap().statuses.iter().all(|s| s.stored_at <= Instant::now())
        });
        wait_for_slowly("herald's duplicate deleted", Duration::from_secs(40), || {
            f.state.lock().unwrap().deletes >= 1
        });
        std::thread::sleep(Duration::from_secs(2));
        reply
    });
    let log = site.log_text();
    stop(&mut service, "-TERM");
    assert!(fake.is_visible(&reply), "the person's reply was deleted: {log}");
    let s = fake.state.lock().unwrap();
    let herald = s.statuses.iter().filter(|st| st.visible() && st.id != reply).count();
    assert_eq!(herald, 1, "{log}");
}

/// The first POST is stored long after herald gave up on it: later than the first look for
/// a late duplicate (ten request timeouts after the re-send). herald keeps looking at growing
/// intervals and deletes it then, with a warning. Before: the second status stayed and
/// nothing was logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_lands_after_the_first_look_is_still_deleted() {
    let fake = FakeMastodon::start(false).await;
    let site = site(&fake.server.uri(), 1000);
    // Stored 16 s late: after the first look (about 13 s), before the second (about 43 s).
    fake.state.lock().unwrap().store_delays.push_back(Duration::from_secs(16));
    let mut service = site.start();
    let f = &fake;
    let needle = tokio::task::block_in_place(|| {
        wait_for("the first cycle", Duration::from_secs(20), || {
            site.dir.join("out/atom.xml").exists()
        });
        let needle = site.publish(904);
        wait_for("the late original to land", Duration::from_secs(30), || {
            f.state.lock().unwrap().posts_received == 2 && f.visible_with(&needle) == 2
        });
        wait_for_slowly("the duplicate deleted", Duration::from_secs(60), || {
            f.visible_with(&needle) == 1
        });
        needle
    });
    let log = site.log_text();
    stop(&mut service, "-TERM");
    assert_eq!(fake.visible_with(&needle), 1, "{log}");
    assert!(log.contains("landed late"), "{log}");
}

/// The service is stopped (SIGSTOP, a VM pause) while its POST is on its way, past its lease;
/// `herald announce` takes the row over, looks (the first POST is not stored yet), posts and
/// prints its status; the service resumes. It records nothing over what `announce` recorded,
/// and the status `announce` printed stays; the first POST, which lands late, is herald's
/// duplicate and goes. Before: the resumed service overwrote the row, then deleted the
/// status `announce` had printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_paused_past_its_lease_records_nothing_over_announce() {
    let fake = FakeMastodon::start(false).await;
    let site = site(&fake.server.uri(), 1000);
    // The service's POST is stored 5.5 s after it is sent: after `announce` has looked (at
    // about 4 s), before the resumed service would look again.
    fake.state.lock().unwrap().store_delays.push_back(Duration::from_millis(5500));
    let mut service = site.start();
    let f = &fake;
    let (printed, needle) = tokio::task::block_in_place(|| {
        wait_for("the first cycle", Duration::from_secs(20), || {
            site.dir.join("out/atom.xml").exists()
        });
        let needle = site.publish(905);
        wait_for("the service's POST", Duration::from_secs(20), || {
            f.state.lock().unwrap().posts_received == 1
        });
        Command::new("kill").args(["-STOP", &service.id().to_string()]).status().unwrap();
        // Past the lease (3 s): `announce` takes over.
        std::thread::sleep(Duration::from_secs(4));
        let out = announce(&site, 905);
        let printed = recorded_id(&site);
        assert!(out.contains(&printed), "{out}");
        Command::new("kill").args(["-CONT", &service.id().to_string()]).status().unwrap();
        wait_for("the paused POST to land", Duration::from_secs(20), || {
            f.state.lock().unwrap().statuses.iter().all(|s| s.stored_at <= Instant::now())
        });
        wait_for_slowly("one status left", Duration::from_secs(40), || {
            f.visible_with(&needle) == 1
        });
        std::thread::sleep(Duration::from_secs(3));
        (printed, needle)
    });
    let log = site.log_text();
    stop(&mut service, "-TERM");
    assert!(fake.is_visible(&printed), "the status announce printed was deleted: {log}");
    assert_eq!(fake.visible_with(&needle), 1, "{log}");
    assert_eq!(tokio::task::block_in_place(|| recorded_id(&site)), printed, "{log}");
    // The row is as `announce` recorded it: posted from its reply, not taken over again.
    let out = tokio::task::block_in_place(|| site.herald(&["status", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &v["outbox"][0];
    assert_eq!(row["found_later"], false, "the resumed service overwrote the row: {log}");
    assert!(log.contains("lost its claim"), "{log}");
}

/// A dry-run site (no server): the fixture archive and one sink account named `name` writing
/// to `sink`.
fn dry_run_site(dir: &std::path::Path, name: &str, sink: &str) -> std::path::PathBuf {
    if !dir.join("content").exists() {
        crate::common::copy_articles(&crate::common::fixture_archive(), &dir.join("content"));
    }
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
             [[dry_run]]\nname = {name:?}\nplatform = \"mastodon\"\npath = {sink:?}\n"
        ),
    )
    .unwrap();
    config
}

fn run(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = crate::common::herald_cmd().arg("-c").arg(config).args(args).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// Rows belong to the account, not to its name: the account renamed in the configuration,
/// then `herald announce --issue N` (the command the service suggests) does not post the
/// issue again. Before: it was posted a second time under the new name. A row waiting under
/// an account no longer configured at all is shown as undeliverable, with what to do.
#[test]
fn a_renamed_account_does_not_post_an_issue_again_and_a_removed_one_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sink = dir.join("posts.jsonl");
    let lines = || std::fs::read_to_string(&sink).unwrap_or_default().lines().count();
    let config = dry_run_site(dir, "toot", "posts.jsonl");
    let (code, out) = run(&config, &["announce", "--issue", "665"]);
    assert_eq!((code, lines()), (Some(0), 1), "{out}");
    dry_run_site(dir, "twir-mastodon", "posts.jsonl");
    let (code, out) = run(&config, &["announce", "--issue", "665"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already announced"), "{out}");
    assert_eq!(lines(), 1, "posted again under the new name: {out}");

    // An issue held by the guard is queued under the account; then the account is removed.
    std::fs::write(
        dir.join("content/2026-08-26-held.md"),
        "Title: This Week in Rust 666 INSERT_LINK_HERE\nNumber: 666\nDate: 2026-08-26\nCategory: This Week in Rust\n\nHello.\n",
    )
    .unwrap();
    let (_, out) = run(&config, &["announce", "--issue", "666"]);
    assert!(out.contains("held"), "{out}");
    dry_run_site(dir, "elsewhere", "other.jsonl");
    let (code, out) = run(&config, &["status"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("UNDELIVERABLE: account \"twir-mastodon\" is no longer configured"),
        "{out}"
    );
    let (_, json) = run(&config, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let problems = v["outbox_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v:#}");
    assert_eq!(problems[0]["kind"], "undeliverable");
    assert_eq!(problems[0]["account"], "twir-mastodon");
    let (code, out) = run(&config, &["check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "account \"twir-mastodon\", which is no longer configured, is delivered by nobody"
        ),
        "{out}"
    );
}

/// `edit_on_title_change`: the title fixed after the announcement (TWiR's URL follows the
/// title) edits the status by itself once the issue has settled, new title and new link,
/// although no other file changes. Before: logged as a rename; the status kept the old title
/// and a dead link until some other change woke the service (the next rescan: 15 min).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_title_edits_the_post_by_itself_once_settled() {
    let fake = FakeMastodon::start(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = crate::common::mastodon_site(
        dir,
        &fake.server.uri(),
        "settle = \"2s\"\ndebounce = \"100ms\"\nedit_on_title_change = true\n",
        2000,
    );
    let log = dir.join("herald.log");
    let mut service = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "run"])
        .env("HERALD_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let f = &fake;
    let today = crate::common::today();
    let file = dir.join(format!("content/{today}-issue-906.md"));
    let publish = |title: &str| {
        let tmp = dir.join("content/.906.swp");
        std::fs::write(
            &tmp,
            format!("Title: {title}\nNumber: 906\nDate: {today}\nCategory: This Week in Rust\n\nHello.\n"),
        )
        .unwrap();
        std::fs::rename(&tmp, &file).unwrap();
    };
    tokio::task::block_in_place(|| {
        wait_for("the first cycle", Duration::from_secs(20), || dir.join("out/atom.xml").exists());
        publish("This Week in Rust 906");
        wait_for("the announcement", Duration::from_secs(20), || f.count() == 1);
        publish("This Week in Rust 906: fixed");
        wait_for_slowly("the edit", Duration::from_secs(20), || {
            f.state.lock().unwrap().edit_requests >= 1
        });
    });
    stop(&mut service, "-TERM");
    let s = fake.state.lock().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(s.statuses.len(), 1, "{text}");
    assert!(s.statuses[0].text.contains("This Week in Rust 906: fixed"), "{}", s.statuses[0].text);
    assert!(s.statuses[0].text.contains("this-week-in-rust-906-fixed/"), "{}", s.statuses[0].text);
}
