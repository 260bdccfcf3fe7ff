//! Bluesky: posting an announcement as an `app.bsky.feed.post` record, and finding it again.
//!
//! This module owns the account's session (access and refresh JWTs), the XRPC calls herald
//! makes (`createSession`, `refreshSession`, `uploadBlob`, `createRecord`, `getRecord`) and
//! the sorting of their failures into [`SendError`] classes.
//!
//! **Never posted twice.** `createRecord` is not idempotent, but it is conflict-safe on the
//! record key: a second create with an rkey that exists does not make a second post (today
//! the reference PDS answers HTTP 500, <https://github.com/bluesky-social/atproto/issues/4725>,
//! <https://github.com/bluesky-social/indigo/issues/873>). So the caller generates the rkey
//! once per post with [`new_tid`] and stores it *before* the first attempt; every retry uses
//! the same rkey, and after an ambiguous failure ([`SendError::Transient`]) the caller asks
//! [`BlueskyClient::get_post`] whether the record is there before sending again.
//!
//! **Never locked out.** `createSession` is limited to 30 per 5 minutes and 300 per day per
//! account, the entryway enforces about 100 a day, and going over locks login for about 24
//! hours (<https://docs.bsky.app/docs/advanced-guides/rate-limits>,
//! <https://github.com/bluesky-social/bsky-docs/issues/183>,
//! <https://github.com/bluesky-social/atproto/issues/1616>). So the session is persisted in a
//! [`SessionStore`] and reused across restarts, an expired access token is renewed with
//! `refreshSession` (rotated tokens are saved at once), and a new login happens only when the
//! refresh token is refused, and then at most [`MAX_LOGINS_PER_DAY`] times in 24 hours.

mod session;
mod tid;
mod xrpc;

pub use session::SessionStore;
pub use tid::new_tid;

use std::sync::Arc;
use std::time::Duration;

use atrium_api::app::bsky::embed::external;
use atrium_api::app::bsky::feed::post;
use atrium_api::app::bsky::richtext::facet;
use atrium_api::com::atproto::repo::{create_record, get_record, upload_blob};
use atrium_api::com::atproto::server::get_session;
use atrium_api::record::KnownRecord;
use atrium_api::types::string::{AtIdentifier, Datetime, Did, Language, Nsid, RecordKey, Tid};
use atrium_api::types::{BlobRef, TryIntoUnknown, Union, Unknown};
use chrono::{DateTime, Utc};
use reqwest::RequestBuilder;
use reqwest::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tracing::{debug, info, instrument, warn};

use super::compose::{FacetKind, Post};
use super::send::{Posted, SendError};
use super::thumb::Thumb;
use crate::secret::Secret;
use xrpc::{CallError, call};

/// The most `createSession` calls herald makes for one account in any 24 hours.
///
/// Far below the server's limits (see the module docs): a session normally lives for months
/// through refreshes, so needing more than this means something is wrong (a revoked app
/// password, a store that does not persist), and going on would end in a ~24 h lockout.
pub const MAX_LOGINS_PER_DAY: u32 = 10;

/// How long one XRPC call may take by default ([`BlueskyClient::with_request_timeout`]); a
/// thumbnail upload (up to 1,000,000 bytes) may take twice as long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The collection of Bluesky posts.
const POST_COLLECTION: &str = "app.bsky.feed.post";

/// A Bluesky account herald posts as.
#[derive(Debug, Clone)]
pub struct BlueskyAccount {
    /// herald's name for the account (the key in the session store and in logs).
    pub name: String,
    /// The PDS or entryway URL, e.g. `https://bsky.social`.
    pub service: String,
    /// The handle or DID to log in with.
    pub identifier: String,
    /// An app password (<https://bsky.app/settings/app-passwords>).
    pub password: Secret,
}

pub use crate::state::sessions::{SessionBinding, StoredSession};

/// Posts to one Bluesky account.
pub struct BlueskyClient {
    account: BlueskyAccount,
    store: Arc<dyn SessionStore>,
    http: reqwest::Client,
    /// `account.service` without a trailing slash.
    base: String,
    /// Per-call timeout (reqwest's per-request timeout replaces the client's).
    request_timeout: Duration,
    /// The session in use, loaded from the store on first need. The lock also makes logins
    /// and refreshes one at a time, so two calls that both see an expired token refresh once.
    session: Mutex<Option<StoredSession>>,
}

