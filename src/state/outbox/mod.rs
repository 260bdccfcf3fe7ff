//! The outbox: one row per (issue, account, generation) holding the rendered post, the
//! platform key chosen before any call (Bluesky rkey / Mastodon Idempotency-Key), and where
//! the delivery stands.
//!
//! Status moves `pending → sending → posted`, or back to `pending` (retry later) or on to
//! `failed` (permanent). `held` rows wait for the draft guard.
//!
//! # One owner per post
//!
//! A row becomes `sending` only through [`Db::claim`], a conditional update that succeeds for
//! one claimant: the service, `herald announce` or a second process racing them all use it,
//! so only one of them ever works on a row at a time. The claim records who holds it and a
//! lease: until `lease_until` nobody else touches the row, and the holder renews it when it
//! starts a call ([`Db::begin_send`]). The lease is longer than a request may take (three
//! request timeouts), so a claim left by a crash or a kill is taken over only once the call
//! in flight must have finished on the server: the next owner then looks for the post before
//! sending anything.
//!
//! `sending` is committed before the network call, so a row found in `sending` after its
//! lease ran out is one whose call may have reached the server: it is reconciled (looked for
//! on the platform) before anything is sent. A post sent again after a call whose outcome
//! was unknown gets a `verify_at` time: by then the earlier call can no longer land, and the
//! account's posts are looked at once more for a late duplicate (see
//! `announce::deliver::verify`).

mod accounts;
mod transitions;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::db::{Db, DbError, parse_ts, ts};

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Waiting to be sent (at `next_attempt_at`, or now).
    Pending,
    /// A call was started and its result not yet recorded.
    Sending,
    /// Done: the remote result is recorded.
    Posted,
    /// Rejected for good; `last_error` says why.
    Failed,
    /// Held by the draft guard; `last_error` says why.
    Held,
}

impl RowStatus {
    /// Every status, in the order rows go through them.
    pub const ALL: [RowStatus; 5] =
        [Self::Held, Self::Pending, Self::Sending, Self::Posted, Self::Failed];

    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Posted => "posted",
            Self::Failed => "failed",
            Self::Held => "held",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sending" => Self::Sending,
            "posted" => Self::Posted,
            "failed" => Self::Failed,
            "held" => Self::Held,
            _ => Self::Pending,
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// The issue (its URL).
    pub issue_key: String,
    /// The account's name.
    pub account: String,
    /// `bluesky`, `mastodon` or `dry_run`.
    pub platform: String,
    /// 0, or more for explicit re-posts.
    pub generation: i64,
    /// The rendered post (JSON).
    pub post: String,
    /// SHA-256 of `post`.
    pub post_hash: String,
    /// The key chosen before any call: Bluesky rkey, Mastodon Idempotency-Key.
    pub platform_key: String,
    /// Where it stands.
    pub status: RowStatus,
    /// Calls started.
    pub attempts: i64,
    /// A call may have reached the server: look for the post before sending again.
    pub reconcile: bool,
    /// The post was re-fitted after a length rejection.
    pub refitted: bool,
    /// The last failure or hold reason.
    pub last_error: Option<String>,
    /// When to try next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The remote result, once posted.
    pub remote: Option<Posted>,
    /// When it was posted.
    pub posted_at: Option<DateTime<Utc>>,
    /// When the row was made.
    pub created_at: DateTime<Utc>,
    /// Who holds the row's claim (while `sending`).
    pub claimed_by: Option<String>,
    /// Until when the claim holds: nobody else touches a `sending` row before this.
    pub lease_until: Option<DateTime<Utc>>,
    /// When the first call whose outcome was unknown started.
    pub unsure_since: Option<DateTime<Utc>>,
    /// Posted after a re-send: look for a late duplicate at this time.
    pub verify_at: Option<DateTime<Utc>>,
    /// The issue URL the post was composed with (it stays when the issue is renamed).
    pub post_url: Option<String>,
    /// The post was found on the platform after an unsure call, not confirmed by a reply:
    /// `posted_at` is when it was found.
    pub found: bool,
    /// The claim's generation: bumped by every [`Db::claim`], checked by every change made
    /// under a claim (see [`Fence`]).
    pub claim_gen: i64,
    /// The account the row posts to, by identity (`mastodon <instance> <account id>`,
    /// `bluesky <DID>`), once known: a renamed account is the same account.
    pub identity: Option<String>,
    /// Why herald cannot tell whether a post on the account is its own: the row is neither
    /// sent nor recorded until the operator settles it.
    pub ambiguous: Option<String>,
}

