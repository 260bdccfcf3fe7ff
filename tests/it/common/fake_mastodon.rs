//! A stateful fake Mastodon server for end-to-end runs of the herald binary: it keeps the
//! statuses it created, honours (or, like GoToSocial, ignores) `Idempotency-Key`, lists the
//! account's statuses newest first, and can be told to fail in the ways real servers do.
//!
//! Like a real server under load, it can take its time to store a status (`store_delay`):
//! the status appears in the account's list only once stored, the reply comes after that
//! (plus `delay`), and a client that gives up or dies meanwhile does not stop the store.
//! Listing stays fast all along. `DELETE /api/v1/statuses/:id` removes a status.
//!
//! Like GoToSocial 0.19 (shared/notes/platforms.md): the account's statuses are listed newest
//! first in pages of `limit` (at most 40) walked back with `max_id` (a `Link` header names the
//! next page), each with the `application` that posted it; people post on the same account
//! ([`FakeMastodon::post_as_person`]) from another application.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How the next POSTs are answered.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Create and answer 200.
    #[default]
    Normal,
    /// Create the status, then answer 502 (the reply was lost: an ambiguous failure).
    CreateThen502,
    /// Answer 502 without creating anything (the request was reset before the server saw
    /// it: ambiguous to the client all the same).
    Lost502,
    /// Answer 422 "character limit" for texts longer than this many chars.
    RejectLongerThan(usize),
    /// Answer 429 with `X-RateLimit-Reset` at this ISO-8601 time.
    RateLimited(String),
}

/// A status the fake created.
#[derive(Debug, Clone)]
pub struct FakeStatus {
    /// Its id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// The Idempotency-Key it was created with.
    pub key: Option<String>,
    /// Its visibility (`unlisted` when none was sent, as GoToSocial does).
    pub visibility: String,
    /// Its language.
    pub language: Option<String>,
    /// When it is stored: listed from then on.
    pub stored_at: Instant,
    /// Its `created_at`.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Deleted through the API.
    pub deleted: bool,
    /// The application that posted it: herald's token's ([`APP`]) or a person's client.
    pub application: String,
}

/// The name of the application herald's token belongs to.
pub const APP: &str = "herald";

/// The application people on the account post from.
pub const PERSON_APP: &str = "Web";

impl FakeStatus {
    /// Stored and not deleted: what the account shows.
    pub fn visible(&self) -> bool {
        !self.deleted && self.stored_at <= Instant::now()
    }
}

/// The fake's state.
#[derive(Debug, Default)]
pub struct State {
    /// Created statuses, oldest first.
    pub statuses: Vec<FakeStatus>,
    /// Honour `Idempotency-Key` (Mastodon) or ignore it (GoToSocial).
    pub honour_keys: bool,
    /// How to answer the next POSTs.
    pub mode: Mode,
    /// Hold every POST reply this long after the status is stored.
    pub delay: Duration,
    /// How long storing a status takes (listed only after), unless `store_delays` says.
    pub store_delay: Duration,
    /// The store times of the next POSTs, one each, before `store_delay` applies again.
    pub store_delays: VecDeque<Duration>,
    /// The modes of the next POSTs, one each, before `mode` applies again.
    pub post_modes: VecDeque<Mode>,
    /// How far the server's clock is from ours (its `created_at`s).
    pub clock_skew: chrono::Duration,
    /// POSTs received.
    pub posts_received: usize,
    /// DELETEs received.
    pub deletes: usize,
    /// Authorization headers seen.
    pub auth: Vec<String>,
    /// Edits asked for (`PUT /api/v1/statuses/:id`), answered or not.
    pub edit_requests: usize,
}

/// A running fake.
pub struct FakeMastodon {
    /// The server.
    pub server: MockServer,
    /// Its state.
    pub state: Arc<Mutex<State>>,
}

struct Post(Arc<Mutex<State>>, String);

