//! `[[notify]]` channels: a webhook (`url`, or `url_file`/`url_env` for a URL carrying its
//! token) or email (`smtp_host`), each with the events it wants.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use super::secret_source;
use crate::notify::email::{Email, Tls};
use crate::notify::webhook::{Format, Url, Webhook};
use crate::notify::{Channel, Event, Transport};

/// One `[[notify]]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNotify {
    /// Its name (default: `webhook` or `email` and its place in the list).
    pub name: Option<String>,
    /// The events it wants (default: all but `announced`).
    pub events: Option<Vec<String>>,
    /// The first retry after a failure.
    #[serde(deserialize_with = "super::raw::optional_duration")]
    pub retry: Option<Duration>,
    /// Webhook: the URL (it must hold no secret).
    pub url: Option<String>,
    /// Webhook: the URL from a file (a Slack or Discord URL carries its token).
    pub url_file: Option<PathBuf>,
    /// Webhook: the URL from the environment.
    pub url_env: Option<String>,
    /// Webhook: `json` (herald's document) or `slack` (`{"text": …}`).
    pub format: Option<String>,
    /// Webhook: the HMAC-SHA256 key signing each body, from a file.
    pub secret_file: Option<PathBuf>,
    /// Webhook: the key from the environment.
    pub secret_env: Option<String>,
    /// Email: the SMTP server.
    pub smtp_host: Option<String>,
    /// Email: its port (default 587 with STARTTLS, 465 with TLS, 25 without).
    pub smtp_port: Option<u16>,
    /// Email: `starttls` (default), `tls`, or `none` (a server on loopback only).
    pub tls: Option<String>,
    /// Email: the login's user name.
    pub username: Option<String>,
    /// Email: the login's password, from a file.
    pub password_file: Option<PathBuf>,
    /// Email: the password from the environment.
    pub password_env: Option<String>,
    /// Email: the sender.
    pub from: Option<String>,
    /// Email: the recipients.
    pub to: Vec<String>,
}

const DEFAULT_RETRY: Duration = Duration::from_secs(30);

/// The validated channels.
pub fn validate(raw: Vec<RawNotify>, base: &Path) -> anyhow::Result<Vec<Channel>> {
    let mut channels: Vec<Channel> = Vec::new();
    for (i, n) in raw.into_iter().enumerate() {
        let key = format!("notify[{i}]");
        let channel = validate_one(n, i, base).map_err(|e| anyhow::anyhow!("{key}.{e}"))?;
        if channels.iter().any(|c| c.name == channel.name) {
            bail!("{key}.name: {:?} names another channel too; give each its own", channel.name);
        }
        if channel.name.starts_with("websub ") {
            bail!("{key}.name: names starting with \"websub \" are the feeds' hubs'");
        }
        channels.push(channel);
    }
    Ok(channels)
}

fn validate_one(n: RawNotify, i: usize, base: &Path) -> anyhow::Result<Channel> {
    let events = match &n.events {
        None => Event::defaults(),
        Some(names) => {
            let mut events = Vec::new();
            for name in names {
                let Some(e) = Event::parse(name) else {
                    let all: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
                    bail!("events: {name:?} is not an event ({})", all.join(", "));
                };
                events.push(e);
            }
            events
        }
    };
    let retry = n.retry.unwrap_or(DEFAULT_RETRY);
    if !(Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&retry) {
        bail!("retry: {} is out of range (10ms to 1h)", humantime::format_duration(retry));
    }
    let webhook = n.url.is_some() || n.url_file.is_some() || n.url_env.is_some();
    let email = n.smtp_host.is_some();
    let transport = match (webhook, email) {
        (true, true) => {
            bail!("give a webhook (url) or email (smtp_host), not both; make two channels")
        }
        (false, false) => bail!("give a webhook's url (or url_file) or an smtp_host for email"),
        (true, false) => Transport::Webhook(webhook_of(&n, base)?),
        (false, true) => Transport::Email(email_of(&n, base)?),
    };
    let name = n.name.clone().unwrap_or_else(|| match transport {
        Transport::Webhook(_) => format!("webhook-{}", i + 1),
        Transport::Email(_) => format!("email-{}", i + 1),
    });
    Ok(Channel { name, events, transport, retry })
}

