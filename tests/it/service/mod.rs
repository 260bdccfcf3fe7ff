//! `herald run` as a service: a new issue file is noticed, the feeds follow within a second,
//! the issue is posted once after settling; SIGTERM stops it cleanly; a restart posts nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::fake_mastodon;
use crate::common::*;

fn site(dir: &Path) -> PathBuf {
    copy_articles(&fixture_archive(), &dir.join("content"));
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
         [daemon]\nsettle = \"1s\"\ndebounce = \"100ms\"\n\
         [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n\
         [[dry_run]]\nname = \"toot\"\nplatform = \"mastodon\"\npath = \"posts.jsonl\"\n",
    )
    .unwrap();
    config
}

/// [`site`], serving `/healthz` and `/metrics` on a free port of 127.0.0.1.
fn site_with_health(dir: &Path) -> PathBuf {
    let config = site(dir);
    let text = std::fs::read_to_string(&config).unwrap();
    let text =
        text.replace("debounce = \"100ms\"\n", "debounce = \"100ms\"\nlisten = \"127.0.0.1:0\"\n");
    std::fs::write(&config, text).unwrap();
    config
}

/// [`site_with_health`] started: its log, the process and the health server's base URL.
async fn start_with_health(dir: &Path) -> (PathBuf, Child, String) {
    let config = site_with_health(dir);
    let log = dir.join("herald.log");
    let service = start_logging(&config, std::fs::File::create(&log).unwrap());
    let l = log.clone();
    let base = tokio::task::spawn_blocking(move || logged_health_address(&l)).await.unwrap();
    (log, service, base)
}

/// A site in `dir` with its service started and past its first cycle, logging to a file.
fn start_site(dir: &Path) -> (PathBuf, PathBuf, Child) {
    let config = site(dir);
    let log = dir.join("herald.log");
    let service = start_logging(&config, std::fs::File::create(&log).unwrap());
    wait_for("the first cycle", Duration::from_secs(20), || dir.join("out/atom.xml").exists());
    (config, log, service)
}

fn start(config: &Path) -> Child {
    start_logging(config, Stdio::null())
}

fn start_logging(config: &Path, stderr: impl Into<Stdio>) -> Child {
    crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "run"])
        .env("HERALD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// [`wait_for`] from async code.
async fn wait_async(
    what: &'static str,
    limit: Duration,
    ok: impl FnMut() -> bool + Send + 'static,
) -> Duration {
    tokio::task::spawn_blocking(move || wait_for(what, limit, ok)).await.unwrap()
}

/// Publishes issue 710, dated today, in the site at `dir`.
fn publish_710(dir: &Path) {
    let today = crate::common::today();
    std::fs::write(
        dir.join(format!("content/{today}-this-week-in-rust.md")),
        format!("Title: This Week in Rust 710\nNumber: 710\nDate: {today}\n\nHello.\n"),
    )
    .unwrap();
}

fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "not stopped within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn posts(dir: &Path, needle: &str) -> usize {
    std::fs::read_to_string(dir.join("posts.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn notices_a_new_issue_updates_feeds_and_posts_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = site(dir);
    let mut service = start(&config);
    wait_for("the first cycle", Duration::from_secs(20), || dir.join("out/atom.xml").exists());
    let db = dir.join("state/herald.db");
    wait_for("the baseline", Duration::from_secs(10), || db.exists());
    std::thread::sleep(Duration::from_millis(300));

    let today = crate::common::today();
    let body =
        std::fs::read_to_string(fixture_archive().join("2026-08-19-this-week-in-rust.md")).unwrap();
    let body = body.split_once("\n\n").unwrap().1;
    let url = format!("/blog/{}/this-week-in-rust-710/", today.format("%Y/%m/%d"));
    // Written the way editors do: a temporary file renamed into place.
    let tmp_file = dir.join("content/.new.md.swp");
    std::fs::write(
        &tmp_file,
        format!("Title: This Week in Rust 710\nNumber: 710\nDate: {today}\n\n{body}"),
    )
    .unwrap();
    std::fs::rename(&tmp_file, dir.join(format!("content/{today}-this-week-in-rust.md"))).unwrap();

    let latency = wait_for("the feeds", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("out/atom.xml")).is_ok_and(|t| t.contains(&url))
    });
    assert!(latency < Duration::from_secs(2), "feeds updated after {latency:?}");
    assert_eq!(posts(dir, &url), 0, "not before the settle time");
    wait_for("the posts", Duration::from_secs(10), || posts(dir, &url) == 2);

    // An edit after posting (the discussion link added minutes later) changes the feeds and
    // posts nothing.
    let file = dir.join(format!("content/{today}-this-week-in-rust.md"));
    let edited = std::fs::read_to_string(&file).unwrap().replacen(
        "\n\n",
        "\n\n[Discuss on r/rust](https://www.reddit.com/r/rust/comments/edit-after-posting/)\n\n",
        1,
    );
    std::fs::write(&file, edited).unwrap();
    wait_for("the edited feeds", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("out/atom.xml"))
            .is_ok_and(|t| t.contains("edit-after-posting"))
    });
    std::thread::sleep(Duration::from_secs(2)); // past the settle time
    assert_eq!(posts(dir, &url), 2, "an edit is not announced again");

    let status = sigterm(&mut service);
    assert!(status.success(), "{status}");

    // A restart posts nothing again.
    let mut again = start(&config);
    std::thread::sleep(Duration::from_secs(2));
    assert!(sigterm(&mut again).success());
    assert_eq!(posts(dir, &url), 2);
}

