//! From an issue to its outbox rows: the issue prepared once (its highlights, what the guard
//! found), each account's post composed from it, and the one way a post is queued — used by
//! the service's cycle and by `herald announce` alike.

use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::compose::{ComposeError, Composer, IssueFields, PlatformSettings};
use super::guard::{Inspection, inspect};
use super::outlet::Outlet;
use super::{AnnounceSettings, Limits, Platform, Post};
use crate::announce::highlights::{Highlights, extract_highlights};
use crate::archive::Article;
use crate::state::outbox::Fence;
use crate::state::{Db, NewRow, OutboxRow, RowStatus};

/// An issue being announced, with what every account's post is made from, computed once.
pub struct Announcing<'a> {
    /// The article.
    pub article: &'a Article,
    /// Its URL (the outbox's issue key).
    pub url: String,
    /// Its highlights, as extracted from the body.
    pub highlights: Highlights,
    /// What the draft guard found.
    pub guard: Inspection,
}

impl<'a> Announcing<'a> {
    /// Prepares `article`, published at `url`.
    pub fn new(article: &'a Article, url: String, settings: &AnnounceSettings) -> Self {
        let highlights = extract_highlights(article.body());
        let guard = inspect(article, &highlights, &settings.guard);
        Self { article, url, highlights, guard }
    }

    /// The post for `platform`, within `limits` (an instance's own) if given, else the
    /// configured ones.
    pub fn compose(
        &self,
        settings: &AnnounceSettings,
        platform: Platform,
        limits: Option<Limits>,
    ) -> Result<Post, ComposeError> {
        let mut platform_settings = settings.platform(platform).clone();
        if let Some(limits) = limits {
            platform_settings.limits = limits;
        }
        self.compose_with(platform_settings, settings)
    }

    /// Re-fits a post the server rejected as too long: within the limit it named (or 90 % of
    /// ours), with every URL counted in full.
    pub fn refit(
        &self,
        settings: &AnnounceSettings,
        post: &Post,
        limit: Option<usize>,
    ) -> Option<Post> {
        let mut platform_settings = settings.platform(post.platform).clone();
        let max = limit.unwrap_or(platform_settings.limits.max_graphemes * 9 / 10).min(post.limit);
        platform_settings.limits.max_graphemes = max;
        self.compose_with(platform_settings, settings).ok()
    }

    fn compose_with(
        &self,
        platform_settings: PlatformSettings,
        settings: &AnnounceSettings,
    ) -> Result<Post, ComposeError> {
        let highlights = self.highlights.ranked(&settings.highlights, settings.items_per_kind);
        let issue = IssueFields {
            title: self.article.plain_title(),
            number: self.article.number,
            url: self.url.clone(),
            date: self.article.date.format("%Y-%m-%d").to_string(),
        };
        Composer::new(platform_settings)?.compose(&issue, &highlights)
    }
}

/// Who asks for the post, and how.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Queue it held, for this reason (`announce` of an issue the guard holds).
    pub held: Option<String>,
    /// Release a held row, or post a row set aside as ambiguous (`--force`).
    pub release: bool,
    /// Post again although the account has the issue (`--force-new`).
    pub again: bool,
    /// Compose a failed row afresh and try it again (`announce`; the service leaves failed
    /// rows to the operator).
    pub retry_failed: bool,
}

/// What [`enqueue`] found or did.
#[derive(Debug)]
pub enum Queued {
    /// A new row.
    New(i64),
    /// The account already has a row for the issue, untouched (it may be posted).
    Existing(Box<OutboxRow>),
    /// A failed row made due again with a fresh post.
    Retried(i64),
    /// A held row released.
    Released(i64),
}

impl Queued {
    /// The row's id.
    pub fn id(&self) -> i64 {
        match self {
            Self::New(id) | Self::Retried(id) | Self::Released(id) => *id,
            Self::Existing(row) => row.id,
        }
    }
}

