//! `[daemon] listen`: `/healthz`, `/metrics`, and the status page (`/`, with `/status.json`
//! and the card's image at `/card-image`) over HTTP. Every route only reads.
//!
//! `/healthz` answers 200 while the last cycle succeeded and the next one is not overdue
//! (its planned time plus [`OVERDUE_GRACE`]), else 503 with the reason — so a wedged service
//! is as unhealthy as a failing one. `/metrics` is the Prometheus/OpenMetrics text of the
//! [`Telemetry`], which the service updates after each cycle; a scrape never touches the state.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};
use std::sync::atomic::AtomicU64;

use super::Settings;
use super::cycle::CycleReport;
use super::page::Previews;
use crate::announce::deliver::Delivery;
use crate::state::{Db, RowStatus};

/// How late a planned cycle may be before `/healthz` says so: a cycle that posts may take a
/// minute or two (timeouts, retries within it).
pub const OVERDUE_GRACE: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountState {
    account: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountResult {
    account: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    result: String,
}

/// What the last cycle left for `/healthz`.
#[derive(Debug, Default)]
struct Health {
    /// When the last cycle ran, and its error if it failed.
    last: Option<(DateTime<Utc>, Option<String>)>,
    /// When the next cycle is planned at the latest.
    next: Option<DateTime<Utc>>,
    /// The parts the last cycle could not do (feeds, announcements), with why.
    degraded: Vec<String>,
    /// Notification channels that keep failing, described.
    channels: Vec<String>,
}

/// What the status page is made from: the service's state and configuration.
pub struct PageSource {
    db: Arc<Mutex<Db>>,
    config: Settings,
    previews: Previews,
}

impl PageSource {
    /// The page of the state in `db`, under `config`.
    pub fn new(db: Arc<Mutex<Db>>, config: Settings) -> Self {
        Self { db, config, previews: Previews::default() }
    }

    fn view(&self) -> anyhow::Result<super::status::StatusView> {
        super::status::look(&Db::lock(&self.db), &self.config)
    }

    /// The status page, as HTML.
    pub fn html(&self) -> anyhow::Result<String> {
        let view = self.view()?;
        let posts = self.previews.for_view(&view, &self.config);
        Ok(super::page::render(&view, &posts, &self.config))
    }

    /// `status --json`'s document.
    pub fn json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(&super::status::render_json(&self.view()?))?)
    }

    /// The Bluesky card's image, as posted: its type and bytes.
    pub fn card_image(&self) -> Option<(String, Vec<u8>)> {
        let path = self.config.announce.bluesky.card_image.as_deref()?;
        let thumb = crate::announce::thumb::prepare_thumbnail(path).ok()?;
        Some((thumb.mime, thumb.bytes))
    }
}

/// The service's metrics and health, shared with the HTTP server.
pub struct Telemetry {
    registry: Registry,
    page: Mutex<Option<Arc<PageSource>>>,
    health: Mutex<Health>,
    issues_known: Gauge,
    articles: Gauge,
    articles_skipped: Gauge,
    outbox_rows: Family<AccountState, Gauge>,
    deliveries: Family<AccountResult, Counter>,
    cycles: Family<Outcome, Counter>,
    last_scan: Gauge<f64, AtomicU64>,
    last_success: Gauge<f64, AtomicU64>,
    feed_writes: Counter,
    feed_seconds: Histogram,
}

impl Default for Telemetry {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let r = &mut registry;
        Telemetry {
            issues_known: registered(
                r,
                "issues_known",
                "Issues in the state (announced, baseline, waiting)",
                Gauge::default(),
            ),
            articles: registered(r, "articles", "Articles read by the last scan", Gauge::default()),
            articles_skipped: registered(
                r,
                "articles_skipped",
                "Article files the last scan could not read",
                Gauge::default(),
            ),
            outbox_rows: registered(
                r,
                "outbox_rows",
                "Announcements by account and state (held, pending, sending, posted, failed)",
                Family::default(),
            ),
            deliveries: registered(
                r,
                "deliveries",
                "Delivery attempts since start by account and result (posted, found, retry, failed)",
                Family::default(),
            ),
            cycles: registered(
                r,
                "cycles",
                "Cycles since start by result (ok, failed)",
                Family::default(),
            ),
            last_scan: registered(
                r,
                "last_scan_timestamp_seconds",
                "When the last scan ran (Unix time)",
                Gauge::default(),
            ),
            last_success: registered(
                r,
                "last_success_timestamp_seconds",
                "When the last scan succeeded (Unix time)",
                Gauge::default(),
            ),
            feed_writes: registered(
                r,
                "feed_files_written",
                "Feed files written (changed) since start",
                Counter::default(),
            ),
            feed_seconds: registered(
                r,
                "feed_update_seconds",
                "Time to render and write the feeds, per cycle",
                // 1 ms to about 4 s.
                Histogram::new(exponential_buckets(0.001, 2.0, 13)),
            ),
            health: Mutex::default(),
            page: Mutex::default(),
            registry,
        }
    }
}

