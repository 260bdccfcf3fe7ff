//! The Bluesky client against a wiremock PDS whose replies are shaped like the reference PDS's
//! (`../shared/servers/pds/README.md`, "API behaviour observed"). Every mock that stands for a
//! write has an exact `.expect(n)`, so a duplicate post or an extra login fails the test.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald::announce::bluesky::{
    BlueskyAccount, BlueskyClient, MAX_LOGINS_PER_DAY, SessionBinding, SessionStore, StoredSession,
    new_tid,
};
use herald::announce::compose::{Embed, facets};
use herald::announce::thumb::Thumb;
use herald::announce::{Platform, Post, SendError};
use herald::secret::Secret;
use serde_json::{Value, json};

use crate::common::logs::captured_logs;
use crate::common::mem_store::MemStore;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const HANDLE: &str = "alice.test";
const PASSWORD: &str = "app-pass-s3cr3t-xyzw";
/// Real CIDs (from the reference PDS): a record and a blob.
const CID: &str = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";
const BLOB_CID: &str = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy";

const CREATE_SESSION: &str = "/xrpc/com.atproto.server.createSession";
const REFRESH_SESSION: &str = "/xrpc/com.atproto.server.refreshSession";
const CREATE_RECORD: &str = "/xrpc/com.atproto.repo.createRecord";
const GET_RECORD: &str = "/xrpc/com.atproto.repo.getRecord";
const UPLOAD_BLOB: &str = "/xrpc/com.atproto.repo.uploadBlob";

/// The test stores keep one session whatever its binding.
fn binding() -> SessionBinding {
    SessionBinding { service: String::new(), identifier: String::new() }
}

fn session(access: &str, refresh: &str) -> StoredSession {
    StoredSession {
        did: DID.into(),
        handle: HANDLE.into(),
        access_jwt: Secret::new(access),
        refresh_jwt: Secret::new(refresh),
    }
}

fn client(server: &MockServer, store: Arc<MemStore>) -> BlueskyClient {
    captured_logs();
    let account = BlueskyAccount {
        name: "main".into(),
        service: format!("{}/", server.uri()),
        identifier: HANDLE.into(),
        password: Secret::new(PASSWORD),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    BlueskyClient::new(account, store, http)
}

/// A token that looks like the PDS's (a JWT), distinct per name.
fn jwt(name: &str) -> String {
    format!("eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJIUzI1NiJ9.{name}-payload.sig-{name}")
}

/// The PDS's createSession / refreshSession reply.
fn session_reply(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "did": DID,
        "didDoc": {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": DID,
            "alsoKnownAs": [format!("at://{HANDLE}")],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "http://localhost:2583"}]
        },
        "handle": HANDLE,
        "email": "alice@example.com",
        "emailConfirmed": false,
        "emailAuthFactor": false,
        "accessJwt": access,
        "refreshJwt": refresh,
        "active": true
    }))
}

fn xrpc_error(status: u16, error: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": error, "message": message}))
}

fn created(rkey: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
        "cid": CID,
        "commit": {"cid": "bafyreihmh6vmnrpnxoxefxmbduc2rnpjdqsxjvyaxafbcnnjmmmyeoneha", "rev": "3lzbjxjmgsk2a"},
        "validationStatus": "valid"
    }))
}