impl std::fmt::Debug for BlueskyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlueskyClient")
            .field("account", &self.account.name)
            .field("service", &self.base)
            .finish_non_exhaustive()
    }
}

impl BlueskyClient {
    /// A client for `account`, keeping its session in `store`.
    ///
    /// `http` should be built with rustls, a `connect_timeout` and a `timeout`. Each call also
    /// sets its own timeout ([`REQUEST_TIMEOUT`] unless changed with
    /// [`Self::with_request_timeout`]), so that a hung server turns into a
    /// [`SendError::Transient`] rather than a stuck announcer.
    pub fn new(
        account: BlueskyAccount,
        store: Arc<dyn SessionStore>,
        http: reqwest::Client,
    ) -> Self {
        let base = account.service.trim_end_matches('/').to_string();
        Self {
            account,
            store,
            http,
            base,
            request_timeout: REQUEST_TIMEOUT,
            session: Mutex::new(None),
        }
    }

    /// Sets how long one call may take (a thumbnail upload: twice that).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Creates the post as `app.bsky.feed.post` record `rkey` (a TID from [`new_tid`], made
    /// once per post by the caller) dated `created_at`.
    ///
    /// The card's thumbnail is uploaded first; if that upload fails the post goes out
    /// without a thumbnail rather than not at all. A [`SendError::Transient`] is ambiguous:
    /// call [`Self::get_post`] before trying again.
    #[instrument(skip_all, fields(account = %self.account.name, rkey = %rkey))]
    pub async fn create_post(
        &self,
        post: &Post,
        rkey: &str,
        created_at: DateTime<Utc>,
    ) -> Result<Posted, SendError> {
        let rkey = post_rkey(rkey)?;
        let thumb = match post.embed.as_ref().and_then(|e| e.thumb.as_ref()) {
            Some(thumb) => self.upload_thumb(thumb).await?,
            None => None,
        };
        let record = post_record(post, created_at, thumb)?;
        let url = self.url(create_record::NSID);
        let (out, session) = self
            .authed::<create_record::Output>(create_record::NSID, |session| {
                let input = create_record::InputData {
                    collection: post_collection(),
                    record: record.clone(),
                    repo: repo(session)?,
                    rkey: Some(rkey.clone()),
                    swap_commit: None,
                    validate: None,
                };
                Ok(self.http.post(&url).timeout(self.request_timeout).json(&input))
            })
            .await
            .map_err(|e| e.classify())?;
        let posted = posted(&session, out.data.uri, Some(out.data.cid), &rkey);
        info!(uri = %posted.id, "posted to Bluesky");
        Ok(posted)
    }

    /// Looks up the account's `app.bsky.feed.post` record `rkey`: `Ok(None)` if the server
    /// says `RecordNotFound`.
    #[instrument(skip_all, fields(account = %self.account.name, rkey = %rkey))]
    pub async fn get_post(&self, rkey: &str) -> Result<Option<Posted>, SendError> {
        let rkey = post_rkey(rkey)?;
        let url = self.url(get_record::NSID);
        // Sent with the access token although getRecord is public: an entryway such as
        // bsky.social forwards authenticated calls to the PDS that holds the repo.
        let result = self
            .authed::<get_record::Output>(get_record::NSID, |session| {
                let query = [
                    ("repo", session.did.as_str()),
                    ("collection", POST_COLLECTION),
                    ("rkey", rkey.as_str()),
                ];
                Ok(self.http.get(&url).timeout(self.request_timeout).query(&query))
            })
            .await;
        match result {
            Ok((out, session)) => {
                debug!(uri = %out.data.uri, "the record exists");
                Ok(Some(posted(&session, out.data.uri, out.data.cid, &rkey)))
            }
            Err(CallError::Status(failure)) if failure.is("RecordNotFound") => {
                debug!("no such record");
                Ok(None)
            }
            Err(err) => Err(err.classify()),
        }
    }

