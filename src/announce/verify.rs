//! The check for a late duplicate: a post sent again after a call whose outcome was unknown
//! may end up twice on a server that does not deduplicate by key (GoToSocial, or Mastodon
//! after an hour). Once the earlier call can no longer land, the account's posts linking to
//! the issue are listed and the ones herald did not record are deleted.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::deliver::{Owner, retry_time, secs};
use super::send::{FoundPost, SendError};
use super::sender::Sink;
use crate::state::{Db, DbError, OutboxRow};

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
    sender: &impl Sink,
    row: &OutboxRow,
    owner: &Owner,
    now: DateTime<Utc>,
) -> Result<Verification, DbError> {
    let Some(recorded) = row.remote.as_ref().map(|p| p.id.clone()) else {
        Db::lock(db).set_verify_at(row.id, None)?;
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
                tracing::warn!(account = %row.account, issue = %row.issue_key, deleted = %extra.posted.id, kept = %recorded, "an earlier request landed late: deleted the duplicate post");
                deleted.push(extra.posted.id.clone());
            }
            Err(e) => {
                let at = later(&e);
                Db::lock(db).set_verify_at(row.id, Some(at))?;
                return Ok(Verification::Later(at));
            }
        }
    }
    Db::lock(db).set_verify_at(row.id, None)?;
    Ok(if deleted.is_empty() { Verification::Single } else { Verification::Deleted(deleted) })
}
