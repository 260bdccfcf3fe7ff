//! What a platform call can end in, sorted by what to do next: retry soon (transient — and the
//! server may or may not have acted, so reconcile first), wait until a time (rate limited), or
//! give up on this row (permanent).

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

pub use crate::state::Posted;

/// A post found on the platform while looking for duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPost {
    /// The post.
    pub posted: Posted,
    /// When the server says it was made, where it says.
    pub created_at: Option<DateTime<Utc>>,
}

/// What a look for the row's post on the platform found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Herald's post: record it, send nothing.
    Found(Posted),
    /// The account has no post of herald's for the row: send.
    Absent,
    /// A post herald cannot tell from its own (why): neither send nor record; the operator
    /// decides.
    Ambiguous(String),
}

/// A failed platform call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Timeout, connection reset, 5xx: retry with backoff. The server may have acted
    /// (an ambiguous failure), so look for the post before sending again.
    #[error("transient failure: {message}")]
    Transient {
        /// What happened (no secrets).
        message: String,
    },
    /// 429, or a limit header at zero: wait until `retry_at` (or back off if unknown).
    #[error("rate limited{}: {message}", retry_at.map(|t| format!(" until {}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))).unwrap_or_default())]
    RateLimited {
        /// When the server says to try again.
        retry_at: Option<DateTime<Utc>>,
        /// The server's message.
        message: String,
    },
    /// A 4xx the same request will always get (validation, bad token): mark the row failed.
    #[error("rejected: {message}")]
    Permanent {
        /// The server's message.
        message: String,
        /// The server rejected the text as too long.
        too_long: bool,
    },
}

impl SendError {
    /// Whether the server may have acted on the request (so reconcile before retrying).
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// Sorts an HTTP error reply. `body` is the server's error text (JSON or not).
pub fn classify_status(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: DateTime<Utc>,
) -> SendError {
    let message = format!("HTTP {status}: {}", brief(body));
    match status {
        429 => SendError::RateLimited { retry_at: retry_at(headers, now), message },
        408 | 500..=599 => SendError::Transient { message },
        _ => {
            let lower = body.to_lowercase();
            let too_long = lower.contains("too long")
                || lower.contains("too big")
                || lower.contains("character limit")
                || lower.contains("exceed max chars")
                || lower.contains("graphemes");
            SendError::Permanent { message, too_long }
        }
    }
}

/// A server's error body in one short line: the `error` and `message` of a JSON body
/// (Mastodon, GoToSocial, XRPC), else the text of an HTML page (a proxy's 502) without its
/// tags; at most 160 characters.
pub fn brief(body: &str) -> String {
    const MAX: usize = 160;
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => {
            let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::trim);
            match (field("error"), field("message").or(field("error_description"))) {
                (Some(e), Some(m)) if !m.is_empty() && m != e => format!("{e}: {m}"),
                (Some(e), _) => e.to_string(),
                (None, Some(m)) => m.to_string(),
                (None, None) => body.trim().to_string(),
            }
        }
        Err(_) => {
            static TAGS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                regex::Regex::new(r"(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>").unwrap()
            });
            TAGS.replace_all(body, " ").split_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

/// Sorts a transport error (no HTTP reply): always transient and ambiguous.
pub fn classify_transport(err: &reqwest::Error) -> SendError {
    // Without the URL: it may carry a token in some clients' query strings.
    SendError::Transient { message: err.without_url_ref_to_string() }
}

trait WithoutUrl {
    fn without_url_ref_to_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref_to_string(&self) -> String {
        let kind = if self.is_timeout() {
            "timed out"
        } else if self.is_connect() {
            "could not connect"
        } else if self.is_body() || self.is_decode() {
            "reading the reply failed"
        } else {
            "request failed"
        };
        let mut msg = kind.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        msg
    }
}

/// When a rate-limited server says to come back: `Retry-After` (seconds or an HTTP date),
/// `ratelimit-reset` (Bluesky: epoch seconds), `X-RateLimit-Reset` (Mastodon: ISO-8601, or
/// epoch seconds on some servers). The latest of those given wins.
pub fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let mut times = Vec::new();
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<i64>() {
            times.push(now + chrono::Duration::seconds(secs.max(0)));
        } else if let Ok(t) = DateTime::parse_from_rfc2822(v) {
            times.push(t.with_timezone(&Utc));
        }
    }
    for name in ["ratelimit-reset", "x-ratelimit-reset"] {
        if let Some(v) = get(name) {
            times.extend(parse_reset(v, now));
        }
    }
    times.into_iter().max()
}

