//! The few XRPC calls herald makes, sent with reqwest directly.
//!
//! Why not atrium's `XrpcClient`: it drops the response headers, and a 429 from Bluesky is
//! only useful with them (`ratelimit-reset`, `Retry-After`). Wrapping atrium's `HttpClient` to
//! stash "the last response's headers" on the side would share mutable state between
//! concurrent calls and still leave the status-to-retry mapping to us. Five calls with
//! reqwest keep status, headers and body together in one place; the request and response
//! bodies are still atrium-api's lexicon types, so the wire format is the generated one.

use chrono::Utc;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::announce::send::{SendError, classify_status, classify_transport};

/// The XRPC error body: `{"error": "Name", "message": "…"}`
/// (<https://atproto.com/specs/xrpc#error-responses>).
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

/// A non-2xx XRPC reply, kept whole so the caller can sort it.
#[derive(Debug)]
pub(super) struct Failure {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The XRPC error name (`ExpiredToken`, `RecordNotFound`, …), if the body had one.
    pub error: Option<String>,
    /// The server's message.
    pub message: Option<String>,
    /// The raw body (the server's text; never our request).
    pub body: String,
}

impl Failure {
    /// Whether the access token has expired: the PDS answers 400 (sometimes 401) with
    /// `ExpiredToken`; atrium's agent refreshes on the same condition.
    pub fn is_expired_token(&self) -> bool {
        matches!(self.status.as_u16(), 400 | 401) && self.error.as_deref() == Some("ExpiredToken")
    }

    /// Whether the server no longer accepts the token at all (revoked, signed with a rotated
    /// key, or missing): only a new session can help.
    pub fn is_bad_token(&self) -> bool {
        matches!(self.status.as_u16(), 400 | 401)
            && matches!(self.error.as_deref(), Some("InvalidToken" | "AuthMissing"))
    }

    /// Whether this is the named XRPC error.
    pub fn is(&self, name: &str) -> bool {
        self.error.as_deref() == Some(name)
    }

    /// The retry class of this reply.
    pub fn classify(&self) -> SendError {
        let mut err = classify_status(self.status.as_u16(), &self.headers, &self.body, Utc::now());
        // `classify_status` calls anything "too big" too long; on Bluesky only the text is
        // ("grapheme too big … at $.record.text", "string too big … at $.record.text"), a
        // "blob too big … at $.record.embed.external.thumb" is not.
        if let SendError::Permanent { too_long, .. } = &mut err {
            let message = self.message.as_deref().unwrap_or(&self.body);
            *too_long = message.contains("$.record.text")
                && (message.contains("grapheme too big") || message.contains("string too big"));
        }
        err
    }
}

/// Why an XRPC call did not give a usable reply.
#[derive(Debug)]
pub(super) enum CallError {
    /// No reply: connect error, timeout, reset.
    Transport(reqwest::Error),
    /// An error reply.
    Status(Box<Failure>),
    /// A 2xx reply we could not read. The server acted, so this is ambiguous.
    Decode(String),
    /// Nothing was sent: there is no usable session, or the request could not be built.
    Local(SendError),
}

impl CallError {
    /// The retry class of this failure.
    pub fn classify(&self) -> SendError {
        match self {
            Self::Transport(err) => classify_transport(err),
            Self::Status(failure) => failure.classify(),
            Self::Decode(what) => SendError::Transient { message: what.clone() },
            Self::Local(err) => err.clone(),
        }
    }
}

/// Sends `request` and decodes a 2xx JSON reply into `T`.
pub(super) async fn call<T: DeserializeOwned>(
    nsid: &str,
    request: RequestBuilder,
) -> Result<T, CallError> {
    let response = request.send().await.map_err(CallError::Transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(CallError::Transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| {
            // serde's message can quote a value; session replies carry tokens, so for those
            // say only where the reply stopped making sense.
            let detail = if nsid.starts_with("com.atproto.server.") {
                format!("line {} column {}", e.line(), e.column())
            } else {
                e.to_string()
            };
            CallError::Decode(format!("{nsid}: HTTP {status} with an unreadable reply: {detail}"))
        });
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let parsed: ErrorBody = serde_json::from_str(&body).unwrap_or_default();
    Err(CallError::Status(Box::new(Failure {
        status,
        headers,
        error: parsed.error,
        message: parsed.message,
        body: format!("{nsid}: {body}"),
    })))
}
