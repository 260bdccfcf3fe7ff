//! A Bluesky session store in memory for client tests: it keeps one session per account
//! whatever its binding, and counts logins and clears.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use herald::announce::bluesky::{SessionBinding, SessionStore, StoredSession};

/// A session store in memory that counts what happens to it.
#[derive(Default)]
pub struct MemStore {
    /// Sessions by account.
    pub sessions: Mutex<HashMap<String, StoredSession>>,
    /// Logins recorded: (account, when).
    pub logins: Mutex<Vec<(String, DateTime<Utc>)>>,
    /// How often a session was cleared.
    pub clears: Mutex<u32>,
}

impl MemStore {
    /// A store holding `session` for the account named `main`.
    pub fn with_session(session: StoredSession) -> Arc<Self> {
        let store = Self::default();
        store.sessions.lock().unwrap().insert("main".into(), session);
        Arc::new(store)
    }
    /// The session of `main`.
    pub fn session(&self) -> Option<StoredSession> {
        self.sessions.lock().unwrap().get("main").cloned()
    }
    /// How many logins were recorded.
    pub fn logins(&self) -> usize {
        self.logins.lock().unwrap().len()
    }
}

impl SessionStore for MemStore {
    fn load_session(
        &self,
        account: &str,
        _: &SessionBinding,
    ) -> anyhow::Result<Option<StoredSession>> {
        Ok(self.sessions.lock().unwrap().get(account).cloned())
    }
    fn save_session(
        &self,
        account: &str,
        _: &SessionBinding,
        session: &StoredSession,
    ) -> anyhow::Result<()> {
        self.sessions.lock().unwrap().insert(account.into(), session.clone());
        Ok(())
    }
    fn clear_session(&self, account: &str) -> anyhow::Result<()> {
        *self.clears.lock().unwrap() += 1;
        self.sessions.lock().unwrap().remove(account);
        Ok(())
    }
    fn logins_since(&self, account: &str, since: DateTime<Utc>) -> anyhow::Result<u32> {
        let logins = self.logins.lock().unwrap();
        Ok(logins.iter().filter(|(a, at)| a == account && *at >= since).count() as u32)
    }
    fn record_login(&self, account: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.logins.lock().unwrap().push((account.into(), at));
        Ok(())
    }
}
