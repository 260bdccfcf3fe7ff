//! An outbox row's way through delivery: claimed by one sender under a lease, its intent
//! committed before the call, then posted, found, retried, failed, held or released. Each
//! step is one conditional update, so that a row never moves from a state it is no longer in.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, named_params, params};

use super::{CLAIMABLE, COLUMNS, FENCED, Fence, OutboxRow, Posted, from_row, post_hash};
use crate::state::db::{Db, DbError, ts};

impl Db {
    /// Claims row `id` for `claimant` until `lease_until`: succeeds for one claimant only,
    /// and only while the row is `pending` and due, or `sending` with its lease run out. The
    /// row is then `sending`, held by `claimant`, and what is returned is the row as it stood
    /// just before the claim — read in the same transaction, so a caller never acts on an
    /// older copy (another process may have tried the row meanwhile), but with its new
    /// `claim_gen`, which every change made under the claim names ([`Fence::of`]). A row
    /// herald could not decide about (`ambiguous`) is never claimed. `None`: not claimed.
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
                    &format!(
                        "SELECT {COLUMNS} FROM outbox WHERE id = ?2 AND {CLAIMABLE}"
                    ),
                    params![ts(now), id],
                    from_row,
                )
                .optional()
                .map_err(|e| db.err(e))?;
            let Some(mut before) = before else { return Ok(None) };
            db.update(
                "UPDATE outbox SET status = 'sending', claimed_by = ?2, lease_until = ?3, updated_at = ?1,
                     claim_gen = claim_gen + 1
                 WHERE id = ?4",
                params![ts(now), claimant, ts(lease_until), id],
            )?;
            before.claim_gen += 1;
            Ok(Some(before))
        })
    }

    /// Commits the intent to call, under `claimant`'s claim: one more attempt, the lease
    /// renewed to `lease_until`, and from now on the call may have reached the server. Must be
    /// committed before the call is made; `false` (make no call) if the claim was lost.
    pub fn begin_send(
        &self,
        id: i64,
        fence: Fence<'_>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.fenced(
            "UPDATE outbox SET attempts = attempts + 1, reconcile = 1, lease_until = :lease,
                 unsure_since = COALESCE(unsure_since, :now), updated_at = :now
             WHERE id = :id AND status = 'sending'",
            fence,
            named_params! {":id": id, ":lease": ts(lease_until), ":now": ts(now)},
        )
    }

    /// Runs `sql` (an `UPDATE … WHERE …` with named parameters) under `fence`: `false` if the
    /// row is no longer under that claim, and nothing was changed.
    fn fenced(
        &self,
        sql: &str,
        fence: Fence<'_>,
        values: &[(&str, &dyn rusqlite::ToSql)],
    ) -> Result<bool, DbError> {
        let (owner, generation) = fence.sql();
        let mut all: Vec<(&str, &dyn rusqlite::ToSql)> = values.to_vec();
        all.push((":owner", &owner));
        all.push((":gen", &generation));
        let n = self
            .conn
            .execute(&format!("{sql} AND {FENCED}"), all.as_slice())
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// Records the remote result and releases the claim. `verify_at`: the post was sent
    /// again after a call whose outcome was unknown; look for a late duplicate then.
    /// `found`: recorded by looking, not from a reply (see [`OutboxRow::found`]). `false` if
    /// the claim was lost: nothing recorded.
    pub fn mark_posted(
        &self,
        id: i64,
        fence: Fence<'_>,
        posted: &Posted,
        found: bool,
        now: DateTime<Utc>,
        verify_at: Option<DateTime<Utc>>,
    ) -> Result<bool, DbError> {
        self.fenced(
            "UPDATE outbox SET status = 'posted', reconcile = 0, last_error = NULL, next_attempt_at = NULL,
                 remote_id = :rid, remote_cid = :cid, remote_url = :url, posted_at = :now, updated_at = :now,
                 claimed_by = NULL, lease_until = NULL, verify_at = :verify, found = :found,
                 ambiguous = NULL
             WHERE id = :id",
            fence,
            named_params! {
                ":id": id, ":rid": posted.id, ":cid": posted.cid, ":url": posted.url,
                ":now": ts(now), ":verify": verify_at.map(ts), ":found": found,
            },
        )
    }

    /// A late landing of this row's post may still come (a call made by a process that had
    /// lost its claim): look for one at `at`, unless a look is already due sooner.
    pub fn watch_for_late_landing(&self, id: i64, at: DateTime<Utc>) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET verify_at = ?2
             WHERE id = ?1 AND status = 'posted' AND (verify_at IS NULL OR verify_at > ?2)",
            params![id, ts(at)],
        )
    }

    /// Sets the row aside: herald cannot tell whether a post it found is its own, so it
    /// neither sends nor records one until the operator settles it (`announce` with
    /// `--force` to post, or `--adopt`... see `status`). `false` if the claim was lost.
    pub fn mark_ambiguous(
        &self,
        id: i64,
        fence: Fence<'_>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.fenced(
            "UPDATE outbox SET status = 'pending', ambiguous = :why, last_error = :why,
                 next_attempt_at = NULL, claimed_by = NULL, lease_until = NULL, updated_at = :now
             WHERE id = :id",
            fence,
            named_params! {":id": id, ":why": why, ":now": ts(now)},
        )
    }

    /// The operator settles an ambiguous row: `adopt` is the announcement (recorded as
    /// posted, found on the platform); `None`, post it (the look is skipped: the post found
    /// is not herald's). `false` if the row is not ambiguous.
    pub fn settle_ambiguous(
        &self,
        id: i64,
        adopt: Option<&Posted>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let n = match adopt {
            Some(posted) => self.conn.execute(
                "UPDATE outbox SET status = 'posted', ambiguous = NULL, reconcile = 0, last_error = NULL,
                     next_attempt_at = NULL, remote_id = ?2, remote_url = ?3, posted_at = ?4,
                     updated_at = ?4, found = 1
                 WHERE id = ?1 AND ambiguous IS NOT NULL",
                params![id, posted.id, posted.url, ts(now)],
            ),
            None => self.conn.execute(
                "UPDATE outbox SET status = 'pending', ambiguous = NULL, reconcile = 0, last_error = NULL,
                     next_attempt_at = NULL, updated_at = ?2
                 WHERE id = ?1 AND ambiguous IS NOT NULL",
                params![id, ts(now)],
            ),
        };
        Ok(n.map_err(|e| self.err(e))? == 1)
    }

    /// Posts an ambiguous row after all (see [`Db::settle_ambiguous`]).
    pub fn release_ambiguous(&self, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
        self.settle_ambiguous(id, None, now)
    }

    /// Records the identity of the account the row posts to (once known).
    pub fn set_identity(&self, id: i64, identity: &str) -> Result<(), DbError> {
        self.update(
            "UPDATE outbox SET identity = ?2 WHERE id = ?1 AND identity IS NOT ?2",
            params![id, identity],
        )
    }

    /// The check for a late duplicate is done (or moved to `next`).
    pub fn set_verify_at(&self, id: i64, next: Option<DateTime<Utc>>) -> Result<(), DbError> {
        self.update("UPDATE outbox SET verify_at = ?2 WHERE id = ?1", params![id, next.map(ts)])
    }

    /// Back to `pending` until `next`. `reconcile`: the failed call may have reached the server.
    /// `false` if the claim was lost: nothing recorded.
    pub fn mark_retry(
        &self,
        id: i64,
        fence: Fence<'_>,
        error: &str,
        next: DateTime<Utc>,
        reconcile: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.fenced(
            "UPDATE outbox SET status = 'pending', last_error = :error, next_attempt_at = :next,
                 reconcile = :reconcile, updated_at = :now, claimed_by = NULL, lease_until = NULL,
                 ambiguous = NULL
             WHERE id = :id",
            fence,
            named_params! {
                ":id": id, ":error": error, ":next": ts(next), ":reconcile": reconcile, ":now": ts(now),
            },
        )
    }

    /// Marks the row failed for good with the server's message. Whether an earlier call may
    /// have reached the server is kept: a later retry (by `announce`) still looks first.
    /// `false` if the claim was lost: nothing recorded.
    pub fn mark_failed(
        &self,
        id: i64,
        fence: Fence<'_>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.fenced(
            "UPDATE outbox SET status = 'failed', last_error = :error, next_attempt_at = NULL,
                 updated_at = :now, claimed_by = NULL, lease_until = NULL
             WHERE id = :id",
            fence,
            named_params! {":id": id, ":error": error, ":now": ts(now)},
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
        fence: Fence<'_>,
        post: &str,
        refitted: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.fenced(
            "UPDATE outbox SET post = :post, post_hash = :hash, refitted = refitted OR :refitted,
                 updated_at = :now,
                 post_url = CASE WHEN attempts = 0 THEN issue_key ELSE post_url END
             WHERE id = :id",
            fence,
            named_params! {
                ":id": id, ":post": post, ":hash": post_hash(post), ":refitted": refitted,
                ":now": ts(now),
            },
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
