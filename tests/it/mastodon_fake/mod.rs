//! The Mastodon client against wiremock fakes shaped like real servers: Mastodon 4.x and
//! GoToSocial 0.19 (status codes, headers and error bodies as recorded in
//! `shared/notes/platforms.md`, "Observed on real servers").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald::announce::mastodon::{MastodonAccount, MastodonClient, Visibility};
use herald::announce::send::Lookup;
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

/// The text herald composed for the statuses [`status`] makes.
fn said() -> String {
    format!("This Week in Rust 665 is out!\n\n{ISSUE}")
}

/// Before every status the fakes here make: a look reads back to it.
fn since() -> DateTime<Utc> {
    "2026-08-19T00:00:00Z".parse().unwrap()
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

mod statuses;
