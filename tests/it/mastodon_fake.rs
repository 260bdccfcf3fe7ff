//! The Mastodon client against wiremock fakes shaped like real servers: Mastodon 4.x and
//! GoToSocial 0.19 (status codes, headers and error bodies as recorded in
//! `shared/notes/platforms.md`, "Observed on real servers").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald::announce::mastodon::{MastodonAccount, MastodonClient, Visibility};
use herald::announce::{Limits, Posted, SendError};
use herald::secret::Secret;
use serde_json::{Value, json};

use crate::common::logs::captured_logs;
use wiremock::matchers::{bearer_token, body_partial_json, header, method, path, query_param};
use wiremock::matchers::{header_exists, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "tok-3f9a1c77e2b04d5a-SECRET";
const ISSUE: &str = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";
const TEXT: &str =
    "This Week in Rust 665 https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";

fn account(server: &MockServer) -> MastodonAccount {
    MastodonAccount {
        name: "twir@fake".into(),
        // A trailing slash, as users write it, must not produce `//api`.
        instance: format!("{}/", server.uri()),
        token: Secret::new(TOKEN),
        visibility: Visibility::default(),
    }
}

fn client(server: &MockServer) -> MastodonClient {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    MastodonClient::new(account(server), http).with_timeout(Duration::from_secs(5))
}

// ---- bodies shaped like the real servers' -------------------------------------------------

/// `GET /api/v1/accounts/verify_credentials` on Mastodon 4.x (CredentialAccount).
fn credential_account(base: &str) -> Value {
    json!({
        "id": "109348571234567890", "username": "twir", "acct": "twir",
        "display_name": "This Week in Rust", "locked": false, "bot": true,
        "discoverable": true, "group": false, "created_at": "2022-11-14T00:00:00.000Z",
        "note": "<p>Handpicked Rust updates, delivered to your timeline weekly.</p>",
        "url": format!("{base}/@twir"), "uri": format!("{base}/users/twir"),
        "avatar": format!("{base}/avatars/original/missing.png"),
        "avatar_static": format!("{base}/avatars/original/missing.png"),
        "header": format!("{base}/headers/original/missing.png"),
        "header_static": format!("{base}/headers/original/missing.png"),
        "followers_count": 31337, "following_count": 4, "statuses_count": 665,
        "last_status_at": "2026-08-12", "hide_collections": false, "noindex": false,
        "source": {"privacy": "public", "sensitive": false, "language": "en", "note": "",
                   "fields": [], "follow_requests_count": 0},
        "emojis": [], "roles": [], "fields": [
            {"name": "Web", "value": "<a href=\"https://this-week-in-rust.org\">this-week-in-rust.org</a>",
             "verified_at": "2022-11-15T10:00:00.000+00:00"}
        ],
        "role": {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": false}
    })
}

/// `GET /api/v1/instance` on Mastodon 4.x (the deprecated v1 shape megalodon decodes).
fn mastodon_v1_instance(base: &str) -> Value {
    let mut contact = credential_account(base);
    contact["id"] = json!("1");
    contact["username"] = json!("admin");
    json!({
        "uri": "fake.example", "title": "Fake Mastodon", "short_description": "",
        "description": "A Mastodon-shaped fake", "email": "admin@fake.example",
        "version": "4.3.2", "urls": {"streaming_api": "wss://fake.example"},
        "stats": {"user_count": 10, "status_count": 1000, "domain_count": 50},
        "thumbnail": format!("{base}/packs/media/images/preview.png"),
        "languages": ["en"], "registrations": false, "approval_required": false,
        "invites_enabled": true,
        "configuration": {
            "accounts": {"max_featured_tags": 10},
            "statuses": {"max_characters": 1000, "max_media_attachments": 4,
                         "characters_reserved_per_url": 23},
            "media_attachments": {
                "supported_mime_types": ["image/jpeg", "image/png"],
                "image_size_limit": 16777216, "image_matrix_limit": 33177600,
                "video_size_limit": 103809024, "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400},
            "polls": {"max_options": 4, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2629746}
        },
        "contact_account": contact,
        "rules": [{"id": "1", "text": "Be nice."}]
    })
}

/// `GET /api/v1/instance` on GoToSocial 0.19: no `contact_account` when none is set, which
/// megalodon's strict struct cannot decode.
fn gotosocial_v1_instance() -> Value {
    json!({
        "uri": "gts.example", "account_domain": "gts.example", "title": "GoToSocial Fake",
        "description": "", "description_text": "", "short_description": "",
        "short_description_text": "", "email": "", "version": "0.19.2 git-abcdef",
        "languages": [], "registrations": false, "approval_required": true,
        "invites_enabled": false,
        "configuration": {
            "statuses": {"max_characters": 5000, "max_media_attachments": 6,
                         "characters_reserved_per_url": 25,
                         "supported_mime_types": ["text/plain", "text/markdown"]},
            "media_attachments": {"supported_mime_types": ["image/jpeg"],
                                  "image_size_limit": 41943040, "image_matrix_limit": 16777216,
                                  "video_size_limit": 41943040, "video_frame_rate_limit": 60,
                                  "video_matrix_limit": 16777216},
            "polls": {"max_options": 6, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2629746},
            "accounts": {"allow_custom_css": false, "max_featured_tags": 10,
                         "max_profile_fields": 6},
            "emojis": {"emoji_size_limit": 51200}
        },
        "urls": {"streaming_api": "wss://gts.example"},
        "stats": {"domain_count": 3, "status_count": 42, "user_count": 1},
        "thumbnail": "https://gts.example/assets/logo.webp", "max_toot_chars": 5000,
        "rules": []
    })
}

/// `GET /api/v2/instance` on GoToSocial 0.19.
fn gotosocial_v2_instance() -> Value {
    json!({
        "domain": "gts.example", "account_domain": "gts.example", "title": "GoToSocial Fake",
        "version": "0.19.2 git-abcdef", "source_url": "https://codeberg.org/superseriousbusiness/gotosocial",
        "description": "", "description_text": "", "usage": {"users": {"active_month": 1}},
        "thumbnail": {"url": "https://gts.example/assets/logo.webp"}, "languages": [],
        "configuration": {
            "urls": {"streaming": "wss://gts.example"},
            "accounts": {"allow_custom_css": false, "max_featured_tags": 10,
                         "max_profile_fields": 6},
            "statuses": {"max_characters": 5000, "max_media_attachments": 6,
                         "characters_reserved_per_url": 25,
                         "supported_mime_types": ["text/plain", "text/markdown"]},
            "media_attachments": {"supported_mime_types": ["image/jpeg"]},
            "polls": {"max_options": 6, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2629746},
            "translation": {"enabled": false},
            "emojis": {"emoji_size_limit": 51200}
        },
        "registrations": {"enabled": false, "approval_required": true, "message": null},
        "contact": {"email": ""},
        "rules": []
    })
}

/// A status entity as Mastodon returns it, linking to `url` the way mastodon.social renders
/// links: shortened visible text split into spans, the full URL only in `href`.
fn status(base: &str, id: &str, url: &str) -> Value {
    let rest = url.trim_start_matches("https://");
    let (shown, hidden) = rest.split_at(30.min(rest.len()));
    json!({
        "id": id, "created_at": "2026-08-19T16:00:00.000Z", "in_reply_to_id": null,
        "sensitive": false, "spoiler_text": "", "visibility": "public", "language": "en",
        "uri": format!("{base}/users/twir/statuses/{id}"), "url": format!("{base}/@twir/{id}"),
        "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
        "content": format!(
            "<p>This Week in Rust 665 is out!</p><p><a href=\"{url}\" rel=\"nofollow noopener\" \
             translate=\"no\" target=\"_blank\"><span class=\"invisible\">https://</span>\
             <span class=\"ellipsis\">{shown}</span><span class=\"invisible\">{hidden}</span></a></p>"
        ),
        "reblog": null, "account": {"id": "109348571234567890", "username": "twir"},
        "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "card": null,
        "poll": null
    })
}

fn other_status(base: &str, id: &str) -> Value {
    status(
        base,
        id,
        &format!(
            "https://this-week-in-rust.org/blog/2026/01/0{}/this-week-in-rust-6{id}/",
            id.len() % 9
        ),
    )
}

async fn mount_verify(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/verify_credentials"))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(credential_account(&server.uri())))
        .expect(1)
        .mount(server)
        .await;
}

fn rejected(e: &SendError) -> (&str, bool) {
    match e {
        SendError::Permanent { message, too_long } => (message, *too_long),
        other => panic!("expected Permanent, got {other:?}"),
    }
}

// ---- verify_credentials ---------------------------------------------------------------------

#[tokio::test]
async fn verify_returns_the_account_id_once() {
    let server = MockServer::start().await;
    mount_verify(&server).await;
    let c = client(&server);
    assert_eq!(c.verify().await.unwrap(), "109348571234567890");
    // Cached: `.expect(1)` fails the test on a second request.
    assert_eq!(c.verify().await.unwrap(), "109348571234567890");
}

#[tokio::test]
async fn verify_with_a_bad_token_is_permanent() {
    let server = MockServer::start().await;
    // Mastodon (Doorkeeper): 401 {"error":"The access token is invalid"}.
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/verify_credentials"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header(
                    "WWW-Authenticate",
                    "Bearer realm=\"Doorkeeper\", error=\"invalid_token\"",
                )
                .set_body_json(json!({"error": "The access token is invalid"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).verify().await.unwrap_err();
    let (message, too_long) = rejected(&err);
    assert!(!too_long);
    assert!(message.contains("401") && message.contains("access token is invalid"), "{message}");
}

#[tokio::test]
async fn verify_with_an_unreadable_reply_is_transient() {
    // megalodon turns an undecodable 2xx into RequestError; here that stays retryable.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/verify_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).verify().await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}

// ---- instance limits ---------------------------------------------------------------------------

#[tokio::test]
async fn limits_from_a_mastodon_v1_instance() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/instance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mastodon_v1_instance(&server.uri())))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/instance"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let limits = client(&server).limits(Limits::mastodon(500, 23)).await;
    assert_eq!(limits, Limits::mastodon(1000, 23));
}

#[tokio::test]
async fn limits_from_gotosocial_fall_back_to_a_lenient_v2() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/instance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(gotosocial_v1_instance()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/instance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(gotosocial_v2_instance()))
        .expect(1)
        .mount(&server)
        .await;
    let limits = client(&server).limits(Limits::mastodon(500, 23)).await;
    assert_eq!(limits, Limits::mastodon(5000, 25));
}

#[tokio::test]
async fn limits_fall_back_when_both_fail() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/instance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(gotosocial_v1_instance()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/instance"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": "Record not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let limits = client(&server).limits(Limits::mastodon(500, 23)).await;
    assert_eq!(limits, Limits::mastodon(500, 23));
}

#[tokio::test]
async fn limits_fall_back_when_the_server_is_down() {
    // Not pooled: dropping it stops it listening.
    let server = MockServer::builder().start().await;
    let c = client(&server);
    drop(server);
    assert_eq!(c.limits(Limits::mastodon(500, 23)).await, Limits::mastodon(500, 23));
}

// ---- posting -----------------------------------------------------------------------------------

#[tokio::test]
async fn post_sends_key_visibility_and_language() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(bearer_token(TOKEN))
        .and(header("Idempotency-Key", "herald-665-mastodon"))
        .and(body_partial_json(json!({"status": TEXT, "visibility": "public", "language": "en"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(status(&server.uri(), "113", ISSUE)))
        .expect(1)
        .mount(&server)
        .await;
    let posted =
        client(&server).post_status(TEXT, Some("en"), "herald-665-mastodon").await.unwrap();
    assert_eq!(
        posted,
        Posted { id: "113".into(), cid: None, url: Some(format!("{}/@twir/113", server.uri())) }
    );
}

#[tokio::test]
async fn configured_visibility_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header_exists("Idempotency-Key"))
        .and(body_partial_json(json!({"visibility": "unlisted"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(status(&server.uri(), "114", ISSUE)))
        .expect(1)
        .mount(&server)
        .await;
    let mut acct = account(&server);
    acct.visibility = Visibility::Unlisted;
    let c = MastodonClient::new(acct, reqwest::Client::new());
    assert_eq!(c.post_status(TEXT, None, "k").await.unwrap().id, "114");
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(body.get("language").is_none(), "no language key when none is given: {body}");
}

/// Mastodon's idempotency: the same key (per account, for an hour) returns the first status
/// instead of creating another (`app/services/post_status_service.rb`).
struct IdempotentStatuses {
    base: String,
    by_key: Mutex<HashMap<String, Value>>,
    created: Mutex<u32>,
}

impl Respond for IdempotentStatuses {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request.headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        let Some(key) = key else {
            return ResponseTemplate::new(422)
                .set_body_json(json!({"error": "no key in this fake"}));
        };
        let mut by_key = self.by_key.lock().unwrap();
        let entity = by_key
            .entry(key.to_string())
            .or_insert_with(|| {
                let mut created = self.created.lock().unwrap();
                *created += 1;
                status(&self.base, &format!("2000{created}"), ISSUE)
            })
            .clone();
        ResponseTemplate::new(200).set_body_json(entity)
    }
}

#[tokio::test]
async fn the_same_key_twice_creates_one_status() {
    let server = MockServer::start().await;
    let fake = Arc::new(IdempotentStatuses {
        base: server.uri(),
        by_key: Mutex::default(),
        created: Mutex::new(0),
    });
    struct Shared(Arc<IdempotentStatuses>);
    impl Respond for Shared {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            self.0.respond(request)
        }
    }
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(Shared(fake.clone()))
        .expect(3)
        .mount(&server)
        .await;
    let c = client(&server);
    let first = c.post_status(TEXT, Some("en"), "herald-665").await.unwrap();
    let again = c.post_status(TEXT, Some("en"), "herald-665").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(*fake.created.lock().unwrap(), 1);
    let other = c.post_status(TEXT, Some("en"), "herald-666").await.unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(*fake.created.lock().unwrap(), 2);
}

async fn post_answered(reply: ResponseTemplate) -> SendError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(reply)
        .expect(1)
        .mount(&server)
        .await;
    client(&server).post_status(TEXT, Some("en"), "herald-665").await.unwrap_err()
}

#[tokio::test]
async fn mastodon_too_long_is_permanent() {
    let err = post_answered(ResponseTemplate::new(422).set_body_json(
        json!({"error": "Validation failed: Text character limit of 500 exceeded"}),
    ))
    .await;
    assert!(rejected(&err).1, "{err}");
}

#[tokio::test]
async fn gotosocial_too_long_is_permanent() {
    let err =
        post_answered(ResponseTemplate::new(400).set_body_json(
            json!({"error": "Bad Request: text with spoiler exceed max chars (500)"}),
        ))
        .await;
    assert!(rejected(&err).1, "{err}");
}

#[tokio::test]
async fn bad_token_on_post_is_permanent() {
    let err = post_answered(
        ResponseTemplate::new(401).set_body_json(json!({"error": "The access token is invalid"})),
    )
    .await;
    assert!(!rejected(&err).1, "{err}");
    assert!(!err.is_ambiguous());
}

#[tokio::test]
async fn rate_limited_until_the_reset_time() {
    // GoToSocial: 429 without Retry-After, X-Ratelimit-Reset as an ISO-8601 time.
    let err = post_answered(
        ResponseTemplate::new(429)
            .insert_header("X-Ratelimit-Limit", "300")
            .insert_header("X-Ratelimit-Remaining", "0")
            .insert_header("X-Ratelimit-Reset", "2026-08-19T16:05:00Z")
            .set_body_json(json!({"error": "rate limit reached"})),
    )
    .await;
    let want: DateTime<Utc> = "2026-08-19T16:05:00Z".parse().unwrap();
    match err {
        SendError::RateLimited { retry_at, message } => {
            assert_eq!(retry_at, Some(want));
            assert!(message.contains("rate limit reached"), "{message}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn server_error_is_transient() {
    let err = post_answered(
        ResponseTemplate::new(500)
            .set_body_string("<html><body>We're sorry, but something went wrong.</body></html>"),
    )
    .await;
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert!(err.is_ambiguous());
}

#[tokio::test]
async fn an_unreadable_2xx_is_ambiguous_not_permanent() {
    let garbage = post_answered(
        ResponseTemplate::new(200).set_body_raw("<html>cached by a proxy", "text/html"),
    )
    .await;
    assert!(matches!(garbage, SendError::Transient { .. }), "{garbage:?}");
    assert!(garbage.to_string().contains("probably created"), "{garbage}");
    let no_id =
        post_answered(ResponseTemplate::new(200).set_body_json(json!({"content": "x"}))).await;
    assert!(matches!(no_id, SendError::Transient { .. }), "{no_id:?}");
}

#[tokio::test]
async fn a_slow_server_times_out_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(status(&server.uri(), "1", ISSUE))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let c = client(&server).with_timeout(Duration::from_millis(200));
    let err = c.post_status(TEXT, Some("en"), "k").await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}

// ---- reconciliation ------------------------------------------------------------------------

#[tokio::test]
async fn find_status_follows_the_link_header_to_page_two() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_verify(&server).await;
    let statuses = "/api/v1/accounts/109348571234567890/statuses";
    let page1: Vec<Value> = (0..3).map(|i| other_status(&base, &format!("30{i}"))).collect();
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(bearer_token(TOKEN))
        .and(query_param_is_missing("max_id"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Link",
                    format!(
                        "<{base}{statuses}?limit=40&max_id=300>; rel=\"next\", \
                         <{base}{statuses}?limit=40&min_id=302>; rel=\"prev\""
                    ),
                )
                .set_body_json(page1),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page2 =
        vec![other_status(&base, "299"), status(&base, "298", ISSUE), other_status(&base, "297")];
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(bearer_token(TOKEN))
        .and(query_param("max_id", "300"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page2))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(&server).find_status(&[ISSUE], &[]).await.unwrap();
    assert_eq!(
        found,
        Some(Posted { id: "298".into(), cid: None, url: Some(format!("{base}/@twir/298")) })
    );
}

#[tokio::test]
async fn find_status_is_none_when_absent() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_verify(&server).await;
    let statuses = "/api/v1/accounts/109348571234567890/statuses";
    // GoToSocial-style Link paging; the second page has no `next`, so reading stops there.
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(query_param_is_missing("max_id"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Link",
                    format!("<{base}{statuses}?limit=40&max_id=400>; rel=\"next\""),
                )
                .set_body_json(vec![other_status(&base, "401"), other_status(&base, "400")]),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(query_param("max_id", "400"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Link",
                    format!("<{base}{statuses}?limit=40&min_id=399>; rel=\"prev\""),
                )
                // A neighbouring issue whose URL extends the one looked for.
                .set_body_json(vec![status(&base, "399", &ISSUE.replace("-665/", "-6650/"))]),
        )
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client(&server).find_status(&[ISSUE], &[]).await.unwrap(), None);
}

#[tokio::test]
async fn find_status_pages_by_max_id_without_a_link_header() {
    let server = MockServer::start().await;
    let base = server.uri();
    mount_verify(&server).await;
    let statuses = "/api/v1/accounts/109348571234567890/statuses";
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(query_param_is_missing("max_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vec![other_status(&base, "501")]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(statuses))
        .and(query_param("max_id", "501"))
        .and(query_param("limit", "40"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Vec::<Value>::new()))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client(&server).find_status(&[ISSUE], &[]).await.unwrap(), None);
}

#[tokio::test]
async fn find_status_never_follows_a_link_to_another_host() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    mount_verify(&server).await;
    let statuses = "/api/v1/accounts/109348571234567890/statuses";
    Mock::given(method("GET"))
        .and(path(statuses))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Link",
                    format!("<{}{statuses}?max_id=1>; rel=\"next\"", elsewhere.uri()),
                )
                .set_body_json(vec![other_status(&server.uri(), "2")]),
        )
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client(&server).find_status(&[ISSUE], &[]).await.unwrap(), None);
}

