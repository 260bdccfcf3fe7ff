//! `herald run --once`: one service cycle — scan, feeds, due announcements, outbox — then exit.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use crate::announce::Outlet;
use crate::announce::deliver::{Delivery, Owner};
use crate::cli::RunArgs;
use crate::daemon::cycle::{CycleState, run_cycle};
use crate::daemon::schedule::Decision;
use crate::daemon::service::{Control, STATE_GONE_EXIT, StateGone};
use crate::state::{Db, StateLock};

/// The service runs for months, and glibc's allocator is tuned for programs that do not:
/// - it raises its mmap threshold to the largest block freed so far; from then on large
///   passing blocks (a first cycle over a big archive) come from the heap, and what they leave
///   behind stays resident. A fixed threshold gives them back when freed (measured on 20,000
///   articles: idle RSS 46 → 39 MB);
/// - it gives each thread that finds the heap busy an arena of its own, which keeps what it
///   once held. The service's threads (file reads in parallel, blocking tasks, the watcher)
///   allocate little, and one arena serves them (measured on TWiR's archive: two arenas
///   held 1.1 MB at idle).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Runs `herald run`.
pub fn run(config_path: &Path, args: &RunArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if !args.once {
        tune_allocator();
        let config = crate::config::load(config_path)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let served = runtime.block_on(async {
            let control = forward_signals()?;
            let reload = || crate::config::load(config_path);
            crate::daemon::service::serve(config, reload, args.announce_latest, control).await
        });
        return match served {
            Err(e) if e.is::<StateGone>() => {
                tracing::error!(cause = %crate::report::describe_any(&e), "stopped");
                eprintln!("error: {}", crate::report::describe_any(&e));
                Ok(ExitCode::from(STATE_GONE_EXIT))
            }
            other => other.map(|()| ExitCode::SUCCESS),
        };
    }
    let config = crate::config::load(config_path)?;
    let _lock = StateLock::acquire(&config.state_path)?;
    let db = Arc::new(Mutex::new(Db::open(&config.state_path)?));
    let timeout = config.announce.request_timeout;
    let outlets = Outlet::all(&config.accounts, &db, timeout)?;
    let owner = Owner::new("herald run --once", timeout);
    let mut policy = config.policy.clone();
    policy.announce_latest_on_baseline = args.announce_latest;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut state = CycleState::default();
    let now = Utc::now();
    let report =
        runtime.block_on(run_cycle(&config, &db, &outlets, &policy, &mut state, &owner, now));
    crate::daemon::service::record_scan(&db, now, report.as_ref(), None);
    // The notices this cycle calls for, and one try at every due one (a failed one is
    // retried by the next run).
    if let Err(e) = crate::daemon::tell::record(&db, &config, report.as_ref(), now) {
        tracing::error!(cause = %crate::report::describe_any(&e), "notices not recorded; the next run records them");
    }
    let hubs = &config.feeds.files.websub_hubs;
    let _ = Db::lock(&db).release_notices(now);
    match runtime.block_on(crate::notify::sender::send_due(&db, &config.notify, hubs)) {
        Ok(pass) if pass.failed > 0 => {
            tracing::warn!(
                sent = pass.sent,
                failed = pass.failed,
                "some notices were not sent; the next run tries them again"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::error!(cause = %crate::report::describe_any(&e), "notices not sent"),
    }
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
    if let Some(error) = &report.feeds_error {
        writeln!(out, "feeds not written: {error}")?;
    }
    let mut failed = false;
    for (account, key, delivery) in &report.deliveries {
        let what = match delivery {
            Delivery::Posted(p) | Delivery::Found(p) => {
                format!("posted {}", p.link())
            }
            Delivery::Retry { at, error } => format!(
                "not posted yet ({error}); next try at {}",
                crate::announce::deliver::secs(*at)
            ),
            Delivery::Failed(e) => {
                failed = true;
                format!("failed: {e}")
            }
            Delivery::Claimed { by, until } => format!("being sent by {by} (until {until})"),
            Delivery::Ambiguous(why) => {
                failed = true;
                format!("not sent: {why}; `herald status` says how to settle it")
            }
            Delivery::Lost { by } => format!(
                "left to {} (this process's claim ran out)",
                by.as_deref().unwrap_or("another process")
            ),
            Delivery::NotDue(s) => format!("{s:?}"),
        };
        writeln!(out, "{account} {key}: {what}")?;
    }
    for (account, key, error) in &report.failed {
        if !report.deliveries.iter().any(|(a, k, _)| a == account && k == key) {
            failed = true;
            writeln!(out, "{account} {key}: failed: {error}")?;
        }
    }
    Ok(if failed || report.feeds_error.is_some() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The service's controls from this process's signals: SIGHUP reloads, SIGTERM and SIGINT
/// stop. The handlers are installed before the service starts, so a signal during the first
/// cycle is not lost.
fn forward_signals() -> anyhow::Result<tokio::sync::mpsc::UnboundedReceiver<Control>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int, mut hup) = (
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
        signal(SignalKind::hangup())?,
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let control = tokio::select! {
                _ = term.recv() => Control::Stop,
                _ = int.recv() => Control::Stop,
                _ = hup.recv() => Control::Reload,
            };
            if tx.send(control).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}