/// An epoch-seconds or ISO-8601 reset time. A small number is a delta in seconds (some
/// servers send seconds until reset).
fn parse_reset(v: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(n) = v.parse::<i64>() {
        return if n > 1_000_000_000 {
            DateTime::from_timestamp(n, 0)
        } else {
            Some(now + chrono::Duration::seconds(n.max(0)))
        };
    }
    if let Ok(f) = v.parse::<f64>() {
        return DateTime::from_timestamp(f as i64, 0);
    }
    DateTime::parse_from_rfc3339(v).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap())
            })
            .collect()
    }

    #[test]
    fn reset_headers_in_every_form() {
        let now = DateTime::parse_from_rfc3339("2026-08-19T12:00:00Z").unwrap().with_timezone(&Utc);
        let at = |h: &[(&str, &str)]| retry_at(&headers(h), now).map(|t| t.to_rfc3339());
        assert_eq!(at(&[("Retry-After", "30")]).unwrap(), "2026-08-19T12:00:30+00:00");
        assert_eq!(
            at(&[("Retry-After", "Wed, 19 Aug 2026 12:05:00 GMT")]).unwrap(),
            "2026-08-19T12:05:00+00:00"
        );
        assert_eq!(at(&[("ratelimit-reset", "1787142400")]).unwrap(), "2026-08-19T12:26:40+00:00");
        assert_eq!(
            at(&[("X-RateLimit-Reset", "2026-08-19T12:10:00.000Z")]).unwrap(),
            "2026-08-19T12:10:00+00:00"
        );
        assert_eq!(
            at(&[("Retry-After", "10"), ("X-RateLimit-Reset", "2026-08-19T12:10:00Z")]).unwrap(),
            "2026-08-19T12:10:00+00:00"
        );
        assert_eq!(at(&[]), None);
    }

    #[test]
    fn server_error_bodies_are_one_short_line() {
        assert_eq!(brief(r#"{"error":"rate limit reached"}"#), "rate limit reached");
        assert_eq!(
            brief(r#"{"error":"InvalidRequest","message":"Invalid app.bsky.feed.post record"}"#),
            "InvalidRequest: Invalid app.bsky.feed.post record"
        );
        let proxy = format!(
            "<html><head><title>502 Bad Gateway</title><style>body {{}}</style></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>{}</body></html>",
            "<!-- padding -->".repeat(40)
        );
        assert_eq!(brief(&proxy), "502 Bad Gateway 502 Bad Gateway nginx");
        let long = "x".repeat(500);
        assert_eq!(brief(&long).chars().count(), 161);
    }

    #[test]
    fn statuses_are_sorted() {
        let now = Utc::now();
        let h = HeaderMap::new();
        assert!(matches!(
            classify_status(500, &h, "{\"error\":\"InternalServerError\"}", now),
            SendError::Transient { .. }
        ));
        assert!(matches!(classify_status(502, &h, "", now), SendError::Transient { .. }));
        assert!(matches!(
            classify_status(429, &h, "{\"error\":\"rate limit reached\"}", now),
            SendError::RateLimited { .. }
        ));
        let long = classify_status(
            422,
            &h,
            "{\"error\":\"Validation failed: Text character limit of 500 exceeded\"}",
            now,
        );
        assert_eq!(long, SendError::Permanent { message: long_message(&long), too_long: true });
        let bsky = classify_status(
            400,
            &h,
            "{\"error\":\"InvalidRequest\",\"message\":\"Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text\"}",
            now,
        );
        assert!(matches!(bsky, SendError::Permanent { too_long: true, .. }));
        assert!(matches!(
            classify_status(401, &h, "{\"error\":\"The access token is invalid\"}", now),
            SendError::Permanent { too_long: false, .. }
        ));
    }

    fn long_message(e: &SendError) -> String {
        match e {
            SendError::Permanent { message, .. } => message.clone(),
            _ => unreachable!(),
        }
    }
}
