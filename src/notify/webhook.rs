//! A webhook channel: an HTTP POST of the message as JSON.
//!
//! Headers: `X-Herald-Event`, `X-Herald-Delivery` (the notice's id, the same on every retry),
//! and, with a signing secret, `X-Herald-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the
//! exact body (as GitHub signs its webhooks), so a receiver can check the body came from
//! herald. The URL may itself be a secret (Slack's carry their token in the path): it then
//! comes from a file or the environment and never appears in a message or a log.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Message;
use crate::secret::{Secret, SecretSource};

/// The body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// herald's own document ([`Message::json`]).
    Json,
    /// `{"text": …}`, which Slack, Mattermost, Zulip's Slack-compatible endpoint and
    /// Discord's `/slack` endpoint accept.
    Slack,
}

/// Where the URL comes from.
#[derive(Debug, Clone)]
pub enum Url {
    /// Written in the configuration (it holds no secret).
    Plain(String),
    /// A secret file or variable (a Slack or Discord webhook URL carries its token).
    Secret(SecretSource),
}

/// A webhook channel's settings.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Where to POST.
    pub url: Url,
    /// The body's shape.
    pub format: Format,
    /// The HMAC-SHA256 key, if bodies are signed.
    pub signing: Option<SecretSource>,
}

/// The signature header's value for `body` under `key`.
pub fn signature(key: &Secret, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhook {
    /// Where messages go, for `status` and errors: the URL when it is not secret, else its
    /// host only.
    pub fn shown(&self) -> String {
        match &self.url {
            Url::Plain(u) => u.clone(),
            Url::Secret(source) => match source.read().ok().and_then(|s| origin(s.expose())) {
                Some(origin) => format!("{origin}/… (secret URL)"),
                None => "a secret URL".into(),
            },
        }
    }

    /// POSTs notice `id`.
    pub async fn send(&self, id: i64, message: &Message, timeout: Duration) -> anyhow::Result<()> {
        let (url, secret) = match &self.url {
            Url::Plain(u) => (u.clone(), None),
            Url::Secret(source) => {
                let s = source.read()?;
                if !is_web_url(s.expose()) {
                    anyhow::bail!("url_file: the secret it names is not an http(s) URL");
                }
                (s.expose().to_string(), Some(s))
            }
        };
        let body = match self.format {
            Format::Json => message.json(id),
            Format::Slack => message.slack(),
        };
        let body = serde_json::to_vec(&body)?;
        let mut request = crate::notify::sender::http()
            .post(&url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Herald-Event", message.event.name())
            .header("X-Herald-Delivery", id.to_string());
        if let Some(key) = &self.signing {
            request = request.header("X-Herald-Signature-256", signature(&key.read()?, &body));
        }
        // Errors never carry a secret URL, whole or in part (a server's error page often
        // repeats the path it was asked for, and a Slack path is the token).
        let response = request.body(body).send().await.map_err(|e| {
            anyhow::Error::from(e.without_url()).context(format!("POST {}", self.shown()))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        match secret {
            Some(_) => anyhow::bail!("HTTP {status} from {}", self.shown()),
            None => anyhow::bail!("HTTP {status}: {}", body_start(response).await),
        }
    }
}

/// The first 200 characters of an error response's body, read no further than 1 KiB: an
/// endpoint that answers with megabytes costs nothing.
pub async fn body_start(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < 1024 {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                bytes.extend_from_slice(&chunk[..chunk.len().min(1024 - bytes.len())])
            }
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    text.trim().chars().take(200).collect()
}

/// Whether `url` is an http(s) URL with a host (what a webhook can be posted to).
pub fn is_web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// `scheme://host[:port]` of `url`.
fn origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_github_s_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = signature(&Secret::new("Jefe"), b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn a_secret_url_is_shown_by_its_origin_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("url");
        std::fs::write(&file, "https://hooks.slack.com/services/T0/B0/s3cr3t\n").unwrap();
        let w = Webhook {
            url: Url::Secret(SecretSource::File(file)),
            format: Format::Slack,
            signing: None,
        };
        assert_eq!(w.shown(), "https://hooks.slack.com/… (secret URL)");
    }
}