/// Starts the service of the site at `dir` from inside it, with `-c herald.toml` (as README's
/// commands do from a checkout): paths in the config are then relative too.
fn start_relative(dir: &Path) -> Child {
    crate::common::herald_cmd()
        .args(["-c", "herald.toml", "run"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_relative_config_path_is_watched_too() {
    // The watcher reports absolute paths; the archive's relative path must still match them.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    site(dir);
    let mut service = start_relative(dir);
    wait_for("the first cycle", Duration::from_secs(20), || dir.join("out/atom.xml").exists());
    std::thread::sleep(Duration::from_millis(300));
    publish_710(dir);
    let seen = wait_for("the feeds", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("out/atom.xml")).is_ok_and(|t| t.contains("Rust 710"))
    });
    assert!(seen < Duration::from_secs(2), "feeds updated after {seen:?}");
    assert!(sigterm(&mut service).success());
}

#[test]
fn survives_the_archive_directory_being_replaced() {
    for relative in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let config = site(dir);
        let mut service = if relative { start_relative(dir) } else { start(&config) };
        wait_for("the first cycle", Duration::from_secs(20), || dir.join("out/atom.xml").exists());
        replace_the_archive(dir);
        assert!(sigterm(&mut service).success());
    }
}

/// Replaces the archive of the running site at `dir` wholesale, and checks the feeds follow it
/// and the new directory is watched.
fn replace_the_archive(dir: &Path) {
    // With one issue fewer.
    let content = dir.join("content");
    let fresh = dir.join("content.new");
    copy_articles(&fixture_archive(), &fresh);
    std::fs::remove_file(fresh.join("2026-08-19-this-week-in-rust.md")).unwrap();
    std::fs::remove_dir_all(&content).unwrap();
    // Gone for longer than the debounce: its return is seen through the parent's watch.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::rename(&fresh, &content).unwrap();
    wait_for("the feeds to follow", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("out/atom.xml"))
            .is_ok_and(|t| !t.contains("this-week-in-rust-665"))
    });
    std::fs::copy(
        fixture_archive().join("2026-08-19-this-week-in-rust.md"),
        content.join("2026-08-19-this-week-in-rust.md"),
    )
    .unwrap();
    wait_for("the re-added issue", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("out/atom.xml"))
            .is_ok_and(|t| t.contains("this-week-in-rust-665"))
    });
}

