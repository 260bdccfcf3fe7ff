//! Sending the notices the state holds: each due one to its channel (or WebSub hub), marked
//! sent once the channel took it, else tried again after a backoff. It runs beside the
//! service's cycles, never in their way: a channel that hangs or fails delays nothing but
//! its own notices.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use chrono::Utc;

use super::{Channel, Message, backoff, websub};
use crate::state::{Db, Notice};

/// How long one webhook call, email or hub ping may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The first retry of a hub's ping; later ones wait twice as long, up to an hour.
pub const HUB_RETRY: Duration = Duration::from_secs(30);

/// The HTTP client of webhooks and hubs (rustls; no redirects to follow blindly).
pub fn http() -> &'static reqwest::Client {
    static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
        reqwest::Client::builder()
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with default settings")
    });
    &CLIENT
}

/// What one pass sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Notices sent.
    pub sent: usize,
    /// Notices that failed (to be retried).
    pub failed: usize,
    /// Notices of channels no longer configured (left unsent).
    pub orphaned: usize,
}

/// What a notice of a hub carries.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Ping {
    /// The feed that changed.
    pub feed_url: String,
}

/// Sends every notice due now. A channel that fails is not tried again in the same pass:
/// its other notices wait for its retry.
pub async fn send_due(db: &Arc<Mutex<Db>>, channels: &[Channel]) -> anyhow::Result<Pass> {
    let due: Vec<Notice> = Db::lock(db).due_notices(Utc::now())?;
    let mut pass = Pass::default();
    let mut down: HashMap<String, String> = HashMap::new();
    for notice in due {
        let channel = channels.iter().find(|c| c.name == notice.channel);
        let retry = match (channel, websub::hub_of(&notice.channel)) {
            (Some(c), _) => c.retry,
            (None, Some(_)) => HUB_RETRY,
            (None, None) => {
                pass.orphaned += 1;
                continue;
            }
        };
        let result = match down.get(&notice.channel) {
            Some(error) => Err(anyhow::anyhow!("{error}")),
            None => send(&notice, channel).await,
        };
        let now = Utc::now();
        match result {
            Ok(()) => {
                Db::lock(db).notice_sent(notice.id, now)?;
                tracing::info!(channel = %notice.channel, event = %notice.event, id = notice.id, "notice sent");
                pass.sent += 1;
            }
            Err(e) => {
                let error = crate::report::describe_any(&e);
                let wait = backoff(retry, notice.attempts + 1);
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                Db::lock(db).notice_failed(notice.id, &error, at)?;
                if !down.contains_key(&notice.channel) {
                    tracing::warn!(channel = %notice.channel, event = %notice.event, id = notice.id, attempt = notice.attempts + 1, cause = %error, retry_in = ?wait, "notice not sent; retried later");
                }
                down.insert(notice.channel.clone(), error);
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

async fn send(notice: &Notice, channel: Option<&Channel>) -> anyhow::Result<()> {
    match (channel, websub::hub_of(&notice.channel)) {
        (Some(c), _) => {
            let message: Message = serde_json::from_str(&notice.body)?;
            c.send(notice.id, &message, SEND_TIMEOUT).await
        }
        (None, Some(hub)) => {
            let ping: Ping = serde_json::from_str(&notice.body)?;
            websub::ping(hub, &ping.feed_url, SEND_TIMEOUT).await
        }
        (None, None) => Ok(()),
    }
}

/// Sends notices until aborted: at once when `wake` is notified (a cycle recorded some),
/// else when the next one comes due (at least once a minute).
pub async fn run(db: Arc<Mutex<Db>>, channels: Vec<Channel>, wake: Arc<tokio::sync::Notify>) {
    loop {
        if let Err(e) = send_due(&db, &channels).await {
            tracing::error!(cause = %crate::report::describe_any(&e), "notices: cannot read or record them in the state");
        }
        let next = Db::lock(&db).next_notice_due().ok().flatten();
        let wait = next
            .map_or(Duration::from_secs(60), |t| (t - Utc::now()).to_std().unwrap_or_default())
            .clamp(Duration::from_millis(10), Duration::from_secs(60));
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
