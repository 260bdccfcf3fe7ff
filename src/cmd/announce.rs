//! `herald announce --issue N`: announce one issue on every account (or one) through the
//! outbox. A second run finds the rows and says so; `--force-new` posts again on purpose.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::bail;
use chrono::Utc;

use crate::announce::deliver::{Delivery, Owner, deliver, secs};
use crate::announce::send::Posted;
use crate::announce::{self, Account, Announcing, Outlet, Post, Queued, Request, enqueue};
use crate::cli::AnnounceArgs;
use crate::daemon::Settings;
use crate::feeds::Entry;
use crate::state::{Db, RowStatus};

/// In one `announce` run, transient failures are retried while the next try is this close.
const RETRY_WITHIN_SECS: i64 = 60;
/// … and at most this many times per account.
const MAX_TRIES_PER_RUN: usize = 4;

/// Runs `herald announce`.
pub fn run(
    config_path: &Path,
    args: &AnnounceArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(config_path)?;
    let article = super::select_article(&config, Some(args.issue), None)?;
    let url = Entry::new(&article, &config.feeds).url;
    let accounts: Vec<&Account> = match &args.account {
        Some(name) => {
            let found: Vec<_> = config.accounts.iter().filter(|a| a.name() == name).collect();
            if found.is_empty() {
                let names: Vec<_> = config.accounts.iter().map(Account::name).collect();
                bail!("no account named {name:?} (configured: {})", names.join(", "));
            }
            found
        }
        None => config.accounts.iter().collect(),
    };

    let issue = Announcing::new(&article, url.clone(), &config.announce);
    let guard = &issue.guard;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if args.dry_run {
        // The guard runs as for a real announce: a held issue would not be posted.
        let held = guard.is_held() && !args.force;
        for account in &accounts {
            let post = issue.compose(&config.announce, account.platform(), None)?;
            let what = if held { "would be held, not posted" } else { "would post" };
            writeln!(out, "── {} ({}) {what}:", account.name(), account.platform().name())?;
            for line in post.text.lines() {
                writeln!(out, "│ {line}")?;
            }
        }
        super::preview::write_guard(out, guard)?;
        if held {
            writeln!(out, "(--force would post it anyway)")?;
        }
        return Ok(if held { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    for f in guard.delays() {
        // Asked for by hand: a placeholder outside the post's text does not wait.
        writeln!(out, "note: {f}; announcing all the same")?;
    }

    let db = Arc::new(Mutex::new(Db::open(&config.state_path)?));
    let now = Utc::now;
    let source = article.source.display().to_string();
    let renamed = Db::lock(&db).renamed_from(&url, article.number, &source)?;
    Db::lock(&db).record_issue(
        &url,
        article.number,
        &article.plain_title(),
        &source,
        false,
        now(),
    )?;
    // The same issue under a new URL (its title or date was fixed): it keeps its posts, and
    // is not announced again.
    if let Some(old) = renamed {
        Db::lock(&db).adopt_issue(&old, &url)?;
        writeln!(out, "note: this issue was recorded as {old} before its title or date changed")?;
    }

    if let Some(post) = &args.adopt {
        let configured: Vec<String> =
            config.accounts.iter().map(|a| a.name().to_string()).collect();
        return adopt(&db, &url, &accounts, &configured, post, out);
    }
    let held = guard.is_held().then(|| guard.describe(announce::Effect::Hold));
    let owner = Owner::new("herald announce", config.announce.request_timeout);
    let request = Request {
        held,
        release: args.force,
        again: args.force_new,
        // The operator asks again: a failed row gets a fresh attempt with a fresh post.
        retry_failed: true,
    };
    let mut all_done = true;
    for account in accounts {
        let outlet = Outlet::new(account, &db, config.announce.request_timeout)?;
        let queued =
            runtime.block_on(enqueue(&db, &outlet, &issue, &config.announce, &request, now()))?;
        if let Queued::Existing(row) = &queued
            && row.status == RowStatus::Posted
        {
            let link = row.remote.as_ref().map(Posted::link).unwrap_or_default();
            writeln!(
                out,
                "{}: already announced ({link}); nothing to do (--force-new posts again)",
                account.name()
            )?;
            continue;
        }
        let done =
            runtime.block_on(drive(&db, &outlet, queued.id(), &issue, &config, &owner, out))?;
        all_done &= done;
    }
    Ok(if all_done { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `--adopt`: the operator says the post herald could not tell from its own is the
/// announcement; the account's ambiguous row records it.
fn adopt(
    db: &Mutex<Db>,
    url: &str,
    accounts: &[&Account],
    configured: &[String],
    post: &str,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let [account] = accounts else { bail!("--adopt needs --account") };
    let db = Db::lock(db);
    // Under the account's name, or under a name no longer configured (a renamed account whose
    // rows the service has not moved yet) on the same platform.
    let row = db.rows_for_issue(url)?.into_iter().rfind(|r| {
        r.ambiguous.is_some()
            && (r.account == account.name()
                || (r.platform == account.kind() && !configured.contains(&r.account)))
    });
    let Some(row) = row else {
        bail!(
            "account {:?} has no row of this issue set aside as ambiguous (`herald status` lists them); nothing recorded",
            account.name()
        );
    };
    let post = post.trim();
    let posted = if post.starts_with("https://") || post.starts_with("http://") {
        let id = post.trim_end_matches('/').rsplit('/').next().unwrap_or(post).to_string();
        Posted { id, cid: None, url: Some(post.to_string()) }
    } else {
        Posted { id: post.to_string(), cid: None, url: None }
    };
    db.settle_ambiguous(row.id, Some(&posted), Utc::now())?;
    writeln!(out, "{}: recorded {} as the announcement", account.name(), posted.link())?;
    Ok(ExitCode::SUCCESS)
}

/// Delivers one row, retrying soon-due transient failures; reports the end state.
async fn drive(
    db: &Mutex<Db>,
    outlet: &Outlet,
    row_id: i64,
    issue: &Announcing<'_>,
    config: &Settings,
    owner: &Owner,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let (account, sender) = (&outlet.account, &outlet.sender);
    let refit = |post: &Post, limit: Option<usize>| issue.refit(&config.announce, post, limit);
    let mut tries = 0;
    let mut told_claimed = false;
    let mut last_error: Option<String> = None;
    while tries < MAX_TRIES_PER_RUN {
        let Some(row) = Db::lock(db).row(row_id)? else { bail!("outbox row {row_id} vanished") };
        if row.status == RowStatus::Posted {
            let link = row.remote.as_ref().map(Posted::link).unwrap_or_default();
            writeln!(out, "{}: posted {link}", account.name())?;
            return Ok(true);
        }
        tries += 1;
        match deliver(db, sender, &row, &refit, &Utc::now, owner).await? {
            Delivery::Posted(p) | Delivery::Found(p) => {
                writeln!(out, "{}: posted {}", account.name(), p.link())?;
                return Ok(true);
            }
            Delivery::Failed(e) => {
                writeln!(out, "{}: failed: {e}", account.name())?;
                return Ok(false);
            }
            Delivery::NotDue(RowStatus::Held) => {
                let reason = row.last_error.unwrap_or_default();
                writeln!(out, "{}: held: {reason} (--force posts anyway)", account.name())?;
                return Ok(false);
            }
            Delivery::NotDue(status) => {
                writeln!(out, "{}: {}", account.name(), status.as_str())?;
                return Ok(status == RowStatus::Posted);
            }
            Delivery::Ambiguous(why) => {
                writeln!(
                    out,
                    "{}: not sent: {why}. If it is the announcement, record it with `herald announce --issue {} --account {} --adopt <its id or link>`; to post the announcement anyway, `--force`",
                    account.name(),
                    issue.article.number.map_or("N".to_string(), |n| n.to_string()),
                    account.name()
                )?;
                return Ok(false);
            }
            Delivery::Lost { by } => {
                writeln!(
                    out,
                    "{}: left to {} (this process's claim ran out)",
                    account.name(),
                    by.as_deref().unwrap_or("another process")
                )?;
                return Ok(false);
            }
            Delivery::Claimed { by, until } => {
                // Another process (the service) is sending it: wait for its result rather
                // than send it too. Its lease bounds the wait; then the row is recovered.
                tries -= 1;
                if !told_claimed {
                    writeln!(
                        out,
                        "{}: {by} is sending it; waiting for its result (at most until {})",
                        account.name(),
                        until.format("%H:%M:%S UTC")
                    )?;
                    told_claimed = true;
                }
                let wait = (until - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait.min(std::time::Duration::from_millis(500))).await;
            }
            Delivery::Retry { at, error } => {
                let wait = at - Utc::now();
                if wait.num_seconds() > RETRY_WITHIN_SECS {
                    writeln!(
                        out,
                        "{}: not posted yet ({error}); next try at {} (`herald run` makes it)",
                        account.name(),
                        secs(at)
                    )?;
                    return Ok(false);
                }
                last_error = Some(error.clone());
                if tries == MAX_TRIES_PER_RUN {
                    break;
                }
                // Said at each try, so a slow or failing server is never silence.
                let wait_secs = (wait.num_milliseconds().max(0) + 999) / 1000;
                writeln!(
                    out,
                    "{}: try {tries} of {MAX_TRIES_PER_RUN} not done ({error}); trying again in {wait_secs} s",
                    account.name(),
                )?;
                out.flush()?;
                tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
            }
        }
    }
    writeln!(
        out,
        "{}: not posted yet after {MAX_TRIES_PER_RUN} tries{}; `herald run` keeps trying",
        account.name(),
        last_error.map(|e| format!(" (last: {e})")).unwrap_or_default()
    )?;
    Ok(false)
}