    /// The account the client posts to, by identity: `bluesky <DID>`, from the session in
    /// hand, else from the server (`getSession`, logging in if needed). Stays the same when
    /// the account is renamed in the configuration or moves to another PDS.
    pub async fn identity(&self) -> Result<String, SendError> {
        let held = self.session.lock().await.as_ref().map(|s| s.did.clone());
        let did = match held {
            Some(did) => did,
            None => self.check_session().await?.1,
        };
        Ok(format!("bluesky {did}"))
    }

    /// Makes sure the account can be used: a session (the stored one if it was made for this
    /// account, else a login) that the server accepts (`getSession`). Returns the account's
    /// handle and DID. Posts nothing.
    #[instrument(skip_all, fields(account = %self.account.name))]
    pub async fn check_session(&self) -> Result<(String, String), SendError> {
        let url = self.url(get_session::NSID);
        let (out, _) = self
            .authed::<get_session::Output>(get_session::NSID, |_| {
                Ok(self.http.get(&url).timeout(self.request_timeout))
            })
            .await
            .map_err(|e| e.classify())?;
        Ok((out.data.handle.as_str().to_string(), out.data.did.as_str().to_string()))
    }

    /// Uploads the card's thumbnail. `Ok(None)` when the upload failed (the post goes out
    /// without it); an error only when there is no session, since the post cannot go out then
    /// either and trying again would spend another login.
    async fn upload_thumb(&self, thumb: &Thumb) -> Result<Option<BlobRef>, SendError> {
        // A post read back from the outbox has the thumbnail's source, not its bytes.
        let bytes = match thumb.load() {
            Ok(bytes) => bytes,
            Err(err) => {
                warn!(cause = %err, "preparing the card thumbnail failed; posting without it");
                return Ok(None);
            }
        };
        let url = self.url(upload_blob::NSID);
        let result = self
            .authed::<upload_blob::Output>(upload_blob::NSID, |_| {
                // The mime type is taken from Content-Type; atrium's upload_blob sends `*/*`,
                // which some PDSes reject (MarshalX/atproto#454, bluesky-social/indigo#850).
                Ok(self
                    .http
                    .post(&url)
                    .timeout(self.request_timeout * 2)
                    .header(CONTENT_TYPE, thumb.mime.as_str())
                    .body(bytes.clone()))
            })
            .await;
        match result {
            Ok((out, _)) => Ok(Some(out.data.blob)),
            Err(CallError::Local(err)) => Err(err),
            Err(err) => {
                warn!(cause = %err.classify(), bytes = bytes.len(), "uploading the card thumbnail failed; posting without it");
                Ok(None)
            }
        }
    }

    /// The binding of this client's sessions.
    fn binding(&self) -> SessionBinding {
        SessionBinding { service: self.base.clone(), identifier: self.account.identifier.clone() }
    }

    /// `{service}/xrpc/{nsid}`.
    fn url(&self, nsid: &str) -> String {
        format!("{}/xrpc/{nsid}", self.base)
    }

    /// Sends the request `build` makes for the current session with its access token, and
    /// decodes the reply. On `ExpiredToken` (or a token the server no longer accepts) the
    /// session is renewed and the request replayed once.
    async fn authed<T: DeserializeOwned>(
        &self,
        nsid: &'static str,
        build: impl Fn(&StoredSession) -> Result<RequestBuilder, SendError>,
    ) -> Result<(T, StoredSession), CallError> {
        let send = |session: &StoredSession| {
            let request = build(session).map_err(CallError::Local)?;
            Ok::<_, CallError>(call::<T>(nsid, request.bearer_auth(session.access_jwt.expose())))
        };
        let session = self.session().await.map_err(CallError::Local)?;
        let failure = match send(&session)?.await {
            Ok(out) => return Ok((out, session)),
            Err(CallError::Status(f)) if f.is_expired_token() || f.is_bad_token() => f,
            Err(err) => return Err(err),
        };
        debug!(nsid, error = failure.error.as_deref().unwrap_or(""), "renewing the session");
        let session = self.renew(&session).await.map_err(CallError::Local)?;
        match send(&session)?.await {
            Ok(out) => Ok((out, session)),
            // A token refused again right after renewal: not this request's fault, retry later.
            Err(CallError::Status(f)) if f.is_expired_token() || f.is_bad_token() => {
                Err(CallError::Local(SendError::Transient {
                    message: format!(
                        "{nsid}: the new session's token was refused too (HTTP {})",
                        f.status.as_u16()
                    ),
                }))
            }
            Err(err) => Err(err),
        }
    }
}

