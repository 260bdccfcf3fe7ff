//! `herald announce` end to end against a real Bluesky PDS on loopback
//! (`../shared/servers/pds/start.sh`): killed with SIGKILL at every point of a posting run and
//! restarted, the account holds exactly one post; restarts reuse the persisted session (one
//! login in all); the password never shows in output or state.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::pds::Pds;
use herald::failpoint::POINTS;

const ISSUE_URL: &str = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";

fn config(dir: &Path, pds: &Pds) -> PathBuf {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twir");
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = {archive:?}\n[state]\npath = {:?}\n\
             [announce]\nrequest_timeout = \"3s\"\n\
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
    let mut cmd = crate::common::herald_cmd();
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
    posts_linking(&pds.url, &pds.did, ISSUE_URL)
}

/// The posts in repo `did` on the PDS at `base` whose text contains `needle`.
fn posts_linking(base: &str, did: &str, needle: &str) -> usize {
    let url = format!(
        "{base}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post&limit=100"
    );
    let out = Command::new("curl").args(["-sf", &url]).output().expect("curl");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("listRecords JSON");
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["value"]["text"].as_str().is_some_and(|t| t.contains(needle)))
        .count()
}

fn logins(dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join("state/herald.db")).unwrap();
    db.query_row("SELECT COUNT(*) FROM logins", [], |r| r.get(0)).unwrap()
}

/// One PDS for the binary (its port is fixed), so the scenarios run one after another.
#[test]
fn on_a_real_pds() {
    let pds = Pds::start();
    posts_exactly_once_through_crashes(&pds);
    a_changed_account_logs_in_anew_and_keeps_its_token_home(&pds);
}

fn posts_exactly_once_through_crashes(pds: &Pds) {
    let mut posted_before = posts_of_issue(pds);
    for point in POINTS {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), pds);
        let killed = announce(&config, &pds.password, Some(point));
        assert!(!killed.status.success(), "{point}: {}", String::from_utf8_lossy(&killed.stderr));
        let again = announce(&config, &pds.password, None);
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&again.stdout),
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(again.status.success(), "{point}: {out}");
        assert_eq!(posts_of_issue(pds), posted_before + 1, "{point}: one new post\n{out}");
        posted_before += 1;
        // A third run posts nothing and logs in no more: the session was persisted.
        let third = announce(&config, &pds.password, None);
        assert!(String::from_utf8_lossy(&third.stdout).contains("already announced"));
        assert_eq!(posts_of_issue(pds), posted_before);
        assert_eq!(logins(dir.path()), 1, "{point}: one login across all runs");
        // The password is in neither the output nor the state file.
        assert!(!out.contains(&pds.password));
        let state = std::fs::read(dir.path().join("state/herald.db")).unwrap();
        assert!(!String::from_utf8_lossy(&state).contains(&pds.password));
    }
}

/// Issue #11: the operator changes the account's `identifier` (keeping its `name`): the
/// stored session was made for the first account, so herald logs in anew and posts to the
/// second. Then `service` moves to another server: no token issued by the first server is
/// ever sent there.
fn a_changed_account_logs_in_anew_and_keeps_its_token_home(pds: &Pds) {
    // A second account on the same PDS (no invite needed there).
    let body = serde_json::json!({
        "handle": "bob.test", "email": "bob@example.com", "password": "bob-pass-1234"
    });
    let out = Command::new("curl")
        .args(["-s", "-X", "POST", "-H", "content-type: application/json", "-d"])
        .arg(body.to_string())
        .arg(format!("{}/xrpc/com.atproto.server.createAccount", pds.url))
        .output()
        .unwrap();
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bob =
        created["did"].as_str().unwrap_or_else(|| panic!("createAccount: {created}")).to_string();

    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), pds);
    let alice_url = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";
    let alice_before = posts_linking(&pds.url, &pds.did, alice_url);
    let first = announce(&config, &pds.password, None);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(posts_linking(&pds.url, &pds.did, alice_url), alice_before + 1);
    // Issue #13: `check --online` logs in with the stored session and posts nothing.
    let checked = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "check", "--online"])
        .env("HERALD_TEST_BSKY_PASSWORD", &pds.password)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout).to_string();
    assert!(checked.status.success(), "{said}{}", String::from_utf8_lossy(&checked.stderr));
    assert!(said.contains(&format!("logged in as {}", pds.handle)), "{said}");
    assert_eq!(logins(dir.path()), 1, "the stored session was reused");
    assert_eq!(posts_linking(&pds.url, &pds.did, alice_url), alice_before + 1);

    // Same name, another identifier: a new issue goes to bob, not to alice.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(&format!("{:?}", pds.handle), "\"bob.test\"")).unwrap();
    let second = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "announce", "--issue", "664"])
        .env("HERALD_TEST_BSKY_PASSWORD", "bob-pass-1234")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(second.status.success(), "{said}");
    assert!(said.contains("made for another identifier"), "{said}");
    let issue_664 = "this-week-in-rust-664/";
    assert_eq!(posts_linking(&pds.url, &bob, issue_664), 1, "posted as the new account\n{said}");
    assert_eq!(
        posts_linking(&pds.url, &pds.did, issue_664),
        0,
        "nothing for the new account goes to the old one\n{said}"
    );

    // Another server: it sees a login with the configured password, never a token.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = format!("http://{}", server.local_addr().unwrap());
    let s = seen.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in server.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buf = vec![0u8; 65536];
            let n = stream.read(&mut buf).unwrap_or(0);
            s.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).to_string());
            let body =
                r#"{"error":"AuthenticationRequired","message":"Invalid identifier or password"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(&format!("{:?}", pds.url), &format!("{other:?}")))
        .unwrap();
    let third = crate::common::herald_cmd()
        .args(["-c", config.to_str().unwrap(), "announce", "--issue", "663"])
        .env("HERALD_TEST_BSKY_PASSWORD", "bob-pass-1234")
        .output()
        .unwrap();
    assert!(!third.status.success(), "the other server refuses the login");
    let requests = seen.lock().unwrap().clone();
    assert!(!requests.is_empty(), "herald went to the new server");
    for request in &requests {
        let lower = request.to_lowercase();
        assert!(!lower.contains("authorization: bearer"), "a token went to {other}:\n{request}");
        assert!(!lower.contains("eyj"), "a token went to {other}:\n{request}");
    }
}
