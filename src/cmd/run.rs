//! `herald run --once`: one service cycle — scan, feeds, due announcements, outbox — then exit.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use crate::announce::deliver::Delivery;
use crate::announce::queue::sender_for;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::daemon::cycle::{Outlet, run_cycle};
use crate::daemon::schedule::Decision;
use crate::state::Db;

/// Runs `herald run`.
pub fn run(config_path: &Path, args: &RunArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if !args.once {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(crate::daemon::service::serve(
            config_path.to_path_buf(),
            args.announce_latest,
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::from_file(config_path)?;
    let db = Arc::new(Mutex::new(Db::open(&config.state_path)?));
    let outlets = config
        .accounts
        .iter()
        .map(|account| Ok(Outlet { account: account.clone(), sender: sender_for(account, &db)? }))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut policy = config.policy.clone();
    policy.announce_latest_on_baseline = args.announce_latest;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut cache = crate::archive::scan::ScanCache::default();
    let now = Utc::now();
    let report = runtime.block_on(run_cycle(&config, &db, &outlets, &policy, &mut cache, now));
    crate::daemon::service::record_scan(&db, now, report.as_ref().err(), None);
    let report = report?;

    writeln!(
        out,
        "{} articles ({} skipped); feeds: {} written, {} unchanged",
        report.articles,
        report.skipped.len(),
        report.feeds_written,
        report.feeds_unchanged
    )?;
    for (key, decision) in &report.decisions {
        let what = match decision {
            Decision::Baseline => "recorded (baseline: not announced)".to_string(),
            Decision::TooOld => "recorded (too old to announce)".to_string(),
            Decision::Announce => "announcing".to_string(),
            Decision::WaitUntil(t) => format!("waiting until {t}"),
            Decision::NextCycle => "next cycle (per-cycle limit)".to_string(),
            Decision::Known => continue,
        };
        writeln!(out, "{key}: {what}")?;
    }
    for (key, reason) in &report.held {
        writeln!(out, "{key}: held: {reason}")?;
    }
    let mut failed = false;
    for (account, key, delivery) in &report.deliveries {
        let what = match delivery {
            Delivery::Posted(p) | Delivery::Found(p) => {
                format!("posted {}", p.url.clone().unwrap_or(p.id.clone()))
            }
            Delivery::Retry { at, error } => format!("not posted yet ({error}); next try at {at}"),
            Delivery::Failed(e) => {
                failed = true;
                format!("failed: {e}")
            }
            Delivery::NotDue(s) => format!("{s:?}"),
        };
        writeln!(out, "{account} {key}: {what}")?;
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
