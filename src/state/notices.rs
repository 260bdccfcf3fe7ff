//! Notices: what herald tells the operator's channels (`[[notify]]`) and the feeds' WebSub
//! hubs. Each is recorded once per channel and key before anything is sent — so nothing is
//! lost to a crash or a restart — then sent, retried with backoff while the channel fails,
//! and marked sent. A notice whose sending was cut short by a kill is sent again at the next
//! start: at least once, with a stable id a receiver can drop a repeat by.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::db::{Db, DbError, parse_ts, ts};

/// A notice recorded for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Its row id: stable, the id receivers see.
    pub id: i64,
    /// The channel's name.
    pub channel: String,
    /// What it is about (one notice per channel and key).
    pub key: String,
    /// The event's name.
    pub event: String,
    /// The message, as JSON.
    pub body: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// Sending attempts made.
    pub attempts: u32,
    /// When it is next tried.
    pub next_attempt_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A channel (or WebSub hub) whose notices keep failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingChannel {
    /// The channel's name (`websub <hub>` for a hub).
    pub channel: String,
    /// Attempts at its oldest unsent notice.
    pub attempts: u32,
    /// Why the last one failed.
    pub last_error: String,
    /// Its notices not sent yet.
    pub unsent: u32,
}

const COLUMNS: &str =
    "id, channel, key, event, body, created_at, attempts, next_attempt_at, sent_at, last_error";

