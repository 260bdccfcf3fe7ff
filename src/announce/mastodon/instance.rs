//! Who the token posts as (`verify_credentials`, remembered in an [`IdentityStore`] so that a
//! token changed to another account is noticed before posting) and what the instance allows
//! (`configuration.statuses`, v2 then v1).

use megalodon::Megalodon;

use super::{Identity, MastodonClient, reply};
use crate::announce::fit::Limits;
use crate::announce::send::SendError;

/// Where the identity of each account's token is remembered (the state database), so that a
/// token changed to another account, or an instance changed, is noticed before posting.
pub trait IdentityStore: Send + Sync {
    /// Records `identity` for `account`; returns the one recorded before if it differs.
    fn remember(&self, account: &str, identity: &Identity) -> anyhow::Result<Option<Identity>>;
}

impl MastodonClient {
    /// Checks the token with `verify_credentials` (via megalodon) and returns the account id,
    /// which is cached: later calls make no request.
    #[tracing::instrument(skip_all, fields(account = %self.account.name))]
    pub async fn verify(&self) -> Result<String, SendError> {
        let id = self
            .account_id
            .get_or_try_init(|| async {
                let api = self.megalodon()?;
                let res = self.bounded(api.verify_account_credentials()).await?;
                let id = res.json.id;
                if id.is_empty() {
                    return Err(SendError::Transient {
                        message: "verify_credentials returned an account without an id".into(),
                    });
                }
                tracing::debug!(account_id = %id, "credentials verified");
                let identity = Identity {
                    origin: self.base.clone(),
                    remote_id: id.clone(),
                    handle: res.json.acct.clone(),
                };
                self.remember(&identity);
                Ok(id)
            })
            .await
            .map_err(|e| self.redact(e))?;
        Ok(id.clone())
    }

    /// Records the identity the token posts as, and says so when it changed (another token
    /// or instance in the configuration): posts go to the new account from now on, and
    /// earlier posts are looked for there.
    fn remember(&self, identity: &Identity) {
        let Some(store) = &self.identities else { return };
        match store.remember(&self.account.name, identity) {
            Ok(Some(before)) => tracing::warn!(
                was = %format!("@{} ({}) at {}", before.handle, before.remote_id, before.origin),
                now = %format!("@{} ({}) at {}", identity.handle, identity.remote_id, identity.origin),
                "this account's token now posts as another account; posting as the new one"
            ),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(cause = %crate::report::describe_any(&e), "cannot record the account's identity")
            }
        }
    }

    /// The instance's status limits: from megalodon's v1 `get_instance`; if that fails (it
    /// cannot decode GoToSocial's reply), from `GET /api/v2/instance` read leniently (only
    /// `configuration.statuses.max_characters` and `characters_reserved_per_url`); else
    /// `fallback`. Never fails: not knowing the limit must not block posting.
    #[tracing::instrument(skip_all, fields(account = %self.account.name))]
    pub async fn limits(&self, fallback: Limits) -> Limits {
        match self.limits_v1(&fallback).await {
            Ok(limits) => return limits,
            // GoToSocial's v1 instance lacks fields megalodon requires: a known incompatibility,
            // not a failure (the v2 read below works there).
            Err(err) => {
                static NOTED: std::sync::Once = std::sync::Once::new();
                let cause = self.redact(err);
                NOTED.call_once(|| {
                    tracing::debug!(%cause, "v1 instance unreadable (GoToSocial and others lack fields megalodon needs), reading v2");
                });
            }
        }
        match self.limits_v2(&fallback).await {
            Ok(limits) => limits,
            Err(err) => {
                tracing::warn!(
                    cause = %self.redact(err),
                    max_characters = fallback.max_graphemes,
                    "instance limits unknown, using the fallback"
                );
                fallback
            }
        }
    }

    async fn limits_v1(&self, fallback: &Limits) -> Result<Limits, SendError> {
        let api = self.megalodon()?;
        let res = self.bounded(api.get_instance()).await?;
        let statuses = res.json.configuration.statuses;
        let max_characters = statuses.max_characters as usize;
        if max_characters == 0 {
            return Err(SendError::Transient {
                message: "v1 instance: max_characters is 0".into(),
            });
        }
        let per_url = statuses
            .characters_reserved_per_url
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .or(fallback.url_min_graphemes)
            .unwrap_or(reply::DEFAULT_CHARS_PER_URL);
        Ok(Limits::mastodon(max_characters, per_url))
    }

    async fn limits_v2(&self, fallback: &Limits) -> Result<Limits, SendError> {
        let url = format!("{}/api/v2/instance", self.base);
        let (_, body) = self.get_json(&url).await?;
        reply::limits_from_instance(&body, fallback).ok_or_else(|| SendError::Transient {
            message: "v2 instance: no configuration.statuses.max_characters".into(),
        })
    }
}
