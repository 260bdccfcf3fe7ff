//! What the service tells, after each cycle: the notices its outcome calls for, recorded in
//! the state (once per channel and event) for the [sender](crate::notify::sender) to send.
//!
//! The events are read off the state, not off the cycle's changes, so none is lost to a
//! crash between a change and its notice: the next cycle finds the same state and records
//! what is missing. Each notice's key names the event and the state it is about (an issue
//! held *since* a time, a row's generation), so it is recorded once; an issue held again
//! after being fixed is a new notice.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::Settings;
use super::cycle::CycleReport;
use crate::announce::deliver::Delivery;
use crate::notify::{Event, IssueRef, Message, websub};
use crate::state::db::ts;
use crate::state::{Db, IssueRecord, RowStatus};

/// Issues announced or announced after the grace period longer ago than this are not
/// notified when a channel is first configured.
const RECENT: chrono::Duration = chrono::Duration::days(2);

/// Records the notices `report` (the cycle at `now`) calls for. Returns how many are new.
pub fn record(
    db: &Mutex<Db>,
    config: &Settings,
    report: Result<&CycleReport, &anyhow::Error>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut db = Db::lock(db);
    let mut added = 0;
    if config.notify.is_empty() {
        // Hub pings were recorded as the feeds were written; wake the sender for them.
        return Ok(report.map_or(0, |r| r.feeds_changed.len()));
    }
    if let Ok(r) = report {
        added += r.feeds_changed.len();
    }
    let mut tell = |db: &mut Db, event: Event, key: String, message: Message| {
        let channels: Vec<&str> = config
            .notify
            .iter()
            .filter(|c| c.events.contains(&event))
            .map(|c| c.name.as_str())
            .collect();
        if channels.is_empty() {
            return Ok::<usize, anyhow::Error>(0);
        }
        let body = serde_json::to_string(&message)?;
        Ok(db.record_notices(
            &channels,
            &format!("{} {key}", event.name()),
            event.name(),
            &body,
            now,
        )?)
    };
    // The cycles: failing since when, and recovered.
    let failing = db.meta("failing_since")?;
    match (report, failing) {
        (Err(e), None) => {
            db.set_meta("failing_since", &ts(now))?;
            let message = Message {
                event: Event::CycleFailing,
                summary: "herald's cycles are failing: no feed is written and nothing announced"
                    .into(),
                details: vec![crate::report::describe_any(e)],
                issue: None,
                action: Some("see `journalctl -u herald` and run `herald check`".into()),
                at: now,
            };
            added += tell(&mut db, Event::CycleFailing, ts(now), message)?;
        }
        (Ok(_), Some(since)) => {
            db.delete_meta("failing_since")?;
            let message = Message {
                event: Event::Recovered,
                summary: format!("herald's cycles work again (failing since {since})"),
                details: Vec::new(),
                issue: None,
                action: None,
                at: now,
            };
            added += tell(&mut db, Event::Recovered, format!("cycles {since}"), message)?;
        }
        _ => {}
    }
    if let Ok(r) = report {
        added += record_logins(&mut db, r, now, &mut tell)?;
    }
    // The issues: held, announced after the grace with placeholders left, announced.
    // Only what can be notified is read: a handful of issues and their rows, whatever the
    // archive's size.
    let issues = db.notable_issues(now - RECENT)?;
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    let rows = db.rows_of_issues(&keys)?;
    for issue in &issues {
        let since = issue.since.unwrap_or_default();
        let reasons: Vec<String> =
            issue.reasons.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
        let n = issue.number.map_or("N".to_string(), |n| n.to_string());
        match issue.status.as_deref() {
            Some("held") if issue.present => {
                let message = Message {
                    event: Event::Held,
                    summary: format!(
                        "{} is held: it will not be announced until fixed",
                        named(issue)
                    ),
                    details: reasons,
                    issue: Some(issue_ref(issue)),
                    action: Some(format!(
                        "fix what holds it in {}; `herald preview --file {}` shows the post and \
                         every finding; `herald announce --issue {n} --force` posts it as it is",
                        issue.source, issue.source
                    )),
                    at: now,
                };
                added +=
                    tell(&mut db, Event::Held, format!("{} {}", issue.key, ts(since)), message)?;
            }
            Some("announced") if now - since < RECENT => {
                let posted: Vec<String> = rows
                    .iter()
                    .filter(|r| r.issue_key == issue.key && r.status == RowStatus::Posted)
                    .map(|r| {
                        format!("{}: {}", r.account, r.remote.as_ref().map_or("", |p| p.link()))
                    })
                    .collect();
                if !reasons.is_empty() {
                    let message = Message {
                        event: Event::Delayed,
                        summary: format!(
                            "{} was announced with placeholders left: the grace period ended",
                            named(issue)
                        ),
                        details: reasons,
                        issue: Some(issue_ref(issue)),
                        action: Some(format!(
                            "fill in the placeholders in {} (no post carries them; the page and \
                             the feeds show them until then)",
                            issue.source
                        )),
                        at: now,
                    };
                    added += tell(&mut db, Event::Delayed, issue.key.clone(), message)?;
                }
                let all_posted = rows
                    .iter()
                    .filter(|r| r.issue_key == issue.key)
                    .all(|r| r.status == RowStatus::Posted);
                if !posted.is_empty() && all_posted {
                    let message = Message {
                        event: Event::Announced,
                        summary: format!("{} is announced", named(issue)),
                        details: posted,
                        issue: Some(issue_ref(issue)),
                        action: None,
                        at: now,
                    };
                    added += tell(&mut db, Event::Announced, issue.key.clone(), message)?;
                }
            }
            _ => {}
        }
    }
    // The posts: failed for good, or set aside as ambiguous.
    for r in &rows {
        let Some(issue) = issues.iter().find(|i| i.key == r.issue_key) else { continue };
        let n = issue.number.map_or("N".to_string(), |n| n.to_string());
        let a = &r.account;
        let (event, summary, action) = if let Some(why) = &r.ambiguous {
            (
                Event::Ambiguous,
                format!(
                    "{}: herald cannot tell whether a post on {a} is its announcement",
                    named(issue)
                ),
                format!(
                    "{why}. If that post is the announcement, `herald announce --issue {n} --account {a} \
                     --adopt <its id or link>` records it; to post anyway, `herald announce --issue {n} \
                     --account {a} --force`"
                ),
            )
        } else if r.status == RowStatus::Failed {
            (
                Event::Failed,
                format!("{} could not be posted on {a}", named(issue)),
                format!(
                    "fix the cause, then `herald announce --issue {n} --account {a}` tries again"
                ),
            )
        } else {
            continue;
        };
        let message = Message {
            event,
            summary,
            details: r.last_error.iter().cloned().collect(),
            issue: Some(issue_ref(issue)),
            action: Some(action),
            at: now,
        };
        added +=
            tell(&mut db, event, format!("{} {} {}", r.id, r.generation, r.claim_gen), message)?;
    }
    Ok(added)
}

