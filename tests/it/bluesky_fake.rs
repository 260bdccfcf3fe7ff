//! The Bluesky client against a wiremock PDS whose replies are shaped like the reference PDS's
//! (`../shared/servers/pds/README.md`, "API behaviour observed"). Every mock that stands for a
//! write has an exact `.expect(n)`, so a duplicate post or an extra login fails the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// A session store in memory that counts what happens to it.
#[derive(Default)]
struct MemStore {
    sessions: Mutex<HashMap<String, StoredSession>>,
    logins: Mutex<Vec<(String, DateTime<Utc>)>>,
    clears: Mutex<u32>,
}

impl MemStore {
    fn with_session(access: &str, refresh: &str) -> Arc<Self> {
        let store = Self::default();
        store.sessions.lock().unwrap().insert("main".into(), session(access, refresh));
        Arc::new(store)
    }
    fn session(&self) -> Option<StoredSession> {
        self.sessions.lock().unwrap().get("main").cloned()
    }
    fn logins(&self) -> usize {
        self.logins.lock().unwrap().len()
    }
}

impl SessionStore for MemStore {
    fn load_session(
        &self,
        account: &str,
        _: &SessionBinding,
    ) -> anyhow::Result<Option<StoredSession>> {
        Ok(self.sessions.lock().unwrap().get(account).cloned())
    }
    fn save_session(
        &self,
        account: &str,
        _: &SessionBinding,
        session: &StoredSession,
    ) -> anyhow::Result<()> {
        self.sessions.lock().unwrap().insert(account.into(), session.clone());
        Ok(())
    }
    fn clear_session(&self, account: &str) -> anyhow::Result<()> {
        *self.clears.lock().unwrap() += 1;
        self.sessions.lock().unwrap().remove(account);
        Ok(())
    }
    fn logins_since(&self, account: &str, since: DateTime<Utc>) -> anyhow::Result<u32> {
        let logins = self.logins.lock().unwrap();
        Ok(logins.iter().filter(|(a, at)| a == account && *at >= since).count() as u32)
    }
    fn record_login(&self, account: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.logins.lock().unwrap().push((account.into(), at));
        Ok(())
    }
}

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
    let rkey = new_tid(Utc::now());
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .and(header("authorization", bearer(&new_access).as_str()))
        .respond_with(created(&rkey))
        .expect(1)
        .mount(&server)
        .await;

    let store = MemStore::with_session(&old_access, &old_refresh);
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
    let store = MemStore::with_session(&old_access, &old_refresh);
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
    let rkey = new_tid(Utc::now());
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .and(header("authorization", bearer(&new_access).as_str()))
        .respond_with(created(&rkey))
        .expect(1)
        .mount(&server)
        .await;

    let store = MemStore::with_session(&old_access, &old_refresh);
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

