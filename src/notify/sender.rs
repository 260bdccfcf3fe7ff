//! Sending the notices the state holds: each due one to its channel (or WebSub hub), marked
//! sent once the channel took it, else tried again after a backoff. It runs beside the
//! service's cycles, never in their way: a channel that hangs or fails delays nothing but
//! its own notices.

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

/// Sends every notice due now: each channel's in order, the channels side by side, so that
/// one that hangs delays only its own. A channel that fails is not tried again in the same
/// pass: its other notices wait for its retry.
pub async fn send_due(db: &Arc<Mutex<Db>>, channels: &[Channel]) -> anyhow::Result<Pass> {
    let due: Vec<Notice> = Db::lock(db).due_notices(Utc::now())?;
    let mut by_channel: Vec<(String, Vec<Notice>)> = Vec::new();
    for notice in due {
        match by_channel.iter_mut().find(|(c, _)| *c == notice.channel) {
            Some((_, list)) => list.push(notice),
            None => by_channel.push((notice.channel.clone(), vec![notice])),
        }
    }
    let mut pass = Pass::default();
    let mut passes = tokio::task::JoinSet::new();
    for (name, notices) in by_channel {
        let channel = channels.iter().find(|c| c.name == name).cloned();
        let retry = match (&channel, websub::hub_of(&name)) {
            (Some(c), _) => c.retry,
            (None, Some(_)) => HUB_RETRY,
            (None, None) => {
                pass.orphaned += notices.len();
                continue;
            }
        };
        passes.spawn(send_channel(db.clone(), channel, notices, retry));
    }
    while let Some(done) = passes.join_next().await {
        let (sent, failed) = done??;
        pass.sent += sent;
        pass.failed += failed;
    }
    Ok(pass)
}

/// Sends one channel's `notices` in order; after a failure the rest wait for the retry.
/// Returns how many were sent and how many failed.
async fn send_channel(
    db: Arc<Mutex<Db>>,
    channel: Option<Channel>,
    notices: Vec<Notice>,
    retry: Duration,
) -> anyhow::Result<(usize, usize)> {
    let (mut sent, mut failed) = (0, 0);
    let mut down: Option<String> = None;
    for notice in notices {
        let result = match &down {
            Some(error) => Err(anyhow::anyhow!("{error}")),
            None => send(&notice, channel.as_ref()).await,
        };
        let now = Utc::now();
        match result {
            Ok(()) => {
                Db::lock(&db).notice_sent(notice.id, now)?;
                tracing::info!(channel = %notice.channel, event = %notice.event, id = notice.id, "notice sent");
                sent += 1;
            }
            Err(e) => {
                let error = crate::report::describe_any(&e);
                let wait = backoff(retry, notice.attempts + 1);
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                Db::lock(&db).notice_failed(notice.id, &error, at)?;
                if down.is_none() {
                    tracing::warn!(channel = %notice.channel, event = %notice.event, id = notice.id, attempt = notice.attempts + 1, cause = %error, retry_in = ?wait, "notice not sent; retried later");
                }
                down = Some(error);
                failed += 1;
            }
        }
    }
    Ok((sent, failed))
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

/// Sends notices until `stop` turns true: at once when `wake` is notified (a cycle recorded
/// some), else when the next one comes due (at least once a minute). A pass under way when
/// told to stop is finished first, so a graceful stop does not cut a send short (a kill may:
/// then the notice is sent again at the next start).
pub async fn run(
    db: Arc<Mutex<Db>>,
    channels: Vec<Channel>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
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
            _ = stop.changed() => {}
        }
    }
}

/// The notifier of a service: its task and how to stop it.
pub struct Notifier {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Notifier {
    /// Starts sending the notices of `db` to `channels`, woken by `wake`.
    pub fn start(
        db: Arc<Mutex<Db>>,
        channels: Vec<Channel>,
        wake: Arc<tokio::sync::Notify>,
    ) -> Notifier {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        Notifier { task: tokio::spawn(run(db, channels, wake, stopped)), stop }
    }

    /// Stops it once the pass under way is done, waiting at most `grace`.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}
