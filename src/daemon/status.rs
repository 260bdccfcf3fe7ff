//! What `status` shows, `status --json` prints and the status page serves: every issue the
//! state knows, newest first, with what the service decided about it — baseline, waiting
//! (until when, for what), held (every reason, since when), delayed by placeholders (until the
//! grace period ends), too old (with the command that would post it), announced (per account,
//! with links) or failed (why, and what to do) — and the archive's problems. JSON is always
//! valid, with `null` for absent values.
//!
//! The view is built from the state ([`gather`]) and rendered by pure functions
//! ([`render_text`], [`render_json`]), which the snapshot tests pin down.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::archive::zone::Zone;
use crate::state::{Db, IssueRecord, OutboxRow, RowStatus};

/// Baseline issues listed in the text form without `--all` (the newest).
const BASELINE_SHOWN: usize = 3;

/// What `status` shows.
#[derive(Debug, Clone)]
pub struct StatusView {
    /// The last scan: when, and its error if it failed.
    pub last_scan: Option<(DateTime<Utc>, Option<String>)>,
    /// When the next is planned.
    pub next_scan: Option<DateTime<Utc>>,
    /// Problems in the archive (files claiming the same issue).
    pub problems: Vec<String>,
    /// Every issue, newest first.
    pub issues: Vec<IssueRecord>,
    /// Every outbox row.
    pub rows: Vec<OutboxRow>,
    /// The rows still to deliver under an account no longer configured (`Db::undeliverable`,
    /// read where the configuration is known).
    pub undeliverable: Vec<i64>,
    /// The service that holds the state now (what its lock says), if one does: the next scan
    /// is planned only while one runs.
    pub service: Option<String>,
    /// The time the view was taken.
    pub now: DateTime<Utc>,
    /// The site's time zone: the text shows times and dates in it, as the files, URLs and
    /// feeds do (JSON keeps UTC).
    pub timezone: Zone,
    /// Notification channels (and WebSub hubs) that keep failing: (channel, attempts, last
    /// error, unsent notices).
    pub failing_channels: Vec<crate::state::FailingChannel>,
}

/// A channel is shown as failing once its oldest unsent notice failed this often.
pub const CHANNEL_FAILING_AFTER: u32 = 3;

/// How late a planned cycle may be before `status` says the service records none: a cycle
/// that posts may take a few request timeouts.
const OVERDUE: chrono::Duration = chrono::Duration::minutes(5);

impl StatusView {
    /// The service runs but has recorded no cycle since one was due: its cycles fail in a way
    /// that cannot even be recorded (a full disk, a state it cannot write).
    pub fn overdue(&self) -> bool {
        self.service.is_some() && self.next_scan.is_some_and(|t| t + OVERDUE < self.now)
    }

    /// Something wants the operator: a post failed for good, a row waits for them, or the
    /// service records no cycle although it runs (`status` exits 1).
    pub fn troubled(&self) -> bool {
        self.rows.iter().any(|r| r.status == RowStatus::Failed)
            || !self.stuck().is_empty()
            || self.overdue()
            || !self.failing_channels.is_empty()
    }

    /// The rows that wait for the operator, each with what is wrong and what to do: set
    /// aside as ambiguous, or queued under an account no longer configured.
    pub fn stuck(&self) -> Vec<(&OutboxRow, String)> {
        let issue_number = |r: &OutboxRow| {
            self.issues
                .iter()
                .find(|i| i.key == r.issue_key)
                .and_then(|i| i.number)
                .map_or("N".to_string(), |n| n.to_string())
        };
        self.rows
            .iter()
            .filter_map(|r| {
                let n = issue_number(r);
                if let Some(why) = &r.ambiguous {
                    return Some((r, format!(
                        "AMBIGUOUS, neither sent nor recorded: {why}. If that post is the announcement, \
                         `herald announce --issue {n} --account {a} --adopt <its id or link>` records it; \
                         to post the announcement anyway, `herald announce --issue {n} --account {a} --force`",
                        a = r.account
                    )));
                }
                self.undeliverable.contains(&r.id).then(|| (r, format!(
                    "UNDELIVERABLE: account {a:?} is no longer configured. If it was renamed, the \
                     service moves the row to the new name once it has checked that the new name \
                     posts to the same account; otherwise name an account {a:?} again, or \
                     announce on another with `herald announce --issue {n} --account NAME`",
                    a = r.account
                )))
            })
            .collect()
    }
}

