//! `herald run`: the long-running service. Cycles run at start, after each settled burst of
//! file changes, on the cron `rescan` schedule (a backstop for missed events and file systems
//! without inotify), when a waiting issue's settle time or a retry comes due, and on SIGHUP
//! (a [`Control::Reload`], which also reloads the configuration). systemd is told READY=1 after
//! the first cycle, STATUS= after each, and WATCHDOG=1 when the unit sets `WatchdogSec`.
//! [`Control::Stop`] ends the service between cycles; a post in flight is recorded or left to
//! the outbox's recovery. The caller turns signals into [`Control`]s (`herald run`: SIGHUP,
//! SIGTERM and SIGINT), so the service can also be driven in-process.
//!
//! One service per state database: it holds the [`StateLock`] for its whole life, and stops
//! (exit status [`STATE_GONE_EXIT`]) if the database file is deleted or replaced under it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sd_notify::NotifyState;
use tokio::sync::mpsc::UnboundedReceiver;

use super::Settings;
use super::cycle::{CycleReport, CycleState, run_cycle};
use super::health::{self, PageSource, Telemetry};
use super::schedule::Decision;
use super::watch::ArchiveWatch;
use crate::announce::Outlet;
use crate::announce::deliver::Owner;
use crate::notify::sender;
use crate::state::{Db, StateLock};

/// What the service is told while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Read the configuration again and run a cycle (SIGHUP).
    Reload,
    /// Stop after the cycle in flight, if any (SIGTERM, SIGINT). A closed channel stops the
    /// service too.
    Stop,
}

/// Everything one configuration gives the service.
struct Loaded {
    config: Settings,
    db: Arc<Mutex<Db>>,
    outlets: Vec<Outlet>,
    owner: Owner,
}

/// What `config` gives the service: the state opened and the accounts' clients.
fn assemble(config: Settings) -> anyhow::Result<Loaded> {
    let db = Arc::new(Mutex::new(Db::open(&config.state_path)?));
    let timeout = config.announce.request_timeout;
    let outlets = Outlet::all(&config.accounts, &db, timeout)?;
    let owner = Owner::new("herald run", timeout);
    Ok(Loaded { config, db, outlets, owner })
}

/// The state database was deleted or replaced under the running service: it stops with
/// this error (exit status [`STATE_GONE_EXIT`]), which the unit does not restart, since a
/// restart would start a new state and take every issue for a baseline.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StateGone(pub anyhow::Error);

/// The CPU time this process has used (user and system, every thread).
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// How long a stop waits for the notices being sent (the unit's `TimeoutStopSec` is 15 s).
const NOTIFIER_GRACE: Duration = Duration::from_secs(8);

/// The exit status of [`StateGone`] (EX_CONFIG; the unit's `RestartPreventExitStatus`).
pub const STATE_GONE_EXIT: u8 = 78;

/// Under a constant stream of file events, a cycle still runs this long after the first
/// event of the burst, at the most.
fn debounce_ceiling(debounce: Duration) -> Duration {
    (debounce * 10).clamp(Duration::from_secs(1), Duration::from_secs(5))
}

