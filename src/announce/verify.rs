//! The watch for a late duplicate: a post sent again after a call whose outcome was unknown
//! may end up twice on a server that does not deduplicate by key (GoToSocial, or Mastodon
//! after an hour). The account's posts are looked at again at growing intervals for as long
//! as such a call can land ([`LATE_WINDOW`]), and herald's own posts of the issue that it did
//! not record are deleted. Only herald's: a post counts as herald's when it says exactly the
//! text herald composed (see `Sender::find_all`); a person's reply or status linking to the
//! issue is never touched.
//!
//! How long: a call reaches the server within its request timeout, or is queued by a proxy or
//! a stalled server for longer; a call made by a process that was stopped past its lease is
//! dealt with by that process when it wakes (`deliver`). Servers and proxies give up on a
//! request within minutes; a day covers a server that stalls for hours and catches up.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::deliver::{Owner, retry_time, secs};
use super::send::{FoundPost, SendError};
use super::sender::Sink;
use crate::state::{Db, DbError, OutboxRow};

/// How long after the re-send a late landing is watched for.
pub const LATE_WINDOW: chrono::Duration = chrono::Duration::days(1);

/// When to look again after a look at `now`, for a row re-sent at `anchor`: the first look
/// `first` after it, each next one four times as far (5 min, 20 min, 80 min, 5 h 20 min,
/// 21 h 20 min with the default timeout), the last at the window's end; `None` after it.
pub fn next_look(
    anchor: DateTime<Utc>,
    first: chrono::Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let end = anchor + LATE_WINDOW;
    let mut step = first.max(chrono::Duration::seconds(1));
    while anchor + step <= now {
        step = step * 4;
    }
    let next = (anchor + step).min(end);
    (next > now).then_some(next)
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

/// Checks a row posted after a re-send for a late duplicate: lists herald's posts of the issue
/// on the account and deletes those made since the row's first unsure call that herald did
/// not record, so the account ends with one post. Posts from before that call, posts recorded
/// by other rows (an explicit `--force-new`) and every post that is not herald's are left
/// alone. The next look is set by [`next_look`] until the window closes.
pub async fn verify(
    db: &Mutex<Db>,
    sender: &impl Sink,
    row: &OutboxRow,
    owner: &Owner,
    now: DateTime<Utc>,
) -> Result<Verification, DbError> {
    let Some(recorded) = row.remote.as_ref().map(|p| p.id.clone()) else {
        Db::lock(db).set_verify_at(row.id, None)?;
        return Ok(Verification::Single);
    };
    // The next look, if the window is still open once this one is done.
    let anchor = row.posted_at.unwrap_or(now);
    let again = next_look(anchor, owner.late_landing, now);
    let later = |e: &SendError| {
        let at = retry_time(e, 1, owner, now);
        tracing::warn!(account = %row.account, issue = %row.issue_key, cause = %e, retry_at = %secs(at), "cannot check for a late duplicate now");
        at
    };
    let found = match sender.find_all(row).await {
        Ok(found) => found,
        Err(e) => {
            let at = later(&e);
            Db::lock(db).set_verify_at(row.id, Some(at))?;
            return Ok(Verification::Later(at));
        }
    };
    let known = Db::lock(db).other_remote_ids(row)?;
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
        Db::lock(db).set_verify_at(row.id, None)?;
        return Ok(Verification::Single);
    }
    let mut deleted = Vec::new();
    for extra in extras {
        match sender.delete(&extra.posted.id).await {
            Ok(()) => {
                tracing::warn!(account = %row.account, issue = %row.issue_key, deleted = %extra.posted.id, kept = %recorded, "an earlier request landed late: deleted herald's duplicate post");
                deleted.push(extra.posted.id.clone());
            }
            Err(e) => {
                let at = later(&e);
                Db::lock(db).set_verify_at(row.id, Some(at))?;
                return Ok(Verification::Later(at));
            }
        }
    }
    Db::lock(db).set_verify_at(row.id, again)?;
    Ok(if deleted.is_empty() { Verification::Single } else { Verification::Deleted(deleted) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_grow_fourfold_until_the_window_closes() {
        let t0 = DateTime::parse_from_rfc3339("2026-08-19T12:00:00Z").unwrap().to_utc();
        let min = chrono::Duration::minutes;
        let first = min(5);
        let mut at = t0;
        let mut looks = Vec::new();
        while let Some(next) = next_look(t0, first, at) {
            looks.push((next - t0).num_minutes());
            at = next;
        }
        assert_eq!(looks, [5, 20, 80, 320, 1280, 1440]);
        // A look made late (the service was down) is followed by the next step after it.
        assert_eq!(next_look(t0, first, t0 + min(30)), Some(t0 + min(80)));
        assert_eq!(next_look(t0, first, t0 + LATE_WINDOW), None);
    }
}
