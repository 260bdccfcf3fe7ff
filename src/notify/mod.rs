//! Telling people what herald decided: the operator's channels (`[[notify]]`: webhooks and
//! email) and the feeds' WebSub hubs.
//!
//! - [`Message`]: what a notice says — what happened, which issue (number, title, file, the
//!   lines that matter) and the command that fixes or settles it.
//! - [`webhook`] posts it as JSON (generic, or Slack-compatible `{"text": …}`), signed with
//!   HMAC-SHA256 when a secret is configured; [`email`] sends it over SMTP; [`websub`] pings
//!   a hub after a feed changed.
//! - [`sender`] sends the notices the state holds (`crate::state::notices`), retrying a
//!   failing channel with backoff, off the cycle's path so that no post ever waits on it.

pub mod email;
pub mod message;
pub mod sender;
pub mod webhook;
pub mod websub;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use message::{IssueRef, Message};

/// What a channel can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// An issue is held by the draft guard (placeholders in what the post is made from).
    Held,
    /// The grace period ended with placeholders still in the issue: it was announced anyway.
    Delayed,
    /// A post failed for good on an account.
    Failed,
    /// herald cannot tell whether a post on the account is its own: the row waits for the
    /// operator.
    Ambiguous,
    /// An account's login or token is refused.
    LoginFailing,
    /// The service's cycles fail (the archive cannot be read, the state cannot be written).
    CycleFailing,
    /// What was failing (cycles, an account's login) works again.
    Recovered,
    /// An issue was announced (off unless asked for).
    Announced,
}

impl Event {
    /// Every event, in the order messages list them.
    pub const ALL: [Event; 8] = [
        Event::Held,
        Event::Delayed,
        Event::Failed,
        Event::Ambiguous,
        Event::LoginFailing,
        Event::CycleFailing,
        Event::Recovered,
        Event::Announced,
    ];

    /// The events a channel gets unless it names its own: all but `announced`.
    pub fn defaults() -> Vec<Event> {
        Self::ALL.into_iter().filter(|e| *e != Event::Announced).collect()
    }

    /// Its name in the configuration and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Delayed => "delayed",
            Self::Failed => "failed",
            Self::Ambiguous => "ambiguous",
            Self::LoginFailing => "login_failing",
            Self::CycleFailing => "cycle_failing",
            Self::Recovered => "recovered",
            Self::Announced => "announced",
        }
    }

    /// The event named `name`.
    pub fn parse(name: &str) -> Option<Event> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Where a channel's messages go.
#[derive(Debug, Clone)]
pub enum Transport {
    /// An HTTP POST.
    Webhook(webhook::Webhook),
    /// Email over SMTP.
    Email(email::Email),
}

/// A configured `[[notify]]` channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Its name (in the state and `status`).
    pub name: String,
    /// What it is told.
    pub events: Vec<Event>,
    /// How.
    pub transport: Transport,
    /// The first retry after a failure; each later one waits twice as long, up to an hour.
    pub retry: Duration,
}

impl Channel {
    /// The secrets it reads, each with what it is.
    pub fn secrets(&self) -> Vec<(&'static str, &crate::secret::SecretSource)> {
        match &self.transport {
            Transport::Webhook(w) => {
                let url = match &w.url {
                    webhook::Url::Secret(s) => Some(("url", s)),
                    webhook::Url::Plain(_) => None,
                };
                url.into_iter().chain(w.signing.as_ref().map(|s| ("signing secret", s))).collect()
            }
            Transport::Email(e) => e.login.iter().map(|(_, p)| ("password", p)).collect(),
        }
    }

    /// Sends `message` (notice `id`: receivers can drop a repeat by it).
    pub async fn send(&self, id: i64, message: &Message, timeout: Duration) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Webhook(w) => w.send(id, message, timeout).await,
            Transport::Email(e) => e.send(id, message, timeout).await,
        }
    }
}

/// The wait before retry `attempts` (1 for the first) of a channel whose first retry waits
/// `first`: doubling, at most an hour.
pub fn backoff(first: Duration, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    (first * factor).min(Duration::from_secs(3600)).max(first.min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_by_name_and_announced_is_opt_in() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.name()), Some(e));
        }
        assert!(!Event::defaults().contains(&Event::Announced));
        assert_eq!(Event::defaults().len(), Event::ALL.len() - 1);
        assert_eq!(Event::parse("helt"), None);
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(30), 1), s(30));
        assert_eq!(backoff(s(30), 2), s(60));
        assert_eq!(backoff(s(30), 5), s(480));
        assert_eq!(backoff(s(30), 40), s(3600));
    }
}
