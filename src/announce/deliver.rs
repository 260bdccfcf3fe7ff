//! Delivering outbox rows exactly once.
//!
//! For each due row: claim it (one owner at a time, see `state::outbox`); if a call may already have reached the server (the row was left
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
use super::send::{FoundPost, Posted, SendError};
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
    /// else (Mastodon forgets idempotency keys after an hour, GoToSocial ignores them) by the
    /// issue URL in the text, passing over the posts other rows recorded (`known`).
    pub async fn find(
        &self,
        row: &OutboxRow,
        known: &[String],
    ) -> Result<Option<Posted>, SendError> {
        match self {
            Self::DryRun(sink) => sink.find(&row.platform_key),
            Self::Mastodon(client) => client.find_status(&row.issue_urls(), known).await,
            Self::Bluesky(client) => client.get_post(&row.platform_key).await,
        }
    }

    /// Whether a post sent again after an unsure call can end up twice on the account: where
    /// the platform does not deduplicate by the row's key. Bluesky records are keyed by their
    /// rkey (a late create hits the same key), and so are the dry-run sinks; Mastodon's
    /// Idempotency-Key is kept for an hour at most and ignored by GoToSocial.
    pub fn lands_late(&self) -> bool {
        matches!(self, Self::Mastodon(_))
    }

    /// Every post of the account linking to the row's issue, with when it was made (Mastodon;
    /// nothing elsewhere, where posts are found by key).
    pub async fn find_all(&self, row: &OutboxRow) -> Result<Vec<FoundPost>, SendError> {
        match self {
            Self::Mastodon(client) => client.statuses_linking_to(&row.issue_urls()).await,
            Self::DryRun(_) | Self::Bluesky(_) => Ok(Vec::new()),
        }
    }

    /// Deletes a post (a duplicate that landed late).
    pub async fn delete(&self, id: &str) -> Result<(), SendError> {
        match self {
            Self::Mastodon(client) => client.delete_status(id).await,
            Self::DryRun(_) | Self::Bluesky(_) => Ok(()),
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

/// Who delivers, and the times that keep two deliverers apart: every process that posts
/// (the service, `herald announce`) claims a row before touching it, for `lease`.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Recorded on the rows it claims (`herald run, pid 1234`), shown by `status`.
    pub name: String,
    /// How long a claim holds: longer than any call may take (three request timeouts: a
    /// thumbnail upload takes up to two, the post one more), so a claim left by a crash is
    /// taken over only once the call in flight must have finished on the server.
    pub lease: chrono::Duration,
    /// How long after a re-send an earlier call whose outcome was unknown could still land
    /// (ten request timeouts; servers and proxies give up on a request far sooner).
    pub late_landing: chrono::Duration,
    /// The first retry's delay after a transient failure (doubling after each).
    pub backoff_base: Duration,
}

impl Owner {
    /// The owner `role` (`herald run`, `herald announce`) in this process, for platform
    /// requests that time out after `request_timeout`.
    pub fn new(role: &str, request_timeout: Duration) -> Self {
        let t = chrono::Duration::from_std(request_timeout).unwrap_or(chrono::Duration::MAX);
        Self {
            name: format!("{role}, pid {}", std::process::id()),
            lease: t * 3,
            late_landing: t * 10,
            backoff_base: request_timeout,
        }
    }
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
    /// Another process holds the row (it is sending it) until `until`.
    Claimed {
        /// Who.
        by: String,
        /// Until when its lease holds.
        until: DateTime<Utc>,
    },
    /// The row was not due (already posted, failed or held).
    NotDue(RowStatus),
}

/// Delay before retry number `attempts` (1-based): `base` (the request timeout, 30 s by
/// default) doubling to at most 1 h, ±20 % jitter so that many herald instances do not retry
/// in step.
pub fn backoff(attempts: i64, base: Duration, jitter: f64) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let base = base.as_secs_f64().max(1.0);
    let delay = (base * f64::from(1u32 << exp.min(16))).min(3600.0);
    Duration::from_secs_f64(delay * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0)))
}

fn next_try(attempts: i64, base: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let jitter = rand::rng().random_range(-1.0..=1.0);
    now + chrono::Duration::from_std(backoff(attempts, base, jitter)).unwrap_or_default()
}

/// The limit a length rejection names (`maximum 300`, `limit of 500`, `max chars (500)`).
pub fn limit_in_message(message: &str) -> Option<usize> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)(?:maximum|limit of|max chars \(|max(?:imum)? characters)\s*(\d+)")
            .unwrap()
    });
    RE.captures(message)?[1].parse().ok()
}

/// A time to the second, as logs and messages show it.
pub fn secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn lock(db: &Mutex<Db>) -> std::sync::MutexGuard<'_, Db> {
    db.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs one delivery of `row` as `owner`. `refit` gets the rejected post and the limit the
