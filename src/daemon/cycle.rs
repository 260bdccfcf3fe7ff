//! One cycle of the service: scan the archive, write the feeds that changed, decide which
//! issues to announce (the [`schedule`](super::schedule) policy), queue their posts, and
//! deliver every due outbox row. `herald run --once` is one cycle.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::Settings;
use super::schedule::{Candidate, Decision, Policy, Quota, Verdict, judge, plan};
use crate::announce::deliver::{Delivery, Owner, deliver};
use crate::announce::verify::{Verification, verify};
use crate::announce::{Announcing, Outlet, Post, Request, enqueue};
use crate::archive::Article;
use crate::archive::duplicates::{Shared, find_duplicates};
use crate::archive::scan::{ScanCache, read_body};
use crate::feeds::{self, Renderings};
use crate::state::Db;

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
    /// The feed files written, relative to the output directory (their WebSub hubs are told).
    pub feeds_changed: Vec<String>,
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
    /// Late duplicates deleted: (account, issue, deleted post ids).
    pub duplicates_deleted: Vec<(String, String, Vec<String>)>,
    /// Why the feeds could not be written, if they could not.
    pub feeds_error: Option<String>,
    /// Announcements that failed for good in this cycle: (account, issue, why).
    pub failed: Vec<(String, String, String)>,
    /// Files claiming the same issue (same URL or `Number:`), described.
    pub duplicates: Vec<String>,
    /// The next cycle should follow soon: issues were due beyond the per-cycle cap, or an
    /// article changed as this cycle read it.
    pub more_due: bool,
    /// A fixed title's edit comes due then (it waits until the issue has settled).
    pub edit_due: Option<DateTime<Utc>>,
}

/// What the service keeps between cycles: the parsed articles and their renderings, and which
/// problems it has already reported (so a duplicate in the archive is a warning once, not
/// every cycle).
#[derive(Default)]
pub struct CycleState {
    /// Parsed articles: only changed files are parsed again.
    pub cache: ScanCache,
    /// The feed entries' renderings: only new and changed entries are rendered again.
    pub renderings: Renderings,
    /// Problems reported and still present.
    pub reported: HashSet<String>,
    /// Held issues whose overstay of `max_hold` was logged.
    pub overdue: HashSet<String>,
    /// What this process last recorded in the state for each issue present: a fingerprint
    /// of what `note_issue` writes (file, `Number:`, content hash). An issue whose
    /// fingerprint is unchanged costs no statement, so a cycle over an unchanged archive
    /// makes none per issue.
    observed: HashMap<Arc<str>, u64>,
    /// The feed files the last cycle left in place, with the list they were built from.
    feeds_done: Option<(Arc<[Article]>, feeds::write::Left)>,
    /// The list of articles whose issues the state has all recorded (see `observed`).
    recorded: Option<Arc<[Article]>>,
    /// The URLs and duplicates of the last scan's list.
    derived: Option<Derived>,
}

/// What follows from a list of articles alone: their URLs (in its order) and the files
/// claiming the same issue.
#[derive(Clone)]
struct Derived {
    list: Arc<[Article]>,
    urls: Arc<[Arc<str>]>,
    duplicates: Arc<[crate::archive::duplicates::Duplicate]>,
}

/// An issue's verdict in a cycle, with what recording it found.
struct Judged<'a> {
    key: String,
    article: &'a Article,
    decision: Decision,
    verdict: Verdict,
    /// What its posts are made from, if it was inspected.
    /// (Boxed: a first start judges every issue of the archive, and few are inspected.)
    announcing: Option<Box<Announcing<'a>>>,
    /// Whether its recorded status changed.
    changed: bool,
    /// Since when it has had that status (held issues).
    since: DateTime<Utc>,
}

/// What `note_issue` records of an article, as one number (see [`CycleState::observed`]).
fn fingerprint(article: &Article) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (article.content_hash(), &article.source, article.number).hash(&mut h);
    h.finish()
}

impl CycleState {
    /// Marks `problem` as seen in this cycle; whether it is new, to be said (the cycle before
    /// did not see it: first seen, or back after it went away).
    fn is_new(&self, problem: &str, seen: &mut HashSet<String>) -> bool {
        seen.insert(problem.to_owned());
        !self.reported.contains(problem)
    }