/// Checks that `rkey` is a TID: `app.bsky.feed.post` has `"key": "tid"`
/// (<https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json>);
/// the reference PDS answers "Invalid TID string" and others may accept anything.
fn post_rkey(rkey: &str) -> Result<RecordKey, SendError> {
    let invalid = |why: &str| SendError::Permanent {
        message: format!("record key {rkey:?} is not a TID: {why}"),
        too_long: false,
    };
    let tid = Tid::new(rkey.to_string()).map_err(invalid)?;
    RecordKey::new(tid.as_str().to_string()).map_err(invalid)
}

fn post_collection() -> Nsid {
    Nsid::new(POST_COLLECTION.to_string()).unwrap_or_else(|_| unreachable!("a valid NSID"))
}

fn repo(session: &StoredSession) -> Result<AtIdentifier, SendError> {
    Did::new(session.did.clone()).map(AtIdentifier::Did).map_err(|why| SendError::Permanent {
        message: format!("the stored session's DID {:?} is invalid: {why}", session.did),
        too_long: false,
    })
}

/// What the caller keeps of a record.
fn posted(
    session: &StoredSession,
    uri: String,
    cid: Option<atrium_api::types::string::Cid>,
    rkey: &RecordKey,
) -> Posted {
    // bsky.app accepts the handle or the DID in a profile URL; "handle.invalid" is what the
    // server reports when the handle does not resolve.
    let who = if session.handle.is_empty() || session.handle == "handle.invalid" {
        &session.did
    } else {
        &session.handle
    };
    Posted {
        id: uri,
        cid: cid.map(|c| c.as_ref().to_string()),
        url: Some(format!("https://bsky.app/profile/{who}/post/{}", rkey.as_str())),
    }
}