#[test]
fn a_burst_of_500_changes_is_one_rebuild_and_bad_files_do_not_stop_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_, log, mut service) = start_site(dir);
    std::thread::sleep(Duration::from_millis(500));
    let cycles = || std::fs::read_to_string(&log).unwrap_or_default().matches("cycle done").count();
    let before = cycles();

    // A checkout-sized burst: 500 files written at once, one of them not UTF-8.
    for i in 0..500 {
        let text = format!("Title: Burst {i}\nDate: 2020-01-01\nCategory: Rust\n\nBody {i}\n");
        std::fs::write(dir.join(format!("content/2020-01-01-burst-{i}.md")), text).unwrap();
    }
    std::fs::write(
        dir.join("content/2020-01-02-broken.md"),
        b"Title: x\nDate: 2020-01-02\n\n\xff\xfe",
    )
    .unwrap();
    // Unreadable ones: a dangling symlink and a named pipe, which must not block the scan.
    std::os::unix::fs::symlink("nowhere.md", dir.join("content/2020-01-03-gone.md")).unwrap();
    let fifo = dir.join("content/2020-01-04-pipe.md");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    wait_for("the rebuild", Duration::from_secs(10), || {
        std::fs::read_to_string(dir.join("out/categories/rust/rss.xml"))
            .is_ok_and(|t| t.contains("Burst"))
    });
    // The feeds are written before the cycle records its 500 verdicts: wait for its end, then
    // give a second cycle the time to come if the burst had been split.
    wait_for("the burst's cycle to end", Duration::from_secs(20), || cycles() > before);
    std::thread::sleep(Duration::from_millis(800));
    let rebuilds = cycles() - before;
    assert!((1..=2).contains(&rebuilds), "{rebuilds} rebuilds for one burst");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("2020-01-02-broken.md:4: not valid UTF-8"), "the bad file is reported");
    assert!(text.contains("2020-01-03-gone.md: cannot read: No such file"), "{text}");
    assert!(text.contains("2020-01-04-pipe.md: not a regular file"), "{text}");
    // And then it is quiet: its own reading of the archive is not a change.
    let settled = cycles();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(cycles(), settled, "cycles while nothing changes");
    assert!(sigterm(&mut service).success());
}

/// A site in `dir` posting to one Mastodon account at `instance`; returns its config file.
fn mastodon_site(dir: &Path, instance: &str) -> PathBuf {
    crate::common::mastodon_site(dir, instance, "settle = \"1s\"\ndebounce = \"100ms\"\n", 8000)
}

/// SIGTERM while a post is in flight (the server holds its reply): the service stops within
/// 10 s, and the next start finds the post instead of sending it again — on a server that
/// ignores Idempotency-Key, as GoToSocial does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_posting_stops_cleanly_and_the_post_is_not_repeated() {
    let fake = fake_mastodon::FakeMastodon::start(false).await;
    fake.state.lock().unwrap().delay = Duration::from_secs(60);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let config = mastodon_site(&dir, &fake.server.uri());
    let log = dir.join("herald.log");
    let mut service = start_logging(&config, std::fs::File::create(&log).unwrap());
    let d = dir.clone();
    wait_async("the first cycle", Duration::from_secs(20), move || d.join("out/atom.xml").exists())
        .await;
    publish_710(&dir);
    // The status is created as the request arrives; the reply is held.
    let state = fake.state.clone();
    wait_async("the post in flight", Duration::from_secs(15), move || {
        !state.lock().unwrap().statuses.is_empty()
    })
    .await;
    let status = tokio::task::spawn_blocking(move || sigterm(&mut service)).await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}\n{text}");
    assert!(text.contains("left to recovery"), "{text}");

    // The next start looks for the post before sending it again.
    fake.state.lock().unwrap().delay = Duration::ZERO;
    let mut again = start(&config);
    let db = dir.join("state/herald.db");
    let cfg = config.clone();
    tokio::task::spawn_blocking(move || {
        // Once the stopped run's lease (3 × 8 s) has run out, the post is looked for.
        wait_for("the row to be recorded as posted", Duration::from_secs(40), || {
            let out = crate::common::herald_cmd()
                .args(["-c", cfg.to_str().unwrap(), "status", "--json"])
                .output()
                .unwrap();
            db.exists() && String::from_utf8_lossy(&out.stdout).contains("\"posted\"")
        });
        assert!(sigterm(&mut again).success());
    })
    .await
    .unwrap();
    assert_eq!(fake.count(), 1, "posted once");
    assert!(!std::fs::read_to_string(&log).unwrap().contains("tok-5ecret"));
}