fn notice(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notice> {
    let time = |i: usize| -> rusqlite::Result<DateTime<Utc>> {
        Ok(parse_ts(&r.get::<_, String>(i)?).unwrap_or_default())
    };
    Ok(Notice {
        id: r.get(0)?,
        channel: r.get(1)?,
        key: r.get(2)?,
        event: r.get(3)?,
        body: r.get(4)?,
        created_at: time(5)?,
        attempts: r.get(6)?,
        next_attempt_at: time(7)?,
        sent_at: r.get::<_, Option<String>>(8)?.as_deref().and_then(parse_ts),
        last_error: r.get(9)?,
    })
}

impl Db {
    /// Records a notice for each of `channels` (none twice for a channel and `key`), in one
    /// transaction. Returns how many were new.
    pub fn record_notices(
        &mut self,
        channels: &[&str],
        key: &str,
        event: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, DbError> {
        let path = self.path().to_path_buf();
        let err = |source| DbError { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(err)?;
        let mut added = 0;
        for channel in channels {
            added += tx
                .execute(
                    "INSERT INTO notices (channel, key, event, body, created_at, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (channel, key) DO NOTHING",
                    params![channel, key, event, body, ts(now)],
                )
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(added)
    }

    /// Whether `key` was ever recorded for any channel.
    pub fn notice_recorded(&self, key: &str) -> Result<bool, DbError> {
        self.conn
            .query_row("SELECT 1 FROM notices WHERE key = ?1 LIMIT 1", [key], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.err(e))
    }

    /// The unsent notices due at `now`, oldest first.
    pub fn due_notices(&self, now: DateTime<Utc>) -> Result<Vec<Notice>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM notices WHERE sent_at IS NULL AND next_attempt_at <= ?1
                 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([ts(now)], notice).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The unsent notices of `channel` due at `now`, oldest first.
    pub fn due_notices_of(
        &self,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notice>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM notices
                 WHERE channel = ?1 AND sent_at IS NULL AND next_attempt_at <= ?2 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![channel, ts(now)], notice).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Claims notice `id` for sending until `until`, if it is still unsent and due at `now`:
    /// another sender (an old one finishing after a reload) leaves it alone meanwhile, and a
    /// sender that dies leaves it due again at `until`.
    pub fn claim_notice(
        &self,
        id: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.conn
            .execute(
                "UPDATE notices SET next_attempt_at = ?3
                 WHERE id = ?1 AND sent_at IS NULL AND next_attempt_at <= ?2",
                params![id, ts(now), ts(until)],
            )
            .map(|n| n == 1)
            .map_err(|e| self.err(e))
    }

    /// At a start (this process holds the state's lock, so no other sends): every unsent
    /// notice is due now — a claim left by a process that died, a backoff, all start over.
    pub fn release_notices(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        self.conn
            .execute(
                "UPDATE notices SET next_attempt_at = ?1 WHERE sent_at IS NULL AND next_attempt_at > ?1",
                [ts(now)],
            )
            .map_err(|e| self.err(e))
    }

    /// When the next unsent notice of `channel` comes due, if any.
    pub fn next_notice_due(&self, channel: &str) -> Result<Option<DateTime<Utc>>, DbError> {
        self.conn
            .query_row(
                "SELECT MIN(next_attempt_at) FROM notices WHERE channel = ?1 AND sent_at IS NULL",
                [channel],
                |r| r.get::<_, Option<String>>(0),
            )
            .map(|t| t.as_deref().and_then(parse_ts))
            .map_err(|e| self.err(e))
    }

    /// Gives up the unsent notices of channels not in `channels` (a channel removed or renamed
    /// in the configuration): they are marked as dropped, with why. Returns how many.
    pub fn drop_orphaned_notices(
        &self,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> Result<usize, DbError> {
        let placeholders = vec!["?"; channels.len()].join(", ");
        let sql = format!(
            "UPDATE notices SET sent_at = ?, last_error = 'dropped: the channel is no longer configured'
             WHERE sent_at IS NULL AND channel NOT IN ({placeholders})"
        );
        let mut values: Vec<String> = vec![ts(now)];
        values.extend(channels.iter().map(|c| c.to_string()));
        self.conn.execute(&sql, rusqlite::params_from_iter(values)).map_err(|e| self.err(e))
    }

    /// Every notice, newest first (for `status` and the tests), at most `limit`.
    pub fn notices(&self, limit: usize) -> Result<Vec<Notice>, DbError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM notices ORDER BY id DESC LIMIT ?1"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([limit as i64], notice).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Records that notice `id` was sent at `now`.
    pub fn notice_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE notices SET sent_at = ?2, attempts = attempts + 1, last_error = NULL
                 WHERE id = ?1",
                params![id, ts(now)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Records a failed attempt at notice `id`: tried again at `retry_at`.
    pub fn notice_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE notices SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                 WHERE id = ?1",
                params![id, error, ts(retry_at)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Channels whose oldest unsent notice has failed `at_least` times.
    pub fn failing_channels(&self, at_least: u32) -> Result<Vec<FailingChannel>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT channel, MAX(attempts), COALESCE(MAX(last_error), ''), COUNT(*)
                 FROM notices WHERE sent_at IS NULL GROUP BY channel HAVING MAX(attempts) >= ?1
                 ORDER BY channel",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([at_least], |r| {
                Ok(FailingChannel {
                    channel: r.get(0)?,
                    attempts: r.get(1)?,
                    last_error: r.get(2)?,
                    unsent: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_notice_is_recorded_once_per_channel_and_retried_until_sent() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("herald.db")).unwrap();
        let now = t("2026-12-01T10:00:00Z");
        let key = "held https://x/665/ 2026-12-01T09:00:00Z";
        assert_eq!(db.record_notices(&["mail", "hook"], key, "held", "{}", now).unwrap(), 2);
        assert_eq!(db.record_notices(&["mail", "hook"], key, "held", "{}", now).unwrap(), 0);
        assert!(db.notice_recorded(key).unwrap());
        let due = db.due_notices(now).unwrap();
        assert_eq!(due.len(), 2);
        db.notice_sent(due[0].id, now).unwrap();
        db.notice_failed(due[1].id, "connection refused", now + chrono::Duration::minutes(1))
            .unwrap();
        assert!(db.due_notices(now).unwrap().is_empty());
        assert_eq!(
            db.next_notice_due(&due[1].channel).unwrap(),
            Some(now + chrono::Duration::minutes(1))
        );
        let failing = db.failing_channels(1).unwrap();
        let expected = FailingChannel {
            channel: due[1].channel.clone(),
            attempts: 1,
            last_error: "connection refused".into(),
            unsent: 1,
        };
        assert_eq!(failing, vec![expected]);
        // Reopened (a restart): the unsent one is still there, the sent one is not due.
        drop(db);
        let db = Db::open(&dir.path().join("herald.db")).unwrap();
        let later = db.due_notices(now + chrono::Duration::minutes(2)).unwrap();
        assert_eq!(later.iter().map(|n| n.id).collect::<Vec<_>>(), vec![due[1].id]);
        assert_eq!(later[0].attempts, 1);
        // Claimed by one sender, it is no other's until the claim runs out.
        let at = now + chrono::Duration::minutes(2);
        let until = at + chrono::Duration::seconds(20);
        assert!(db.claim_notice(due[1].id, at, until).unwrap());
        assert!(!db.claim_notice(due[1].id, at, until).unwrap());
        assert!(db.due_notices_of(&due[1].channel, at).unwrap().is_empty());
        assert_eq!(db.due_notices_of(&due[1].channel, until).unwrap().len(), 1);
        // Its channel removed from the configuration: dropped, no longer failing.
        assert_eq!(db.drop_orphaned_notices(&["other"], at).unwrap(), 1);
        assert!(db.failing_channels(1).unwrap().is_empty());
    }
}