/// Runs the service with `config` until told to stop through `control`; `reload` reads the
/// configuration again (on [`Control::Reload`]).
pub async fn serve(
    config: Settings,
    reload: impl Fn() -> anyhow::Result<Settings>,
    announce_latest: bool,
    mut control: UnboundedReceiver<Control>,
) -> anyhow::Result<()> {
    let lock = StateLock::acquire(&config.state_path)?;
    let mut loaded = assemble(config)?;
    match crate::feeds::write::remove_leftovers(&loaded.config.feeds.files.output) {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(count = n, dir = %loaded.config.feeds.files.output.display(), "removed temporary feed files left by an interrupted write")
        }
        Err(e) => tracing::warn!(cause = %e, "cannot look for leftover temporary feed files"),
    }
    log_start(&loaded.config);
    let (mut watch, mut events) = ArchiveWatch::start(&loaded.config.archive_dir)?;
    // A reload asked for during a cycle is made after it.
    let mut reload_asked = false;
    let watchdog = sd_notify::watchdog_enabled();
    let mut first = true;
    let mut cycle_state = CycleState::default();
    let telemetry = Arc::new(Telemetry::default());
    telemetry.set_page(PageSource::new(loaded.db.clone(), loaded.config.clone()));
    // Notices are sent beside the cycles, woken after each one that records some.
    let (wake, woken) = tokio::sync::watch::channel(0u64);
    let start_notifier = |loaded: &Loaded| {
        let (db, telemetry) = (loaded.db.clone(), telemetry.clone());
        // After each send, the health shows the channels failing now, not at the last cycle.
        let after_pass: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            let failing = Db::lock(&db).failing_channels(super::status::CHANNEL_FAILING_AFTER);
            telemetry.set_failing_channels(&failing.unwrap_or_default());
        });
        sender::Notifier::start(
            loaded.db.clone(),
            loaded.config.notify.clone(),
            loaded.config.feeds.files.websub_hubs.clone(),
            woken.clone(),
            after_pass,
        )
    };
    // No other process sends (the lock): what one that died had claimed is due now.
    if let Err(e) = Db::lock(&loaded.db).release_notices(Utc::now()) {
        tracing::error!(cause = %crate::report::describe(&e), "cannot look at the notices left unsent");
    }
    let mut notifier = start_notifier(&loaded);
    let mut server = match loaded.config.listen {
        Some(addr) => Some(listen(addr, &telemetry).await?),
        None => None,
    };
    // Without a watchdog, a tick that never comes.
    let ping_every = watchdog.map_or(Duration::from_secs(86_400 * 365), |w| w / 2);
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The state and its lock are looked at every second while waiting, and before each cycle.
    let mut state_checks = tokio::time::interval(Duration::from_secs(1));
    state_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let check_state = |loaded: &Loaded| -> anyhow::Result<()> {
        Db::lock(&loaded.db).check_file().map_err(StateGone)?;
        lock.check().map_err(StateGone)?;
        Ok(())
    };
    'service: loop {
        check_state(&loaded)?;
        let mut policy = loaded.config.policy.clone();
        policy.announce_latest_on_baseline = announce_latest && first;
        let now = Utc::now();
        let (started, cpu_before) = (std::time::Instant::now(), process_cpu());
        let cycle = run_cycle(
            &loaded.config,
            &loaded.db,
            &loaded.outlets,
            &policy,
            &mut cycle_state,
            &loaded.owner,
            now,
        );
        let Some(report) = unless_stopped(cycle, &mut control, &mut reload_asked, watchdog).await
        else {
            break;
        };
        match &report {
            Ok(r) => {
                let status = status_line(r);
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let cpu_ms = (process_cpu() - cpu_before).as_secs_f64() * 1000.0;
                tracing::info!(%status, ms = format!("{ms:.1}"), cpu_ms = format!("{cpu_ms:.1}"), "cycle done");
                let _ = sd_notify::notify(&[NotifyState::Status(&status)]);
            }
            Err(e) => {
                tracing::error!(cause = %crate::report::describe_any(e), "cycle failed; feeds and state keep their last good state");
                let _ = sd_notify::notify(&[NotifyState::Status(&format!(
                    "last cycle failed: {}",
                    crate::report::describe_any(e)
                ))]);
            }
        }
        release_free_memory();
        if first {
            let _ = sd_notify::notify(&[NotifyState::Ready]);
            first = false;
        }
        let wake_at = next_wake(&loaded, report.as_ref().ok(), now, watchdog);
        record_scan(&loaded.db, now, report.as_ref(), Some(wake_at));
        match super::tell::record(&loaded.db, &loaded.config, report.as_ref(), now) {
            Ok(0) => {}
            Ok(_) => wake.send_modify(|n| *n += 1),
            Err(e) => {
                tracing::error!(cause = %crate::report::describe_any(&e), "notices not recorded; the next cycle records them")
            }
        }
        telemetry.record(now, report.as_ref(), wake_at);
        {
            let accounts: Vec<String> =
                loaded.config.accounts.iter().map(|a| a.name().to_string()).collect();
            telemetry.refresh_state(&Db::lock(&loaded.db), &accounts);
        }
        if watchdog.is_some() {
            let _ = sd_notify::notify(&[NotifyState::Watchdog]);
        }
        // Wait for the next cycle. Signals and watchdog pings are served all along, also
        // during a burst of file events: a burst ends when it has been quiet for `debounce`,
        // or at the latest `debounce_ceiling` after it began (a file that never stops
        // changing does not hold the cycles back).
        let debounce = loaded.config.debounce;
        let ceiling = debounce_ceiling(debounce);
        let planned =
            tokio::time::Instant::now() + (wake_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        let mut burst: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
        loop {
            if std::mem::take(&mut reload_asked) {
                let _ = sd_notify::notify(&[NotifyState::Reloading]);
                match reload().and_then(assemble) {
                    Ok(new) if new.config.state_path != loaded.config.state_path => {
                        tracing::error!(
                            "configuration not reloaded: state.path changed ({} → {}); restart herald to use another state database",
                            loaded.config.state_path.display(),
                            new.config.state_path.display()
                        );
                    }
                    Ok(new) => {
                        tracing::info!("configuration reloaded");
                        if new.config.listen != server.as_ref().map(|(addr, _)| *addr) {
                            server = relisten(server, new.config.listen, &telemetry).await;
                        }
                        loaded = new;
                        telemetry
                            .set_page(PageSource::new(loaded.db.clone(), loaded.config.clone()));
                        // The old notifier finishes its sends in the background; the
                        // claims keep the new one from sending the same.
                        std::mem::replace(&mut notifier, start_notifier(&loaded))
                            .retire(NOTIFIER_GRACE);
                        cycle_state = CycleState::default();
                        match ArchiveWatch::start(&loaded.config.archive_dir) {
                            Ok((w, e)) => (watch, events) = (w, e),
                            Err(e) => {
                                tracing::error!(cause = %e, "cannot watch the archive; rescans only")
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(cause = %crate::report::describe_any(&e), "configuration not reloaded; keeping the old one")
                    }
                }
                let _ = sd_notify::notify(&[NotifyState::Ready]);
                break;
            }
            let deadline = match burst {
                Some((began, last)) => (last + debounce).min(began + ceiling),
                None => planned,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    if burst.is_some() {
                        watch.rewatch();
                    }
                    break;
                }
                Some(()) = events.recv() => {
                    let at = tokio::time::Instant::now();
                    burst = Some((burst.map_or(at, |(began, _)| began), at));
                }
                _ = pings.tick() => {
                    if watchdog.is_some() {
                        let _ = sd_notify::notify(&[NotifyState::Watchdog]);
                    }
                }
                _ = state_checks.tick() => check_state(&loaded)?,
                asked = control.recv() => match asked {
                    Some(Control::Reload) => reload_asked = true,
                    Some(Control::Stop) | None => break 'service,
                },
            }
        }
    }
    if let Some((_, task)) = server {
        task.abort();
    }
    // A notice being sent is let finish (within the unit's stop timeout); one cut short is
    // sent again at the next start.
    notifier.stop(NOTIFIER_GRACE).await;
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
    tracing::info!("stopped");
    Ok(())
}