impl Respond for Post {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        s.auth.push(
            request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let text = body["status"].as_str().unwrap_or_default().to_string();
        let key =
            request.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(String::from);
        s.posts_received += 1;
        let store = s.store_delays.pop_front().unwrap_or(s.store_delay);
        let mode = s.post_modes.pop_front().unwrap_or_else(|| s.mode.clone());
        match mode.clone() {
            Mode::RejectLongerThan(n) if text.chars().count() > n => {
                return ResponseTemplate::new(422)
                    .set_body_json(json!({"error": format!("Validation failed: Text character limit of {n} exceeded")}));
            }
            Mode::Lost502 => {
                return ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>");
            }
            Mode::RateLimited(at) => {
                return ResponseTemplate::new(429)
                    .insert_header("X-RateLimit-Limit", "300")
                    .insert_header("X-RateLimit-Remaining", "0")
                    .insert_header("X-RateLimit-Reset", at.as_str())
                    .set_body_json(json!({"error": "Too many requests"}));
            }
            _ => {}
        }
        let existing = if s.honour_keys {
            key.as_ref().and_then(|k| {
                s.statuses.iter().find(|st| st.key.as_ref() == Some(k)).map(|st| st.id.clone())
            })
        } else {
            None
        };
        let id = existing.unwrap_or_else(|| {
            let id = format!("{}", 110_000_000 + s.statuses.len());
            let visibility = body["visibility"].as_str().unwrap_or("unlisted").to_string();
            let language = body["language"].as_str().map(String::from);
            let skew = s.clock_skew;
            s.statuses.push(FakeStatus {
                id: id.clone(),
                text: text.clone(),
                key: key.clone(),
                visibility,
                language,
                stored_at: Instant::now() + store,
                created_at: chrono::Utc::now()
                    + chrono::Duration::from_std(store).unwrap_or_default()
                    + skew,
                deleted: false,
                application: APP.into(),
            });
            id
        });
        let created_at = s.statuses.iter().find(|st| st.id == id).map(|st| st.created_at);
        let reply = match mode {
            Mode::CreateThen502 => {
                ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>")
            }
            _ => ResponseTemplate::new(200).set_body_json(status_json(
                &self.1,
                &id,
                &text,
                created_at.unwrap_or_else(chrono::Utc::now),
                APP,
            )),
        };
        reply.set_delay(store + s.delay)
    }
}

/// `PUT /api/v1/statuses/:id`: replaces the text of a status, or 404 as Mastodon answers for
/// a deleted one.
struct Edit(Arc<Mutex<State>>, String);

impl Respond for Edit {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        s.edit_requests += 1;
        let id = request.url.path().rsplit('/').next().unwrap_or_default().to_string();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let text = body["status"].as_str().unwrap_or_default().to_string();
        match s.statuses.iter_mut().find(|st| st.id == id && st.visible()) {
            Some(st) => {
                st.text = text.clone();
                ResponseTemplate::new(200).set_body_json(status_json(
                    &self.1,
                    &id,
                    &text,
                    st.created_at,
                    &st.application,
                ))
            }
            None => ResponseTemplate::new(404).set_body_json(json!({"error": "Record not found"})),
        }
    }
}

/// `DELETE /api/v1/statuses/:id`.
struct Delete(Arc<Mutex<State>>, String);

impl Respond for Delete {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        s.deletes += 1;
        let id = request.url.path().rsplit('/').next().unwrap_or_default().to_string();
        match s.statuses.iter_mut().find(|st| st.id == id && st.visible()) {
            Some(st) => {
                st.deleted = true;
                let json = status_json(&self.1, &id, &st.text, st.created_at, &st.application);
                ResponseTemplate::new(200).set_body_json(json)
            }
            None => ResponseTemplate::new(404).set_body_json(json!({"error": "Record not found"})),
        }
    }
}

struct List(Arc<Mutex<State>>, String);

impl Respond for List {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let s = self.0.lock().unwrap();
        let query = |key: &str| {
            request.url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
        };
        let limit = query("limit").and_then(|l| l.parse().ok()).unwrap_or(20usize).clamp(1, 40);
        // Newest first by when each status was stored (GoToSocial's ids are made then: a
        // request stored late lists above one stored before it); `max_id`: older than that
        // status; `min_id`: newer than it (the page just above it).
        let order = |st: &FakeStatus| (st.created_at, st.id.parse::<u64>().unwrap_or(0));
        let mut all: Vec<&FakeStatus> = s.statuses.iter().filter(|st| st.visible()).collect();
        all.sort_by_key(|st| std::cmp::Reverse(order(st)));
        let at = |id: Option<String>| {
            id.and_then(|id| s.statuses.iter().find(|st| st.id == id)).map(order)
        };
        let max_id = at(query("max_id"));
        let min_id = at(query("min_id"));
        let mut matching: Vec<&FakeStatus> = all
            .into_iter()
            .filter(|st| max_id.is_none_or(|m| order(st) < m))
            .filter(|st| min_id.is_none_or(|m| order(st) > m))
            .collect();
        if min_id.is_some() {
            let skip = matching.len().saturating_sub(limit);
            matching.drain(..skip);
        }
        let more = matching.len() > limit;
        matching.truncate(limit);
        let list: Vec<Value> = matching
            .iter()
            .map(|st| status_json(&self.1, &st.id, &st.text, st.created_at, &st.application))
            .collect();
        let mut reply = ResponseTemplate::new(200);
        if let (Some(last), true) = (matching.last(), more) {
            let next = format!("{}{}?limit={limit}&max_id={}", self.1, request.url.path(), last.id);
            reply = reply.insert_header("Link", format!("<{next}>; rel=\"next\"").as_str());
        }
        reply.set_body_json(list)
    }
}

