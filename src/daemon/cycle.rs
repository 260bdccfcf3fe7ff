//! One cycle of the service: scan the archive, write the feeds that changed, decide which
//! issues to announce (the [`schedule`](super::schedule) policy), queue their posts, and
//! deliver every due outbox row. `herald run --once` is one cycle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::schedule::{Candidate, Decision, Policy, plan};
use crate::announce::deliver::{Delivery, Sender, deliver};
use crate::announce::queue::{compose_post, refit_post};
use crate::announce::send::SendError;
use crate::announce::{Platform, Post, check_hold, new_platform_key};
use crate::archive::Article;
use crate::archive::scan::ScanCache;
use crate::config::{Account, Config};
use crate::feeds::{self, Entry, write::WriteOutcome};
use crate::render::highlights::extract_highlights;
use crate::state::{Db, NewRow};

/// An account ready to post.
pub struct Outlet {
    /// The account.
    pub account: Account,
    /// Its client.
    pub sender: Sender,
}

/// What a cycle did.
#[derive(Debug, Default)]
pub struct CycleReport {
    /// Articles read.
    pub articles: usize,
    /// Article files that could not be read (reported, skipped).
    pub skipped: Vec<String>,
    /// Feed files written and left unchanged.
    pub feeds_written: usize,
    /// Feed files whose bytes were already right.
    pub feeds_unchanged: usize,
    /// How long rendering and writing the feeds took.
    pub feeds_duration: std::time::Duration,
    /// The decision for each issue that was not already decided.
    pub decisions: Vec<(String, Decision)>,
    /// Issues held by the draft guard, with the reason.
    pub held: Vec<(String, String)>,
    /// Deliveries made: (account, issue, result).
    pub deliveries: Vec<(String, String, Delivery)>,
    /// Posts edited to a changed title: (account, issue).
    pub edits: Vec<(String, String)>,
}

/// Runs one cycle at `now`.
/// `cache` keeps parsed and rendered articles between cycles: only changed files are parsed.
pub async fn run_cycle(
    config: &Config,
    db: &Arc<Mutex<Db>>,
    outlets: &[Outlet],
    policy: &Policy,
    cache: &mut ScanCache,
    now: DateTime<Utc>,
) -> anyhow::Result<CycleReport> {
    let lock = || db.lock().unwrap_or_else(|p| p.into_inner());
    let mut report = CycleReport::default();
    let scan = crate::archive::scan::scan_cached(&config.archive_dir, &config.parse, cache)?;
    report.articles = scan.articles.len();
    for e in &scan.errors {
        tracing::warn!(error = %e, "article skipped");
        report.skipped.push(e.to_string());
    }
    if scan.articles.is_empty() {
        anyhow::bail!(
            "no article could be read from {}; feeds left as they were",
            config.archive_dir.display()
        );
    }
    let started = std::time::Instant::now();
    let files = feeds::render_feeds(&scan.articles, &config.feeds);
    for (_, outcome) in feeds::write::write_feeds(&config.feeds_dir, &files)? {
        match outcome {
            WriteOutcome::Written => report.feeds_written += 1,
            WriteOutcome::Unchanged => report.feeds_unchanged += 1,
        }
    }
    report.feeds_duration = started.elapsed();

    // What the archive holds now, as the state sees it.
    let first_start = lock().issue_count()? == 0;
    let mut by_key: HashMap<String, &Article> = HashMap::new();
    let mut candidates = Vec::new();
    // One transaction (one sync to disk) for the whole archive, not one per issue.
    lock().batch(|db| {
        for article in &scan.articles {
            let url = Entry::new(article, &config.feeds).url;
            let source = article.source.display().to_string();
            let (decided, unchanged_since) = db.observe_issue(
                &url,
                article.number,
                &article.plain_title(),
                &source,
                article.content_hash(),
                now,
            )?;
            candidates.push(Candidate {
                key: url.clone(),
                date: article.date.to_utc(),
                unchanged_since,
                known: decided,
            });
            by_key.insert(url, article);
        }
        let present: Vec<&str> = by_key.keys().map(String::as_str).collect();
        db.mark_absent(&present)
    })?;
    // An announced issue whose title or date was edited has a new URL: the same issue.
    for (old, new) in lock().adopt_renamed()? {
        tracing::info!(issue = %new, was = %old, "issue renamed; its state moves with it and it is not announced again");
        if let Some(c) = candidates.iter_mut().find(|c| c.key == new) {
            c.known = true;
        }
    }

    for (key, decision) in plan(&candidates, first_start, now, policy) {
        let article = by_key[&key];
        match decision {
            Decision::Known => continue,
            Decision::Baseline | Decision::TooOld => lock().decide_issue(&key, true)?,
            Decision::Announce => {
                let highlights = extract_highlights(&article.body());
                if let Some(hold) = check_hold(article, &highlights, &config.announce.guard) {
                    let since = lock().first_seen(&key)?.unwrap_or(now);
                    let max_hold = chrono::Duration::from_std(policy.max_hold)
                        .unwrap_or(chrono::Duration::MAX);
                    if now - since > max_hold {
                        // Still held: only an edit or `herald announce --force` releases it.
                        tracing::error!(issue = %key, reason = %hold, held_since = %since, "held longer than max_hold; fix the issue or announce it with --force");
                    } else {
                        tracing::info!(issue = %key, reason = %hold, "held by the draft guard");
                    }
                    report.held.push((key.clone(), hold.to_string()));
                    continue; // stays waiting: a later edit that removes the placeholder settles again
                }
                for outlet in outlets {
                    queue(config, db, outlet, article, &key, now).await?;
                }
                lock().decide_issue(&key, false)?;
            }
            Decision::WaitUntil(_) | Decision::NextCycle => {}
        }
        report.decisions.push((key, decision));
    }

    if policy.edit_on_title_change {
        let settle = chrono::Duration::from_std(policy.settle).unwrap_or_default();
        edit_changed_titles(config, db, outlets, &by_key, now - settle, &mut report).await?;
    }

    // Deliver whatever is due, for every issue (earlier cycles' retries included).
    let due = lock().due_rows(now)?;
    for row in due {
        let Some(outlet) = outlets.iter().find(|o| o.account.name() == row.account) else {
            tracing::warn!(account = %row.account, "outbox row for an account no longer configured");
            continue;
        };
        let article = by_key.get(&row.issue_key).copied();
        let refit = |post: &Post, limit: Option<usize>| {
            article.and_then(|a| refit_post(config, a, &row.issue_key, post, limit))
        };
        let delivery = deliver(db, &outlet.sender, &row, &row.issue_key, &refit, &Utc::now).await?;
        report.deliveries.push((row.account.clone(), row.issue_key.clone(), delivery));
    }
    Ok(report)
}

