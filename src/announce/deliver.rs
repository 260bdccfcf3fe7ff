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
use super::send::{Lookup, Posted, SendError};
use super::sender::Sink;
use crate::failpoint;
use crate::state::outbox::Fence;
use crate::state::{Db, DbError, OutboxRow, RowStatus};

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
    /// The row was not due (already posted, failed or held, or set aside as ambiguous).
    NotDue(RowStatus),
    /// A post on the account may be herald's or a person's: nothing sent, nothing recorded;
    /// the row waits for the operator (why).
    Ambiguous(String),
    /// This process lost its claim while it worked (its lease ran out): it recorded nothing;
    /// `by` holds the row now, if anyone.
    Lost {
        /// Who holds it now.
        by: Option<String>,
    },
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

/// Runs one delivery of `row` as `owner`. `refit` gets the rejected post and the limit the
/// server named (if any) and returns a shorter post, or `None`. `now` is the clock.
///
/// The row is claimed first ([`Db::claim`]): when another process holds it, nothing is done
/// and [`Delivery::Claimed`] says who and until when. Everything after works on the row as
/// the claim read it, not on `row`, which may be an older copy, and every change it records
/// names the claim ([`Fence`]): a process that wakes after its lease ran out records nothing
/// over what another recorded ([`Delivery::Lost`]).
pub async fn deliver(
    db: &Mutex<Db>,
    sender: &impl Sink,
    row: &OutboxRow,
    refit: &(dyn Fn(&Post, Option<usize>) -> Option<Post> + Sync),
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
    owner: &Owner,
) -> Result<Delivery, DbError> {
    if !matches!(row.status, RowStatus::Pending | RowStatus::Sending) || row.ambiguous.is_some() {
        return Ok(Delivery::NotDue(row.status));
    }
    let t = now();
    let Some(row) = Db::lock(db).claim(row.id, &owner.name, t, t + owner.lease)? else {
        return not_claimed(db, row.id);
    };
    let row = &row;
    let fence = Fence::of(row, &owner.name);
    let twin_unsure = match same_account(db, sender, row, fence, owner, now).await? {
        SameAccount::Done(done) => return Ok(done),
        SameAccount::Unsure => true,
        SameAccount::Alone => false,
    };
    // A call may have reached the server: an earlier attempt failed ambiguously, or the row
    // was left `sending` by a process that died (its lease has run out: the call is over), or
    // the account's row under its earlier name was in that state.
    let unsure = row.reconcile || row.status == RowStatus::Sending || twin_unsure;
    if unsure {
        tracing::info!(account = %row.account, issue = %row.issue_key, "an earlier call may have reached the server: looking for the post first");
        let known = Db::lock(db).other_remote_ids(row)?;
        match sender.find(row, &known).await {
            Ok(Lookup::Found(posted)) => {
                // Found after more than one call: another of them may land too.
                let verify_at =
                    (row.attempts > 1 && sender.lands_late()).then(|| now() + owner.late_landing);
                if !Db::lock(db).mark_posted(row.id, fence, &posted, true, now(), verify_at)? {
                    return lost(db, row);
                }
                tracing::info!(account = %row.account, issue = %row.issue_key, id = %posted.id, "found the earlier post; recorded it");
                return Ok(Delivery::Found(posted));
            }
            Ok(Lookup::Absent) => {
                tracing::info!(account = %row.account, issue = %row.issue_key, "no earlier post found; sending");
            }
            Ok(Lookup::Ambiguous(why)) => {
                if !Db::lock(db).mark_ambiguous(row.id, fence, &why, now())? {
                    return lost(db, row);
                }
                tracing::error!(account = %row.account, issue = %row.issue_key, %why, "neither sending nor recording: `herald status` says how to settle it");
                return Ok(Delivery::Ambiguous(why));
            }
            // A bad token or the like: sending would fail the same way. The operator fixes it
            // and `announce` tries again (still looking first).
            Err(SendError::Permanent { message, .. }) => {
                return fail(
                    db,
                    row,
                    fence,
                    &format!("looking for an earlier post: {message}"),
                    now(),
                );
            }
            Err(e) => {
                // Cannot tell whether it exists: never send blind.
                let at = retry_time(&e, row.attempts.max(1), owner, now());
                let error = format!("looking for an earlier post: {e}");
                if !Db::lock(db).mark_retry(row.id, fence, &error, at, true, now())? {
                    return lost(db, row);
                }
                tracing::warn!(account = %row.account, issue = %row.issue_key, %error, retry_at = %secs(at), "will retry");
                return Ok(Delivery::Retry { at, error });
            }
        }
    }
    let post: Post = match serde_json::from_str(&row.post) {
        Ok(p) => p,
        Err(e) => return fail(db, row, fence, &format!("stored post does not decode: {e}"), now()),
    };
    failpoint::hit("before-intent");
    let started = now();
    if !Db::lock(db).begin_send(row.id, fence, started, started + owner.lease)? {
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
            if !Db::lock(db).mark_posted(row.id, fence, &posted, false, now(), verify_at)? {
                return landed_after_losing_the_claim(db, sender, row, &posted, owner, now()).await;
            }
            tracing::info!(account = %row.account, issue = %row.issue_key, id = %posted.id, attempt = attempts, "posted");
            Delivery::Posted(posted)
        }
        Err(SendError::Permanent { message, too_long: true }) if !row.refitted => {
            match refit(&post, limit_in_message(&message)).filter(|p| p.text != post.text) {
                Some(shorter) => {
                    let json = serde_json::to_string(&shorter).unwrap_or_default();
                    let at = now();
                    // An earlier call whose outcome is unknown stays unknown: look first.
                    let recorded = Db::lock(db).batch(|db| {
                        Ok(db.replace_post(row.id, fence, &json, true, at)?
                            && db.mark_retry(
                                row.id,
                                fence,
                                &format!("re-fitted after: {message}"),
                                at,
                                unsure,
                                at,
                            )?)
                    })?;
                    if !recorded {
                        return lost(db, row);
                    }
                    tracing::warn!(account = %row.account, issue = %row.issue_key, %message, "rejected as too long; re-fitted");
                    Delivery::Retry { at, error: message }
                }
                None => fail(db, row, fence, &message, now())?,
            }
        }
        Err(SendError::Permanent { message, .. }) => fail(db, row, fence, &message, now())?,
        Err(e) => {
            let mut at = retry_time(&e, attempts, owner, now());
            if e.is_ambiguous() {
                // The server may still be working on the call: look only once it must be done.
                at = at.max(started + owner.lease);
            }
            let error = e.to_string();
            // This call failed for sure (a 429) or maybe (a timeout); an earlier unsure call
            // stays unsure either way, so the next try looks first.
            let reconcile = unsure || e.is_ambiguous();
            if !Db::lock(db).mark_retry(row.id, fence, &error, at, reconcile, now())? {
                return lost(db, row);
            }
            tracing::warn!(account = %row.account, issue = %row.issue_key, attempt = attempts, %error, retry_at = %secs(at), "will retry");
            Delivery::Retry { at, error }
        }
    };
    failpoint::hit("after-record");
    Ok(delivery)
}

