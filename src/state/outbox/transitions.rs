//! An outbox row's way through delivery: claimed by one sender under a lease, its intent
//! committed before the call, then posted, found, retried, failed, held or released. Each
//! step is one conditional update, so that a row never moves from a state it is no longer in.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{CLAIMABLE, COLUMNS, OutboxRow, Posted, from_row, post_hash};
use crate::state::db::{Db, DbError, ts};

impl Db {
    /// Claims row `id` for `claimant` until `lease_until`: succeeds for one claimant only,
    /// and only while the row is `pending` and due, or `sending` with its lease run out. The
    /// row is then `sending`, held by `claimant`, and what is returned is the row as it stood
    /// just before the claim — read in the same transaction, so a caller never acts on an
    /// older copy (another process may have tried the row meanwhile). `None`: not claimed.
    pub fn claim(
        &self,
        id: i64,
        claimant: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, DbError> {
        self.batch(|db| {
            let before = db
                .conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?2 AND {CLAIMABLE}"),
                    params![ts(now), id],
                    from_row,
                )
                .optional()
                .map_err(|e| db.err(e))?;
            if before.is_some() {
                db.update(
                    "UPDATE outbox SET status = 'sending', claimed_by = ?2, lease_until = ?3, updated_at = ?1
                     WHERE id = ?4",
                    params![ts(now), claimant, ts(lease_until), id],
                )?;
            }
            Ok(before)
        })
    }

    /// Commits the intent to call, under `claimant`'s claim: one more attempt, the lease
    /// renewed to `lease_until`, and from now on the call may have reached the server. Must be
    /// committed before the call is made; `false` (make no call) if the claim was lost.
    pub fn begin_send(
        &self,
        id: i64,
        claimant: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let n = self
            .conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, reconcile = 1, lease_until = ?3,
                     unsure_since = COALESCE(unsure_since, ?4), updated_at = ?4
                 WHERE id = ?1 AND status = 'sending' AND claimed_by = ?2",
                params![id, claimant, ts(lease_until), ts(now)],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Records the remote result and releases the claim. `verify_at`: the post was sent
    /// again after a call whose outcome was unknown; look for a late duplicate then.
    pub fn mark_posted(
        &self,
        id: i64,
        posted: &Posted,
        now: DateTime<Utc>,
        verify_at: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET status = 'posted', reconcile = 0, last_error = NULL, next_attempt_at = NULL,
                 remote_id = ?2, remote_cid = ?3, remote_url = ?4, posted_at = ?5, updated_at = ?5,
                 claimed_by = NULL, lease_until = NULL, verify_at = ?6 WHERE id = ?1",
            params![id, posted.id, posted.cid, posted.url, ts(now), verify_at.map(ts)],
        )
    }

    /// Marks the row as found on the platform (see [`OutboxRow::found`]).
    pub fn mark_found(&self, id: i64) -> Result<(), DbError> {
        self.update("UPDATE outbox SET found = 1 WHERE id = ?1", [id])
    }

    /// The check for a late duplicate is done (or moved to `next`).
    pub fn set_verify_at(&self, id: i64, next: Option<DateTime<Utc>>) -> Result<(), DbError> {
        self.update("UPDATE outbox SET verify_at = ?2 WHERE id = ?1", params![id, next.map(ts)])
    }

    /// Back to `pending` until `next`. `reconcile`: the failed call may have reached the server.
    pub fn mark_retry(
        &self,
        id: i64,
        error: &str,
        next: DateTime<Utc>,
        reconcile: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET status = 'pending', last_error = ?2, next_attempt_at = ?3, reconcile = ?4, updated_at = ?5,
                 claimed_by = NULL, lease_until = NULL
             WHERE id = ?1",
            params![id, error, ts(next), reconcile, ts(now)],
        )
    }

    /// Marks the row failed for good with the server's message. Whether an earlier call may
    /// have reached the server is kept: a later retry (by `announce`) still looks first.
    pub fn mark_failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET status = 'failed', last_error = ?2, next_attempt_at = NULL, updated_at = ?3,
                 claimed_by = NULL, lease_until = NULL
             WHERE id = ?1",
            params![id, error, ts(now)],
        )
    }

    /// A reconciliation found no post: the next send may go ahead (with the same key).
    pub fn clear_reconcile(&self, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET reconcile = 0, updated_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )
    }

    /// Replaces a row's post (re-fitted after a length rejection, or re-rendered when a held
    /// issue is released), keeping its platform key.
    pub fn replace_post(
        &self,
        id: i64,
        post: &str,
        refitted: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET post = ?2, post_hash = ?3, refitted = refitted OR ?4, updated_at = ?5,
                 post_url = CASE WHEN attempts = 0 THEN issue_key ELSE post_url END WHERE id = ?1",
            params![id, post, post_hash(post), refitted, ts(now)],
        )
    }

    /// Gives a row that has none (recorded as failed before it could be composed) its
    /// platform key; a row's key, once set, never changes.
    pub fn assign_key(&self, id: i64, key: &str) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET platform_key = ?2 WHERE id = ?1 AND platform_key = '' AND attempts = 0",
            params![id, key],
        )
    }

    /// Holds a row (draft guard) or releases it to `pending`.
    pub fn set_held(
        &self,
        id: i64,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let status = if reason.is_some() { "held" } else { "pending" };
        self.update(
            "UPDATE outbox SET status = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1 AND status IN ('held', 'pending')",
            params![id, status, reason, ts(now)],
        )
    }
}
