//! From an issue to what each account posts: composing an account's post, re-fitting a
//! rejected one, and making the sender (the platform client) for an account.

use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::bluesky::{BlueskyAccount, BlueskyClient};
use super::compose::{ComposeError, Composer, IssueFields, PlatformSettings};
use super::deliver::{Sender, http_client};
use super::dry_run::DryRunSink;
use super::mastodon::{MastodonAccount, MastodonClient};
use super::{Limits, Platform, Post};
use crate::archive::Article;
use crate::config::{Account, AnnounceSettings, Config};
use crate::render::highlights::extract_highlights;
use crate::state::Db;
use crate::state::sessions::DbSessions;

/// The post an account on `platform` gets for `article`, within `limits` (the instance's) if
/// given.
pub fn compose_post(
    config: &Config,
    article: &Article,
    url: &str,
    platform: Platform,
    limits: Option<Limits>,
) -> anyhow::Result<Post> {
    let mut settings = match platform {
        Platform::Bluesky => config.announce.bluesky.clone(),
        Platform::Mastodon => config.announce.mastodon.clone(),
    };
    if let Some(limits) = limits {
        settings.limits = limits;
    }
    Ok(compose_with(settings, &config.announce, article, url)?)
}

/// Composes `article`'s post with `settings`.
pub fn compose_with(
    settings: PlatformSettings,
    announce: &AnnounceSettings,
    article: &Article,
    url: &str,
) -> Result<Post, ComposeError> {
    let highlights =
        extract_highlights(&article.body()).ranked(&announce.highlights, announce.items_per_kind);
    let issue = IssueFields {
        title: article.plain_title(),
        number: article.number,
        url: url.to_string(),
        date: article.date.format("%Y-%m-%d").to_string(),
    };
    Composer::new(settings)?.compose(&issue, &highlights)
}

/// Re-fits a post the server rejected as too long: within the limit it named (or 90 % of
/// ours), with every URL counted in full.
pub fn refit_post(
    config: &Config,
    article: &Article,
    url: &str,
    post: &Post,
    limit: Option<usize>,
) -> Option<Post> {
    let mut settings = match post.platform {
        Platform::Bluesky => config.announce.bluesky.clone(),
        Platform::Mastodon => config.announce.mastodon.clone(),
    };
    let max = limit.unwrap_or(settings.limits.max_graphemes * 9 / 10).min(post.limit);
    settings.limits.max_graphemes = max;
    compose_with(settings, &config.announce, article, url).ok()
}

/// The sender for an account, its requests timing out after `request_timeout`. Secrets are
/// read here, when the account is used.
pub fn sender_for(
    account: &Account,
    db: &Arc<Mutex<Db>>,
    request_timeout: std::time::Duration,
) -> anyhow::Result<Sender> {
    match account {
        Account::DryRun { name, platform, path } => Ok(Sender::DryRun(DryRunSink {
            name: name.clone(),
            platform: *platform,
            path: path.clone(),
        })),
        Account::Mastodon { name, instance, token, visibility } => {
            let token = token.read().with_context(|| format!("account {name}"))?;
            let account = MastodonAccount {
                name: name.clone(),
                instance: instance.clone(),
                token,
                visibility: *visibility,
            };
            Ok(Sender::Mastodon(
                MastodonClient::new(account, http_client())
                    .with_timeout(request_timeout)
                    .with_identity_store(Arc::new(DbSessions(db.clone()))),
            ))
        }
        Account::Bluesky { name, service, identifier, password } => {
            let password = password.read().with_context(|| format!("account {name}"))?;
            let account = BlueskyAccount {
                name: name.clone(),
                service: service.clone(),
                identifier: identifier.clone(),
                password,
            };
            Ok(Sender::Bluesky(
                BlueskyClient::new(account, Arc::new(DbSessions(db.clone())), http_client())
                    .with_request_timeout(request_timeout),
            ))
        }
    }
}