    /// Logs `problem` at warn the first time it is seen (again after it went away).
    fn warn_once(&self, problem: String, seen: &mut HashSet<String>) {
        if self.is_new(&problem, seen) {
            tracing::warn!(%problem, "archive problem");
        }
    }
}

/// Runs one cycle at `now`.
///
/// One issue's failure is that issue's: an issue whose post cannot be composed gets failed
/// rows naming its file and what to do, and the cycle goes on with the others. The feeds and
/// the announcements do not wait on each other: a feed directory that cannot be written is
/// reported in [`CycleReport::feeds_error`], and the issues are still announced.
pub async fn run_cycle(
    settings: &Settings,
    db: &Arc<Mutex<Db>>,
    outlets: &[Outlet],
    policy: &Policy,
    state: &mut CycleState,
    owner: &Owner,
    now: DateTime<Utc>,
) -> anyhow::Result<CycleReport> {
    let lock = || Db::lock(db);
    let mut report = CycleReport::default();
    let scan = crate::archive::scan::scan_cached(
        &settings.archive_dir,
        &settings.parse,
        &mut state.cache,
    )?;
    report.articles = scan.articles.len();
    // Said once while the file stays as it is (it is read again each cycle).
    let mut seen = HashSet::new();
    for e in &scan.errors {
        let problem = e.to_string();
        if state.is_new(&problem, &mut seen) {
            tracing::warn!(error = %problem, "article skipped");
        }
        report.skipped.push(problem);
    }
    if scan.articles.is_empty() {
        let (errors, unpublished) = (scan.errors.len(), scan.unpublished.len());
        anyhow::bail!(crate::archive::nothing_published(
            &settings.archive_dir,
            errors,
            unpublished
        ));
    }
    feeds_step::update(settings, db, state, &scan.articles, now, &mut report);

    // The articles' URLs, and the files that claim the same issue (reported once, and not
    // announced: see `duplicates`): kept while the list is the same.
    let derived = match &state.derived {
        Some(kept) if Arc::ptr_eq(&kept.list, &scan.articles) => kept.clone(),
        _ => {
            let urls: Arc<[Arc<str>]> = scan
                .articles
                .iter()
                .map(|a| feeds::article_url(a, &settings.feeds).into())
                .collect();
            let duplicates = find_duplicates(
                scan.articles
                    .iter()
                    .zip(urls.iter())
                    .map(|(a, url)| (&**url, a.number, a.source.as_path())),
            )
            .into();
            let derived = Derived { list: scan.articles.clone(), urls, duplicates };
            state.derived = Some(derived.clone());
            derived
        }
    };
    let (urls, duplicates) = (derived.urls, derived.duplicates);
    let mut blocked: HashMap<String, String> = HashMap::new();
    // Not a fault (an editor's draft), so said once and not counted as skipped.
    for e in &scan.unpublished {
        let note = e.to_string();
        if state.is_new(&note, &mut seen) {
            tracing::info!(%note, "article left out");
        }
    }
    for dup in duplicates.iter() {
        state.warn_once(dup.to_string(), &mut seen);
        for (article, url) in scan.articles.iter().zip(urls.iter()) {
            let concerned = match &dup.shared {
                Shared::Url(u) => **u == **url,
                Shared::Number(n) => article.number == Some(*n),
            };
            if concerned {
                blocked.entry(url.to_string()).or_insert_with(|| dup.to_string());
            }
        }
    }
    report.duplicates = duplicates.iter().map(ToString::to_string).collect();

    // What the archive holds now, as the state sees it. Only what changed since this process
    // last recorded it is written: a new, changed or renamed file, an issue gone.
    let first_start = !lock().has_issues()?;
    let mut by_key: HashMap<&str, &Article> = HashMap::with_capacity(urls.len());
    for (article, url) in scan.articles.iter().zip(urls.iter()) {
        // Two files with one URL: the first (by name) stands for it, so that the state does
        // not see the issue change on every cycle.
        by_key.entry(&**url).or_insert(article);
    }
    // The same list as one whose every issue is recorded: nothing to note.
    let same_list = state.recorded.as_ref().is_some_and(|list| Arc::ptr_eq(list, &scan.articles));
    let mut observed = HashMap::new();
    // One transaction (one sync to disk) for the whole archive, not one per issue.
    lock().batch(|db| {
        let reopened = db.forget_the_future(now)?;
        if !reopened.is_empty() {
            tracing::warn!(
                issues = reopened.len(),
                "the clock was set back: issues judged too old while it ran ahead are judged again"
            );
        }
        if same_list {
            return Ok(());
        }
        observed.reserve(by_key.len());
        for (article, url) in scan.articles.iter().zip(urls.iter()) {
            if !std::ptr::eq(by_key[&**url], article) {
                continue; // another file stands for this URL
            }
            let print = fingerprint(article);
            observed.insert(url.clone(), print);
            if state.observed.get(&**url) == Some(&print) {
                continue;
            }
            let sighting = crate::state::Sighting {
                key: url,
                number: article.number,
                title: &article.plain_title(),
                source: &article.source.display().to_string(),
                date: article.date.to_utc(),
                content_hash: &article.content_hash().to_string(),
            };
            db.note_issue(&sighting, now)?;
        }
        let gone = state.observed.len() != observed.len()
            || state.observed.keys().any(|k| !observed.contains_key(k));
        if gone || state.observed.is_empty() {
            let present: Vec<&str> = by_key.keys().copied().collect();
            db.mark_absent(&present, now)?;
        }
        Ok(())
    })?;
    // An announced issue whose title or date was edited has a new URL: the same issue.
    for (old, new) in lock().adopt_renamed()? {
        tracing::info!(issue = %new, was = %old, "issue renamed; its state moves with it and it is not announced again");
    }
    // Recorded: the next cycle need not write it again.
    if !same_list {
        state.observed = observed;
        state.recorded = Some(scan.articles.clone());
    }
    // The issues still to decide: a handful, whatever the archive's size.
    let candidates: Vec<Candidate> = lock()
        .undecided()?
        .into_iter()
        .filter_map(|crate::state::Undecided { key, unchanged_since }| {
            let article = by_key.get(key.as_str())?;
            let date = article.date.to_utc();
            Some(Candidate {
                key,
                date,
                unchanged_since: unchanged_since.unwrap_or(now),
                known: false,
            })
        })
        .collect();

    // The verdicts: judged first, then recorded together (one transaction for the cycle,
    // however many files arrived), then acted on.
    let planned = plan(&candidates, first_start, now, policy);
    // What every account's post is made from is prepared once, from the body read again
    // (the scan holds none). A settling issue is inspected too, so that its findings show
    // before it is due.
    let settle = chrono::Duration::from_std(policy.settle)?;
    let inspected: Vec<String> = planned
        .iter()
        .filter(|(_, decision)| match decision {
            Decision::Announce => true,
            Decision::WaitUntil(t) => *t - now <= settle,
            _ => false,
        })
        .map(|(key, _)| key.clone())
        .collect();
    let read =
        crate::parallel::map(&inspected, |key| read_body(by_key[key.as_str()], &settings.parse));
    let mut bodies: HashMap<String, Article> = HashMap::with_capacity(inspected.len());
    let mut unread = HashSet::new();
    for (key, result) in inspected.into_iter().zip(read) {
        match result {
            Ok(article) => {
                bodies.insert(key, article);
            }
            Err(e) => {
                // Changed since the scan: judged as it is now, in the next cycle.
                tracing::info!(issue = %key, cause = %e, "not judged in this cycle");
                unread.insert(key);
                report.more_due = true;
            }
        }
    }
    let mut judged = Vec::new();
    // The per-cycle limit counts the issues posted (see `Quota`).
    let mut quota = Quota::new(policy);
    for (key, decision) in planned {
        let article = by_key[key.as_str()];
        let announcing = match bodies.get(key.as_str()) {
            Some(full) => Some(Box::new(Announcing::new(full, key.clone(), &settings.announce))),
            None if unread.contains(&key) => continue,
            None => None,
        };
        // Only an issue being announced needs when it was first seen (for the grace period):
        // not a query for every issue of the archive on every cycle.
        let first_seen = match decision {
            Decision::Announce => lock().first_seen(&key)?.unwrap_or(now),
            _ => now,
        };
        let Some(verdict) = judge(
            &decision,
            announcing.as_ref().map(|a| &a.guard),
            blocked.get(&key).map(String::as_str),
            first_seen,
            now,
            settings.announce.guard.grace,
            policy.settle,
        ) else {
            continue;
        };
        let (decision, verdict) = quota.admit(decision, verdict);
        judged.push(Judged {
            key,
            article,
            decision,
            verdict,
            announcing,
            changed: false,
            since: now,
        });
    }
    lock().batch(|db| {
        for j in &mut judged {
            let (until, reasons) = match &j.verdict {
                Verdict::Waiting { until, why, findings } => {
                    (*until, std::iter::once(why.clone()).chain(findings.iter().cloned()).collect())
                }
                Verdict::Held { reasons } => (None, reasons.clone()),
                Verdict::Delayed { until, reasons } => (Some(*until), reasons.clone()),
                Verdict::Announce { left } => (None, left.clone()),
                Verdict::Baseline | Verdict::TooOld => (None, Vec::new()),
            };
            let reasons_json =
                (!reasons.is_empty()).then(|| serde_json::json!(reasons).to_string());
            j.changed = db.set_issue_status(
                &j.key,
                j.verdict.status(),
                until,
                reasons_json.as_deref(),
                now,
            )?;
            match &j.verdict {
                Verdict::Baseline => db.decide_issue(&j.key, true)?,
                Verdict::TooOld => db.decide_issue(&j.key, false)?,
                Verdict::Held { .. } => j.since = db.issue_status_since(&j.key)?.unwrap_or(now),
                _ => {}
            }
        }
        Ok(())
    })?;

    let mut baseline: Vec<&Article> = Vec::new();
    for Judged { key, article, decision, verdict, announcing, changed, since } in judged {
        let number = article.number.map_or("?".to_string(), |n| n.to_string());
        let file = article.source.display().to_string();
        match &verdict {
            Verdict::Baseline => baseline.push(article),
            Verdict::TooOld => {
                tracing::warn!(issue = %key, %file, date = %article.date, "not announced: older than max_age when first seen; `herald announce --issue {number}` posts it");
            }
            Verdict::Waiting { until, why, findings } => {
                if matches!(decision, Decision::NextCycle) {
                    report.more_due = true;
                }
                if changed {
                    let until = until.map_or("the next cycle".into(), |t| t.to_rfc3339());
                    if findings.is_empty() {
                        tracing::info!(issue = %key, %until, %why, "waiting");
                    } else {
                        tracing::info!(issue = %key, %file, %until, %why, findings = %findings.join("; "), "waiting; the draft guard finds what to fix before it is due");
                    }
                }
            }
            Verdict::Held { reasons } => {
                report.held.push((key.clone(), reasons.join("; ")));
                let max_hold =
                    chrono::Duration::from_std(policy.max_hold).unwrap_or(chrono::Duration::MAX);
                let overdue = now - since > max_hold;
                if changed {
                    tracing::info!(issue = %key, %file, reasons = %reasons.join("; "), "held until fixed");
                }
                if overdue && state.overdue.insert(key.clone()) {
                    // Still held: only an edit or `herald announce --force` releases it.
                    tracing::error!(issue = %key, %file, reasons = %reasons.join("; "), held_since = %since, "held longer than max_hold; fix the issue or announce it with --force");
                }
                continue; // stays waiting: a later edit that removes the placeholder settles again
            }
            Verdict::Delayed { until, reasons } => {
                if changed {
                    tracing::info!(issue = %key, %file, until = %until.to_rfc3339(), placeholders = %reasons.join("; "), "placeholders outside the post's text: announcing at the end of the grace period unless fixed");
                }
                report.decisions.push((key, Decision::WaitUntil(*until)));
                continue;
            }
            Verdict::Announce { left } => {
                if !left.is_empty() {
                    tracing::warn!(issue = %key, %file, placeholders = %left.join("; "), "announcing with placeholders left outside the post's text (the grace period is over)");
                }
                let Some(announcing) = &announcing else { continue };
                for outlet in outlets {
                    let queued = enqueue(
                        db,
                        outlet,
                        announcing,
                        &settings.announce,
                        &Request::default(),
                        now,
                    )
                    .await;
                    if let Err(e) = queued {
                        let error = format!(
                            "cannot compose the post from {file}: {}; fix the issue (or the template), then run `herald announce --issue {number}`",
                            crate::report::describe_any(&e)
                        );
                        tracing::error!(issue = %key, account = %outlet.account.name(), cause = %error, "not announced");
                        lock().record_failed(
                            &key,
                            outlet.account.name(),
                            outlet.account.kind(),
                            &error,
                            now,
                        )?;
                        report.failed.push((outlet.account.name().to_string(), key.clone(), error));
                    }
                }
                lock().decide_issue(&key, false)?;
                tracing::info!(issue = %key, %file, "announcing");
            }
        }
        report.decisions.push((key, decision));
    }
    state.overdue.retain(|k| report.held.iter().any(|(h, _)| h == k));
    if let Some(newest) = baseline.iter().max_by_key(|a| a.date) {
        tracing::info!(
            recorded = baseline.len(),
            newest = %format!("{} ({})", newest.plain_title(), newest.date.format("%Y-%m-%d")),
            "first start: every issue in the archive recorded as baseline, none announced (`herald run --announce-latest` announces the newest; `herald announce --issue N` any)"
        );
    }

    if policy.edit_on_title_change {
        let settle = chrono::Duration::from_std(policy.settle).unwrap_or_default();
        edit::edit_changed_titles(settings, db, outlets, &by_key, now - settle, &mut report)
            .await?;
        // The next one: the service wakes for it, though no file changes meanwhile.
        report.edit_due = lock().next_title_edit(now - settle, settle)?;
    }

    // Rows queued under a name the configuration no longer has: an account renamed there is
    // the same account (by identity), and its rows move to the new name.
    let configured: Vec<String> = outlets.iter().map(|o| o.account.name().to_string()).collect();
    if lock().undeliverable(&configured)?.iter().any(|r| r.identity.is_some()) {
        for outlet in outlets {
            let Ok(identity) = outlet.sender.identity().await else { continue };
            let moved = lock().rehome(&identity, outlet.account.name(), &configured)?;
            if moved > 0 {
                tracing::info!(account = %outlet.account.name(), rows = moved, "rows queued under this account's earlier name moved to it");
            }
        }
    }

    // Deliver whatever is due, for every issue (earlier cycles' retries included).
    let due = lock().due_rows(now)?;
    for row in due {
        let Some(outlet) = outlets.iter().find(|o| o.account.name() == row.account) else {
            // Said once (not every cycle): the row waits for its account to come back.
            state.warn_once(
                format!(
                    "outbox rows for account {:?}, which is no longer configured, are not delivered; \
                     if the account was renamed, they move to the new name once herald can tell it \
                     is the same account (it asks the server); otherwise name the account {:?} again \
                     (`herald status` lists the rows)",
                    row.account, row.account
                ),
                &mut seen,
            );
            continue;
        };
        // Only a post rejected as too long is composed again: from the issue's file as the
        // scan read it. One that changed since waits for the next cycle's scan.
        let article = match by_key.get(row.issue_key.as_str()) {
            Some(article) => match read_body(article, &settings.parse) {
                Ok(full) => Some(full),
                Err(e) => {
                    tracing::info!(issue = %row.issue_key, account = %row.account, cause = %e, "not delivered in this cycle");
                    report.more_due = true;
                    continue;
                }
            },
            None => None,
        };
        let refit = |post: &Post, limit: Option<usize>| {
            let article = article.as_ref()?;
            Announcing::new(article, row.issue_key.clone(), &settings.announce).refit(
                &settings.announce,
                post,
                limit,
            )
        };
        let delivery = deliver(db, &outlet.sender, &row, &refit, &Utc::now, owner).await?;
        if let Delivery::Failed(error) = &delivery {
            report.failed.push((row.account.clone(), row.issue_key.clone(), error.clone()));
        }
        report.deliveries.push((row.account.clone(), row.issue_key.clone(), delivery));
    }
    // Posts sent again after an unsure call: once the earlier call can no longer land, make
    // sure the account holds one post.
    let to_verify = lock().rows_to_verify(Utc::now())?;
    for row in to_verify {
        let Some(outlet) = outlets.iter().find(|o| o.account.name() == row.account) else {
            continue;
        };
        let result = verify(db, &outlet.sender, &row, owner, Utc::now()).await?;
        if let Verification::Deleted(ids) = result {
            report.duplicates_deleted.push((row.account.clone(), row.issue_key.clone(), ids));
        }
    }
    state.reported = seen;
    Ok(report)
}

mod edit;
mod feeds_step;
#[cfg(test)]
mod tests;
