//! Delivering outbox rows exactly once.
//!
//! For each due row: if a call may already have reached the server (the row was left
//! `sending` by a crash, or the last call failed ambiguously), look for the post first —
//! Bluesky by its rkey, Mastodon by the issue URL, the dry-run sink by its key — and if it is
//! there, record it and stop. Otherwise commit the intent (`sending`, attempt counted), make
//! the call, and commit the result right after it. Failures are sorted: transient ones retry
//! with capped, jittered exponential backoff; rate limits wait for the server's reset time;
//! a length rejection is re-fitted once; other rejections mark the row failed.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::Post;
use super::bluesky::BlueskyClient;
use super::dry_run::DryRunSink;
use super::mastodon::MastodonClient;
use super::send::{Posted, SendError};
use crate::failpoint;
use crate::state::{Db, DbError, OutboxRow, RowStatus};

/// Something that can post and find its posts again.
pub enum Sender {
    /// A dry-run sink.
    DryRun(DryRunSink),
    /// A Mastodon account.
    Mastodon(MastodonClient),
    /// A Bluesky account.
    Bluesky(BlueskyClient),
}

impl Sender {
    /// Posts `post` with the row's platform key.
    pub async fn send(&self, row: &OutboxRow, post: &Post) -> Result<Posted, SendError> {
        match self {
            Self::DryRun(sink) => sink.send(&row.platform_key, post),
            Self::Mastodon(client) => {
                let language = post.langs.first().map(String::as_str);
                client.post_status(&post.text, language, &row.platform_key).await
            }
            // createdAt is when the row was made: a retry does not post a different record.
            Self::Bluesky(client) => {
                client.create_post(post, &row.platform_key, row.created_at).await
            }
        }
    }

    /// Looks for the row's post on the platform: by its key where the platform keeps one,
    /// else (Mastodon forgets idempotency keys after an hour) by the issue URL in the text.
    pub async fn find(
        &self,
        row: &OutboxRow,
        issue_url: &str,
    ) -> Result<Option<Posted>, SendError> {
        match self {
            Self::DryRun(sink) => sink.find(&row.platform_key),
            Self::Mastodon(client) => client.find_status(issue_url).await,
            Self::Bluesky(client) => client.get_post(&row.platform_key).await,
        }
    }

    /// Edits the row's posted post to `post`, where the platform can: `Ok(false)` where it
    /// cannot (Bluesky posts cannot be edited; neither can a dry run's Bluesky sink).
    pub async fn edit(&self, row: &OutboxRow, post: &Post) -> Result<bool, SendError> {
        match self {
            Self::Mastodon(client) => {
                let Some(remote) = &row.remote else { return Ok(false) };
                let language = post.langs.first().map(String::as_str);
                client.edit_status(&remote.id, &post.text, language).await.map(|()| true)
            }
            Self::DryRun(sink) if sink.platform == super::Platform::Mastodon => {
                sink.edit(&row.platform_key, post).map(|()| true)
            }
            Self::DryRun(_) | Self::Bluesky(_) => Ok(false),
        }
    }

    /// The limits to fit posts to: the instance's own for Mastodon, else `fallback`.
    pub async fn limits(&self, fallback: super::Limits) -> super::Limits {
        match self {
            Self::Mastodon(client) => client.limits(fallback).await,
            Self::DryRun(_) | Self::Bluesky(_) => fallback,
        }
    }
}

/// The HTTP client every platform client uses: rustls, timeouts, herald's user agent.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

/// What one delivery attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Posted now.
    Posted(Posted),
    /// Found on the platform: an earlier call had gone through.
    Found(Posted),
    /// Not posted; try again at this time.
    Retry {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        error: String,
    },
    /// Rejected for good.
    Failed(String),
    /// The row was not due (already posted, failed or held).
    NotDue(RowStatus),
}

/// Delay before retry number `attempts` (1-based): 30 s doubling to at most 1 h, ±20 % jitter
/// so that many herald instances do not retry in step.
pub fn backoff(attempts: i64, jitter: f64) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let base = 30u64.saturating_mul(1 << exp.min(16)).min(3600) as f64;
    Duration::from_secs_f64(base * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0)))
}

fn next_try(attempts: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let jitter = rand::rng().random_range(-1.0..=1.0);
    now + chrono::Duration::from_std(backoff(attempts, jitter)).unwrap_or_default()
}

/// The limit a length rejection names (`maximum 300`, `limit of 500`, `max chars (500)`).
pub fn limit_in_message(message: &str) -> Option<usize> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)(?:maximum|limit of|max chars \(|max(?:imum)? characters)\s*(\d+)")
            .unwrap()
    });
    RE.captures(message)?[1].parse().ok()
}

