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
}

/// What a notice of a hub carries.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Ping {
    /// The feed that changed.
    pub feed_url: String,
}

/// How long a claimed notice is a sender's (a send takes at most [`SEND_TIMEOUT`]): one left
/// by a sender that died is due again after it.
pub const CLAIM: Duration = Duration::from_secs(20);

/// A channel as the sender sees it: a configured one, or a WebSub hub.
#[derive(Clone)]
enum Target {
    Channel(Channel),
    Hub(String),
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Channel(c) => c.name.clone(),
            Target::Hub(hub) => websub::channel(hub),
        }
    }

    fn retry(&self) -> Duration {
        match self {
            Target::Channel(c) => c.retry,
            Target::Hub(_) => HUB_RETRY,
        }
    }

    async fn send(&self, notice: &Notice) -> anyhow::Result<()> {
        match self {
            Target::Channel(c) => {
                let message: Message = serde_json::from_str(&notice.body)?;
                c.send(notice.id, &message, SEND_TIMEOUT).await
            }
            Target::Hub(hub) => {
                let ping: Ping = serde_json::from_str(&notice.body)?;
                websub::ping(hub, &ping.feed_url, SEND_TIMEOUT).await
            }
        }
    }
}

fn targets(channels: &[Channel], hubs: &[String]) -> Vec<Target> {
    let mut out: Vec<Target> = channels.iter().cloned().map(Target::Channel).collect();
    out.extend(hubs.iter().cloned().map(Target::Hub));
    out
}

/// Sends every notice due now, each channel's in order, the channels side by side (`herald
/// run --once`). A channel that fails is not tried again in the same pass.
pub async fn send_due(
    db: &Arc<Mutex<Db>>,
    channels: &[Channel],
    hubs: &[String],
) -> anyhow::Result<Pass> {
    let mut pass = Pass::default();
    let mut passes = tokio::task::JoinSet::new();
    for target in targets(channels, hubs) {
        passes.spawn(send_target(db.clone(), target));
    }
    while let Some(done) = passes.join_next().await {
        let (sent, failed) = done??;
        pass.sent += sent;
        pass.failed += failed;
    }
    Ok(pass)
}

/// Sends the due notices of one channel in order, each claimed first; after a failure the
/// rest wait for the retry. Returns how many were sent and how many failed.
async fn send_target(db: Arc<Mutex<Db>>, target: Target) -> anyhow::Result<(usize, usize)> {
    let name = target.name();
    let due = Db::lock(&db).due_notices_of(&name, Utc::now())?;
    let (mut sent, mut failed) = (0, 0);
    let mut down: Option<String> = None;
    for notice in due {
        let now = Utc::now();
        let claim = now + chrono::Duration::from_std(CLAIM).unwrap_or_default();
        if !Db::lock(&db).claim_notice(notice.id, now, claim)? {
            continue; // another sender has it
        }
        let result = match &down {
            Some(error) => Err(anyhow::anyhow!("{error}")),
            None => target.send(&notice).await,
        };
        let now = Utc::now();
        match result {
            Ok(()) => {
                Db::lock(&db).notice_sent(notice.id, now)?;
                tracing::info!(channel = %name, event = %notice.event, id = notice.id, "notice sent");
                sent += 1;
            }
            Err(e) => {
                let error = crate::report::describe_any(&e);
                let wait = backoff(target.retry(), notice.attempts + 1);
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                Db::lock(&db).notice_failed(notice.id, &error, at)?;
                if down.is_none() {
                    tracing::warn!(channel = %name, event = %notice.event, id = notice.id, attempt = notice.attempts + 1, cause = %error, retry_in = ?wait, "notice not sent; retried later");
                }
                down = Some(error);
                failed += 1;
            }
        }
    }
    Ok((sent, failed))
}

/// The notifier of a service: a task per channel and hub, each sending its notices when
/// woken (a cycle recorded some) or when its next one comes due, so that one that hangs
/// delays only its own. `after_pass` runs after each of a channel's passes (the service
/// refreshes its health with it).
pub struct Notifier {
    tasks: tokio::task::JoinSet<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Notifier {
    /// Starts sending the notices of `db` to `channels` and `hubs`, woken by `wake`. The
    /// unsent notices of channels no longer configured are dropped first.
    pub fn start(
        db: Arc<Mutex<Db>>,
        channels: Vec<Channel>,
        hubs: Vec<String>,
        wake: tokio::sync::watch::Receiver<u64>,
        after_pass: Arc<dyn Fn() + Send + Sync>,
    ) -> Notifier {
        let targets = targets(&channels, &hubs);
        let names: Vec<String> = targets.iter().map(Target::name).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        match Db::lock(&db).drop_orphaned_notices(&names, Utc::now()) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                notices = n,
                "notices of channels no longer configured were dropped (a renamed channel is a new one: it is told what holds now)"
            ),
            Err(e) => {
                tracing::error!(cause = %crate::report::describe(&e), "cannot drop the notices of removed channels")
            }
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        for target in targets {
            tasks.spawn(run(db.clone(), target, wake.clone(), stopped.clone(), after_pass.clone()));
        }
        Notifier { tasks, stop }
    }

    /// Stops it once the sends under way are done, waiting at most `grace` (a graceful stop
    /// does not cut a send short; a kill may, and that notice is sent again later).
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            self.tasks.abort_all();
        }
    }

    /// Stops it in the background (a reload: the cycles go on meanwhile; the claims keep the
    /// next notifier from sending what this one is sending).
    pub fn retire(self, grace: Duration) {
        tokio::spawn(self.stop(grace));
    }
}

async fn run(
    db: Arc<Mutex<Db>>,
    target: Target,
    mut wake: tokio::sync::watch::Receiver<u64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    after_pass: Arc<dyn Fn() + Send + Sync>,
) {
    let name = target.name();
    while !*stop.borrow() {
        if let Err(e) = send_target(db.clone(), target.clone()).await {
            tracing::error!(channel = %name, cause = %crate::report::describe_any(&e), "notices: cannot read or record them in the state");
        }
        after_pass();
        let next = Db::lock(&db).next_notice_due(&name).ok().flatten();
        let wait = next
            .map_or(Duration::from_secs(3600), |t| (t - Utc::now()).to_std().unwrap_or_default())
            .clamp(Duration::from_millis(10), Duration::from_secs(3600));
        tokio::select! {
            _ = wake.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}