/// Under which claim a change is made. Every change [`deliver`](crate::announce::deliver)
/// makes after claiming a row names its claim: it is made only while the row is still
/// `sending` under that owner and generation, so a process that wakes after its lease ran
/// out (a pause, a VM stop) can neither overwrite nor delete what another recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence<'a> {
    /// Not under a claim (queueing, `announce`'s retry of a failed row).
    Unclaimed,
    /// Under the claim of `owner`, generation `generation`.
    Claim {
        /// Who claimed.
        owner: &'a str,
        /// The claim's generation, as [`Db::claim`] returned it.
        generation: i64,
    },
}

impl<'a> Fence<'a> {
    /// The fence of a row as [`Db::claim`] returned it to `owner`.
    pub fn of(row: &OutboxRow, owner: &'a str) -> Self {
        Self::Claim { owner, generation: row.claim_gen }
    }

    /// The SQL condition (with `?owner`/`?gen` bound by name) and its two values.
    pub(crate) fn sql(self) -> (Option<&'a str>, Option<i64>) {
        match self {
            Self::Unclaimed => (None, None),
            Self::Claim { owner, generation } => (Some(owner), Some(generation)),
        }
    }
}

/// The condition a fenced update adds: no claim named, or the row still `sending` under it.
pub(crate) const FENCED: &str =
    "(:owner IS NULL OR (status = 'sending' AND claimed_by = :owner AND claim_gen = :gen))";

/// A row to add.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// The issue.
    pub issue_key: &'a str,
    /// The account.
    pub account: &'a str,
    /// Its platform.
    pub platform: &'a str,
    /// The rendered post (JSON).
    pub post: &'a str,
    /// The platform key, generated once here and never again for this row.
    pub platform_key: &'a str,
    /// A hold reason: the row starts `held`.
    pub held: Option<&'a str>,
}

/// The rows [`Db::claim`] may take at `?1` (now): pending and due, or sending with the lease
/// run out (no lease: left by a herald from before leases); never one set aside as ambiguous.
const CLAIMABLE: &str =
    "(((status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1))
       OR (status = 'sending' AND (lease_until IS NULL OR lease_until <= ?1)))
      AND ambiguous IS NULL)";

const COLUMNS: &str = "id, issue_key, account, platform, generation, post, post_hash, platform_key, status, \
     attempts, reconcile, refitted, last_error, next_attempt_at, remote_id, remote_cid, remote_url, \
     posted_at, created_at, claimed_by, lease_until, unsure_since, verify_at, post_url, found, \
     claim_gen, identity, ambiguous";

fn from_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    let remote_id: Option<String> = r.get(14)?;
    let opt_ts = |i| r.get::<_, Option<String>>(i).map(|s| s.as_deref().and_then(parse_ts));
    Ok(OutboxRow {
        id: r.get(0)?,
        issue_key: r.get(1)?,
        account: r.get(2)?,
        platform: r.get(3)?,
        generation: r.get(4)?,
        post: r.get(5)?,
        post_hash: r.get(6)?,
        platform_key: r.get(7)?,
        status: RowStatus::parse(&r.get::<_, String>(8)?),
        attempts: r.get(9)?,
        reconcile: r.get(10)?,
        refitted: r.get(11)?,
        last_error: r.get(12)?,
        next_attempt_at: opt_ts(13)?,
        remote: remote_id.map(|id| Posted {
            id,
            cid: r.get(15).ok().flatten(),
            url: r.get(16).ok().flatten(),
        }),
        posted_at: opt_ts(17)?,
        created_at: opt_ts(18)?.unwrap_or_default(),
        claimed_by: r.get(19)?,
        lease_until: opt_ts(20)?,
        unsure_since: opt_ts(21)?,
        verify_at: opt_ts(22)?,
        post_url: r.get(23)?,
        found: r.get(24)?,
        claim_gen: r.get(25)?,
        identity: r.get(26)?,
        ambiguous: r.get(27)?,
    })
}

/// What the server made of a post.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Posted {
    /// Bluesky: the record's at-uri; Mastodon: the status id.
    pub id: String,
    /// Bluesky: the record's CID.
    pub cid: Option<String>,
    /// A web link to the post, where known.
    pub url: Option<String>,
}