#[tokio::test]
async fn the_create_record_body_carries_rkey_facets_langs_and_card() {
    let server = MockServer::start().await;
    let access = jwt("access");
    let rkey = new_tid(Utc::now());
    Mock::given(method("POST"))
        .and(path(UPLOAD_BLOB))
        .and(header("authorization", bearer(&access).as_str()))
        .and(header("content-type", "image/png"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 73}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .respond_with(created(&rkey))
        .expect(1)
        .mount(&server)
        .await;

    let store = MemStore::with_session(&access, &jwt("refresh"));
    let created_at =
        DateTime::parse_from_rfc3339("2026-08-19T16:05:00Z").unwrap().with_timezone(&Utc);
    let the_post = post(Some(png()));
    client(&server, store).create_post(&the_post, &rkey, created_at).await.unwrap();

    let uploads: Vec<Request> = server.received_requests().await.unwrap();
    let upload = uploads.iter().find(|r| r.url.path() == UPLOAD_BLOB).unwrap();
    assert_eq!(upload.body, png().bytes);

    let body = bodies(&server, CREATE_RECORD).await.remove(0);
    assert_eq!(body["repo"], DID);
    assert_eq!(body["collection"], "app.bsky.feed.post");
    assert_eq!(body["rkey"], rkey.as_str());
    let record = &body["record"];
    assert_eq!(record["$type"], "app.bsky.feed.post");
    assert_eq!(record["text"], the_post.text.as_str());
    assert_eq!(record["createdAt"], "2026-08-19T16:05:00.000000Z");
    assert_eq!(record["langs"], json!(["en"]));
    let text = the_post.text.as_bytes();
    let facets = record["facets"].as_array().unwrap();
    assert_eq!(facets.len(), 2);
    let link = &facets[0];
    let (start, end) = (
        link["index"]["byteStart"].as_u64().unwrap() as usize,
        link["index"]["byteEnd"].as_u64().unwrap() as usize,
    );
    assert_eq!(link["features"][0]["$type"], "app.bsky.richtext.facet#link");
    assert_eq!(link["features"][0]["uri"].as_str().unwrap().as_bytes(), &text[start..end]);
    let tag = &facets[1];
    let (start, end) = (
        tag["index"]["byteStart"].as_u64().unwrap() as usize,
        tag["index"]["byteEnd"].as_u64().unwrap() as usize,
    );
    // Byte offsets, after the multi-byte "Ünïcödé 🦀".
    assert_eq!(&text[start..end], b"#rustlang");
    assert_eq!(end, text.len());
    assert_eq!(
        tag["features"][0],
        json!({"$type": "app.bsky.richtext.facet#tag", "tag": "rustlang"})
    );
    let embed = &record["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.external");
    assert_eq!(
        embed["external"]["uri"],
        "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-650/"
    );
    assert_eq!(embed["external"]["title"], "This Week in Rust 650");
    assert_eq!(embed["external"]["description"], "Ünïcödé 🦀 crab");
    assert_eq!(
        embed["external"]["thumb"],
        json!({"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 73})
    );
}

#[tokio::test]
async fn a_failed_thumbnail_upload_still_posts_without_the_thumbnail() {
    let server = MockServer::start().await;
    let rkey = new_tid(Utc::now());
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(xrpc_error(500, "InternalServerError", "Internal Server Error"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD)).respond_with(created(&rkey)).expect(1).mount(&server).await;
    let store = MemStore::with_session(&jwt("a"), &jwt("r"));
    client(&server, store).create_post(&post(Some(png())), &rkey, Utc::now()).await.unwrap();
    let body = bodies(&server, CREATE_RECORD).await.remove(0);
    let external = &body["record"]["embed"]["external"];
    assert_eq!(external["title"], "This Week in Rust 650");
    assert!(external.get("thumb").is_none(), "{external}");
}

#[tokio::test]
async fn a_duplicate_rkey_is_transient_and_get_post_then_finds_the_record() {
    let server = MockServer::start().await;
    let rkey = new_tid(Utc::now());
    // What the reference PDS answers when the rkey exists ("There is already a value at key").
    Mock::given(path(CREATE_RECORD))
        .respond_with(xrpc_error(500, "InternalServerError", "Internal Server Error"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(GET_RECORD))
        .and(query_param("repo", DID))
        .and(query_param("collection", "app.bsky.feed.post"))
        .and(query_param("rkey", rkey.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
            "cid": CID,
            "value": {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2026-08-19T16:05:00.000Z"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(&jwt("a"), &jwt("r")));
    let err = bsky.create_post(&post(None), &rkey, Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert!(err.is_ambiguous());
    let found = bsky.get_post(&rkey).await.unwrap().unwrap();
    assert_eq!(found.id, format!("at://{DID}/app.bsky.feed.post/{rkey}"));
    assert_eq!(found.cid.as_deref(), Some(CID));
    assert_eq!(
        found.url.as_deref(),
        Some(format!("https://bsky.app/profile/{HANDLE}/post/{rkey}").as_str())
    );
}

#[tokio::test]
async fn a_missing_record_is_none() {
    let server = MockServer::start().await;
    let rkey = new_tid(Utc::now());
    Mock::given(path(GET_RECORD))
        .respond_with(xrpc_error(
            400,
            "RecordNotFound",
            &format!("Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(&jwt("a"), &jwt("r")));
    assert_eq!(bsky.get_post(&rkey).await.unwrap(), None);
}

#[tokio::test]
async fn too_many_graphemes_is_permanent_and_too_long() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_RECORD))
        .respond_with(xrpc_error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 1_100_000}
        })))
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(&jwt("a"), &jwt("r")));
    let err = bsky.create_post(&post(None), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: true, .. }), "{err:?}");

    // A thumbnail that is too big is permanent, but not a text that is too long.
    server.reset().await;
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 1_100_000}
        })))
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD))
        .respond_with(xrpc_error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: blob too big (maximum 1000000, got 1100000) at $.record.embed.external.thumb",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err =
        bsky.create_post(&post(Some(png())), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: false, .. }), "{err:?}");
}