/// One line saying what this service is set up to do.
fn log_start(config: &Settings) {
    let accounts: Vec<String> =
        config.accounts.iter().map(|a| format!("{} ({})", a.name(), a.kind())).collect();
    tracing::info!(
        config = %config.source.as_deref().map_or("(none)".into(), |p| p.display().to_string()),
        archive = %config.archive_dir.display(),
        feeds = %config.feeds.files.output.display(),
        state = %config.state_path.display(),
        accounts = %accounts.join(", "),
        settle = %humantime::format_duration(config.policy.settle),
        rescan = %config.rescan.source(),
        listen = %config.listen.map_or("off".to_string(), |a| a.to_string()),
        "herald {} starting",
        env!("CARGO_PKG_VERSION")
    );
}

/// The health server: the address asked for (not the bound one, which differs for port 0)
/// and its task.
type Server = (SocketAddr, tokio::task::JoinHandle<()>);

async fn listen(addr: SocketAddr, telemetry: &Arc<Telemetry>) -> anyhow::Result<Server> {
    let (bound, task) = health::serve(addr, telemetry.clone()).await?;
    tracing::info!(address = %bound, "health on http://{bound}/healthz, metrics on http://{bound}/metrics");
    Ok((addr, task))
}

/// After a reload that changed `daemon.listen`: the new server replaces the old one, or the
/// old one stays when the new address cannot be bound.
async fn relisten(
    old: Option<Server>,
    addr: Option<SocketAddr>,
    telemetry: &Arc<Telemetry>,
) -> Option<Server> {
    let Some(addr) = addr else {
        if let Some((_, task)) = old {
            task.abort();
        }
        return None;
    };
    // Stop the old server first: the new address may be the same port on another interface.
    let old_addr = old.map(|(a, task)| {
        task.abort();
        a
    });
    match listen(addr, telemetry).await {
        Ok(server) => Some(server),
        Err(e) => {
            tracing::error!(cause = %crate::report::describe_any(&e), "keeping the previous health address");
            match old_addr {
                Some(a) => listen(a, telemetry).await.ok(),
                None => None,
            }
        }
    }
}

