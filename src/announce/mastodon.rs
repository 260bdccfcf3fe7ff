//! Mastodon: posting statuses through the Mastodon client API (and the servers that speak it,
//! such as GoToSocial), reading an instance's length limits, and finding an already-posted
//! status after an ambiguous failure.
//!
//! # Why megalodon is wrapped and complemented
//!
//! megalodon 1.3 is used for the calls it does well: `verify_account_credentials` (the account
//! id, needed to list the account's statuses) and `get_instance` (v1 instance limits on real
//! Mastodon). It is not used for the rest, because:
//!
//! - **It cannot send custom headers**, so no `Idempotency-Key` on `POST /api/v1/statuses`
//!   (its `post_status` passes `None` for headers, and its `APIClient` is private). The key is
//!   what makes a retry after a lost reply safe on Mastodon
//!   (<https://docs.joinmastodon.org/methods/statuses/#create>), so statuses are posted with
//!   reqwest directly.
//! - **Its v1 instance struct is strict**: `contact_account`, `rules`, `invites_enabled` and
//!   `media_attachments` are required, so GoToSocial's `/api/v1/instance` fails to decode
//!   ("missing field `contact_account`"). [`MastodonClient::limits`] then reads
//!   `/api/v2/instance` leniently (<https://docs.joinmastodon.org/methods/instance/#v2>).
//! - **A 2xx reply it cannot decode becomes `RequestError`**, although the server acted (the
//!   status exists). Here any 2xx that cannot be read is [`SendError::Transient`], which is
//!   ambiguous: the caller reconciles with [`MastodonClient::find_status`] before retrying,
//!   and never marks the post failed.
//! - **It has no timeout** (it builds its own `reqwest::Client` with only a user agent), so
//!   every megalodon call here runs under [`tokio::time::timeout`], and every reqwest call
//!   carries a per-request timeout.
//!
//! The access token is a [`Secret`]: it is sent only as a bearer header to the configured
//! instance's origin, is scrubbed from every error message, and never reaches `Debug` output
//! or logs (functions are instrumented with `skip_all`).

mod instance;
mod reply;
mod statuses;

use std::fmt;
use std::future::Future;

use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::send::{Posted, SendError, classify_status, classify_transport};
use crate::secret::Secret;

/// How long one request to the instance may take, unless set with
/// [`MastodonClient::with_timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const USER_AGENT: &str = concat!("herald/", env!("CARGO_PKG_VERSION"));

/// One Mastodon account herald posts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MastodonAccount {
    /// A name for logs and state (e.g. `twir@mastodon.social`).
    pub name: String,
    /// The instance's base URL, e.g. `https://mastodon.social` (a trailing slash is ignored).
    pub instance: String,
    /// The access token (scope `write:statuses` and `read:accounts`/`read:statuses`).
    pub token: Secret,
    /// Who sees the statuses.
    pub visibility: Visibility,
}

/// Who sees a status (<https://docs.joinmastodon.org/entities/Status/#visibility>). Always
/// sent explicitly: servers differ in their default (GoToSocial posts `unlisted` without it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, in public timelines.
    #[default]
    Public,
    /// Everyone, but not in public timelines.
    Unlisted,
    /// Followers only.
    Private,
    /// Mentioned accounts only.
    Direct,
}

impl Visibility {
    /// The API's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
            Self::Direct => "direct",
        }
    }
}

pub use crate::state::sessions::Identity;
pub use instance::IdentityStore;

/// A client for one Mastodon account.
///
/// Every request has a timeout ([`DEFAULT_TIMEOUT`] unless changed); the `reqwest::Client`
/// handed in should still have its own `connect_timeout` and `timeout`, as a backstop for
/// anything else that uses it.
pub struct MastodonClient {
    account: MastodonAccount,
    /// The instance URL without a trailing slash.
    base: String,
    http: reqwest::Client,
    /// megalodon's client; `None` if it could not be built (its own reqwest client failed).
    api: Option<megalodon::mastodon::Mastodon>,
    account_id: OnceCell<String>,
    /// The name of the token's application, once asked.
    application: OnceCell<Option<String>>,
    timeout: Duration,
    identities: Option<std::sync::Arc<dyn IdentityStore>>,
}