/// Queues `issue`'s post for `outlet`'s account: the one way a post enters the outbox.
///
/// The post is fitted to the account's limits (a Mastodon instance says its own). An account
/// that already has a row for the issue keeps it (what `request` asks for aside), so a row
/// queued meanwhile by another process is the one delivered, never a second. The look and the
/// write are one step under the database's lock; across processes, the outbox's uniqueness
/// decides.
pub async fn enqueue(
    db: &Mutex<Db>,
    outlet: &Outlet,
    issue: &Announcing<'_>,
    settings: &AnnounceSettings,
    request: &Request,
    now: DateTime<Utc>,
) -> anyhow::Result<Queued> {
    let platform = outlet.account.platform();
    let name = outlet.account.name();
    let latest = |db: &Db| -> anyhow::Result<Option<OutboxRow>> {
        Ok(db.rows_for_issue(&issue.url)?.into_iter().rfind(|r| r.account == name))
    };
    // Most calls find the row queued already and leave it: that answer needs no limits, so
    // the instance (which may be slow or down) is asked only when a post may be composed.
    let kept = |row: &OutboxRow| match row.status {
        _ if request.again => false,
        _ if row.ambiguous.is_some() => !request.release,
        RowStatus::Failed => !request.retry_failed,
        RowStatus::Held => !request.release,
        _ => true,
    };
    let by_name = latest(&Db::lock(db))?;
    if let Some(row) = by_name.clone().filter(kept) {
        return Ok(Queued::Existing(Box::new(row)));
    }
    // Rows belong to the account, not to its name: an account renamed in the configuration
    // finds the rows it made under its old name. Not knowing the identity now (the server is
    // down) does not stop queueing: delivery asks again before sending.
    let identity = match by_name {
        None => outlet.sender.identity().await.ok(),
        Some(_) => None,
    };
    let renamed = match &identity {
        Some(identity) if !request.again => {
            Db::lock(db).latest_for_identity(&issue.url, identity)?.map(|row| row.id)
        }
        _ => None,
    };
    let under_old_name = |db: &Db| -> anyhow::Result<Option<OutboxRow>> {
        Ok(match renamed {
            Some(id) => db.row(id)?,
            None => None,
        })
    };
    if let Some(row) = under_old_name(&Db::lock(db))?.filter(kept) {
        tracing::info!(account = %name, was = %row.account, issue = %issue.url, "this account has the issue already, under the name it had before");
        return Ok(Queued::Existing(Box::new(row)));
    }
    let limits = outlet.sender.limits(settings.platform(platform).limits).await;
    let compose = || -> anyhow::Result<String> {
        Ok(serde_json::to_string(&issue.compose(settings, platform, Some(limits))?)?)
    };
    let db = Db::lock(db);
    // The account's row, under this name or (renamed) the one it had before.
    let latest = match latest(&db)? {
        Some(row) => Some(row),
        None => under_old_name(&db)?,
    };
    if let Some(row) = latest.clone().filter(|_| !request.again) {
        return Ok(match row.status {
            // The operator says the post found is not the announcement: post it.
            _ if row.ambiguous.is_some() && request.release => {
                db.release_ambiguous(row.id, now)?;
                Queued::Released(row.id)
            }
            RowStatus::Failed if request.retry_failed => {
                db.replace_post(row.id, Fence::Unclaimed, &compose()?, false, now)?;
                db.assign_key(row.id, &outlet.account.new_key(now))?;
                let retry = "retried by `announce`";
                db.mark_retry(row.id, Fence::Unclaimed, retry, now, row.reconcile, now)?;
                Queued::Retried(row.id)
            }
            RowStatus::Held if request.release => {
                db.set_held(row.id, None, now)?;
                Queued::Released(row.id)
            }
            _ => Queued::Existing(Box::new(row)),
        });
    }
    let post = compose()?;
    let key = outlet.account.new_key(now);
    let row = NewRow {
        issue_key: &issue.url,
        account: name,
        platform: outlet.account.kind(),
        post: &post,
        platform_key: &key,
        held: request.held.as_deref().filter(|_| !request.release),
    };
    if request.again && latest.is_some() {
        return Ok(Queued::New(db.enqueue_new_generation(&row, now)?));
    }
    match db.enqueue(&row, now)? {
        Some(id) => {
            if let Some(identity) = &identity {
                db.set_identity(id, identity)?;
            }
            Ok(Queued::New(id))
        }
        // Another process queued it between the look and the write: that row stands.
        None => db
            .rows_for_issue(&issue.url)?
            .into_iter()
            .rfind(|r| r.account == name)
            .map(|row| Queued::Existing(Box::new(row)))
            .context("the outbox row vanished"),
    }
}
