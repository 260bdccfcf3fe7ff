//! Notifications and WebSub against real parts: a webhook receiver (wiremock) and a real SMTP
//! server (aiosmtpd, from PyPI), a hub that records its pings, the service as a process,
//! restarted and killed. Each state an issue goes through is told once per channel.

use std::collections::BTreeMap;

use hmac::Mac;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

/// aiosmtpd on a free port of 127.0.0.1, printing each message it takes to `log`.
struct Smtp {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("smtp.log");
        let child = Command::new("python3")
            .args(["-u", "-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let up = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let start = Instant::now();
        while !up() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start (pip install aiosmtpd; .ci/run does)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp { child, port, log }
    }

    /// The subjects of the messages taken so far.
    fn subjects(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        // A long subject is folded onto the next line (starting with a space).
        let unfolded = text.replace("\n ", " ");
        unfolded.lines().filter_map(|l| l.strip_prefix("Subject: ")).map(str::to_string).collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The webhook bodies received so far, parsed, with their headers checked: signed with
/// `key`, the delivery id the body's.
async fn hooks(server: &MockServer, key: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for r in server.received_requests().await.unwrap_or_default() {
        if r.url.path() != "/hook" {
            continue;
        }
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(&r.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let signature =
            r.headers.get("x-herald-signature-256").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(signature.as_deref(), Some(expected.as_str()), "a body not signed with the key");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let delivery = r.headers.get("x-herald-delivery").unwrap().to_str().unwrap();
        assert_eq!(delivery, body["id"].to_string());
        out.push(body);
    }
    out
}

/// How many times each (event, issue number or "-") was told.
fn counted(bodies: &[serde_json::Value]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for b in bodies {
        let issue = b["issue"]["number"].as_u64().map_or("-".to_string(), |n| n.to_string());
        *out.entry((b["event"].as_str().unwrap().to_string(), issue)).or_insert(0) += 1;
    }
    out
}

async fn until_async(what: &str, limit: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !ok().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn publish(dir: &Path, n: u32, body: &str) {
    let day = today() - chrono::Days::new(1);
    std::fs::write(
        dir.join(format!("content/{day}-issue-{n}.md")),
        format!("Title: This Week in Rust {n}\nNumber: {n}\nDate: {day}\n\n{body}"),
    )
    .unwrap();
}

const KEY: &str = "webhook-signing-key-0c41";
const TOKEN: &str = "mastodon-token-77e1a9";

/// A site whose Mastodon account's token is refused, with a webhook (`hook`) and an email
/// (`mail`) channel, and a hub.
fn site_with_channels(dir: &Path, receiver: &str, smtp_port: u16, mastodon: bool) -> PathBuf {
    copy_articles(&fixture_archive(), &dir.join("content"));
    std::fs::write(dir.join("hook-key"), KEY).unwrap();
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let toot = if mastodon {
        format!(
            "[[mastodon]]\nname = \"toot\"\ninstance = \"{receiver}\"\ntoken_file = \"token\"\n"
        )
    } else {
        "[[dry_run]]\nname = \"toot\"\nplatform = \"mastodon\"\npath = \"posts.jsonl\"\n"
            .to_string()
    };
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\nwebsub_hubs = [\"{receiver}/hub\"]\n\
             [state]\npath = \"state/herald.db\"\n\
             [daemon]\nsettle = \"1s\"\ndebounce = \"100ms\"\nrescan = \"* * * * * *\"\n\
             [announce]\nplaceholder_grace = \"3s\"\nrequest_timeout = \"2s\"\n\
             [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n\
             {toot}\
             [[notify]]\nname = \"hook\"\nurl = \"{receiver}/hook\"\nsecret_file = \"hook-key\"\nretry = \"200ms\"\n\
             [[notify]]\nname = \"mail\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\ntls = \"none\"\n\
             from = \"herald@twir.example\"\nto = [\"editors@twir.example\"]\nretry = \"200ms\"\n"
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn each_state_is_told_once_per_channel_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let receiver = MockServer::start().await;
    answer_hook_and_hub(&receiver).await;
    // The Mastodon instance refuses the token, as a real one does.
    Mock::given(wiremock::matchers::path_regex("^/api/"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "The access token is invalid"})),
        )
        .mount(&receiver)
        .await;
    let smtp = Smtp::start(dir);
    let config = site_with_channels(dir, &receiver.uri(), smtp.port, true);
    let log = dir.join("herald.log");
    let mut service = start_logging(&config, std::fs::File::create(&log).unwrap());
    wait_async("the first cycle", Duration::from_secs(20), {
        let out = dir.join("out/atom.xml");
        move || out.exists()
    })
    .await;

    let cotw = |link: &str| {
        format!("## Crate of the Week\n\nThis week's crate is [ferris]({link}), a crate.\n\n")
    };
    publish(dir, 710, &cotw("https://crates.io/crates/ferris"));
    publish(dir, 711, &cotw("INSERT_LINK_HERE"));
    publish(
        dir,
        712,
        &(cotw("https://crates.io/crates/x") + "[Discuss on r/rust](REDDIT_LINK_HERE)\n"),
    );

    let want: BTreeMap<(String, String), usize> = [
        (("held", "711"), 1),
        (("delayed", "712"), 1),
        (("failed", "710"), 1),
        (("failed", "712"), 1),
        (("login_failing", "-"), 1),
    ]
    .into_iter()
    .map(|((e, n), c)| ((e.to_string(), n.to_string()), c))
    .collect();
    until_async("every state told", Duration::from_secs(40), async || {
        counted(&hooks(&receiver, KEY).await) == want
    })
    .await;

    // A restart tells nothing again.
    assert!(sigterm(&mut service).success());
    let mut service =
        start_logging(&config, std::fs::OpenOptions::new().append(true).open(&log).unwrap());
    let cycles_before = cycles(&log);
    wait_async("two cycles after the restart", Duration::from_secs(30), {
        let log = log.clone();
        move || cycles(&log) >= cycles_before + 2
    })
    .await;
    assert_eq!(counted(&hooks(&receiver, KEY).await), want, "told again after a restart");

    // The archive gone: the cycles fail, told once; back: recovered, told once.
    std::fs::rename(dir.join("content"), dir.join("content.away")).unwrap();
    until_async("cycle_failing told", Duration::from_secs(60), async || {
        counted(&hooks(&receiver, KEY).await).contains_key(&("cycle_failing".into(), "-".into()))
    })
    .await;
    std::fs::rename(dir.join("content.away"), dir.join("content")).unwrap();
    let mut want = want;
    want.insert(("cycle_failing".into(), "-".into()), 1);
    want.insert(("recovered".into(), "-".into()), 1);
    until_async("recovered told", Duration::from_secs(60), async || {
        counted(&hooks(&receiver, KEY).await) == want
    })
    .await;

    // The email channel was told the same, once each.
    let expected: usize = want.values().sum();
    wait_async("every email", Duration::from_secs(20), {
        let log = smtp.log.clone();
        move || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.matches("---------- MESSAGE FOLLOWS ----------").count() >= expected
        }
    })
    .await;
    let subjects = smtp.subjects();
    assert_eq!(subjects.len(), expected, "{subjects:#?}");
    assert_eq!(
        subjects.iter().filter(|s| s.contains("This Week in Rust 711 is held")).count(),
        1,
        "{subjects:#?}"
    );
    let bodies = hooks(&receiver, KEY).await;
    let held = bodies.iter().find(|b| b["event"] == "held").unwrap();
    let text = held["text"].as_str().unwrap();
    assert!(text.contains("line 7: placeholder `INSERT_LINK_HERE`"), "{text}");
    assert!(text.contains("herald announce --issue 711 --force"), "{text}");
    assert!(held["issue"]["file"].as_str().unwrap().ends_with("-issue-711.md"), "{held:#}");
    let mail = std::fs::read_to_string(&smtp.log).unwrap();
    for text in [
        mail.as_str(),
        &serde_json::to_string(&bodies).unwrap(),
        &std::fs::read_to_string(&log).unwrap(),
    ] {
        assert!(!text.contains(TOKEN) && !text.contains(KEY), "a secret was sent or logged");
    }
    eprintln!(
        "a held issue as the webhook receives it:\n{held:#}\nand as email:\n{}",
        &mail[mail.find("Subject: herald: This Week in Rust 711").unwrap_or(0)..]
            [..900.min(mail.len())]
    );
    assert!(sigterm(&mut service).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_cut_short_by_a_kill_is_sent_after_the_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let receiver = MockServer::start().await;
    // The receiver takes the first call but answers only after a minute.
    answer(&receiver, "/hook", ResponseTemplate::new(204).set_delay(Duration::from_secs(60))).await;
    answer(&receiver, "/hub", ResponseTemplate::new(202)).await;
    let smtp = Smtp::start(dir);
    let config = site_with_channels(dir, &receiver.uri(), smtp.port, false);
    let mut service = start(&config);
    wait_async("the first cycle", Duration::from_secs(20), {
        let out = dir.join("out/atom.xml");
        move || out.exists()
    })
    .await;
    publish(dir, 711, "## Crate of the Week\n\nThis week's crate is [ferris](INSERT_LINK_HERE).\n");
    until_async("the held notice in flight", Duration::from_secs(30), async || {
        receiver
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .any(|r| r.url.path() == "/hook")
    })
    .await;
    let mail_before_kill = {
        let start = Instant::now();
        while smtp.subjects().is_empty() && start.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        smtp.subjects().iter().filter(|s| s.contains("711 is held")).count()
    };
    // Killed while the receiver has not answered: nothing recorded it as sent.
    service.kill().unwrap();
    service.wait().unwrap();
    receiver.reset().await;
    answer_hook_and_hub(&receiver).await;
    let mut service = start(&config);
    until_async("the held notice sent after the restart", Duration::from_secs(30), async || {
        hooks(&receiver, KEY).await.iter().any(|b| b["event"] == "held")
    })
    .await;
    // The email channel was not held up by the hanging webhook: it had its one message
    // before the kill.
    assert_eq!(mail_before_kill, 1, "the email waited behind the webhook");
    wait_async("every held notice recorded as sent", Duration::from_secs(10), {
        let state = dir.join("state/herald.db");
        move || {
            let db = rusqlite::Connection::open(&state).unwrap();
            let unsent: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM notices WHERE event = 'held' AND sent_at IS NULL",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            unsent == 0
        }
    })
    .await;
    let db = rusqlite::Connection::open(dir.join("state/herald.db")).unwrap();
    let unsent: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM notices WHERE event = 'held' AND sent_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unsent, 0);
    assert_eq!(smtp.subjects().iter().filter(|s| s.contains("711 is held")).count(), 1);
    assert!(sigterm(&mut service).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_is_pinged_once_per_changed_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (hub, config) = site_with_hub(dir, "settle = \"1s\"\ndebounce = \"100ms\"").await;
    let pings = async || -> Vec<String> {
        let mut out: Vec<String> = hub
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let form: BTreeMap<String, String> =
                    url::form_urlencoded::parse(&r.body).into_owned().collect();
                assert_eq!(form.get("hub.mode").map(String::as_str), Some("publish"));
                form["hub.url"].clone()
            })
            .collect();
        out.sort();
        out
    };
    let mut service = start(&config);
    // The first cycle wrote every feed and pinged for each: wait for the pings to stop.
    let mut seen = 0;
    until_async("the first cycle's pings", Duration::from_secs(20), async || {
        let now = pings().await.len();
        let settled = now >= 7 && now == seen;
        seen = now;
        settled
    })
    .await;
    // Every feed file written: the site's, the categories', the author's, the language's.
    let out = dir.join("out");
    let feeds: Vec<String> = walk(&out)
        .iter()
        .filter(|f| !f.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|f| {
            format!("https://this-week-in-rust.org/{}", f.strip_prefix(&out).unwrap().display())
        })
        .collect();
    assert!(feeds.len() >= 7, "{feeds:?}");
    let mut first = feeds.clone();
    first.sort();
    until_async("every feed's first write pinged", Duration::from_secs(20), async || {
        pings().await.len() >= first.len()
    })
    .await;
    let atom = std::fs::read_to_string(dir.join("out/atom.xml")).unwrap();
    assert!(atom.contains(&format!("<link href=\"{}/hub\" rel=\"hub\"/>", hub.uri())), "{atom}");
    assert!(
        atom.contains("<link href=\"https://this-week-in-rust.org/atom.xml\" rel=\"self\"/>"),
        "{atom}"
    );
    let rss = std::fs::read_to_string(dir.join("out/rss.xml")).unwrap();
    assert!(rss.contains(&format!("<atom:link href=\"{}/hub\" rel=\"hub\"/>", hub.uri())), "{rss}");

    // A new issue changes the feeds it is in: each is pinged once more; a rescan that
    // changes nothing pings nothing.
    publish(dir, 710, "Hello.\n");
    // The feeds the new issue is in (the site's, its category's, the author's, the
    // language's) changed; the other categories' did not.
    let mut second = first.clone();
    let other_category =
        |f: &String| f.contains("/categories/") && !f.contains("/categories/misc/");
    second.extend(first.iter().filter(|f| !other_category(f)).cloned());
    second.sort();
    until_async("the changed feeds pinged", Duration::from_secs(20), async || {
        pings().await.len() >= second.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pings().await, second);
    assert!(sigterm(&mut service).success());
}

/// The files below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A webhook URL from `url_file` (a Slack URL is its token) never shows, not even when the
/// endpoint's error page repeats the path; a channel removed from the configuration while
/// its notices wait has them dropped at the reload, and nothing stays failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_url_never_shows_and_a_removed_channel_leaves_nothing_failing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let receiver = MockServer::start().await;
    const TOKEN_PATH: &str = "/services/T0/B0/s3cr3tTOKEN";
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(500).set_body_string(format!("Cannot POST {TOKEN_PATH}")),
        )
        .mount(&receiver)
        .await;
    copy_articles(&fixture_archive(), &dir.join("content"));
    std::fs::write(dir.join("slack-url"), format!("{}{TOKEN_PATH}\n", receiver.uri())).unwrap();
    let base = "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
                [daemon]\nsettle = \"1s\"\ndebounce = \"100ms\"\n\
                [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n";
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!("{base}[[notify]]\nname = \"slack\"\nurl_file = \"slack-url\"\nformat = \"slack\"\nretry = \"50ms\"\n"),
    )
    .unwrap();
    let log = dir.join("herald.log");
    let mut service = start_logging(&config, std::fs::File::create(&log).unwrap());
    wait_async("the first cycle", Duration::from_secs(20), {
        let out = dir.join("out/atom.xml");
        move || out.exists()
    })
    .await;
    publish(dir, 711, "## Crate of the Week\n\nThis week's crate is [ferris](INSERT_LINK_HERE).\n");
    let status = |dir: &Path| {
        let out = herald(&["-c", dir.join("herald.toml").to_str().unwrap(), "status"]);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    wait_async("the channel shown failing", Duration::from_secs(30), {
        let dir = dir.to_path_buf();
        move || status(&dir).1.contains("notification channel \"slack\" fails")
    })
    .await;
    let (ok, text) = status(dir);
    assert!(!ok, "a failing channel is a problem: {text}");
    let listed = herald(&["-c", config.to_str().unwrap(), "notify"]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.contains("(secret URL)") && listed.contains("FAILING"), "{listed}");
    for shown in [&text, &listed, &std::fs::read_to_string(&log).unwrap()] {
        assert!(!shown.contains("s3cr3tTOKEN"), "the secret URL shows:\n{shown}");
    }
    // The channel removed, the service reloaded: its waiting notice is dropped.
    std::fs::write(&config, base).unwrap();
    Command::new("kill").args(["-HUP", &service.id().to_string()]).status().unwrap();
    wait_async("nothing failing after the reload", Duration::from_secs(30), {
        let dir = dir.to_path_buf();
        move || status(&dir).0
    })
    .await;
    assert!(std::fs::read_to_string(&log).unwrap().contains("no longer configured were dropped"));
    assert!(sigterm(&mut service).success());
}

/// A process killed after a feed changed but before its cycle ended still leaves the hub's
/// ping recorded: it was recorded before the new bytes replaced the old, and the next run
/// sends it (the next cycle finds the feed unchanged and would record none).
#[tokio::test(flavor = "multi_thread")]
async fn a_ping_survives_a_kill_right_after_the_feed_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (hub, config) = site_with_hub(dir, "settle = \"0s\"").await;
    let once = |failpoint: Option<&str>| {
        let mut cmd = herald_cmd();
        cmd.args(["-c", config.to_str().unwrap(), "run", "--once"]);
        if let Some(f) = failpoint {
            cmd.env("HERALD_FAILPOINTS", f);
        }
        cmd.output().unwrap()
    };
    assert!(once(None).status.success());
    let atom_pings = async || {
        hub.received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| {
                String::from_utf8_lossy(&r.body)
                    .contains("hub.url=https%3A%2F%2Fthis-week-in-rust.org%2Fatom.xml")
            })
            .count()
    };
    let before = atom_pings().await;
    // A new issue: the feeds change, and the process dies before it posts.
    publish(dir, 710, "Hello.\n");
    let died = once(Some("before-call"));
    assert!(!died.status.success(), "the failpoint kills it");
    assert!(
        std::fs::read_to_string(dir.join("out/atom.xml"))
            .unwrap()
            .contains("this-week-in-rust-710")
    );
    assert_eq!(atom_pings().await, before, "no ping yet: the process died first");
    assert!(once(None).status.success());
    assert_eq!(atom_pings().await, before + 1, "the recorded ping was sent by the next run");
}

/// A hub recording its pings, and a site over the sample archive that names it, with
/// `daemon` in `[daemon]`; returns the hub and the config.
async fn site_with_hub(dir: &Path, daemon: &str) -> (MockServer, PathBuf) {
    let hub = MockServer::start().await;
    answer(&hub, "/hub", ResponseTemplate::new(202)).await;
    copy_articles(&fixture_archive(), &dir.join("content"));
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\nwebsub_hubs = [\"{}/hub\"]\n\
             [state]\npath = \"state/herald.db\"\n[daemon]\n{daemon}\n\
             [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n",
            hub.uri()
        ),
    )
    .unwrap();
    (hub, config)
}

/// `server` answers a POST to `at` with `template`.
async fn answer(server: &MockServer, at: &str, template: ResponseTemplate) {
    Mock::given(method("POST")).and(path(at)).respond_with(template).mount(server).await;
}

/// `server` takes the webhook's calls (`/hook`, 204) and the hub's pings (`/hub`, 202).
async fn answer_hook_and_hub(server: &MockServer) {
    answer(server, "/hook", ResponseTemplate::new(204)).await;
    answer(server, "/hub", ResponseTemplate::new(202)).await;
}