/// Hands the memory a cycle freed back to the system: the service idles between cycles,
/// and glibc keeps freed blocks (in every scan thread's arena) otherwise.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How long a cycle in flight may go on after SIGTERM: well inside systemd's and the
/// issue's 10 s, and longer than a post normally takes.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs `cycle` to its end, or, when told to stop, for at most [`STOP_GRACE`] more and
/// returns `None`. A reload asked for meanwhile is noted in `reload_asked`. Dropping an unfinished cycle is safe: a post in flight leaves its row
/// `sending`, and the next start looks for the post on the platform before sending again.
///
/// While the cycle waits (on a slow server, say), systemd's watchdog is still fed every half
/// `watchdog` interval: a cycle may legitimately outlast `WatchdogSec` through timeouts and
/// retries, whereas a service stuck in a deadlock feeds nothing and is restarted.
async fn unless_stopped<T>(
    cycle: impl Future<Output = T>,
    control: &mut UnboundedReceiver<Control>,
    reload_asked: &mut bool,
    watchdog: Option<Duration>,
) -> Option<T> {
    tokio::pin!(cycle);
    // Without a watchdog, a tick that never comes.
    let period = watchdog.map_or(Duration::from_secs(86_400 * 365), |w| w / 2);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            done = &mut cycle => return Some(done),
            asked = control.recv() => match asked {
                Some(Control::Reload) => *reload_asked = true,
                Some(Control::Stop) | None => break,
            },
            _ = ticks.tick() => {
                if watchdog.is_some() {
                    let _ = sd_notify::notify(&[NotifyState::Watchdog]);
                }
            }
        }
    }
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
    tracing::info!(
        "stopping: letting the cycle in flight finish (at most {} s)",
        STOP_GRACE.as_secs()
    );
    if tokio::time::timeout(STOP_GRACE, &mut cycle).await.is_err() {
        tracing::warn!("cycle interrupted; a post in flight is left to recovery on the next start");
    }
    None
}

/// When to run the next cycle without a file event: the next rescan, the first settle time
/// or retry that comes due, and at least every half watchdog interval.
fn next_wake(
    loaded: &Loaded,
    report: Option<&CycleReport>,
    now: DateTime<Utc>,
    watchdog: Option<Duration>,
) -> DateTime<Utc> {
    let mut wake =
        loaded.config.rescan.after(&now).next().unwrap_or(now + chrono::Duration::minutes(15));
    if let Some(r) = report {
        if r.more_due {
            // The per-cycle cap left issues due: go on after a short pause, not at the rescan.
            wake = wake.min(now + chrono::Duration::seconds(1));
        }
        for (_, d) in &r.decisions {
            if let Decision::WaitUntil(t) = d {
                wake = wake.min(*t);
            }
        }
        if let Some(t) = r.edit_due {
            wake = wake.min(t);
        }
    }
    let accounts: Vec<String> =
        loaded.config.accounts.iter().map(|a| a.name().to_string()).collect();
    if let Ok(Some(t)) = Db::lock(&loaded.db).next_attempt_time(&accounts) {
        wake = wake.min(t);
    }
    if let Some(w) = watchdog {
        wake = wake.min(now + chrono::Duration::from_std(w / 2).unwrap_or_default());
    }
    wake.max(now + chrono::Duration::milliseconds(100))
}

/// Notes the scan in the state for `herald status`: when, whether it worked, when the next is.
pub fn record_scan(
    db: &Mutex<Db>,
    at: DateTime<Utc>,
    report: Result<&CycleReport, &anyhow::Error>,
    next: Option<DateTime<Utc>>,
) {
    let db = Db::lock(db);
    let outcome = match report {
        Ok(r) => match &r.feeds_error {
            Some(e) => format!("ok, but the feeds were not written: {e}"),
            None => "ok".to_string(),
        },
        Err(e) => format!("failed: {}", crate::report::describe_any(e)),
    };
    // One transaction: the scan's outcome, the archive's problems (files claiming the same
    // issue, files that cannot be read: a typo in a header must not go unseen), the next scan.
    let _ = db.batch(|db| {
        if let Ok(r) = report {
            let mut problems = r.duplicates.clone();
            problems.extend(r.skipped.iter().map(|e| format!("not read, so not announced: {e}")));
            let shown = problems.len().min(MAX_PROBLEMS_SHOWN);
            let mut text = problems[..shown].join("\n");
            if problems.len() > shown {
                text.push_str(&format!("\n… and {} more (see the log)", problems.len() - shown));
            }
            db.set_meta("archive_problems", &text)?;
        }
        db.set_meta("last_scan", &format!("{} {outcome}", at.to_rfc3339()))?;
        db.set_meta("next_scan", &next.map(|t| t.to_rfc3339()).unwrap_or_default())
    });
}

/// At most this many archive problems are kept for `status` and the page.
const MAX_PROBLEMS_SHOWN: usize = 50;

fn status_line(r: &CycleReport) -> String {
    let waiting = r.decisions.iter().filter(|(_, d)| matches!(d, Decision::WaitUntil(_))).count();
    format!(
        "{} articles, {} skipped; feeds {} written; {} waiting, {} held; {} deliveries",
        r.articles,
        r.skipped.len(),
        r.feeds_written,
        waiting,
        r.held.len(),
        r.deliveries.len()
    )
}