/// The `app.bsky.feed.post` record for `post`, ready for createRecord.
fn post_record(
    post: &Post,
    created_at: DateTime<Utc>,
    thumb: Option<BlobRef>,
) -> Result<Unknown, SendError> {
    let facets = post
        .facets
        .iter()
        .map(|f| {
            // The server does not check facet ranges (a wrong one renders wrongly), so check
            // here that they are inside the text and on character boundaries.
            if f.byte_start >= f.byte_end || post.text.get(f.byte_start..f.byte_end).is_none() {
                return Err(SendError::Permanent {
                    message: format!(
                        "facet bytes {}..{} do not fit the {}-byte text",
                        f.byte_start,
                        f.byte_end,
                        post.text.len()
                    ),
                    too_long: false,
                });
            }
            let feature = match &f.kind {
                FacetKind::Link(uri) => facet::MainFeaturesItem::Link(Box::new(
                    facet::LinkData { uri: uri.clone() }.into(),
                )),
                FacetKind::Tag(tag) => facet::MainFeaturesItem::Tag(Box::new(
                    facet::TagData { tag: tag.clone() }.into(),
                )),
            };
            Ok(facet::MainData {
                features: vec![Union::Refs(feature)],
                index: facet::ByteSliceData { byte_start: f.byte_start, byte_end: f.byte_end }
                    .into(),
            }
            .into())
        })
        .collect::<Result<Vec<facet::Main>, SendError>>()?;
    // At most 3 language tags (`langs` has `maxLength: 3` in
    // <https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json>).
    let langs: Vec<Language> = post
        .langs
        .iter()
        .take(3)
        .filter_map(|tag| match Language::new(tag.clone()) {
            Ok(lang) => Some(lang),
            Err(err) => {
                warn!(lang = %tag, cause = %err, "leaving out an invalid language tag");
                None
            }
        })
        .collect();
    let embed = post.embed.as_ref().map(|card| {
        let external = external::ExternalData {
            associated_refs: None,
            description: card.description.clone(),
            thumb,
            title: card.title.clone(),
            uri: card.uri.clone(),
        };
        Union::Refs(post::RecordEmbedRefs::AppBskyEmbedExternalMain(Box::new(
            external::MainData { external: external.into() }.into(),
        )))
    });
    let record = post::RecordData {
        created_at: Datetime::new(created_at.fixed_offset()),
        embed,
        entities: None,
        facets: (!facets.is_empty()).then_some(facets),
        labels: None,
        langs: (!langs.is_empty()).then_some(langs),
        reply: None,
        tags: None,
        text: post.text.clone(),
    };
    KnownRecord::from(record).try_into_unknown().map_err(|err| SendError::Permanent {
        message: format!("building the post record: {err}"),
        too_long: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::Platform;
    use crate::announce::compose::{Embed, Facet};

    fn sample_post() -> Post {
        let text = "TWiR 650 is out: https://this-week-in-rust.org/x/ #rustlang".to_string();
        Post {
            platform: Platform::Bluesky,
            graphemes: text.chars().count(),
            limit: 300,
            facets: super::super::compose::facets(&text),
            text,
            langs: vec!["en".into()],
            embed: Some(Embed {
                uri: "https://this-week-in-rust.org/x/".into(),
                title: "This Week in Rust 650".into(),
                description: "".into(),
                thumb: None,
            }),
            highlights_kept: 0,
            highlights_total: 0,
        }
    }

    #[test]
    fn record_json_has_the_lexicon_shape() {
        let at = DateTime::parse_from_rfc3339("2026-08-19T12:00:00Z").unwrap().with_timezone(&Utc);
        let record = post_record(&sample_post(), at, None).unwrap();
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["$type"], "app.bsky.feed.post");
        assert_eq!(json["createdAt"], "2026-08-19T12:00:00.000000Z");
        assert_eq!(json["langs"], serde_json::json!(["en"]));
        assert_eq!(json["facets"][0]["index"], serde_json::json!({"byteStart": 17, "byteEnd": 49}));
        assert_eq!(json["facets"][0]["features"][0]["$type"], "app.bsky.richtext.facet#link");
        assert_eq!(json["facets"][1]["features"][0]["tag"], "rustlang");
        assert_eq!(json["embed"]["$type"], "app.bsky.embed.external");
        assert_eq!(json["embed"]["external"]["description"], "");
        assert!(json["embed"]["external"].get("thumb").is_none());
    }

    #[test]
    fn facets_outside_the_text_are_refused() {
        let mut post = sample_post();
        post.facets.push(Facet { byte_start: 50, byte_end: 999, kind: FacetKind::Tag("x".into()) });
        let err = post_record(&post, Utc::now(), None).unwrap_err();
        assert!(matches!(err, SendError::Permanent { too_long: false, .. }), "{err}");
    }

    #[test]
    fn rkeys_must_be_tids() {
        assert!(post_rkey(&new_tid(Utc::now())).is_ok());
        for bad in ["hello", "", "3jzfcijpj2z2aa", "zzzzzzzzzzzzz"] {
            assert!(matches!(post_rkey(bad), Err(SendError::Permanent { .. })), "{bad}");
        }
    }

    #[test]
    fn post_urls_prefer_the_handle() {
        let rkey = post_rkey("3l2fekgjxw22a").unwrap();
        let mut session = StoredSession {
            did: "did:plc:abc".into(),
            handle: "twir.example".into(),
            access_jwt: Secret::new("a"),
            refresh_jwt: Secret::new("r"),
        };
        let uri = "at://did:plc:abc/app.bsky.feed.post/3l2fekgjxw22a".to_string();
        let p = posted(&session, uri.clone(), None, &rkey);
        assert_eq!(
            p.url.as_deref(),
            Some("https://bsky.app/profile/twir.example/post/3l2fekgjxw22a")
        );
        session.handle = "handle.invalid".into();
        let p = posted(&session, uri, None, &rkey);
        assert_eq!(
            p.url.as_deref(),
            Some("https://bsky.app/profile/did:plc:abc/post/3l2fekgjxw22a")
        );
    }

    #[test]
    fn sessions_do_not_print_tokens() {
        let session = StoredSession {
            did: "did:plc:abc".into(),
            handle: "h.test".into(),
            access_jwt: Secret::new("eyJaccess"),
            refresh_jwt: Secret::new("eyJrefresh"),
        };
        let text = format!("{session:?}");
        assert!(!text.contains("eyJ"), "{text}");
    }
}