/// `metric`, registered in `registry` (which keeps a handle sharing its values).
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Telemetry {
    /// Records a cycle that ran at `at`, and when the next is planned.
    pub fn record(
        &self,
        at: DateTime<Utc>,
        report: Result<&CycleReport, &anyhow::Error>,
        next: DateTime<Utc>,
    ) {
        let stamp = at.timestamp_millis() as f64 / 1000.0;
        self.last_scan.set(stamp);
        let error = match report {
            Ok(r) => {
                self.cycles.get_or_create(&Outcome { result: "ok".into() }).inc();
                self.last_success.set(stamp);
                self.articles.set(r.articles as i64);
                self.articles_skipped.set(r.skipped.len() as i64);
                self.feed_writes.inc_by(r.feeds_written as u64);
                self.feed_seconds.observe(r.feeds_duration.as_secs_f64());
                for (account, _, delivery) in &r.deliveries {
                    let result = match delivery {
                        Delivery::Posted(_) => "posted",
                        Delivery::Found(_) => "found",
                        Delivery::Retry { .. } => "retry",
                        Delivery::Failed(_) => "failed",
                        Delivery::Ambiguous(_) => "ambiguous",
                        Delivery::NotDue(_) | Delivery::Claimed { .. } | Delivery::Lost { .. } => {
                            continue;
                        }
                    };
                    let labels = AccountResult { account: account.clone(), result: result.into() };
                    self.deliveries.get_or_create(&labels).inc();
                }
                None
            }
            Err(e) => {
                self.cycles.get_or_create(&Outcome { result: "failed".into() }).inc();
                Some(crate::report::describe_any(e))
            }
        };
        let degraded = match report {
            Ok(r) => {
                let mut parts = Vec::new();
                if let Some(e) = &r.feeds_error {
                    parts.push(format!("feeds: {e}"));
                }
                if let Some((account, issue, e)) = r.failed.first() {
                    let more = r.failed.len() - 1;
                    let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
                    parts.push(format!("announcements: {account} {issue}: {e}{more}"));
                }
                parts
            }
            Err(_) => Vec::new(),
        };
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let channels = std::mem::take(&mut health.channels);
        *health = Health { last: Some((at, error)), next: Some(next), degraded, channels };
    }

    /// Refreshes the state gauges: issues known and outbox rows for every configured
    /// account and state (zeros included, so a series does not vanish when it empties).
    pub fn refresh_state(&self, db: &Db, accounts: &[String]) {
        if let Ok(n) = db.issue_count() {
            self.issues_known.set(n as i64);
        }
        let Ok(counts) = db.row_counts() else { return };
        let mut names: Vec<&str> = accounts.iter().map(String::as_str).collect();
        names.extend(counts.iter().map(|(a, _, _)| a.as_str()));
        names.sort_unstable();
        names.dedup();
        for account in names {
            for state in RowStatus::ALL {
                let n = counts
                    .iter()
                    .find(|(a, s, _)| a == account && *s == state)
                    .map_or(0, |(_, _, n)| *n);
                let labels =
                    AccountState { account: account.to_string(), state: state.as_str().into() };
                self.outbox_rows.get_or_create(&labels).set(n as i64);
            }
        }
    }

    /// Records the notification channels that keep failing (after each cycle).
    pub fn set_failing_channels(&self, failing: &[crate::state::FailingChannel]) {
        let described = failing
            .iter()
            .map(|f| {
                format!(
                    "notify {}: {} unsent after {} attempts: {}",
                    f.channel, f.unsent, f.attempts, f.last_error
                )
            })
            .collect();
        self.health.lock().unwrap_or_else(|p| p.into_inner()).channels = described;
    }

    /// `/healthz` at `now`: healthy or the reason it is not.
    pub fn health(&self, now: DateTime<Utc>) -> Result<String, String> {
        let h = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let Some((at, error)) = &h.last else {
            return Err("starting: no scan yet".into());
        };
        if let Some(e) = error {
            return Err(format!("last scan at {} failed: {e}", at.to_rfc3339()));
        }
        if !h.degraded.is_empty() || !h.channels.is_empty() {
            let parts: Vec<&str> =
                h.degraded.iter().chain(&h.channels).map(String::as_str).collect();
            return Err(format!(
                "degraded since the scan at {}: {}",
                at.to_rfc3339(),
                parts.join("; ")
            ));
        }
        if let Some(next) = h.next
            && now > next + OVERDUE_GRACE
        {
            return Err(format!(
                "the scan planned for {} is overdue (last at {})",
                next.to_rfc3339(),
                at.to_rfc3339()
            ));
        }
        Ok(format!("ok: last scan at {}", at.to_rfc3339()))
    }

    /// Serves the status page from `source` (the service's state and configuration, again
    /// after each reload).
    pub fn set_page(&self, source: PageSource) {
        *self.page.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(source));
    }

    fn page(&self) -> Option<Arc<PageSource>> {
        self.page.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

async fn healthz(State(t): State<Arc<Telemetry>>) -> impl IntoResponse {
    match t.health(Utc::now()) {
        Ok(text) => (StatusCode::OK, text + "\n"),
        Err(text) => (StatusCode::SERVICE_UNAVAILABLE, text + "\n"),
    }
}

async fn metrics(State(t): State<Arc<Telemetry>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        t.encode(),
    )
}