impl fmt::Debug for MastodonClient {
    // By hand: megalodon's client derives Debug and would print the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MastodonClient")
            .field("account", &self.account)
            .field("account_id", &self.account_id.get())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl MastodonClient {
    /// A client posting as `account` through `http`.
    pub fn new(account: MastodonAccount, http: reqwest::Client) -> Self {
        let base = account.instance.trim().trim_end_matches('/').to_string();
        let api = match megalodon::mastodon::Mastodon::new(
            base.clone(),
            Some(account.token.expose().to_string()),
            Some(USER_AGENT.to_string()),
        ) {
            Ok(api) => Some(api),
            Err(err) => {
                tracing::warn!(account = %account.name, cause = %err, "megalodon client unavailable");
                None
            }
        };
        Self {
            account,
            base,
            http,
            api,
            account_id: OnceCell::new(),
            application: OnceCell::new(),
            timeout: DEFAULT_TIMEOUT,
            identities: None,
        }
    }

    /// The same client, remembering the identity its token posts as in `store`.
    pub fn with_identity_store(mut self, store: std::sync::Arc<dyn IdentityStore>) -> Self {
        self.identities = Some(store);
        self
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The account this client posts as.
    pub fn account(&self) -> &MastodonAccount {
        &self.account
    }

    /// The account the token posts as, by identity: `mastodon <instance> <account id>`
    /// (asked once with `verify_credentials`). Stays the same when the account is renamed in
    /// the configuration.
    pub async fn identity(&self) -> Result<String, SendError> {
        Ok(format!("mastodon {} {}", self.base, self.verify().await?))
    }

    /// Posts a status (`POST /api/v1/statuses`, with reqwest: megalodon cannot send headers)
    /// with an `Idempotency-Key` header, and `status`, `language` and `visibility` sent
    /// explicitly (<https://docs.joinmastodon.org/methods/statuses/#create>).
    ///
    /// Mastodon keeps the key for an hour, so the same key again returns the first status;
    /// GoToSocial ignores it, so after a [`SendError::Transient`] call
    /// [`find_status`](Self::find_status) before posting again. A 2xx reply that cannot be
    /// read is `Transient` too: the status probably exists.
    #[tracing::instrument(skip_all, fields(account = %self.account.name))]
    pub async fn post_status(
        &self,
        text: &str,
        language: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Posted, SendError> {
        self.post_status_inner(text, language, idempotency_key).await.map_err(|e| self.redact(e))
    }

    async fn post_status_inner(
        &self,
        text: &str,
        language: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Posted, SendError> {
        // Who the token posts as, noticed before the post (once per client). Not knowing
        // must not block posting: a failure here is only logged.
        if self.identities.is_some()
            && let Err(e) = self.verify().await
        {
            tracing::debug!(cause = %e, "cannot verify the credentials before posting");
        }
        // Sent as JSON, as megalodon does; Mastodon and GoToSocial accept JSON or form bodies.
        let mut body = serde_json::Map::new();
        body.insert("status".into(), text.into());
        body.insert("visibility".into(), self.account.visibility.as_str().into());
        if let Some(lang) = language.map(str::trim).filter(|l| !l.is_empty()) {
            body.insert("language".into(), lang.into());
        }
        let key = reqwest::header::HeaderValue::from_str(idempotency_key).map_err(|_| {
            SendError::Permanent {
                message: "the idempotency key is not a valid header value".into(),
                too_long: false,
            }
        })?;
        let request = self
            .http
            .post(format!("{}/api/v1/statuses", self.base))
            .header("Idempotency-Key", key)
            .json(&body);
        let res = self.call(request).await?;
        let status = res.status();
        // From here on the server has accepted the status: any failure is ambiguous.
        let ambiguous = |what: String| SendError::Transient {
            message: format!("HTTP {status}, the status was probably created, but {what}"),
        };
        let bytes = res.bytes().await.map_err(|e| ambiguous(classify_transport(&e).to_string()))?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ambiguous(format!("the reply is not JSON: {e}")))?;
        let posted = reply::posted_from_status(&json)
            .ok_or_else(|| ambiguous("the reply has no status id".into()))?;
        tracing::info!(status_id = %posted.id, "status posted");
        Ok(posted)
    }

    /// Edits a posted status's text (`PUT /api/v1/statuses/:id`, Mastodon 3.5+). An edit is
    /// idempotent, so a retry after a lost reply is harmless. Sent with reqwest rather than
    /// megalodon's `edit_status`, which decodes the reply into its `Status` entity: a server
    /// whose reply it cannot decode would make a done edit look failed and be edited again
    /// on every cycle. Here any 2xx is done.
    #[tracing::instrument(skip_all, fields(account = %self.account.name))]
    pub async fn edit_status(
        &self,
        id: &str,
        text: &str,
        language: Option<&str>,
    ) -> Result<(), SendError> {
        self.edit_status_inner(id, text, language).await.map_err(|e| self.redact(e))
    }

    async fn edit_status_inner(
        &self,
        id: &str,
        text: &str,
        language: Option<&str>,
    ) -> Result<(), SendError> {
        let url = self.api_url(&["statuses", id])?;
        let mut body = serde_json::Map::new();
        body.insert("status".into(), text.into());
        if let Some(lang) = language.map(str::trim).filter(|l| !l.is_empty()) {
            body.insert("language".into(), lang.into());
        }
        self.call(self.http.put(url).json(&body)).await?;
        tracing::info!(status_id = %id, "status edited");
        Ok(())
    }

    /// Deletes a status (`DELETE /api/v1/statuses/:id`); one already gone (404) is fine.
    #[tracing::instrument(skip_all, fields(account = %self.account.name, status_id = %id))]
    pub async fn delete_status(&self, id: &str) -> Result<(), SendError> {
        let url = self.api_url(&["statuses", id]).map_err(|e| self.redact(e))?;
        match self.call(self.http.delete(url)).await {
            Ok(_) => Ok(()),
            Err(SendError::Permanent { message, .. }) if message.starts_with("HTTP 404") => Ok(()),
            Err(e) => Err(self.redact(e)),
        }
    }

    /// The instance's base URL, parsed.
    fn instance_url(&self) -> Result<Url, SendError> {
        Url::parse(&self.base).map_err(|e| SendError::Permanent {
            message: format!("the instance URL is invalid: {e}"),
            too_long: false,
        })
    }

    /// `{instance}/api/v1/{segments…}`, each segment escaped (ids come from the server).
    fn api_url(&self, segments: &[&str]) -> Result<Url, SendError> {
        let mut url = self.instance_url()?;
        url.path_segments_mut()
            .map_err(|()| SendError::Permanent {
                message: "the instance URL cannot have a path".into(),
                too_long: false,
            })?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// Sends `request` with the token, herald's user agent and the timeout; a reply that is
    /// not 2xx becomes its [`SendError`].
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, SendError> {
        let res = request
            .bearer_auth(self.account.token.expose())
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| classify_transport(&e))?;
        let status = res.status();
        if !status.is_success() {
            let headers = res.headers().clone();
            return Err(error_reply(status.as_u16(), &headers, res).await);
        }
        Ok(res)
    }

    /// A GET to the instance with the token, read as JSON; the reply's headers too.
    async fn get_json(&self, url: &str) -> Result<(HeaderMap, Value), SendError> {
        let res = self.call(self.http.get(url)).await?;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.map_err(|e| classify_transport(&e))?;
        let json = serde_json::from_slice(&bytes).map_err(|e| SendError::Transient {
            message: format!("HTTP {status}, but the reply is not JSON: {e}"),
        })?;
        Ok((headers, json))
    }

    fn megalodon(&self) -> Result<&megalodon::mastodon::Mastodon, SendError> {
        self.api.as_ref().ok_or_else(|| SendError::Transient {
            message: "the megalodon client could not be built".into(),
        })
    }

    /// Runs a megalodon call under this client's timeout and sorts its failure.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<megalodon::response::Response<T>, megalodon::error::Error>>,
    ) -> Result<megalodon::response::Response<T>, SendError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(res)) => Ok(res),
            Ok(Err(err)) => Err(classify_megalodon(err)),
            Err(_) => {
                Err(SendError::Transient { message: format!("timed out after {:?}", self.timeout) })
            }
        }
    }

    /// Removes the token from an error's message, in case a server echoes it back.
    fn redact(&self, err: SendError) -> SendError {
        let token = self.account.token.expose();
        if token.is_empty() {
            return err;
        }
        let scrub = |m: String| if m.contains(token) { m.replace(token, "***") } else { m };
        match err {
            SendError::Transient { message } => SendError::Transient { message: scrub(message) },
            SendError::RateLimited { retry_at, message } => {
                SendError::RateLimited { retry_at, message: scrub(message) }
            }
            SendError::Permanent { message, too_long } => {
                SendError::Permanent { message: scrub(message), too_long }
            }
        }
    }
}

