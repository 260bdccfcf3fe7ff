//! `herald status`: every known issue's announcement per account — posted (link, time),
//! pending (next attempt), held (reason), failed (the server's message).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::state::{Db, RowStatus};

/// Runs `herald status`, writing to `out`.
pub fn run(
    config_path: &Path,
    args: &StatusArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let config = Config::from_file(config_path)?;
    if !config.state_path.exists() {
        writeln!(out, "no state yet at {} (nothing announced)", config.state_path.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let db = Db::open(&config.state_path)?;
    let rows = db.rows()?;
    let last_scan = db.meta("last_scan")?.unwrap_or_default();
    let next_scan = db.meta("next_scan")?.unwrap_or_default();
    let problems = db.meta("archive_problems")?.unwrap_or_default();
    if args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "issue": r.issue_key,
                    "account": r.account,
                    "platform": r.platform,
                    "generation": r.generation,
                    "status": r.status,
                    "attempts": r.attempts,
                    "error": r.last_error,
                    "next_attempt_at": r.next_attempt_at.map(|t| t.to_rfc3339()),
                    "posted_at": r.posted_at.map(|t| t.to_rfc3339()),
                    "remote": r.remote,
                    "claimed_by": r.claimed_by,
                    "lease_until": r.lease_until.map(|t| t.to_rfc3339()),
                    "check_duplicates_at": r.verify_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect();
        let scans = json!({ "last": last_scan, "next": next_scan });
        let problems: Vec<&str> = problems.lines().collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &json!({ "scans": scans, "archive_problems": problems, "outbox": list })
            )?
        )?;
    } else {
        writeln!(out, "last scan: {}", if last_scan.is_empty() { "never" } else { &last_scan })?;
        if !next_scan.is_empty() {
            writeln!(out, "next scheduled scan: {next_scan}")?;
        }
        for problem in problems.lines() {
            writeln!(out, "archive problem: {problem}")?;
        }
        if rows.is_empty() {
            writeln!(out, "nothing announced yet")?;
        }
        let mut last_issue = None;
        for r in &rows {
            if last_issue != Some(&r.issue_key) {
                writeln!(out, "{}", r.issue_key)?;
                last_issue = Some(&r.issue_key);
            }
            let what = match r.status {
                RowStatus::Posted => {
                    let link =
                        r.remote.as_ref().map(|p| p.url.clone().unwrap_or_else(|| p.id.clone()));
                    let at = r.posted_at.map(|t| t.to_rfc3339()).unwrap_or_default();
                    // A note on a posted row: an edit that was refused.
                    let note =
                        r.last_error.as_deref().map(|e| format!("; {e}")).unwrap_or_default();
                    let check = r
                        .verify_at
                        .map(|t| format!("; checking for a late duplicate at {}", t.to_rfc3339()))
                        .unwrap_or_default();
                    format!("posted {} at {at}{note}{check}", link.unwrap_or_default())
                }
                RowStatus::Sending => {
                    let by = r.claimed_by.as_deref().unwrap_or("a herald from before leases");
                    let until = r.lease_until.map_or("now".to_string(), |t| t.to_rfc3339());
                    format!(
                        "being sent by {by} (attempt {}); if that process is gone, looked for on the platform after {until}",
                        r.attempts
                    )
                }
                RowStatus::Pending => {
                    let next = r.next_attempt_at.map_or("now".to_string(), |t| t.to_rfc3339());
                    let why =
                        r.last_error.as_deref().map(|e| format!(" after: {e}")).unwrap_or_default();
                    format!("pending (attempt {}, next {next}){why}", r.attempts + 1)
                }
                RowStatus::Held => format!("held: {}", r.last_error.as_deref().unwrap_or("")),
                RowStatus::Failed => format!("FAILED: {}", r.last_error.as_deref().unwrap_or("")),
            };
            writeln!(out, "  {} ({}): {what}", r.account, r.platform)?;
        }
    }
    let failed = rows.iter().any(|r| r.status == RowStatus::Failed);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