/// The view of the state in `db` under `config`, now: every issue and row, the rows no
/// configured account can deliver, the service holding the state's lock, the site's zone.
pub fn look(db: &Db, config: &super::Settings) -> anyhow::Result<StatusView> {
    let mut view = gather(db)?;
    let names: Vec<String> = config.accounts.iter().map(|a| a.name().to_string()).collect();
    view.undeliverable = db.undeliverable(&names)?.iter().map(|r| r.id).collect();
    view.service = crate::state::StateLock::holder(&config.state_path);
    view.now = Utc::now();
    view.timezone = config.parse.timezone.clone();
    view.failing_channels = db.failing_channels(CHANNEL_FAILING_AFTER)?;
    Ok(view)
}

/// Reads the view from the state.
pub fn gather(db: &Db) -> anyhow::Result<StatusView> {
    let last = db.meta("last_scan")?.unwrap_or_default();
    let last_scan = last.split_once(' ').and_then(|(at, outcome)| {
        let at = DateTime::parse_from_rfc3339(at).ok()?.to_utc();
        let error = outcome
            .strip_prefix("failed: ")
            .map(str::to_string)
            .or_else(|| outcome.strip_prefix("ok, but ").map(|rest| rest.to_string()));
        Some((at, error))
    });
    let next_scan = db
        .meta("next_scan")?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.to_utc());
    let problems =
        db.meta("archive_problems")?.unwrap_or_default().lines().map(str::to_string).collect();
    Ok(StatusView {
        last_scan,
        next_scan,
        problems,
        issues: db.issue_records()?,
        rows: db.rows()?,
        undeliverable: Vec::new(),
        service: None,
        now: Utc::now(),
        timezone: Zone::utc(),
        failing_channels: Vec::new(),
    })
}

/// An issue's state as `status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// Present at the first start: not announced.
    Baseline,
    /// Settling, dated in the future, or over the per-cycle cap.
    Waiting,
    /// Held by the guard or a clash with another file.
    Held,
    /// Placeholders outside the post: announced when the grace period ends.
    Delayed,
    /// Older than `max_age` when first seen.
    TooOld,
    /// Queued: being sent, or retrying.
    Announcing,
    /// Posted on every account.
    Announced,
    /// An account's post failed for good.
    Failed,
}

/// What `status` calls `issue`'s state, given its rows.
pub fn shown(issue: &IssueRecord, rows: &[&OutboxRow]) -> Shown {
    if rows.iter().any(|r| r.status == RowStatus::Failed || r.ambiguous.is_some()) {
        return Shown::Failed;
    }
    if !rows.is_empty() {
        return if rows.iter().all(|r| r.status == RowStatus::Posted) {
            Shown::Announced
        } else if rows.iter().all(|r| r.status == RowStatus::Held) {
            Shown::Held
        } else {
            Shown::Announcing
        };
    }
    match issue.status.as_deref() {
        Some("waiting") => Shown::Waiting,
        Some("held") => Shown::Held,
        Some("delayed") => Shown::Delayed,
        Some("too_old") => Shown::TooOld,
        Some("announced") => Shown::Announcing,
        Some("baseline") => Shown::Baseline,
        // Recorded by an older herald: decided without posts is a baseline.
        _ if issue.decided => Shown::Baseline,
        _ => Shown::Waiting,
    }
}