/// server named (if any) and returns a shorter post, or `None`. `now` is the clock.
///
/// The row is claimed first ([`Db::claim`]): when another process holds it, nothing is done
/// and [`Delivery::Claimed`] says who and until when. Everything after works on the row as
/// the claim read it, not on `row`, which may be an older copy.
pub async fn deliver(
    db: &Mutex<Db>,
    sender: &Sender,
    row: &OutboxRow,
    refit: &(dyn Fn(&Post, Option<usize>) -> Option<Post> + Sync),
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
    owner: &Owner,
) -> Result<Delivery, DbError> {
    if !matches!(row.status, RowStatus::Pending | RowStatus::Sending) {
        return Ok(Delivery::NotDue(row.status));
    }
    let t = now();
    let Some(row) = lock(db).claim(row.id, &owner.name, t, t + owner.lease)? else {
        return not_claimed(db, row.id);
    };
    let row = &row;
    // A call may have reached the server: an earlier attempt failed ambiguously, or the row
    // was left `sending` by a process that died (its lease has run out: the call is over).
    let unsure = row.reconcile || row.status == RowStatus::Sending;
    if unsure {
        tracing::info!(account = %row.account, issue = %row.issue_key, "an earlier call may have reached the server: looking for the post first");
        let known = lock(db).other_remote_ids(row)?;
        match sender.find(row, &known).await {
            Ok(Some(posted)) => {
                // Found after more than one call: another of them may land too.
                let verify_at =
                    (row.attempts > 1 && sender.lands_late()).then(|| now() + owner.late_landing);
                lock(db).batch(|db| {
                    db.mark_posted(row.id, &posted, now(), verify_at)?;
                    db.mark_found(row.id)
                })?;
                tracing::info!(account = %row.account, issue = %row.issue_key, id = %posted.id, "found the earlier post; recorded it");
                return Ok(Delivery::Found(posted));
            }
            Ok(None) => {
                tracing::info!(account = %row.account, issue = %row.issue_key, "no earlier post found; sending");
            }
            // A bad token or the like: sending would fail the same way. The operator fixes it
            // and `announce` tries again (still looking first).
            Err(SendError::Permanent { message, .. }) => {
                return fail(db, row, &format!("looking for an earlier post: {message}"), now());
            }
            Err(e) => {
                // Cannot tell whether it exists: never send blind.
                let at = retry_time(&e, row.attempts.max(1), owner, now());
                let error = format!("looking for an earlier post: {e}");
                lock(db).mark_retry(row.id, &error, at, true, now())?;
                tracing::warn!(account = %row.account, issue = %row.issue_key, %error, retry_at = %secs(at), "will retry");
                return Ok(Delivery::Retry { at, error });
            }
        }
    }
    let post: Post = match serde_json::from_str(&row.post) {
        Ok(p) => p,
        Err(e) => return fail(db, row, &format!("stored post does not decode: {e}"), now()),
    };
    failpoint::hit("before-intent");
    let started = now();
    if !lock(db).begin_send(row.id, &owner.name, started, started + owner.lease)? {
        return not_claimed(db, row.id);
    }
    failpoint::hit("before-call");
    let result = sender.send(row, &post).await;
    failpoint::hit("after-response");
    let attempts = row.attempts + 1;
    let delivery = match result {
        Ok(posted) => {
            // Sent again after a call whose outcome is unknown: that call may still land on a
            // server that does not deduplicate by key. Look again once it no longer can.
            let verify_at = (unsure && sender.lands_late()).then(|| now() + owner.late_landing);
            lock(db).mark_posted(row.id, &posted, now(), verify_at)?;
            tracing::info!(account = %row.account, issue = %row.issue_key, id = %posted.id, attempt = attempts, "posted");
            Delivery::Posted(posted)
        }
        Err(SendError::Permanent { message, too_long: true }) if !row.refitted => {
            match refit(&post, limit_in_message(&message)).filter(|p| p.text != post.text) {
                Some(shorter) => {
                    let json = serde_json::to_string(&shorter).unwrap_or_default();
                    let at = now();
                    // An earlier call whose outcome is unknown stays unknown: look first.
                    lock(db).batch(|db| {
                        db.replace_post(row.id, &json, true, at)?;
                        db.mark_retry(
                            row.id,
                            &format!("re-fitted after: {message}"),
                            at,
                            unsure,
                            at,
                        )
                    })?;
                    tracing::warn!(account = %row.account, issue = %row.issue_key, %message, "rejected as too long; re-fitted");
                    Delivery::Retry { at, error: message }
                }
                None => fail(db, row, &message, now())?,
            }
        }
        Err(SendError::Permanent { message, .. }) => fail(db, row, &message, now())?,
        Err(e) => {
            let mut at = retry_time(&e, attempts, owner, now());
            if e.is_ambiguous() {
                // The server may still be working on the call: look only once it must be done.
                at = at.max(started + owner.lease);
            }
            let error = e.to_string();
            // This call failed for sure (a 429) or maybe (a timeout); an earlier unsure call
            // stays unsure either way, so the next try looks first.
            lock(db).mark_retry(row.id, &error, at, unsure || e.is_ambiguous(), now())?;
            tracing::warn!(account = %row.account, issue = %row.issue_key, attempt = attempts, %error, retry_at = %secs(at), "will retry");
            Delivery::Retry { at, error }
        }
    };
    failpoint::hit("after-record");
    Ok(delivery)
}