/// Expects exactly one createRecord with `access`, answering that it was created; returns
/// the rkey to post with.
async fn expect_one_post(server: &MockServer, access: &str) -> String {
    let rkey = new_tid(Utc::now());
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .and(header("authorization", bearer(access).as_str()))
        .respond_with(created(&rkey))
        .expect(1)
        .mount(server)
        .await;
    rkey
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn post(thumb: Option<Thumb>) -> Post {
    let text = "This Week in Rust 650 is out: https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-650/\n\n• Ünïcödé 🦀 crab\n\n#rustlang".to_string();
    Post {
        platform: Platform::Bluesky,
        graphemes: 120,
        limit: 300,
        facets: facets(&text),
        text,
        langs: vec!["en".into()],
        embed: Some(Embed {
            uri: "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-650/".into(),
            title: "This Week in Rust 650".into(),
            description: "Ünïcödé 🦀 crab".into(),
            thumb,
        }),
        highlights_kept: 1,
        highlights_total: 1,
    }
}

/// A 1×1 PNG.
fn png() -> Thumb {
    let bytes = vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    Thumb { source: "card.png".into(), mime: "image/png".into(), dimensions: (1, 1), bytes }
}

async fn bodies(server: &MockServer, p: &str) -> Vec<Value> {
    let requests: Vec<Request> = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn logs_in_once_and_a_second_client_reuses_the_stored_session() {
    let server = MockServer::start().await;
    let (access, refresh) = (jwt("access1"), jwt("refresh1"));
    Mock::given(method("POST"))
        .and(path(CREATE_SESSION))
        .and(body_partial_json(json!({"identifier": HANDLE, "password": PASSWORD})))
        .respond_with(session_reply(&access, &refresh))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .and(header("authorization", bearer(&access).as_str()))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            created(body["rkey"].as_str().unwrap())
        })
        .expect(2)
        .mount(&server)
        .await;

    let store = Arc::new(MemStore::default());
    let (first, second) = (new_tid(Utc::now()), new_tid(Utc::now()));
    let posted = client(&server, store.clone()).create_post(&post(None), &first, Utc::now()).await;
    let posted = posted.unwrap();
    assert_eq!(posted.id, format!("at://{DID}/app.bsky.feed.post/{first}"));
    assert_eq!(posted.cid.as_deref(), Some(CID));
    assert_eq!(
        posted.url.as_deref(),
        Some(format!("https://bsky.app/profile/{HANDLE}/post/{first}").as_str())
    );
    assert_eq!(store.session(), Some(session(&access, &refresh)));

    // A restart: a new client with the same store posts without logging in.
    client(&server, store.clone()).create_post(&post(None), &second, Utc::now()).await.unwrap();
    assert_eq!(store.logins(), 1);
}

#[tokio::test]
async fn expired_access_token_is_refreshed_and_the_call_replayed_once() {
    let server = MockServer::start().await;
    let (old_access, old_refresh) = (jwt("access-old"), jwt("refresh-old"));
    let (new_access, new_refresh) = (jwt("access-new"), jwt("refresh-new"));
    Mock::given(path(CREATE_SESSION))
        .respond_with(session_reply("x", "y"))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .and(header("authorization", bearer(&old_access).as_str()))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REFRESH_SESSION))
        .and(header("authorization", bearer(&old_refresh).as_str()))
        .respond_with(session_reply(&new_access, &new_refresh))
        .expect(1)
        .mount(&server)
        .await;
    let rkey = expect_one_post(&server, &new_access).await;

    let store = MemStore::with_session(session(&old_access, &old_refresh));
    client(&server, store.clone()).create_post(&post(None), &rkey, Utc::now()).await.unwrap();
    // The rotated pair is persisted.
    assert_eq!(store.session(), Some(session(&new_access, &new_refresh)));
    assert_eq!(store.logins(), 0);
    // The replay sent the same record with the same rkey.
    let sent = bodies(&server, CREATE_RECORD).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1]);
}