/// Runs one delivery of `row`. `refit` gets the rejected post and the limit the server named
/// (if any) and returns a shorter post, or `None`. `now` is the clock.
pub async fn deliver(
    db: &Mutex<Db>,
    sender: &Sender,
    row: &OutboxRow,
    issue_url: &str,
    refit: &(dyn Fn(&Post, Option<usize>) -> Option<Post> + Sync),
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<Delivery, DbError> {
    let with_db =
        |f: &dyn Fn(&Db) -> Result<(), DbError>| f(&db.lock().unwrap_or_else(|p| p.into_inner()));
    if !matches!(row.status, RowStatus::Pending | RowStatus::Sending) {
        return Ok(Delivery::NotDue(row.status));
    }
    if row.reconcile || row.status == RowStatus::Sending {
        match sender.find(row, issue_url).await {
            Ok(Some(posted)) => {
                with_db(&|db| db.mark_posted(row.id, &posted, now()))?;
                tracing::info!(account = %row.account, issue = %row.issue_key, id = %posted.id, "found the earlier post; recorded it");
                return Ok(Delivery::Found(posted));
            }
            Ok(None) => with_db(&|db| db.clear_reconcile(row.id, now()))?,
            // A bad token or the like: sending would fail the same way. The operator fixes it
            // and `announce` tries again (still looking first).
            Err(SendError::Permanent { message, .. }) => {
                return fail(db, row, &format!("looking for an earlier post: {message}"), now());
            }
            Err(e) => {
                // Cannot tell whether it exists: never send blind.
                let at = retry_time(&e, row.attempts.max(1), now());
                let error = format!("looking for an earlier post: {e}");
                with_db(&|db| db.mark_retry(row.id, &error, at, true, now()))?;
                return Ok(Delivery::Retry { at, error });
            }
        }
    }
    let post: Post = match serde_json::from_str(&row.post) {
        Ok(p) => p,
        Err(e) => {
            let error = format!("stored post does not decode: {e}");
            with_db(&|db| db.mark_failed(row.id, &error, now()))?;
            return Ok(Delivery::Failed(error));
        }
    };
    failpoint::hit("before-intent");
    with_db(&|db| db.begin_send(row.id, now()))?;
    failpoint::hit("before-call");
    let result = sender.send(row, &post).await;
    failpoint::hit("after-response");
    let attempts = row.attempts + 1;
    let delivery = match result {
        Ok(posted) => {
            with_db(&|db| db.mark_posted(row.id, &posted, now()))?;
            tracing::info!(account = %row.account, issue = %row.issue_key, id = %posted.id, attempt = attempts, "posted");
            Delivery::Posted(posted)
        }
        Err(SendError::Permanent { message, too_long: true }) if !row.refitted => {
            match refit(&post, limit_in_message(&message)).filter(|p| p.text != post.text) {
                Some(shorter) => {
                    let json = serde_json::to_string(&shorter).unwrap_or_default();
                    let at = now();
                    with_db(&|db| {
                        db.replace_post(row.id, &json, true, at)?;
                        db.mark_retry(row.id, &format!("re-fitted after: {message}"), at, false, at)
                    })?;
                    tracing::warn!(account = %row.account, issue = %row.issue_key, %message, "rejected as too long; re-fitted");
                    Delivery::Retry { at, error: message }
                }
                None => fail(db, row, &message, now())?,
            }
        }
        Err(SendError::Permanent { message, .. }) => fail(db, row, &message, now())?,
        Err(e) => {
            let at = retry_time(&e, attempts, now());
            let error = e.to_string();
            with_db(&|db| db.mark_retry(row.id, &error, at, e.is_ambiguous(), now()))?;
            tracing::warn!(account = %row.account, issue = %row.issue_key, attempt = attempts, %error, retry_at = %at, "will retry");
            Delivery::Retry { at, error }
        }
    };
    failpoint::hit("after-record");
    Ok(delivery)
}

fn fail(
    db: &Mutex<Db>,
    row: &OutboxRow,
    message: &str,
    now: DateTime<Utc>,
) -> Result<Delivery, DbError> {
    db.lock().unwrap_or_else(|p| p.into_inner()).mark_failed(row.id, message, now)?;
    tracing::error!(account = %row.account, issue = %row.issue_key, %message, "rejected; not retrying");
    Ok(Delivery::Failed(message.to_string()))
}

fn retry_time(e: &SendError, attempts: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    match e {
        SendError::RateLimited { retry_at: Some(at), .. } if *at > now => *at,
        _ => next_try(attempts, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_with_jitter() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(8, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(50, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(36));
        assert_eq!(backoff(1, -1.0), Duration::from_secs(24));
    }

    #[test]
    fn limits_named_in_rejections() {
        assert_eq!(limit_in_message("grapheme too big (maximum 300, got 301)"), Some(300));
        assert_eq!(
            limit_in_message("Validation failed: Text character limit of 500 exceeded"),
            Some(500)
        );
        assert_eq!(
            limit_in_message("Bad Request: text with spoiler exceed max chars (500)"),
            Some(500)
        );
        assert_eq!(limit_in_message("nope"), None);
    }
}