async fn get(url: &str) -> (u16, String, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

/// /healthz's body once it answers 503 (within 5 s), or "" if it never does.
async fn unhealthy(base: &str) -> String {
    let url = format!("{base}/healthz");
    for _ in 0..100 {
        let (status, _, body) = get(&url).await;
        if status == 503 {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    String::new()
}

/// The value of a metric line (`name{labels} value`) in a scrape.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `[daemon] listen`: /healthz follows the scans, /metrics counts what was done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_follow_the_service() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (_log, mut service, base) = start_with_health(&dir).await;

    let (status, _, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ok: last scan at"), "{body}");
    let (status, kind, scrape) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let files = std::fs::read_dir(fixture_archive()).unwrap().count() as f64;
    assert_eq!(metric(&scrape, "herald_articles"), Some(files), "{scrape}");
    assert_eq!(metric(&scrape, "herald_issues_known"), Some(files), "{scrape}");
    assert_eq!(metric(&scrape, "herald_cycles_total{result=\"ok\"}"), Some(1.0), "{scrape}");
    assert!(metric(&scrape, "herald_feed_files_written_total").unwrap() >= 2.0, "{scrape}");
    assert_eq!(metric(&scrape, "herald_feed_update_seconds_count"), Some(1.0), "{scrape}");
    assert_eq!(
        metric(&scrape, "herald_outbox_rows{account=\"sky\",state=\"posted\"}"),
        Some(0.0),
        "{scrape}"
    );

    // A new issue: posted on both accounts, and counted.
    publish_710(&dir);
    let d = dir.clone();
    wait_async("the posts", Duration::from_secs(10), move || {
        posts(&d, "this-week-in-rust-710") == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, scrape) = get(&format!("{base}/metrics")).await;
    for account in ["sky", "toot"] {
        let posted = format!("herald_outbox_rows{{account=\"{account}\",state=\"posted\"}}");
        assert_eq!(metric(&scrape, &posted), Some(1.0), "{scrape}");
        let sent = format!("herald_deliveries_total{{account=\"{account}\",result=\"posted\"}}");
        assert_eq!(metric(&scrape, &sent), Some(1.0), "{scrape}");
    }
    assert_eq!(metric(&scrape, "herald_issues_known"), Some(files + 1.0), "{scrape}");

    // The archive gone: the scan fails and /healthz says why.
    std::fs::rename(dir.join("content"), dir.join("content.away")).unwrap();
    let last = unhealthy(&base).await;
    assert!(last.contains("failed"), "{last:?}");
    let url = format!("{base}/healthz");
    let (_, _, scrape) = get(&format!("{base}/metrics")).await;
    assert!(metric(&scrape, "herald_cycles_total{result=\"failed\"}").unwrap() >= 1.0, "{scrape}");

    // Back again: healthy.
    std::fs::rename(dir.join("content.away"), dir.join("content")).unwrap();
    let mut healthy = false;
    for _ in 0..100 {
        if get(&url).await.0 == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "healthy again once the archive is back");
    assert!(tokio::task::spawn_blocking(move || sigterm(&mut service)).await.unwrap().success());
}

fn signal(child: &Child, name: &str) {
    Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
}

/// SIGHUP reloads the configuration; a broken one is reported (naming the field) and the
/// old one kept, and the service goes on.
#[test]
fn sighup_reloads_the_configuration_or_says_why_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (config, log, mut service) = start_site(dir);
    let good = std::fs::read_to_string(&config).unwrap();

    std::fs::write(&config, good.replace("settle = \"1s\"", "settle = \"soon\"")).unwrap();
    signal(&service, "HUP");
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("the refusal", Duration::from_secs(5), || {
        text().contains("configuration not reloaded")
    });
    assert!(text().contains("daemon.settle"), "the error names the field:\n{}", text());
    // Still serving with the old configuration.
    std::fs::remove_file(dir.join("content/2026-08-19-this-week-in-rust.md")).unwrap();
    wait_for("the feeds", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("out/atom.xml"))
            .is_ok_and(|t| !t.contains("this-week-in-rust-665"))
    });

    // Issue #13: a secret written in the file by mistake is refused by name, and its value
    // never reaches the log.
    std::fs::write(
        &config,
        format!("{good}[[bluesky]]\nidentifier = \"a.test\"\npassword = \"hunter2-app-pw\"\n"),
    )
    .unwrap();
    signal(&service, "HUP");
    wait_for("the second refusal", Duration::from_secs(5), || {
        text().matches("configuration not reloaded").count() == 2
    });
    assert!(text().contains("bluesky[0].password: secrets are never written"), "{}", text());
    assert!(!text().contains("hunter2-app-pw"), "{}", text());

    // A good new configuration: feeds go to the new output directory.
    std::fs::write(&config, good.replace("output = \"out\"", "output = \"out2\"")).unwrap();
    signal(&service, "HUP");
    wait_for("the reload", Duration::from_secs(5), || text().contains("configuration reloaded"));
    wait_for("feeds in the new place", Duration::from_secs(5), || {
        dir.join("out2/atom.xml").exists()
    });
    assert!(sigterm(&mut service).success());
}

/// The systemd notify protocol: READY=1 after the first scan, STATUS= lines, WATCHDOG=1 every
/// half `WATCHDOG_USEC` — also while a cycle waits on a slow server — and STOPPING=1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tells_systemd_ready_status_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    use std::sync::{Arc, Mutex};

    let fake = fake_mastodon::FakeMastodon::start(true).await;
    fake.state.lock().unwrap().delay = Duration::from_secs(4);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let config = mastodon_site(&dir, &fake.server.uri());
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let messages: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (m, d) = (messages.clone(), done.clone());
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !d.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                m.lock().unwrap().push((Instant::now(), text));
            }
        }
    });
    let mut service = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "run"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = |needle: &str| messages.lock().unwrap().iter().any(|(_, t)| t.contains(needle));
    let m = messages.clone();
    wait_async("READY=1", Duration::from_secs(20), move || {
        m.lock().unwrap().iter().any(|(_, t)| t.contains("READY=1"))
    })
    .await;
    assert!(seen("STATUS=7 articles"), "{:?}", messages.lock().unwrap());

    publish_710(&dir);
    // The post's reply is held for 4 s: the watchdog is fed meanwhile.
    let state = fake.state.clone();
    wait_async("the post", Duration::from_secs(15), move || {
        !state.lock().unwrap().statuses.is_empty()
    })
    .await;
    let arrived = Instant::now();
    let m = messages.clone();
    wait_async("the cycle that posted", Duration::from_secs(15), move || {
        m.lock().unwrap().iter().any(|(_, t)| t.contains("1 deliveries"))
    })
    .await;
    let pings = messages
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, t)| *at > arrived + Duration::from_millis(200) && t.contains("WATCHDOG=1"))
        .filter(|(at, _)| *at < arrived + Duration::from_millis(3800))
        .count();
    assert!(pings >= 4, "{pings} watchdog pings while the post was held");

    assert!(tokio::task::spawn_blocking(move || sigterm(&mut service)).await.unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    assert!(seen("STOPPING=1"));
}

/// The health address the service logged, once it has been past its first cycle.
fn logged_health_address(log: &Path) -> String {
    let mut base = String::new();
    wait_for("the health address", Duration::from_secs(20), || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let found = text.split("health on ").nth(1).and_then(|t| t.split("/healthz").next());
        base = found.unwrap_or_default().to_string();
        !base.is_empty() && text.contains("cycle done")
    });
    base
}

fn cycles(log: &Path) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().matches("cycle done").count()
}

mod field;
mod in_process;
mod notify;
mod page;
