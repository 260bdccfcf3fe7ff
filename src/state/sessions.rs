//! Bluesky sessions and login records, so that restarts reuse the session (no new
//! `createSession`) and logins stay within a local budget (the server locks an account out
//! for a day after too many).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::db::{Db, DbError, ts};
use crate::secret::Secret;

pub use crate::announce::bluesky::StoredSession as SessionRow;

impl Db {
    /// The stored session of `account`.
    pub fn session(&self, account: &str) -> Result<Option<SessionRow>, DbError> {
        self.conn
            .query_row(
                "SELECT did, handle, access_jwt, refresh_jwt FROM sessions WHERE account = ?1",
                [account],
                |r| {
                    Ok(SessionRow {
                        did: r.get(0)?,
                        handle: r.get(1)?,
                        access_jwt: Secret::new(r.get::<_, String>(2)?),
                        refresh_jwt: Secret::new(r.get::<_, String>(3)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Stores (replaces) the session of `account`.
    pub fn save_session(
        &self,
        account: &str,
        s: &SessionRow,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT INTO sessions (account, did, handle, access_jwt, refresh_jwt, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (account) DO UPDATE SET did = ?2, handle = ?3, access_jwt = ?4, refresh_jwt = ?5, updated_at = ?6",
                params![account, s.did, s.handle, s.access_jwt.expose(), s.refresh_jwt.expose(), ts(now)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets the session of `account`.
    pub fn clear_session(&self, account: &str) -> Result<(), DbError> {
        self.conn
            .execute("DELETE FROM sessions WHERE account = ?1", [account])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Logins of `account` since `since`.
    pub fn logins_since(&self, account: &str, since: DateTime<Utc>) -> Result<u32, DbError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM logins WHERE account = ?1 AND at >= ?2",
                params![account, ts(since)],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Records a login attempt (older than a week are dropped).
    pub fn record_login(&self, account: &str, at: DateTime<Utc>) -> Result<(), DbError> {
        self.conn
            .execute("DELETE FROM logins WHERE at < ?1", [ts(at - chrono::Duration::days(7))])
            .and_then(|_| {
                self.conn.execute(
                    "INSERT INTO logins (account, at) VALUES (?1, ?2)",
                    params![account, ts(at)],
                )
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }
}

/// The state database as the Bluesky client's session store.
pub struct DbSessions(pub std::sync::Arc<std::sync::Mutex<Db>>);

impl DbSessions {
    fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl crate::announce::bluesky::SessionStore for DbSessions {
    fn load_session(&self, account: &str) -> anyhow::Result<Option<SessionRow>> {
        Ok(self.db().session(account)?)
    }
    fn save_session(&self, account: &str, session: &SessionRow) -> anyhow::Result<()> {
        Ok(self.db().save_session(account, session, Utc::now())?)
    }
    fn clear_session(&self, account: &str) -> anyhow::Result<()> {
        Ok(self.db().clear_session(account)?)
    }
    fn logins_since(&self, account: &str, since: DateTime<Utc>) -> anyhow::Result<u32> {
        Ok(self.db().logins_since(account, since)?)
    }
    fn record_login(&self, account: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        Ok(self.db().record_login(account, at)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_logins() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let now = Utc::now();
        assert_eq!(db.session("a").unwrap(), None);
        let s = SessionRow {
            did: "did:plc:x".into(),
            handle: "a.test".into(),
            access_jwt: Secret::new("acc"),
            refresh_jwt: Secret::new("ref"),
        };
        db.save_session("a", &s, now).unwrap();
        assert_eq!(db.session("a").unwrap(), Some(s));
        db.clear_session("a").unwrap();
        assert_eq!(db.session("a").unwrap(), None);
        db.record_login("a", now - chrono::Duration::hours(30)).unwrap();
        db.record_login("a", now - chrono::Duration::hours(2)).unwrap();
        db.record_login("b", now).unwrap();
        assert_eq!(db.logins_since("a", now - chrono::Duration::hours(24)).unwrap(), 1);
    }
}