#[tokio::test]
async fn concurrent_calls_with_an_expired_token_refresh_once() {
    let server = MockServer::start().await;
    let (old_access, old_refresh) = (jwt("access-old"), jwt("refresh-old"));
    let (new_access, new_refresh) = (jwt("access-new"), jwt("refresh-new"));
    Mock::given(path(CREATE_RECORD))
        .and(header("authorization", bearer(&old_access).as_str()))
        .respond_with(xrpc_error(401, "ExpiredToken", "Token has expired"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path(REFRESH_SESSION))
        .respond_with(session_reply(&new_access, &new_refresh))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD))
        .and(header("authorization", bearer(&new_access).as_str()))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            created(body["rkey"].as_str().unwrap())
        })
        .expect(2)
        .mount(&server)
        .await;
    let store = MemStore::with_session(session(&old_access, &old_refresh));
    let bsky = client(&server, store.clone());
    let (a, b) = (new_tid(Utc::now()), new_tid(Utc::now()));
    let the_post = post(None);
    let (first, second) = tokio::join!(
        bsky.create_post(&the_post, &a, Utc::now()),
        bsky.create_post(&the_post, &b, Utc::now())
    );
    first.unwrap();
    second.unwrap();
    assert_eq!(store.session(), Some(session(&new_access, &new_refresh)));
}

#[tokio::test]
async fn refused_refresh_token_leads_to_exactly_one_login() {
    let server = MockServer::start().await;
    let (old_access, old_refresh) = (jwt("access-old"), jwt("refresh-old"));
    let (new_access, new_refresh) = (jwt("access-new"), jwt("refresh-new"));
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .and(header("authorization", bearer(&old_access).as_str()))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REFRESH_SESSION))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(CREATE_SESSION))
        .respond_with(session_reply(&new_access, &new_refresh))
        .expect(1)
        .mount(&server)
        .await;
    let rkey = expect_one_post(&server, &new_access).await;

    let store = MemStore::with_session(session(&old_access, &old_refresh));
    client(&server, store.clone()).create_post(&post(None), &rkey, Utc::now()).await.unwrap();
    assert_eq!(*store.clears.lock().unwrap(), 1);
    assert_eq!(store.logins(), 1);
    assert_eq!(store.session(), Some(session(&new_access, &new_refresh)));
}

#[tokio::test]
async fn exhausted_login_budget_means_no_login_at_all() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(session_reply("a", "r"))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD)).respond_with(created("x")).expect(0).mount(&server).await;
    Mock::given(path(REFRESH_SESSION))
        .respond_with(xrpc_error(400, "InvalidToken", "Token could not be verified"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(GET_RECORD))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .expect(1)
        .mount(&server)
        .await;

    let store = Arc::new(MemStore::default());
    let now = Utc::now();
    for i in 0..MAX_LOGINS_PER_DAY {
        store.record_login("main", now - chrono::Duration::hours(i64::from(i) + 1)).unwrap();
    }
    // No session stored: a login would be needed, but the budget is spent.
    let err = client(&server, store.clone())
        .create_post(&post(None), &new_tid(now), now)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Permanent { message, too_long: false } if message.contains("login budget exhausted")),
        "{err:?}"
    );
    // A stored session whose refresh token is refused: the same, after one refresh attempt.
    store.save_session("main", &binding(), &session(&jwt("a"), &jwt("r"))).unwrap();
    let err = client(&server, store.clone()).get_post(&new_tid(now)).await.unwrap_err();
    assert!(
        matches!(&err, SendError::Permanent { message, .. } if message.contains("login budget"))
    );
    assert_eq!(store.logins(), MAX_LOGINS_PER_DAY as usize);
    assert_eq!(store.session(), None);
}

#[tokio::test]
async fn logins_older_than_a_day_do_not_count() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(session_reply(&jwt("a"), &jwt("r")))
        .expect(1)
        .mount(&server)
        .await;
    let rkey = new_tid(Utc::now());
    Mock::given(path(CREATE_RECORD)).respond_with(created(&rkey)).expect(1).mount(&server).await;
    let store = Arc::new(MemStore::default());
    for _ in 0..MAX_LOGINS_PER_DAY {
        store.record_login("main", Utc::now() - chrono::Duration::hours(25)).unwrap();
    }
    client(&server, store.clone()).create_post(&post(None), &rkey, Utc::now()).await.unwrap();
}

mod records;