// ---- secrets -------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_never_appears_in_errors_logs_or_debug() {
    let captured = captured_logs();

    let server = MockServer::start().await;
    // A careless server echoing the token back in its error bodies.
    let echo = json!({"error": format!("The access token {TOKEN} is invalid")});
    Mock::given(path("/api/v1/accounts/verify_credentials"))
        .respond_with(ResponseTemplate::new(401).set_body_json(echo.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/statuses"))
        .respond_with(ResponseTemplate::new(401).set_body_json(echo.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/instance"))
        .respond_with(ResponseTemplate::new(401).set_body_json(echo.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/instance"))
        .respond_with(ResponseTemplate::new(500).set_body_json(echo))
        .mount(&server)
        .await;
    let c = client(&server);

    let mut texts = vec![format!("{c:?}"), format!("{:?}", c.account())];
    for err in [
        c.verify().await.unwrap_err(),
        c.post_status(TEXT, Some("en"), "k").await.unwrap_err(),
        c.find_status(&[ISSUE], &[]).await.unwrap_err(),
    ] {
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    assert_eq!(c.limits(Limits::mastodon(500, 23)).await, Limits::mastodon(500, 23));
    // Transport failures (nothing listening) too.
    let gone = MockServer::builder().start().await;
    let down = client(&gone);
    drop(gone);
    texts.push(down.post_status(TEXT, None, "k").await.unwrap_err().to_string());
    texts.push(down.verify().await.unwrap_err().to_string());

    let logs = captured.text();
    assert!(logs.contains("instance limits unknown"), "logs were captured: {logs}");
    for text in texts.iter().chain([&logs]) {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
    }
    assert!(texts.iter().any(|t| t.contains("The access token *** is invalid")), "{texts:?}");
}
