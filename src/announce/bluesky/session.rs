//! The account's session: the one in memory, else the stored one (if it was made for this
//! account's binding), else a refresh, else — within [`MAX_LOGINS_PER_DAY`] — a new login.
//! Rotated tokens are saved at once.

use atrium_api::com::atproto::server::{create_session, refresh_session};
use chrono::{DateTime, Utc};
use tracing::{debug, error, info, warn};

use super::xrpc::{CallError, call};
use super::{BlueskyClient, MAX_LOGINS_PER_DAY, SessionBinding, StoredSession};
use crate::announce::send::SendError;
use crate::secret::Secret;

/// Where sessions and the record of logins live; the state database implements it.
pub trait SessionStore: Send + Sync {
    /// The stored session of `account`, if it was made for `binding`; one made for another
    /// binding is discarded (and `None` returned).
    fn load_session(
        &self,
        account: &str,
        binding: &SessionBinding,
    ) -> anyhow::Result<Option<StoredSession>>;
    /// Stores (replaces) the session of `account`, made for `binding`.
    fn save_session(
        &self,
        account: &str,
        binding: &SessionBinding,
        session: &StoredSession,
    ) -> anyhow::Result<()>;
    /// Forgets the session of `account`.
    fn clear_session(&self, account: &str) -> anyhow::Result<()>;
    /// createSession calls recorded for `account` since `since`.
    fn logins_since(&self, account: &str, since: DateTime<Utc>) -> anyhow::Result<u32>;
    /// Records a createSession call for `account` at `at`.
    fn record_login(&self, account: &str, at: DateTime<Utc>) -> anyhow::Result<()>;
}

impl BlueskyClient {
    /// The session to use: the one in memory, else the stored one, else a new login.
    pub(super) async fn session(&self) -> Result<StoredSession, SendError> {
        let mut cached = self.session.lock().await;
        if let Some(session) = cached.as_ref() {
            return Ok(session.clone());
        }
        let stored = self
            .store
            .load_session(&self.account.name, &self.binding())
            .map_err(store_failed("loading the session"))?;
        match stored {
            Some(session) => {
                debug!(did = %session.did, "reusing the stored session");
                *cached = Some(session.clone());
                Ok(session)
            }
            None => self.login(&mut cached).await,
        }
    }

    /// Replaces `stale`, whose access token was refused: `refreshSession`, or, if the
    /// refresh token is refused too, a new login.
    pub(super) async fn renew(&self, stale: &StoredSession) -> Result<StoredSession, SendError> {
        let mut cached = self.session.lock().await;
        if let Some(current) = cached.as_ref()
            && current.access_jwt != stale.access_jwt
        {
            // Another call renewed it while this one waited for the lock.
            return Ok(current.clone());
        }
        let request = self
            .http
            .post(self.url(refresh_session::NSID))
            .timeout(self.request_timeout)
            .bearer_auth(stale.refresh_jwt.expose());
        match call::<refresh_session::Output>(refresh_session::NSID, request).await {
            Ok(out) if out.data.did.as_str() != stale.did => {
                // Not the account the session was for: forget it, log in as configured.
                warn!(account = %self.account.name, was = %stale.did, now = %out.data.did.as_str(), "the refreshed session belongs to another account; logging in again");
                *cached = None;
                self.store
                    .clear_session(&self.account.name)
                    .map_err(store_failed("clearing the session"))?;
                self.login(&mut cached).await
            }
            Ok(out) => {
                info!(account = %self.account.name, "refreshed the Bluesky session");
                let out = out.data;
                let session = StoredSession {
                    did: out.did.as_str().to_string(),
                    handle: out.handle.as_str().to_string(),
                    access_jwt: Secret::new(out.access_jwt),
                    refresh_jwt: Secret::new(out.refresh_jwt),
                };
                Ok(self.keep(&mut cached, session))
            }
            // ExpiredToken, InvalidToken, AuthenticationRequired: this session is over.
            Err(CallError::Status(f)) if matches!(f.status.as_u16(), 400 | 401) => {
                warn!(
                    account = %self.account.name,
                    error = f.error.as_deref().unwrap_or(""),
                    "the refresh token was refused; logging in again"
                );
                *cached = None;
                self.store
                    .clear_session(&self.account.name)
                    .map_err(store_failed("clearing the session"))?;
                self.login(&mut cached).await
            }
            // No answer, 5xx or 429: the refresh token may still be good; keep it.
            Err(err) => Err(err.classify()),
        }
    }

    /// `createSession`, if the login budget allows; the new session is stored.
    pub(super) async fn login(
        &self,
        cached: &mut Option<StoredSession>,
    ) -> Result<StoredSession, SendError> {
        let name = &self.account.name;
        let now = Utc::now();
        let used = self
            .store
            .logins_since(name, now - chrono::Duration::hours(24))
            .map_err(store_failed("counting logins"))?;
        if used >= MAX_LOGINS_PER_DAY {
            error!(account = %name, logins = used, "Bluesky login budget exhausted");
            return Err(SendError::Permanent {
                message: format!(
                    "login budget exhausted: {used} createSession calls for Bluesky account \
                     {name} in the last 24 hours (at most {MAX_LOGINS_PER_DAY}); not logging in \
                     again so the server does not lock the account. Check the app password"
                ),
                too_long: false,
            });
        }
        // Recorded before the call: an attempt that times out may still count on the server.
        self.store.record_login(name, now).map_err(store_failed("recording a login"))?;
        info!(account = %name, logins = used + 1, "creating a Bluesky session");
        let input = create_session::InputData {
            allow_takendown: None,
            auth_factor_token: None,
            identifier: self.account.identifier.clone(),
            password: self.account.password.expose().to_string(),
        };
        let request = self
            .http
            .post(self.url(create_session::NSID))
            .timeout(self.request_timeout)
            .json(&input);
        let out = call::<create_session::Output>(create_session::NSID, request)
            .await
            .map_err(|e| e.classify())?
            .data;
        let session = StoredSession {
            did: out.did.as_str().to_string(),
            handle: out.handle.as_str().to_string(),
            access_jwt: Secret::new(out.access_jwt),
            refresh_jwt: Secret::new(out.refresh_jwt),
        };
        Ok(self.keep(cached, session))
    }

    /// Saves `session` and makes it the one in use. A failed save is logged, not returned:
    /// the session works, and losing it costs at most one budgeted login after a restart.
    fn keep(&self, cached: &mut Option<StoredSession>, session: StoredSession) -> StoredSession {
        if let Err(err) = self.store.save_session(&self.account.name, &self.binding(), &session) {
            error!(account = %self.account.name, cause = %crate::report::describe_any(&err), "could not save the Bluesky session");
        }
        *cached = Some(session.clone());
        session
    }
}

/// A store failure: most likely a busy or briefly unavailable database.
fn store_failed(what: &'static str) -> impl FnOnce(anyhow::Error) -> SendError {
    move |err| SendError::Transient {
        message: format!("session store: {what}: {}", crate::report::describe_any(&err)),
    }
}