impl Posted {
    /// How messages point at the post: its web link, else its id.
    pub fn link(&self) -> &str {
        self.url.as_deref().unwrap_or(&self.id)
    }
}

/// SHA-256 of a post, hex.
pub fn post_hash(post: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(post.as_bytes()))
}

impl OutboxRow {
    /// The URLs the row's posts may link to: the one it was composed with, and the issue's
    /// URL now (they differ after a rename).
    pub fn issue_urls(&self) -> Vec<&str> {
        let mut urls: Vec<&str> = self.post_url.iter().map(String::as_str).collect();
        if !urls.contains(&self.issue_key.as_str()) {
            urls.push(&self.issue_key);
        }
        urls
    }
}

impl Db {
    /// Adds the first row for (issue, account), unless one exists: returns the new row's id,
    /// or `None` when the issue already has a row for the account (announced or on its way).
    pub fn enqueue(&self, row: &NewRow<'_>, now: DateTime<Utc>) -> Result<Option<i64>, DbError> {
        self.insert_row(row, 0, now)
    }

    /// Adds a row for a deliberate re-post (`--force-new`): the next generation.
    pub fn enqueue_new_generation(
        &self,
        row: &NewRow<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let next: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(generation) + 1, 0) FROM outbox WHERE issue_key = ?1 AND account = ?2",
                params![row.issue_key, row.account],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let id = self.insert_row(row, next, now)?;
        Ok(id.unwrap_or_default())
    }

    fn insert_row(
        &self,
        row: &NewRow<'_>,
        generation: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, DbError> {
        let status = if row.held.is_some() { RowStatus::Held } else { RowStatus::Pending };
        let n = self
            .conn
            .execute(
                "INSERT INTO outbox (issue_key, account, platform, generation, post, post_hash, platform_key,
                                     status, last_error, created_at, updated_at, title, post_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10,
                         (SELECT title FROM issues WHERE key = ?1), ?1)
                 ON CONFLICT (issue_key, account, generation) DO NOTHING",
                params![
                    row.issue_key,
                    row.account,
                    row.platform,
                    generation,
                    row.post,
                    post_hash(row.post),
                    row.platform_key,
                    status.as_str(),
                    row.held,
                    ts(now)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok((n == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// Records that the issue could not be queued for `account` (its post cannot be
    /// composed): a `failed` row with `error`, so `status` shows it and `announce` can retry
    /// it once the issue is fixed. An existing row is left alone.
    pub fn record_failed(
        &self,
        issue_key: &str,
        account: &str,
        platform: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let row = NewRow { issue_key, account, platform, post: "", platform_key: "", held: None };
        if let Some(id) = self.insert_row(&row, 0, now)? {
            self.mark_failed(id, Fence::Unclaimed, error, now)?;
        }
        Ok(())
    }

    /// How many rows each (account, status) has.
    pub fn row_counts(&self) -> Result<Vec<(String, RowStatus, u64)>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT account, status, COUNT(*) FROM outbox GROUP BY account, status")
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok((r.get(0)?, RowStatus::parse(&r.get::<_, String>(1)?), r.get(2)?))
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Posted rows whose issue's title has changed since they were composed, the issue
    /// unchanged since `settled_before`: `(row, current title)`.
    pub fn rows_with_changed_title(
        &self,
        settled_before: DateTime<Utc>,
    ) -> Result<Vec<(OutboxRow, String)>, DbError> {
        let columns: String = COLUMNS.split(", ").map(|c| format!("o.{c}, ")).collect();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {columns}i.title FROM outbox o JOIN issues i ON i.key = o.issue_key
                 WHERE o.status = 'posted' AND o.title IS NOT NULL AND o.title IS NOT i.title
                   AND i.changed_at IS NOT NULL AND i.changed_at <= ?1
                 ORDER BY o.id"
            ))
            .map_err(|e| self.err(e))?;
        let n = COLUMNS.split(", ").count();
        stmt.query_map([ts(settled_before)], |r| Ok((from_row(r)?, r.get(n)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// When the next title edit comes due: the earliest time an issue whose posted title
    /// changed (since `settled_before`, so not due yet) will have been unchanged for `settle`.
    pub fn next_title_edit(
        &self,
        settled_before: DateTime<Utc>,
        settle: chrono::Duration,
    ) -> Result<Option<DateTime<Utc>>, DbError> {
        let first: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(i.changed_at) FROM outbox o JOIN issues i ON i.key = o.issue_key
                 WHERE o.status = 'posted' AND o.title IS NOT NULL AND o.title IS NOT i.title
                   AND i.changed_at IS NOT NULL AND i.changed_at > ?1",
                [ts(settled_before)],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(first.as_deref().and_then(parse_ts).map(|t| t + settle))
    }

    /// Records an edit of a posted row: its new post and the title it was composed with.
    pub fn mark_edited(
        &self,
        id: i64,
        post: &str,
        title: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE outbox SET post = ?2, post_hash = ?3, title = ?4, edited_at = ?5, updated_at = ?5,
                     last_error = NULL WHERE id = ?1",
                params![id, post, post_hash(post), title, ts(now)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Gives up editing a posted row to `title` (the platform refused for good): the post
    /// keeps its text, `last_error` says why.
    pub fn mark_edit_refused(
        &self,
        id: i64,
        title: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE outbox SET title = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, title, format!("not edited: {error}"), ts(now)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// One row.
    pub fn row(&self, id: i64) -> Result<Option<OutboxRow>, DbError> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"), [id], from_row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The remote ids the other rows of `row`'s issue and account recorded (earlier or later
    /// generations): posts that are not this row's.
    pub fn other_remote_ids(&self, row: &OutboxRow) -> Result<Vec<String>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT remote_id FROM outbox
                 WHERE issue_key = ?1 AND account = ?2 AND id != ?3 AND remote_id IS NOT NULL",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![row.issue_key, row.account, row.id], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// Every row, oldest first.
    pub fn rows(&self) -> Result<Vec<OutboxRow>, DbError> {
        self.query(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"), [])
    }

    /// The rows of one issue.
    pub fn rows_for_issue(&self, issue_key: &str) -> Result<Vec<OutboxRow>, DbError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM outbox WHERE issue_key = ?1 ORDER BY id"),
            [issue_key],
        )
    }

    /// Rows to work on now: `pending` ones that are due, and `sending` ones whose claim's
    /// lease has run out (left by a crash, a kill or a stuck process).
    pub fn due_rows(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, DbError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM outbox WHERE {CLAIMABLE} ORDER BY id"),
            [ts(now)],
        )
    }

    /// Posted rows whose check for a late duplicate is due.
    pub fn rows_to_verify(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, DbError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM outbox WHERE status = 'posted' AND verify_at <= ?1 ORDER BY id"
            ),
            [ts(now)],
        )
    }

    /// The earliest time something in the outbox comes due: a pending row's next attempt, a
    /// claim's lease running out, a check for a late duplicate.
    /// Only rows of `accounts` count: a row of an account no longer configured is never
    /// delivered and must not wake the service.
    pub fn next_attempt_time(&self, accounts: &[String]) -> Result<Option<DateTime<Utc>>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT account, MIN(t) FROM (
                     SELECT account, next_attempt_at AS t FROM outbox WHERE status = 'pending'
                     UNION ALL SELECT account, lease_until FROM outbox WHERE status = 'sending'
                     UNION ALL SELECT account, verify_at FROM outbox WHERE status = 'posted')
                 WHERE t IS NOT NULL GROUP BY account",
            )
            .map_err(|e| self.err(e))?;
        let times: Vec<(String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        Ok(times
            .into_iter()
            .filter(|(a, _)| accounts.contains(a))
            .filter_map(|(_, t)| t.as_deref().and_then(parse_ts))
            .min())
    }

    /// The rows of `issues` (notifications look at these only).
    pub fn rows_of_issues(&self, issues: &[&str]) -> Result<Vec<OutboxRow>, DbError> {
        let mut out = Vec::new();
        for key in issues {
            out.extend(self.query(
                &format!("SELECT {COLUMNS} FROM outbox WHERE issue_key = ?1 ORDER BY id"),
                [key],
            )?);
        }
        Ok(out)
    }

    fn query<P: rusqlite::Params>(&self, sql: &str, params: P) -> Result<Vec<OutboxRow>, DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params, from_row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn update(&self, sql: &str, params: impl rusqlite::Params) -> Result<(), DbError> {
        self.conn.execute(sql, params).map(drop).map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests;