#[tokio::test]
async fn a_non_tid_rkey_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_RECORD)).respond_with(created("x")).expect(0).mount(&server).await;
    let bsky = client(&server, MemStore::with_session(&jwt("a"), &jwt("r")));
    let err = bsky.create_post(&post(None), "hello", Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: false, .. }), "{err:?}");
}

#[tokio::test]
async fn rate_limits_give_the_time_to_come_back() {
    let server = MockServer::start().await;
    let reset = Utc::now().timestamp() + 1800;
    Mock::given(path(CREATE_RECORD))
        .respond_with(
            xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
                .insert_header("RateLimit-Limit", "5000")
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Reset", reset.to_string().as_str())
                .insert_header("RateLimit-Policy", "5000;w=3600"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(&jwt("a"), &jwt("r")));
    let err = bsky.create_post(&post(None), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    match err {
        SendError::RateLimited { retry_at: Some(at), .. } => assert_eq!(at.timestamp(), reset),
        other => panic!("{other:?}"),
    }

    // The 31st createSession in 5 minutes, as the reference PDS answers it.
    let server = MockServer::start().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(
            xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
                .insert_header("RateLimit-Limit", "30")
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Policy", "30;w=300")
                .insert_header("Retry-After", "240"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemStore::default());
    let before = Utc::now();
    let err = client(&server, store.clone()).get_post(&new_tid(before)).await.unwrap_err();
    match err {
        SendError::RateLimited { retry_at: Some(at), .. } => {
            let wait = (at - before).num_seconds();
            assert!((239..=242).contains(&wait), "{wait}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.logins(), 1, "every createSession attempt is recorded");
}

#[tokio::test]
async fn server_errors_and_timeouts_are_transient() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_RECORD))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(GET_RECORD))
        .respond_with(created("x").set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(&jwt("a"), &jwt("r")))
        .with_request_timeout(Duration::from_millis(300));
    let err = bsky.create_post(&post(None), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    assert!(
        matches!(&err, SendError::Transient { message } if message.contains("timed out")),
        "{err:?}"
    );

    // Nothing listening at all.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let account = BlueskyAccount {
        name: "main".into(),
        service: format!("http://{dead}"),
        identifier: HANDLE.into(),
        password: Secret::new(PASSWORD),
    };
    let bsky = BlueskyClient::new(
        account,
        MemStore::with_session(&jwt("a"), &jwt("r")),
        reqwest::Client::new(),
    );
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}

#[tokio::test]
async fn secrets_appear_in_no_error_debug_output_or_log() {
    let logs = captured_logs();
    let server = MockServer::start().await;
    let (old_access, old_refresh) = (jwt("access-old"), jwt("refresh-old"));
    let (new_access, new_refresh) = (jwt("access-new"), jwt("refresh-new"));
    // Access expired, refresh refused, login works, the post is rejected; then a wrong password.
    Mock::given(path(CREATE_RECORD))
        .and(header("authorization", bearer(&old_access).as_str()))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .mount(&server)
        .await;
    Mock::given(path(REFRESH_SESSION))
        .respond_with(xrpc_error(400, "InvalidToken", "Token could not be verified"))
        .mount(&server)
        .await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(session_reply(&new_access, &new_refresh))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD))
        .and(header("authorization", bearer(&new_access).as_str()))
        .respond_with(xrpc_error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
        ))
        .mount(&server)
        .await;
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;

    let store = MemStore::with_session(&old_access, &old_refresh);
    let bsky = client(&server, store.clone());
    let mut seen = Vec::new();
    let err =
        bsky.create_post(&post(Some(png())), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    seen.push(format!("{err} {err:?}"));

    // The password is refused.
    server.reset().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password"))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, Arc::new(MemStore::default()));
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { .. }), "{err:?}");
    seen.push(format!("{err} {err:?}"));

    // A createSession reply that does not decode, holding a token in an odd place.
    server.reset().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "did": DID, "handle": HANDLE, "accessJwt": 5, "refreshJwt": new_refresh
        })))
        .mount(&server)
        .await;
    let bsky = client(&server, Arc::new(MemStore::default()));
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    seen.push(format!("{err} {err:?}"));
    seen.push(format!("{bsky:?} {:?} {:?}", store.session(), session(&old_access, &old_refresh)));

    let logs = logs.text();
    assert!(logs.contains("refresh token was refused"), "the scenario ran: {logs}");
    for text in seen.iter().chain([&logs]) {
        for secret in [PASSWORD, &old_access, &old_refresh, &new_access, &new_refresh] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
        assert!(!text.contains("-payload"), "a token leaked into: {text}");
    }
}