/// What the account's other rows of the issue (under another name) say of this one.
enum SameAccount {
    /// Delivery is over: recorded from another row, or not possible now.
    Done(Delivery),
    /// A row of the account under another name may have reached the server: look first.
    Unsure,
    /// Nothing: deliver as usual.
    Alone,
}

/// Rows belong to the account, not to the name the configuration gives it. Learns the row's
/// account identity first (nothing is sent to an account herald cannot name: a row sent
/// without it could not be told from the same account's row after a rename). If the same
/// account already holds the issue's post under another name (the account was renamed),
/// records that post for this row too and sends nothing; if a row of it under another name
/// may have reached the server, this one looks before it sends.
async fn same_account(
    db: &Mutex<Db>,
    sender: &impl Sink,
    row: &OutboxRow,
    fence: Fence<'_>,
    owner: &Owner,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<SameAccount, DbError> {
    let identity = match &row.identity {
        Some(identity) => identity.clone(),
        None => match sender.identity().await {
            Ok(identity) => {
                Db::lock(db).set_identity(row.id, &identity)?;
                identity
            }
            Err(SendError::Permanent { message, .. }) => {
                let message = format!("asking which account the token posts as: {message}");
                return fail(db, row, fence, &message, now()).map(SameAccount::Done);
            }
            Err(e) => {
                let at = retry_time(&e, row.attempts.max(1), owner, now());
                let error = format!("asking which account the token posts as: {e}");
                if !Db::lock(db).mark_retry(row.id, fence, &error, at, row.reconcile, now())? {
                    return lost(db, row).map(SameAccount::Done);
                }
                tracing::warn!(account = %row.account, issue = %row.issue_key, %error, retry_at = %secs(at), "will retry");
                return Ok(SameAccount::Done(Delivery::Retry { at, error }));
            }
        },
    };
    let twins = Db::lock(db).twins(row, &identity)?;
    // Its post, recorded under the other name; or a call of that row may have reached the
    // server, its post there unrecorded.
    let posted = twins.iter().find_map(|t| {
        let posted = t.remote.clone().filter(|_| t.status == RowStatus::Posted)?;
        Some((t.account.clone(), posted))
    });
    let unsure = twins
        .iter()
        .any(|t| t.status != RowStatus::Posted && (t.reconcile || t.status == RowStatus::Sending));
    if let Some((name, posted)) = posted {
        if !Db::lock(db).mark_posted(row.id, fence, &posted, true, now(), None)? {
            return lost(db, row).map(SameAccount::Done);
        }
        tracing::info!(account = %row.account, issue = %row.issue_key, was = %name, id = %posted.id, "this account already has the issue's post (under the name it had before): recorded it, nothing sent");
        return Ok(SameAccount::Done(Delivery::Found(posted)));
    }
    Ok(if unsure { SameAccount::Unsure } else { SameAccount::Alone })
}

/// This process lost its claim (its lease ran out while it was stopped or slow, and another
/// process took the row over): it records nothing. Said once, as a warning.
fn lost(db: &Mutex<Db>, row: &OutboxRow) -> Result<Delivery, DbError> {
    let now = Db::lock(db).row(row.id)?;
    let by = now.as_ref().and_then(|r| r.claimed_by.clone());
    tracing::warn!(account = %row.account, issue = %row.issue_key, by = by.as_deref().unwrap_or("another process"), "this process lost its claim on the row (its lease ran out): recording nothing; the row is another's");
    Ok(Delivery::Lost { by })
}

/// A post this process made after it had lost its claim (see [`lost`]): if another process
/// has since recorded a different post for the row, the one made here is a duplicate that
/// is certainly herald's (the server just answered this process with it), and is deleted;
/// the recorded post is never touched. If the row is not recorded yet, its next delivery looks
/// first (the row is unsure) and finds this post.
async fn landed_after_losing_the_claim(
    db: &Mutex<Db>,
    sender: &impl Sink,
    row: &OutboxRow,
    posted: &Posted,
    owner: &Owner,
    now: DateTime<Utc>,
) -> Result<Delivery, DbError> {
    let current = Db::lock(db).row(row.id)?;
    let recorded =
        current.as_ref().filter(|r| r.status == RowStatus::Posted).and_then(|r| r.remote.clone());
    match recorded {
        Some(kept) if kept.id != posted.id => match sender.delete(&posted.id).await {
            Ok(()) => {
                tracing::warn!(account = %row.account, issue = %row.issue_key, deleted = %posted.id, kept = %kept.id, "a post made after this process lost its claim landed beside the recorded one: deleted it");
            }
            Err(e) => {
                // Looked for again as a late landing: only herald's own posts are deleted then.
                Db::lock(db).watch_for_late_landing(row.id, now + owner.late_landing)?;
                tracing::warn!(account = %row.account, issue = %row.issue_key, duplicate = %posted.id, kept = %kept.id, cause = %e, "a post made after this process lost its claim landed beside the recorded one; deleting it later");
            }
        },
        _ => {
            tracing::warn!(account = %row.account, issue = %row.issue_key, id = %posted.id, "posted after this process lost its claim: the row's next delivery finds this post");
        }
    }
    Ok(Delivery::Lost { by: current.and_then(|r| r.claimed_by) })
}

/// Why a claim did not succeed: another process holds the row, it is not due yet, or it is
/// no longer to be delivered.
fn not_claimed(db: &Mutex<Db>, id: i64) -> Result<Delivery, DbError> {
    let Some(row) = Db::lock(db).row(id)? else { return Ok(Delivery::NotDue(RowStatus::Failed)) };
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

fn fail(
    db: &Mutex<Db>,
    row: &OutboxRow,
    fence: Fence<'_>,
    message: &str,
    now: DateTime<Utc>,
) -> Result<Delivery, DbError> {
    if !Db::lock(db).mark_failed(row.id, fence, message, now)? {
        return lost(db, row);
    }
    tracing::error!(account = %row.account, issue = %row.issue_key, %message, "rejected; not retrying");
    Ok(Delivery::Failed(message.to_string()))
}

pub(super) fn retry_time(
    e: &SendError,
    attempts: i64,
    owner: &Owner,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match e {
        SendError::RateLimited { retry_at: Some(at), .. } if *at > now => *at,
        _ => next_try(attempts, owner.backoff_base, now),
    }
}

#[cfg(test)]
mod tests;
