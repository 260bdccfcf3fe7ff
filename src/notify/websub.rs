//! WebSub publishing (W3C Recommendation, §7): after a feed's bytes change, herald tells
//! each hub with a form POST of `hub.mode=publish` and `hub.url=` the feed's URL; the hub
//! then fetches the feed and pushes it to its subscribers. A hub answers 2xx when it took the
//! ping; anything else is retried like any notice.

use std::time::Duration;

/// The channel name a hub's pings are recorded under.
pub fn channel(hub: &str) -> String {
    format!("websub {hub}")
}

/// The hub a channel name names, if it is a hub's.
pub fn hub_of(channel: &str) -> Option<&str> {
    channel.strip_prefix("websub ")
}

/// Tells `hub` that the feed at `feed_url` changed.
pub async fn ping(hub: &str, feed_url: &str, timeout: Duration) -> anyhow::Result<()> {
    let response = crate::notify::sender::http()
        .post(hub)
        .timeout(timeout)
        .form(&[("hub.mode", "publish"), ("hub.url", feed_url)])
        .send()
        .await
        .map_err(|e| anyhow::Error::from(e.without_url()).context(format!("hub {hub}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    anyhow::bail!("hub {hub}: HTTP {status}: {}", super::webhook::body_start(response).await)
}
