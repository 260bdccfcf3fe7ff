//! The state database as the platform clients' stores: Bluesky sessions (handed out only for
//! the binding they were made for) and the identity behind each Mastodon token.

use chrono::{DateTime, Utc};

use super::bluesky::{SessionBinding, SessionStore, StoredSession as SessionRow};
use super::mastodon::{Identity, IdentityStore};
use crate::state::Db;

/// The state database as the Bluesky client's session store.
pub struct DbSessions(pub std::sync::Arc<std::sync::Mutex<Db>>);

impl DbSessions {
    fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SessionStore for DbSessions {
    fn load_session(
        &self,
        account: &str,
        binding: &SessionBinding,
    ) -> anyhow::Result<Option<SessionRow>> {
        let db = self.db();
        match db.session(account)? {
            Some((made_for, session)) if made_for == *binding => Ok(Some(session)),
            Some((made_for, _)) => {
                tracing::warn!(
                    account,
                    was = %format!("{} at {}", made_for.identifier, made_for.service),
                    now = %format!("{} at {}", binding.identifier, binding.service),
                    "the stored Bluesky session was made for another identifier or server; discarding it and logging in as configured"
                );
                db.clear_session(account)?;
                Ok(None)
            }
            None => Ok(None),
        }
    }
    fn save_session(
        &self,
        account: &str,
        binding: &SessionBinding,
        session: &SessionRow,
    ) -> anyhow::Result<()> {
        Ok(self.db().save_session(account, binding, session, Utc::now())?)
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

impl IdentityStore for DbSessions {
    fn remember(&self, account: &str, identity: &Identity) -> anyhow::Result<Option<Identity>> {
        let db = self.db();
        let before = db.identity(account)?;
        if before.as_ref() != Some(identity) {
            db.save_identity(account, identity, Utc::now())?;
        }
        Ok(before.filter(|b| b != identity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_handed_out_only_for_the_binding_it_was_made_for() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let (binding, s) = crate::state::sessions::sample_session();
        db.save_session("a", &binding, &s, Utc::now()).unwrap();
        let store = DbSessions(std::sync::Arc::new(std::sync::Mutex::new(db)));
        assert_eq!(store.load_session("a", &binding).unwrap(), Some(s.clone()));
        let other = SessionBinding { identifier: "b.test".into(), ..binding.clone() };
        assert_eq!(store.load_session("a", &other).unwrap(), None, "another identifier");
        assert_eq!(store.load_session("a", &binding).unwrap(), None, "discarded");
        store.save_session("a", &binding, &s).unwrap();
        let moved = SessionBinding { service: "https://elsewhere.example".into(), ..binding };
        assert_eq!(store.load_session("a", &moved).unwrap(), None, "another server");
    }
}