/// Why a claim did not succeed: another process holds the row, it is not due yet, or it is
/// no longer to be delivered.
fn not_claimed(db: &Mutex<Db>, id: i64) -> Result<Delivery, DbError> {
    let Some(row) = lock(db).row(id)? else { return Ok(Delivery::NotDue(RowStatus::Failed)) };
    Ok(match (row.status, row.lease_until, row.next_attempt_at) {
        (RowStatus::Sending, Some(until), _) => {
            Delivery::Claimed { by: row.claimed_by.unwrap_or_default(), until }
        }
        (RowStatus::Pending, _, Some(at)) => {
            Delivery::Retry { at, error: row.last_error.unwrap_or_default() }
        }
        (status, _, _) => Delivery::NotDue(status),
    })
}

/// What a check for a late duplicate found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The recorded post is the only one.
    Single,
    /// These extra posts had landed late and were deleted.
    Deleted(Vec<String>),
    /// The check could not be made now; it is tried again at this time.
    Later(DateTime<Utc>),
}

/// Checks a row posted after a re-send for a late duplicate: lists the account's posts
/// linking to the issue and deletes those made since the row's first unsure call that
/// herald did not record, so the account ends with one post. Posts from before that call,
/// and posts recorded by other rows (an explicit `--force-new`), are left alone.
pub async fn verify(
    db: &Mutex<Db>,
    sender: &Sender,
    row: &OutboxRow,
    owner: &Owner,
    now: DateTime<Utc>,
) -> Result<Verification, DbError> {
    let Some(recorded) = row.remote.as_ref().map(|p| p.id.clone()) else {
        lock(db).set_verify_at(row.id, None)?;
        return Ok(Verification::Single);
    };
    let later = |e: &SendError| {
        let at = retry_time(e, 1, owner, now);
        tracing::warn!(account = %row.account, issue = %row.issue_key, cause = %e, retry_at = %secs(at), "cannot check for a late duplicate now");
        at
    };
    let found = match sender.find_all(row).await {
        Ok(found) => found,
        Err(e) => {
            let at = later(&e);
            lock(db).set_verify_at(row.id, Some(at))?;
            return Ok(Verification::Later(at));
        }
    };
    let known = lock(db).other_remote_ids(row)?;
    // The window of this row's calls, in the server's clock: its clock's offset from ours is
    // read off the recorded post (made by the server when we recorded it, or before), and a
    // minute of slack more.
    let skew = found
        .iter()
        .find(|f| f.posted.id == recorded)
        .and_then(|f| Some(f.created_at? - row.posted_at?))
        .unwrap_or_default()
        .min(chrono::Duration::zero());
    let since = row.unsure_since.unwrap_or(row.created_at) + skew - chrono::Duration::minutes(1);
    let extras: Vec<&FoundPost> = found
        .iter()
        .filter(|f| f.posted.id != recorded && !known.contains(&f.posted.id))
        .filter(|f| f.created_at.is_some_and(|t| t >= since))
        .collect();
    if !found.iter().any(|f| f.posted.id == recorded) {
        tracing::warn!(account = %row.account, issue = %row.issue_key, id = %recorded, "the recorded post is gone; leaving the account's other posts alone");
        lock(db).set_verify_at(row.id, None)?;
        return Ok(Verification::Single);
    }
    let mut deleted = Vec::new();
    for extra in extras {
        match sender.delete(&extra.posted.id).await {
            Ok(()) => {
                tracing::warn!(account = %row.account, issue = %row.issue_key, deleted = %extra.posted.id, kept = %recorded, "an earlier request landed late: deleted the duplicate post");
                deleted.push(extra.posted.id.clone());
            }
            Err(e) => {
                let at = later(&e);
                lock(db).set_verify_at(row.id, Some(at))?;
                return Ok(Verification::Later(at));
            }
        }
    }
    lock(db).set_verify_at(row.id, None)?;
    Ok(if deleted.is_empty() { Verification::Single } else { Verification::Deleted(deleted) })
}

fn fail(
    db: &Mutex<Db>,
    row: &OutboxRow,
    message: &str,
    now: DateTime<Utc>,
) -> Result<Delivery, DbError> {
    lock(db).mark_failed(row.id, message, now)?;
    tracing::error!(account = %row.account, issue = %row.issue_key, %message, "rejected; not retrying");
    Ok(Delivery::Failed(message.to_string()))
}

fn retry_time(e: &SendError, attempts: i64, owner: &Owner, now: DateTime<Utc>) -> DateTime<Utc> {
    match e {
        SendError::RateLimited { retry_at: Some(at), .. } if *at > now => *at,
        _ => next_try(attempts, owner.backoff_base, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_with_jitter() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(1, base, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(2, base, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(8, base, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(50, base, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(1, base, 1.0), Duration::from_secs(36));
        assert_eq!(backoff(1, base, -1.0), Duration::from_secs(24));
        assert_eq!(backoff(2, Duration::from_secs(2), 0.0), Duration::from_secs(4));
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