/// Sorts a non-2xx reply by its status, headers and body.
async fn error_reply(status: u16, headers: &HeaderMap, res: reqwest::Response) -> SendError {
    let body = res.text().await.unwrap_or_default();
    classify_status(status, headers, &body, chrono::Utc::now())
}

/// Sorts a megalodon failure. Its message never holds the token: megalodon keeps it in a
/// request header, and error URLs are the instance URL plus the path.
fn classify_megalodon(err: megalodon::error::Error) -> SendError {
    use megalodon::error::{Error, Kind};
    match err {
        Error::OwnError(own) => match (own.kind, own.status) {
            (Kind::HTTPStatusError, Some(status)) => classify_status(
                status,
                own.header.as_ref().unwrap_or(&HeaderMap::new()),
                &own.message,
                chrono::Utc::now(),
            ),
            (kind, _) => SendError::Transient { message: format!("{kind}: {}", own.message) },
        },
        // A decode failure of a 2xx reply lands here too: the server answered, herald could
        // not read it.
        Error::RequestError(e) => classify_transport(&e),
        Error::ParseError(e) => SendError::Permanent {
            message: format!("the instance URL is invalid: {e}"),
            too_long: false,
        },
        other => SendError::Transient { message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use megalodon::error::{Error, Kind};

    #[test]
    fn visibility_reads_from_config_names() {
        let v: Vec<Visibility> =
            serde_json::from_str(r#"["public","unlisted","private","direct"]"#).unwrap();
        assert_eq!(
            v,
            [Visibility::Public, Visibility::Unlisted, Visibility::Private, Visibility::Direct]
        );
        assert!(serde_json::from_str::<Visibility>(r#""Public""#).is_err());
        assert_eq!(Visibility::default().as_str(), "public");
        assert_eq!(serde_json::to_string(&Visibility::Private).unwrap(), r#""private""#);
    }

    #[test]
    fn megalodon_failures_are_sorted_like_our_own() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", "2026-08-19T16:05:00.000Z".parse().unwrap());
        let own = |status, body: &str, headers: Option<HeaderMap>| {
            Error::new_own(
                body.into(),
                Kind::HTTPStatusError,
                Some("https://gts.example/api/v1/instance".into()),
                Some(status),
                headers,
            )
        };
        let limited =
            classify_megalodon(own(429, r#"{"error":"rate limit reached"}"#, Some(headers)));
        let want: chrono::DateTime<chrono::Utc> = "2026-08-19T16:05:00Z".parse().unwrap();
        assert!(
            matches!(limited, SendError::RateLimited { retry_at: Some(t), .. } if t == want),
            "{limited:?}"
        );
        let too_long = r#"{"error":"Bad Request: text with spoiler exceed max chars (500)"}"#;
        assert!(matches!(
            classify_megalodon(own(400, too_long, None)),
            SendError::Permanent { too_long: true, .. }
        ));
        assert!(matches!(classify_megalodon(own(503, "", None)), SendError::Transient { .. }));
        let partial = Error::new_own(
            "processing".into(),
            Kind::HTTPPartialContentError,
            None,
            Some(206),
            None,
        );
        assert!(matches!(classify_megalodon(partial), SendError::Transient { .. }));
        // reqwest's Url is the `url` crate's, whose errors megalodon wraps.
        let bad_url = Error::ParseError(Url::parse("not a url").unwrap_err());
        assert!(matches!(
            classify_megalodon(bad_url),
            SendError::Permanent { too_long: false, .. }
        ));
    }

    #[test]
    fn tokens_are_scrubbed_from_errors() {
        let account = MastodonAccount {
            name: "t".into(),
            instance: "https://m.example/".into(),
            token: Secret::new("s3cret-token"),
            visibility: Visibility::Public,
        };
        let client = MastodonClient::new(account, reqwest::Client::new());
        let err = client.redact(SendError::Permanent {
            message: "HTTP 401: token s3cret-token is invalid".into(),
            too_long: false,
        });
        assert_eq!(err.to_string(), "rejected: HTTP 401: token *** is invalid");
        assert!(!format!("{client:?}").contains("s3cret-token"));
        assert_eq!(client.base, "https://m.example");
    }
}