fn webhook_of(n: &RawNotify, base: &Path) -> anyhow::Result<Webhook> {
    for (key, given) in [
        ("smtp_port", n.smtp_port.is_some()),
        ("tls", n.tls.is_some()),
        ("username", n.username.is_some()),
        ("password_file", n.password_file.is_some() || n.password_env.is_some()),
        ("from", n.from.is_some()),
        ("to", !n.to.is_empty()),
    ] {
        if given {
            bail!("{key}: is an email setting, and this channel is a webhook (it has a url)");
        }
    }
    let url = match (&n.url, &n.url_file, &n.url_env) {
        (Some(u), None, None) => {
            if !(u.starts_with("https://") || u.starts_with("http://"))
                || url::Url::parse(u).is_err()
            {
                // The URL may be a secret after all: never echo it.
                bail!("url: not an http(s) URL (if it carries a token, put it in url_file)");
            }
            if crate::feeds::has_userinfo(u) {
                bail!("url: carries a user name or password; put the whole URL in url_file");
            }
            Url::Plain(u.clone())
        }
        (None, file, env) => Url::Secret(secret_source("url", file.clone(), env.clone(), base)?),
        _ => bail!("url: give one of url, url_file and url_env"),
    };
    let format = match n.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("slack") => Format::Slack,
        Some(other) => bail!("format: {other:?} is not json or slack"),
    };
    let signing = match (&n.secret_file, &n.secret_env) {
        (None, None) => None,
        (file, env) => Some(secret_source("secret", file.clone(), env.clone(), base)?),
    };
    Ok(Webhook { url, format, signing })
}

fn email_of(n: &RawNotify, base: &Path) -> anyhow::Result<Email> {
    if n.format.is_some() || n.secret_file.is_some() || n.secret_env.is_some() {
        bail!(
            "format and secret_file are webhook settings, and this channel is email (it has an smtp_host)"
        );
    }
    let host = n.smtp_host.clone().unwrap_or_default();
    if host.is_empty()
        || host.contains(['/', ' ', ':']) && host.parse::<std::net::Ipv6Addr>().is_err()
    {
        bail!("smtp_host: {host:?} is not a host name or address");
    }
    let tls = match n.tls.as_deref() {
        None | Some("starttls") => Tls::StartTls,
        Some("tls") => Tls::Tls,
        Some("none") => Tls::None,
        Some(other) => bail!("tls: {other:?} is not starttls, tls or none"),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
    if tls == Tls::None && !loopback {
        bail!(
            "tls: \"none\" would send the mail (and a password) in the clear to {host}; it is only for a server on loopback"
        );
    }
    let port = n.smtp_port.unwrap_or(match tls {
        Tls::StartTls => 587,
        Tls::Tls => 465,
        Tls::None => 25,
    });
    let login = match (&n.username, &n.password_file, &n.password_env) {
        (None, None, None) => None,
        (Some(user), file, env) => {
            Some((user.clone(), secret_source("password", file.clone(), env.clone(), base)?))
        }
        (None, _, _) => bail!("username: a password is given without the user name it is for"),
    };
    let from = n.from.clone().unwrap_or_default();
    if from.parse::<lettre::message::Mailbox>().is_err() {
        bail!("from: {from:?} is not an email address");
    }
    if n.to.is_empty() {
        bail!("to: name at least one recipient");
    }
    for to in &n.to {
        if to.parse::<lettre::message::Mailbox>().is_err() {
            bail!("to: {to:?} is not an email address");
        }
    }
    Ok(Email { host, port, tls, login, from, to: n.to.clone() })
}