/// Headers of every page: nothing runs, nothing is framed or fetched from elsewhere, no
/// referrer leaves.
const PAGE_HEADERS: [(header::HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Runs `make` on the page source off the runtime's threads (it reads the state and may
/// render an article): 503 before the service has one, 500 with the cause if it fails.
async fn from_page<T: Send + 'static>(
    t: &Telemetry,
    make: impl FnOnce(&PageSource) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, (StatusCode, String)> {
    let Some(source) = t.page() else {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "starting: no status yet\n".into()));
    };
    match tokio::task::spawn_blocking(move || make(&source)).await {
        Ok(Ok(made)) => Ok(made),
        Ok(Err(e)) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the state: {}\n", crate::report::describe_any(&e)),
        )),
        Err(_) => Err((StatusCode::INTERNAL_SERVER_ERROR, "the page failed\n".into())),
    }
}

/// A text document `make` makes of the page source, as `kind`, with [`PAGE_HEADERS`].
async fn document(
    t: &Telemetry,
    kind: &'static str,
    make: fn(&PageSource) -> anyhow::Result<String>,
) -> axum::response::Response {
    let mut headers: Vec<(header::HeaderName, &str)> = PAGE_HEADERS.to_vec();
    match from_page(t, make).await {
        Ok(text) => {
            headers.push((header::CONTENT_TYPE, kind));
            (StatusCode::OK, headers_of(&headers), text).into_response()
        }
        Err((code, text)) => (code, headers_of(&headers), text).into_response(),
    }
}

async fn page(State(t): State<Arc<Telemetry>>) -> axum::response::Response {
    document(&t, "text/html; charset=utf-8", PageSource::html).await
}

async fn status_json(State(t): State<Arc<Telemetry>>) -> axum::response::Response {
    document(&t, "application/json", PageSource::json).await
}

async fn card_image(State(t): State<Arc<Telemetry>>) -> axum::response::Response {
    match from_page(&t, |s| Ok(s.card_image())).await {
        Ok(Some((mime, bytes))) => {
            let mut headers: Vec<(header::HeaderName, &str)> = PAGE_HEADERS.to_vec();
            headers.push((header::CONTENT_TYPE, &mime));
            (StatusCode::OK, headers_of(&headers), bytes).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no card image is configured\n").into_response(),
        Err((code, text)) => (code, text).into_response(),
    }
}

fn headers_of(pairs: &[(header::HeaderName, &str)]) -> axum::http::HeaderMap {
    let mut map = axum::http::HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(v) = axum::http::HeaderValue::from_str(value) {
            map.insert(name.clone(), v);
        }
    }
    map
}

/// At most this many connections are served at once; more are closed as they come, so
/// idle clients cannot take the descriptors the archive scan and the platforms need.
pub const MAX_CONNECTIONS: usize = 64;
/// A client must send its request's headers within this.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// A connection lives this long at the most (a request is answered in milliseconds).
pub const CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

/// Binds `addr` now (so a taken port is an error at start) and serves in the background
/// until the returned task is aborted: one request per connection, headers within
/// [`HEADER_READ_TIMEOUT`], at most [`MAX_CONNECTIONS`] at once.
pub async fn serve(
    addr: SocketAddr,
    telemetry: Arc<Telemetry>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("daemon.listen: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/", get(page))
        .route("/status.json", get(status_json))
        .route("/card-image", get(card_image))
        .with_state(telemetry);
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::warn!(cause = %e, "health and metrics: cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .keep_alive(false)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
                drop(permit);
            });
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn health_follows_the_last_cycle_and_the_planned_next_one() {
        let t = Telemetry::default();
        let start = at("2026-11-24T10:00:00Z");
        assert!(t.health(start).unwrap_err().starts_with("starting"));

        let next = at("2026-11-24T10:15:00Z");
        t.record(start, Ok(&CycleReport::default()), next);
        assert!(t.health(at("2026-11-24T10:16:59Z")).is_ok());
        let late = t.health(at("2026-11-24T10:17:01Z")).unwrap_err();
        assert!(late.contains("overdue"), "{late}");

        let error = anyhow::anyhow!("no article could be read from content");
        t.record(next, Err(&error), at("2026-11-24T10:30:00Z"));
        let failed = t.health(at("2026-11-24T10:15:01Z")).unwrap_err();
        assert!(failed.contains("failed: no article could be read"), "{failed}");
        let scrape = t.encode();
        assert!(scrape.contains("herald_cycles_total{result=\"failed\"} 1"), "{scrape}");
        assert!(scrape.contains("herald_cycles_total{result=\"ok\"} 1"), "{scrape}");
        assert!(scrape.ends_with("# EOF\n"), "{scrape}");
    }
}