/// `edit_on_title_change`: edits the posted Mastodon statuses of issues whose title changed
/// (and has been unchanged since `settled_before`) to the post composed with the new title.
/// An edit is idempotent: a lost reply is edited again on the next cycle. A refusal (the
/// status was deleted, say) is recorded on the row and not tried again for that title.
async fn edit_changed_titles(
    config: &Config,
    db: &Mutex<Db>,
    outlets: &[Outlet],
    by_key: &HashMap<String, &Article>,
    settled_before: DateTime<Utc>,
    report: &mut CycleReport,
) -> anyhow::Result<()> {
    let lock = || db.lock().unwrap_or_else(|p| p.into_inner());
    let rows = lock().rows_with_changed_title(settled_before)?;
    for (row, title) in rows {
        let Some(outlet) = outlets.iter().find(|o| o.account.name() == row.account) else {
            continue;
        };
        let Some(article) = by_key.get(&row.issue_key) else { continue };
        if outlet.account.platform() != Platform::Mastodon {
            continue;
        }
        let limits = outlet.sender.limits(config.announce.mastodon.limits).await;
        let post = match compose_post(
            config,
            article,
            &row.issue_key,
            Platform::Mastodon,
            Some(limits),
        ) {
            Ok(post) => post,
            Err(e) => {
                tracing::error!(issue = %row.issue_key, account = %row.account, cause = %format!("{e:#}"), "cannot compose the edited post");
                continue;
            }
        };
        match outlet.sender.edit(&row, &post).await {
            Ok(true) => {
                lock().mark_edited(row.id, &serde_json::to_string(&post)?, &title, Utc::now())?;
                tracing::info!(issue = %row.issue_key, account = %row.account, %title, "post edited to the new title");
                report.edits.push((row.account.clone(), row.issue_key.clone()));
            }
            Ok(false) => {}
            Err(SendError::Permanent { message, .. }) => {
                tracing::error!(issue = %row.issue_key, account = %row.account, cause = %message, "the edit was refused; the post keeps its old title");
                lock().mark_edit_refused(row.id, &title, &message, Utc::now())?;
            }
            Err(e) => {
                tracing::warn!(issue = %row.issue_key, account = %row.account, cause = %e, "edit failed; trying again next cycle");
            }
        }
    }
    Ok(())
}

/// Adds the outbox row of one account for an issue being announced.
async fn queue(
    config: &Config,
    db: &Mutex<Db>,
    outlet: &Outlet,
    article: &Article,
    url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let platform = outlet.account.platform();
    let fallback = match platform {
        Platform::Bluesky => config.announce.bluesky.limits,
        Platform::Mastodon => config.announce.mastodon.limits,
    };
    let limits = outlet.sender.limits(fallback).await;
    let post = compose_post(config, article, url, platform, Some(limits))?;
    let json = serde_json::to_string(&post)?;
    let key = new_platform_key(outlet.account.kind(), now);
    let row = NewRow {
        issue_key: url,
        account: outlet.account.name(),
        platform: outlet.account.kind(),
        post: &json,
        platform_key: &key,
        held: None,
    };
    db.lock().unwrap_or_else(|p| p.into_inner()).enqueue(&row, now)?;
    Ok(())
}