/// The reasons recorded for `issue`'s state (the guard's findings, what it waits for).
pub fn reasons(issue: &IssueRecord) -> Vec<String> {
    issue.reasons.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default()
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `t` in the site's time zone, with its offset: `2026-08-19T14:00:00-04:00`.
pub fn local(t: DateTime<Utc>, tz: &Zone) -> String {
    tz.local(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn announce_command(issue: &IssueRecord) -> Option<String> {
    issue.number.map(|n| format!("herald announce --issue {n}"))
}

/// `issue`'s outbox rows.
pub fn rows_of<'a>(view: &'a StatusView, issue: &IssueRecord) -> Vec<&'a OutboxRow> {
    view.rows.iter().filter(|r| r.issue_key == issue.key).collect()
}

/// The text form. Without `all`, only the newest baseline issues are listed.
pub fn render_text(view: &StatusView, all: bool) -> String {
    let at = |t: DateTime<Utc>| local(t, &view.timezone);
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    match &view.last_scan {
        Some((t, None)) => line(format!("last scan: {} ok", at(*t))),
        Some((t, Some(e))) => line(format!("last cycle failed at {}: {e}", at(*t))),
        None => line("last scan: never".into()),
    }
    match (&view.service, view.next_scan) {
        (Some(_), Some(t)) if view.overdue() => line(format!(
            "PROBLEM: the service runs but has recorded no cycle since one was due at {}: its \
             cycles are failing where the state cannot record it (a full disk? a state it \
             cannot write?); see its log (`journalctl -u herald`) or /healthz",
            at(t)
        )),
        (Some(_), Some(t)) => line(format!("next scan: {} at the latest", at(t))),
        (Some(holder), None) => line(format!("service: running ({holder})")),
        (None, _) => line("service: not running on this state".into()),
    }
    for p in &view.problems {
        line(format!("archive problem: {p}"));
    }
    for f in &view.failing_channels {
        let (channel, attempts, error, unsent) = (&f.channel, f.attempts, &f.last_error, f.unsent);
        let what = match channel.strip_prefix("websub ") {
            Some(hub) => format!(
                "WebSub hub {hub} fails: {unsent} pings unsent after {attempts} attempts (retried with backoff); last: {error}"
            ),
            None => format!(
                "notification channel {channel:?} fails: {unsent} notices unsent after {attempts} attempts (retried with backoff); last: {error}; `herald notify --test` tries it now"
            ),
        };
        line(format!("PROBLEM: {what}"));
    }
    if view.issues.is_empty() {
        line("no issue recorded yet".into());
    }
    let mut baseline_shown = 0;
    let mut baseline_hidden = 0;
    for issue in &view.issues {
        let rows = rows_of(view, issue);
        let state = shown(issue, &rows);
        if state == Shown::Baseline && !all {
            if baseline_shown == BASELINE_SHOWN {
                baseline_hidden += 1;
                continue;
            }
            baseline_shown += 1;
        }
        let number = issue.number.map_or("#?".into(), |n| format!("#{n}"));
        let date = issue
            .date
            .map_or("undated".into(), |d| view.timezone.local(d).format("%Y-%m-%d").to_string());
        let what = state_text(issue, state, &view.timezone);
        let gone = if issue.present { "" } else { " (no longer in the archive)" };
        line(format!("{number} {} — {date} — {what}{gone}", issue.title));
        for reason in reasons(issue) {
            line(format!("    {reason}"));
        }
        let findings = state == Shown::Waiting && reasons(issue).len() > 1;
        if findings || matches!(state, Shown::Held | Shown::Delayed | Shown::Failed | Shown::TooOld)
        {
            line(format!("    file: {}", issue.source));
        }
        let stuck = view.stuck();
        for r in rows {
            let text = match stuck.iter().find(|(s, _)| s.id == r.id) {
                Some((_, what)) => what.clone(),
                None => row_text(r, issue, &view.timezone),
            };
            line(format!("    {} ({}): {text}", r.account, r.platform));
        }
    }
    if baseline_hidden > 0 {
        let issues = if baseline_hidden == 1 { "issue" } else { "issues" };
        line(format!(
            "… and {baseline_hidden} older {issues} recorded as baseline (`herald status --all` lists them)"
        ));
    }
    out
}

/// `issue`'s state in words: since and until when, what to run where it waits for the operator.
pub fn state_text(issue: &IssueRecord, state: Shown, tz: &Zone) -> String {
    let at = |t: DateTime<Utc>| local(t, tz);
    let since = issue.since.map(|t| format!(" since {}", at(t))).unwrap_or_default();
    match state {
        Shown::Baseline => "baseline: present at the first start, not announced".to_string(),
        Shown::Waiting => match issue.until {
            Some(t) => format!("waiting until {}", at(t)),
            None => "waiting for the next cycle".to_string(),
        },
        Shown::Held => format!("held{since} until fixed"),
        Shown::Delayed => format!(
            "delayed{since}: announced at {} unless the placeholders are fixed first",
            issue.until.map_or("the end of the grace period".into(), at)
        ),
        Shown::TooOld => format!(
            "too old to announce automatically (first seen {}){}",
            issue.first_seen.map_or("?".into(), at),
            announce_command(issue).map(|c| format!("; `{c}` posts it")).unwrap_or_default()
        ),
        Shown::Announcing => "announcing".to_string(),
        Shown::Announced => "announced".to_string(),
        Shown::Failed => "FAILED".to_string(),
    }
}

/// What a row's state is, in a sentence, with what to do where something is wrong.
pub fn row_text(r: &OutboxRow, issue: &IssueRecord, tz: &Zone) -> String {
    let at = |t: DateTime<Utc>| local(t, tz);
    match r.status {
        RowStatus::Posted => {
            let link = r.remote.as_ref().map(|p| p.link().to_string());
            let when = r.posted_at.map(at).unwrap_or_default();
            // A note on a posted row: an edit that was refused.
            let note = r.last_error.as_deref().map(|e| format!("; {e}")).unwrap_or_default();
            let check = r
                .verify_at
                .map(|t| format!("; checking for a late duplicate at {}", at(t)))
                .unwrap_or_default();
            let when = if r.found {
                format!("found on the platform at {when} (its reply had not come back)")
            } else {
                format!("at {when}")
            };
            format!("posted {} {when}{note}{check}", link.unwrap_or_default())
        }
        RowStatus::Sending => {
            let by = r.claimed_by.as_deref().unwrap_or("a herald from before leases");
            let until = r.lease_until.map_or("now".to_string(), at);
            format!(
                "being sent by {by} (attempt {}); if that process is gone, looked for on the platform after {until}",
                r.attempts
            )
        }
        RowStatus::Pending => {
            let next = r.next_attempt_at.map_or("now".to_string(), at);
            let why = r.last_error.as_deref().map(|e| format!(" after: {e}")).unwrap_or_default();
            format!("pending (attempt {}, next {next}){why}", r.attempts + 1)
        }
        RowStatus::Held => format!("held: {}", r.last_error.as_deref().unwrap_or("")),
        RowStatus::Failed => {
            let error = r.last_error.as_deref().unwrap_or("");
            let fix = match announce_command(issue) {
                Some(c) if !error.contains("herald announce") => {
                    format!(" — fix the cause, then `{c} --account {}` tries again", r.account)
                }
                _ => String::new(),
            };
            format!("FAILED: {error}{fix}")
        }
    }
}

/// The JSON form: structured fields, `null` where a value is absent.
pub fn render_json(view: &StatusView) -> Value {
    let t = |x: Option<DateTime<Utc>>| x.map(at);
    let issues: Vec<Value> = view
        .issues
        .iter()
        .map(|issue| {
            let rows = rows_of(view, issue);
            let state = shown(issue, &rows);
            json!({
                "number": issue.number,
                "title": issue.title,
                "date": t(issue.date),
                "url": issue.key,
                "file": issue.source,
                "in_archive": issue.present,
                "state": state,
                "since": t(issue.since),
                "until": t(issue.until),
                "first_seen": t(issue.first_seen),
                "reasons": reasons(issue),
                "announce_command": if state == Shown::TooOld { announce_command(issue) } else { None },
                "accounts": rows.iter().map(|r| row_json(r)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "scans": {
            "last": view.last_scan.as_ref().map(|(at_, error)| json!({
                "at": at(*at_), "ok": error.is_none(), "error": error,
            })),
            "next": if view.service.is_some() { t(view.next_scan) } else { None },
            "service": view.service,
            "overdue": view.overdue(),
        },
        "archive_problems": view.problems,
        "failing_channels": view.failing_channels.iter().map(|f| json!({
            "channel": f.channel, "attempts": f.attempts, "last_error": f.last_error, "unsent": f.unsent,
        })).collect::<Vec<_>>(),
        "outbox_problems": view.stuck().iter().map(|(r, what)| json!({
            "issue": r.issue_key, "account": r.account, "generation": r.generation,
            "kind": if r.ambiguous.is_some() { "ambiguous" } else { "undeliverable" },
            "what_to_do": what,
        })).collect::<Vec<_>>(),
        "issues": issues,
        "outbox": view.rows.iter().map(row_json).collect::<Vec<_>>(),
    })
}

fn row_json(r: &OutboxRow) -> Value {
    let t = |x: Option<DateTime<Utc>>| x.map(at);
    json!({
        "issue": r.issue_key,
        "account": r.account,
        "platform": r.platform,
        "generation": r.generation,
        "status": r.status,
        "attempts": r.attempts,
        "error": r.last_error,
        "next_attempt_at": t(r.next_attempt_at),
        "posted_at": t(r.posted_at),
        "found_later": r.found,
        "link": r.remote.as_ref().and_then(|p| p.url.clone()),
        "remote_id": r.remote.as_ref().map(|p| p.id.clone()),
        "claimed_by": r.claimed_by,
        "lease_until": t(r.lease_until),
        "check_duplicates_at": t(r.verify_at),
        "ambiguous": r.ambiguous,
    })
}

#[cfg(test)]
pub(crate) mod tests;
