//! The accounts ready to post: each configured [`Account`] with its client, built in one
//! place for the service and for `herald announce`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use super::account::Account;
use super::bluesky::{BlueskyAccount, BlueskyClient};
use super::dry_run::DryRunSink;
use super::mastodon::{MastodonAccount, MastodonClient};
use super::sender::{Sender, http_client};
use super::stores::DbSessions;
use crate::state::Db;

/// An account ready to post.
pub struct Outlet {
    /// The account.
    pub account: Account,
    /// Its client.
    pub sender: Sender,
}

impl Outlet {
    /// The client for `account`, its requests timing out after `request_timeout`. Secrets are
    /// read here, when the account is used.
    pub fn new(
        account: &Account,
        db: &Arc<Mutex<Db>>,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let sender = match account {
            Account::DryRun { name, platform, path } => Sender::DryRun(DryRunSink {
                name: name.clone(),
                platform: *platform,
                path: path.clone(),
            }),
            Account::Mastodon { name, instance, token, visibility } => {
                let token = token.read().with_context(|| format!("account {name}"))?;
                let account = MastodonAccount {
                    name: name.clone(),
                    instance: instance.clone(),
                    token,
                    visibility: *visibility,
                };
                Sender::Mastodon(
                    MastodonClient::new(account, http_client())
                        .with_timeout(request_timeout)
                        .with_identity_store(Arc::new(DbSessions(db.clone()))),
                )
            }
            Account::Bluesky { name, service, identifier, password } => {
                let password = password.read().with_context(|| format!("account {name}"))?;
                let account = BlueskyAccount {
                    name: name.clone(),
                    service: service.clone(),
                    identifier: identifier.clone(),
                    password,
                };
                Sender::Bluesky(
                    BlueskyClient::new(account, Arc::new(DbSessions(db.clone())), http_client())
                        .with_request_timeout(request_timeout),
                )
            }
        };
        Ok(Self { account: account.clone(), sender })
    }

    /// The outlets of `accounts`, in order.
    pub fn all(
        accounts: &[Account],
        db: &Arc<Mutex<Db>>,
        request_timeout: Duration,
    ) -> anyhow::Result<Vec<Self>> {
        accounts.iter().map(|account| Self::new(account, db, request_timeout)).collect()
    }
}