/// A status entity with the text rendered as Mastodon does: links inside `<a href>`, the
/// visible text shortened.
fn status_json(
    base: &str,
    id: &str,
    text: &str,
    created_at: chrono::DateTime<chrono::Utc>,
    application: &str,
) -> Value {
    // Paragraphs and line breaks as Mastodon renders them.
    let text = text.replace("\n\n", " \u{1}p ").replace('\n', " \u{1}br ");
    let mut html = String::new();
    for word in text.split(' ') {
        if word == "\u{1}p" {
            html.push_str("</p><p>");
            continue;
        }
        if word == "\u{1}br" {
            html.push_str("<br />");
            continue;
        }
        if word.starts_with("https://") {
            let rest = word.trim_start_matches("https://");
            let (shown, hidden) = rest.split_at(25.min(rest.len()));
            html.push_str(&format!(
                "<a href=\"{word}\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">{shown}</span><span class=\"invisible\">{hidden}</span></a> "
            ));
        } else {
            html.push_str(&word.replace('&', "&amp;").replace('<', "&lt;"));
            html.push(' ');
        }
    }
    json!({
        "id": id, "created_at": created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "in_reply_to_id": null,
        "sensitive": false, "spoiler_text": "", "visibility": "public", "language": "en",
        "uri": format!("{base}/users/twir/statuses/{id}"), "url": format!("{base}/@twir/{id}"),
        "content": format!("<p>{html}</p>"), "reblog": null,
        "account": {"id": "109348571234567890", "username": "twir"},
        "application": {"name": application, "website": null},
        "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "card": null
    })
}

fn credential_account(base: &str) -> Value {
    json!({
        "id": "109348571234567890", "username": "twir", "acct": "twir",
        "display_name": "This Week in Rust", "locked": false, "bot": true,
        "discoverable": true, "group": false, "created_at": "2022-11-14T00:00:00.000Z",
        "note": "", "url": format!("{base}/@twir"),
        "avatar": format!("{base}/a.png"), "avatar_static": format!("{base}/a.png"),
        "header": format!("{base}/h.png"), "header_static": format!("{base}/h.png"),
        "followers_count": 1, "following_count": 1, "statuses_count": 1,
        "last_status_at": "2026-08-12", "emojis": [], "fields": [],
        "source": {"privacy": "public", "sensitive": false, "language": "en", "note": "", "fields": []}
    })
}

impl FakeMastodon {
    /// Starts a fake on 127.0.0.1; `honour_keys` as Mastodon (true) or GoToSocial (false).
    pub async fn start(honour_keys: bool) -> Self {
        let server = MockServer::start().await;
        let base = server.uri();
        let state = Arc::new(Mutex::new(State { honour_keys, ..State::default() }));
        Mock::given(method("GET"))
            .and(path("/api/v1/accounts/verify_credentials"))
            .respond_with(ResponseTemplate::new(200).set_body_json(credential_account(&base)))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v1/apps/verify_credentials"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"name": APP, "website": null})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v1/statuses"))
            .respond_with(Post(state.clone(), base.clone()))
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path_regex(r"^/api/v1/statuses/[0-9]+$"))
            .respond_with(Edit(state.clone(), base.clone()))
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path_regex(r"^/api/v1/statuses/[0-9]+$"))
            .respond_with(Delete(state.clone(), base.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/v1/accounts/[0-9]+/statuses$"))
            .respond_with(List(state.clone(), base.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/v[12]/instance$"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"error": "Record not found"})),
            )
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// A person posts `text` on the account, from the web interface: stored at once.
    pub fn post_as_person(&self, text: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let id = format!("{}", 110_000_000 + s.statuses.len());
        let created_at = chrono::Utc::now() + s.clock_skew;
        s.statuses.push(FakeStatus {
            id: id.clone(),
            text: text.into(),
            key: None,
            visibility: "public".into(),
            language: Some("en".into()),
            stored_at: Instant::now(),
            created_at,
            deleted: false,
            application: PERSON_APP.into(),
        });
        id
    }

    /// Whether the status `id` is still on the account.
    pub fn is_visible(&self, id: &str) -> bool {
        self.state.lock().unwrap().statuses.iter().any(|s| s.id == id && s.visible())
    }

    /// Statuses created so far.
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().statuses.len()
    }

    /// Statuses the account shows now (stored, not deleted) whose text contains `needle`.
    pub fn visible_with(&self, needle: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .statuses
            .iter()
            .filter(|s| s.visible() && s.text.contains(needle))
            .count()
    }
}