/// A ping to each hub for the feed file at `path` (relative to the output), about to change.
pub fn record_ping(
    db: &mut Db,
    config: &Settings,
    path: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let hubs = &config.feeds.files.websub_hubs;
    if hubs.is_empty() {
        return Ok(0);
    }
    let channels: Vec<String> = hubs.iter().map(|h| websub::channel(h)).collect();
    let channels: Vec<&str> = channels.iter().map(String::as_str).collect();
    let feed_url = format!("{}/{path}", config.feeds.site_url);
    let body = serde_json::to_string(&crate::notify::sender::Ping { feed_url: feed_url.clone() })?;
    // One ping per change: the change is this write, at `now`.
    let key = format!("websub {feed_url} {}", ts(now));
    Ok(db.record_notices(&channels, &key, "websub", &body, now)?)
}

/// Whether a delivery's error says the account's login or token is refused.
pub fn is_login_error(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    [
        "http 401",
        "login budget",
        "authenticationrequired",
        "invalid identifier or password",
        "access token is invalid",
        "invalid_token",
        "accountdeactivated",
        "accounttakedown",
    ]
    .iter()
    .any(|needle| e.contains(needle))
}

/// Accounts whose login fails in this cycle (once per spell), and those that post again.
fn record_logins(
    db: &mut Db,
    r: &CycleReport,
    now: DateTime<Utc>,
    tell: &mut impl FnMut(&mut Db, Event, String, Message) -> anyhow::Result<usize>,
) -> anyhow::Result<usize> {
    let mut added = 0;
    let mut seen: Vec<&str> = Vec::new();
    for (account, _, delivery) in &r.deliveries {
        if seen.contains(&account.as_str()) {
            continue;
        }
        let key = format!("login_failing {account}");
        let failing = db.meta(&key)?;
        match (delivery, failing) {
            (Delivery::Retry { error, .. } | Delivery::Failed(error), None)
                if is_login_error(error) =>
            {
                seen.push(account);
                db.set_meta(&key, &ts(now))?;
                let message = Message {
                    event: Event::LoginFailing,
                    summary: format!("{account}: the account's login or token is refused"),
                    details: vec![error.clone()],
                    issue: None,
                    action: Some(format!(
                        "check {account}'s secret (an app password or a token with write:statuses), \
                         then `herald check --online`"
                    )),
                    at: now,
                };
                added += tell(db, Event::LoginFailing, format!("{account} {}", ts(now)), message)?;
            }
            (Delivery::Posted(_) | Delivery::Found(_), Some(since)) => {
                seen.push(account);
                db.delete_meta(&key)?;
                let message = Message {
                    event: Event::Recovered,
                    summary: format!(
                        "{account}: the account posts again (its login failed since {since})"
                    ),
                    details: Vec::new(),
                    issue: None,
                    action: None,
                    at: now,
                };
                added += tell(db, Event::Recovered, format!("login {account} {since}"), message)?;
            }
            _ => {}
        }
    }
    Ok(added)
}

fn named(issue: &IssueRecord) -> String {
    match issue.number {
        Some(n) if !issue.title.contains(&n.to_string()) => format!("#{n} {}", issue.title),
        _ => issue.title.clone(),
    }
}

fn issue_ref(issue: &IssueRecord) -> IssueRef {
    IssueRef {
        number: issue.number,
        title: issue.title.clone(),
        url: issue.key.clone(),
        file: issue.source.clone(),
    }
}
