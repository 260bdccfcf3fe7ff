//! `herald announce` end to end against a fake Mastodon server: exactly one status per issue
//! through crashes, lost replies, rate limits and length rejections; the token never shows.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::common::fake_mastodon::{FakeMastodon, Mode};
use crate::common::fixture_archive;
use herald::failpoint::POINTS;

const TOKEN: &str = "tok-5ecret-value-1234";

fn setup(server: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = {:?}\n[state]\npath = {:?}\n[announce]\nrequest_timeout = \"2s\"\n[[mastodon]]\nname = \"toot\"\ninstance = {server:?}\ntoken_file = {token:?}\n",
            fixture_archive(),
            dir.path().join("state/herald.db"),
        ),
    )
    .unwrap();
    (dir, config)
}

async fn announce(config: &Path, failpoint: Option<&str>) -> Output {
    let mut cmd = crate::common::herald_cmd();
    cmd.args(["-c", config.to_str().unwrap(), "announce", "--issue", "665"])
        .env("HERALD_LOG", "debug");
    match failpoint {
        Some(p) => cmd.env("HERALD_FAILPOINTS", p),
        None => cmd.env_remove("HERALD_FAILPOINTS"),
    };
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_once_with_key_visibility_and_language() {
    let fake = FakeMastodon::start(true).await;
    let (_dir, config) = setup(&fake.server.uri());
    let first = announce(&config, None).await;
    assert!(first.status.success(), "{}", text(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("toot: posted"), "{}", text(&first));
    let second = announce(&config, None).await;
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("already announced"),
        "{}",
        text(&second)
    );
    let s = fake.state.lock().unwrap();
    assert_eq!(s.statuses.len(), 1);
    let st = &s.statuses[0];
    assert!(
        st.text.contains("https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/")
    );
    assert_eq!(st.key.as_ref().map(String::len), Some(32));
    assert_eq!((st.visibility.as_str(), st.language.as_deref()), ("public", Some("en")));
    assert_eq!(s.auth[0], format!("Bearer {TOKEN}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_point_posts_once_even_where_keys_are_ignored() {
    for point in POINTS {
        // GoToSocial-like: the key is ignored, so only reconciliation prevents a duplicate.
        let fake = FakeMastodon::start(false).await;
        let (_dir, config) = setup(&fake.server.uri());
        let killed = announce(&config, Some(point)).await;
        assert!(!killed.status.success(), "{point}");
        let again = announce(&config, None).await;
        assert!(again.status.success(), "{point}: {}", text(&again));
        assert_eq!(fake.count(), 1, "{point}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_the_server_holds_the_request() {
    let fake = FakeMastodon::start(false).await;
    fake.state.lock().unwrap().delay = Duration::from_secs(3);
    let (_dir, config) = setup(&fake.server.uri());
    let mut child = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "announce", "--issue", "665"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the server has the request (and has created the status), then SIGKILL.
    for _ in 0..100 {
        if fake.count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.count(), 1);
    child.kill().unwrap();
    child.wait().unwrap();
    fake.state.lock().unwrap().delay = Duration::ZERO;
    let again = announce(&config, None).await;
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(fake.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_is_reconciled_not_reposted() {
    let fake = FakeMastodon::start(false).await;
    fake.state.lock().unwrap().mode = Mode::CreateThen502;
    let (_dir, config) = setup(&fake.server.uri());
    // The first try creates the status but answers 502; the retry looks first and finds it.
    let run = announce(&config, None).await;
    let out = text(&run);
    assert_eq!(fake.count(), 1, "{out}");
    assert!(out.contains("found the earlier post") || out.contains("next try"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_waits_for_the_reset() {
    let fake = FakeMastodon::start(true).await;
    fake.state.lock().unwrap().mode = Mode::RateLimited("2099-01-01T00:00:00.000Z".into());
    let (_dir, config) = setup(&fake.server.uri());
    let run = announce(&config, None).await;
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("next try at 2099-01-01T00:00:00Z"),
        "{}",
        text(&run)
    );
    assert_eq!(fake.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_already_queued_does_not_ask_the_instance_again() {
    // The instance's limits are read only to compose a post: `announce` for an issue the
    // outbox already has answers from the state, not after a request that may hang until
    // the timeout or warn about an instance that is down.
    let fake = FakeMastodon::start(true).await;
    let (_dir, config) = setup(&fake.server.uri());
    let instance_reads = || async {
        let requests = fake.server.received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| r.url.path().ends_with("/instance")).count()
    };
    let first = announce(&config, None).await;
    assert!(first.status.success(), "{}", text(&first));
    let after_first = instance_reads().await;
    assert!(after_first > 0, "the first post is fitted to the instance's limits");
    let second = announce(&config, None).await;
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("already announced"),
        "{}",
        text(&second)
    );
    assert_eq!(instance_reads().await, after_first, "{}", text(&second));
    assert_eq!(fake.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_as_too_long_is_refitted_once() {
    let fake = FakeMastodon::start(true).await;
    fake.state.lock().unwrap().mode = Mode::RejectLongerThan(300);
    let (_dir, config) = setup(&fake.server.uri());
    let run = announce(&config, None).await;
    assert!(run.status.success(), "{}", text(&run));
    let s = fake.state.lock().unwrap();
    assert_eq!(s.statuses.len(), 1);
    assert!(s.statuses[0].text.chars().count() <= 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_output_or_state() {
    let fake = FakeMastodon::start(true).await;
    fake.state.lock().unwrap().mode = Mode::CreateThen502;
    let (dir, config) = setup(&fake.server.uri());
    let run = announce(&config, None).await;
    assert!(!text(&run).contains(TOKEN));
    let db = std::fs::read(dir.path().join("state/herald.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(TOKEN));
    for args in [&["status"][..], &["status", "--json"]] {
        let status =
            crate::common::herald_cmd().arg("-c").arg(&config).args(args).output().unwrap();
        let shown = text(&status);
        assert!(shown.contains("toot"), "{shown}");
        assert!(!shown.contains(TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_posted_and_failed_rows() {
    let fake = FakeMastodon::start(true).await;
    let (_dir, config) = setup(&fake.server.uri());
    assert!(announce(&config, None).await.status.success());
    let status = |json: bool| {
        let mut cmd = crate::common::herald_cmd();
        cmd.arg("-c").arg(&config).arg("status");
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let posted = status(false);
    let shown = String::from_utf8_lossy(&posted.stdout).to_string();
    assert!(
        shown
            .contains(&format!("toot (mastodon): posted {}/@twir/110000000 at", fake.server.uri())),
        "{shown}"
    );
    assert!(posted.status.success());

    // A rejection that a re-fit cannot help: failed, with the server's message, exit 1.
    fake.state.lock().unwrap().mode = Mode::RejectLongerThan(5);
    let mut cmd = crate::common::herald_cmd();
    cmd.args(["-c", config.to_str().unwrap(), "announce", "--issue", "665", "--force-new"]);
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let failed = status(true);
    assert!(!failed.status.success());
    let v: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    let rows = v["outbox"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "posted");
    assert_eq!(rows[1]["status"], "failed");
    assert!(rows[1]["error"].as_str().unwrap().contains("character limit of 5 exceeded"), "{v}");
}

/// `edit_on_title_change` against the fake: an announced issue whose title is fixed gets its
/// status edited (not a new one); a status deleted meanwhile refuses the edit with 404, which
/// is recorded and not asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_title_edits_the_status_once() {
    let fake = FakeMastodon::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    common::copy_articles(&fixture_archive(), &content);
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
             [daemon]\nsettle = \"0s\"\nedit_on_title_change = true\n\
             [[mastodon]]\nname = \"toot\"\ninstance = {:?}\ntoken_file = \"token\"\n",
            fake.server.uri()
        ),
    )
    .unwrap();
    let run = || {
        let config = config.clone();
        async move {
            let out = tokio::task::spawn_blocking(move || {
                crate::common::herald_cmd()
                    .args(["-c", config.to_str().unwrap(), "run", "--once"])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            assert!(out.status.success(), "{}", text(&out));
            text(&out)
        }
    };
    run().await; // baseline
    let today = crate::common::today();
    let issue = content.join(format!("{today}-this-week-in-rust.md"));
    let publish = |title: &str| {
        std::fs::write(&issue, format!("Title: {title}\nNumber: 710\nDate: {today}\n\nHello.\n"))
            .unwrap()
    };
    publish("This Week in Rust 710");
    run().await;
    assert_eq!(fake.count(), 1);

    publish("This Week in Rust 710 (fixed)");
    let log = run().await;
    assert!(log.contains("post edited"), "{log}");
    {
        let s = fake.state.lock().unwrap();
        assert_eq!((s.statuses.len(), s.edit_requests), (1, 1));
        assert!(
            s.statuses[0].text.contains("This Week in Rust 710 (fixed)"),
            "{}",
            s.statuses[0].text
        );
        assert!(s.statuses[0].text.contains("this-week-in-rust-710-fixed/"), "the new link");
    }
    run().await;
    assert_eq!(fake.state.lock().unwrap().edit_requests, 1, "edited once");

    // Deleted on the server meanwhile: 404, recorded, not asked again.
    fake.state.lock().unwrap().statuses.clear();
    publish("This Week in Rust 710 (fixed again)");
    let log = run().await;
    assert!(log.contains("the edit was refused"), "{log}");
    run().await;
    assert_eq!(fake.state.lock().unwrap().edit_requests, 2);
    assert!(!log.contains(TOKEN));
    let status = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert!(text(&status).contains("not edited"), "{}", text(&status));
}

/// Issue #13: `announce` against a server that is down says each try, why in one short line,
/// how long it waits (in whole seconds), and at the end why the post is not done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announce_against_a_server_that_is_down_says_what_it_waits_for() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_dir, config) = setup(&format!("http://127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("request_timeout = \"2s\"", "request_timeout = \"1s\""))
        .unwrap();
    let run = announce(&config, None).await;
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(!run.status.success(), "{stdout}");
    let tries: Vec<&str> = stdout.lines().filter(|l| l.contains("not done")).collect();
    assert_eq!(tries.len(), 3, "{stdout}");
    assert!(tries[0].contains("could not connect") && tries[0].ends_with(" s"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.contains("not posted yet after 4 tries (last: ") && last.contains("could not connect"),
        "{stdout}"
    );
    assert!(!stdout.contains('.') || !stdout.contains("000000"), "no nanoseconds: {stdout}");
}
