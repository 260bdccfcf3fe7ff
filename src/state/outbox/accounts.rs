//! Rows belong to the account, by identity, not to the name the configuration gives it: the
//! same account under another name, its rows moved to a new name, and the rows nobody can
//! deliver because their account is no longer configured.

use rusqlite::params;

use super::{COLUMNS, OutboxRow};
use crate::state::db::{Db, DbError};

impl Db {
    /// The rows of `row`'s issue (same generation) that the same account, by `identity`, has
    /// under other names: a renamed account is the same account, and its issue is posted once.
    pub fn twins(&self, row: &OutboxRow, identity: &str) -> Result<Vec<OutboxRow>, DbError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM outbox
                 WHERE identity = ?1 AND id != ?2 AND account != ?3 AND generation = ?4
                   AND (issue_key IN (?5, ?6) OR post_url IN (?5, ?6))
                 ORDER BY id"
            ),
            params![
                identity,
                row.id,
                row.account,
                row.generation,
                row.issue_key,
                row.post_url.as_deref().unwrap_or(&row.issue_key)
            ],
        )
    }

    /// The newest row of `issue_key` on the account `identity`, whatever name it was queued
    /// under.
    pub fn latest_for_identity(
        &self,
        issue_key: &str,
        identity: &str,
    ) -> Result<Option<OutboxRow>, DbError> {
        Ok(self
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM outbox WHERE identity = ?1 AND issue_key = ?2
                     ORDER BY generation DESC, id DESC LIMIT 1"
                ),
                params![identity, issue_key],
            )?
            .into_iter()
            .next())
    }

    /// Moves the rows of account `identity` queued under names no longer configured (not
    /// in `configured`) to `name`, unless `name` has a row of the same issue and generation
    /// already: a renamed account keeps its queue. Returns how many moved.
    pub fn rehome(
        &self,
        identity: &str,
        name: &str,
        configured: &[String],
    ) -> Result<usize, DbError> {
        let names = serde_json::to_string(configured).unwrap_or_default();
        self.conn
            .execute(
                "UPDATE outbox SET account = ?2
                 WHERE identity = ?1 AND account NOT IN (SELECT value FROM json_each(?3))
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.account = ?2
                                   AND o.issue_key = outbox.issue_key AND o.generation = outbox.generation)",
                params![identity, name, names],
            )
            .map_err(|e| self.err(e))
    }

    /// The rows still to deliver (held, pending or sending) under an account name not in
    /// `configured`: nobody delivers them until the account is configured again (or, renamed,
    /// is recognised by its identity: [`Db::rehome`]).
    pub fn undeliverable(&self, configured: &[String]) -> Result<Vec<OutboxRow>, DbError> {
        let names = serde_json::to_string(configured).unwrap_or_default();
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM outbox
                 WHERE status IN ('held', 'pending', 'sending')
                   AND account NOT IN (SELECT value FROM json_each(?1))
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.status = 'posted'
                        AND o.identity = outbox.identity AND o.issue_key = outbox.issue_key
                        AND o.generation = outbox.generation)
                 ORDER BY id"
            ),
            [names],
        )
    }
}
