//! Bluesky sessions and login records, so that restarts reuse the session (no new
//! `createSession`) and logins stay within a local budget (the server locks an account out
//! for a day after too many).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::db::{Db, DbError, ts};
use crate::secret::Secret;

/// A session as persisted between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The account's DID (the repo records are written to).
    pub did: String,
    /// The account's handle when the session was made or last refreshed.
    pub handle: String,
    /// The short-lived access token (sent with every call).
    pub access_jwt: Secret,
    /// The long-lived refresh token; it rotates on every refresh.
    pub refresh_jwt: Secret,
}

/// Who a session belongs to: the server that issued it and the identifier it was made for.
/// A stored session is used only for the same binding, so that changing an account's
/// `identifier` or `service` in the configuration logs in anew (and posts as the new
/// account), and a token is never sent to another server than the one that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionBinding {
    /// The PDS or entryway URL (no trailing slash).
    pub service: String,
    /// The handle or DID logged in with.
    pub identifier: String,
}

/// The account a Mastodon token posts as: the instance and what verify_credentials says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The instance URL.
    pub origin: String,
    /// The account id.
    pub remote_id: String,
    /// `acct` (`twir`, or `twir@elsewhere` for a remote view).
    pub handle: String,
}

/// A stored session, as the database reads it.
pub type SessionRow = StoredSession;

impl Db {
    /// The stored session of `account`, with the binding it was made for.
    pub fn session(&self, account: &str) -> Result<Option<(SessionBinding, SessionRow)>, DbError> {
        self.conn
            .query_row(
                "SELECT did, handle, access_jwt, refresh_jwt, service, identifier FROM sessions WHERE account = ?1",
                [account],
                |r| {
                    let binding = SessionBinding { service: r.get(4)?, identifier: r.get(5)? };
                    let session = SessionRow {
                        did: r.get(0)?,
                        handle: r.get(1)?,
                        access_jwt: Secret::new(r.get::<_, String>(2)?),
                        refresh_jwt: Secret::new(r.get::<_, String>(3)?),
                    };
                    Ok((binding, session))
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Stores (replaces) the session of `account`, made for `binding`.
    pub fn save_session(
        &self,
        account: &str,
        binding: &SessionBinding,
        s: &SessionRow,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT INTO sessions (account, did, handle, access_jwt, refresh_jwt, updated_at, service, identifier)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (account) DO UPDATE SET did = ?2, handle = ?3, access_jwt = ?4, refresh_jwt = ?5,
                     updated_at = ?6, service = ?7, identifier = ?8",
                params![
                    account,
                    s.did,
                    s.handle,
                    s.access_jwt.expose(),
                    s.refresh_jwt.expose(),
                    ts(now),
                    binding.service,
                    binding.identifier
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The identity an account's token posted as last time (Mastodon: the instance and the
    /// account id verify_credentials gave), if recorded.
    pub fn identity(&self, account: &str) -> Result<Option<Identity>, DbError> {
        self.conn
            .query_row(
                "SELECT origin, remote_id, handle FROM identities WHERE account = ?1",
                [account],
                |r| Ok(Identity { origin: r.get(0)?, remote_id: r.get(1)?, handle: r.get(2)? }),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records the identity `account` posts as.
    pub fn save_identity(
        &self,
        account: &str,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT INTO identities (account, origin, remote_id, handle, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account) DO UPDATE SET origin = ?2, remote_id = ?3, handle = ?4, updated_at = ?5",
                params![account, identity.origin, identity.remote_id, identity.handle, ts(now)],
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

/// A session and the binding it was made for, as tests store them.
#[cfg(test)]
pub(crate) fn sample_session() -> (SessionBinding, StoredSession) {
    let session = StoredSession {
        did: "did:plc:x".into(),
        handle: "a.test".into(),
        access_jwt: Secret::new("acc"),
        refresh_jwt: Secret::new("ref"),
    };
    let binding =
        SessionBinding { service: "https://pds.example".into(), identifier: "a.test".into() };
    (binding, session)
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
        let (binding, s) = sample_session();
        db.save_session("a", &binding, &s, now).unwrap();
        assert_eq!(db.session("a").unwrap(), Some((binding.clone(), s.clone())));
        db.clear_session("a").unwrap();
        assert_eq!(db.session("a").unwrap(), None);
        db.record_login("a", now - chrono::Duration::hours(30)).unwrap();
        db.record_login("a", now - chrono::Duration::hours(2)).unwrap();
        db.record_login("b", now).unwrap();
        assert_eq!(db.logins_since("a", now - chrono::Duration::hours(24)).unwrap(), 1);
    }
}
