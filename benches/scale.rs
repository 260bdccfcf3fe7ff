//! The scale benchmark: herald as processes, on the real archive and on a 20,000-article one
//! built from it (each real article copied with a new number, date and slug), printing the
//! table of measures: `herald feeds` cold (4 items and all items), the service's first cycle,
//! its idle memory, a cycle over an unchanged archive, and a burst of 500 new files — with
//! Pelican beside it on the real archive where its reference install is cached.
//!
//! `cargo bench --bench scale` (release build). `SCALE_ARTICLES=5000` builds a smaller one.
//! Times are medians of whole processes; memory is the peak resident set (`ru_maxrss`) or,
//! for the service, `/proc/PID/status`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{HERALD, config, feeds, ms, wait_rusage};

fn main() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let real = shared.join("twir/content");
    let count: usize =
        std::env::var("SCALE_ARTICLES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let big = tmp.path().join("big");
    let bytes = build_archive(&real, &big, count);
    println!(
        "machine: {} cores; herald {}; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    println!("| measure | time | memory |");
    println!("|---|---|---|");
    for (name, archive) in [
        ("full archive (668)", real.as_path()),
        (&*format!("{count} articles ({:.0} MB)", bytes as f64 / 1e6), big.as_path()),
    ] {
        for (cache, which) in [(false, "no cache"), (true, "the last run's cache")] {
            let (t, m) = feeds(tmp.path(), archive, &[], 5, cache);
            row(&format!("`herald feeds`, 4 items, cold process, {which}, {name}"), t, m);
            let (t, m) = feeds(tmp.path(), archive, &["--max-items", "all"], 3, cache);
            row(&format!("`herald feeds --max-items all`, {which}, {name}"), t, m);
        }
        service(tmp.path(), archive, name);
    }
    pelican(&shared, &real, tmp.path());
}

fn row(what: &str, t: Duration, peak_kib: u64) {
    println!("| {what} | {:.0} ms | {:.0} MiB peak |", ms(t), peak_kib as f64 / 1024.0);
}

/// Copies the real archive's articles into `to` until it holds `count`, each copy with a new
/// `Number:`, a date a week after the last and a new slug; returns its size in bytes.
fn build_archive(real: &Path, to: &Path, count: usize) -> u64 {
    std::fs::create_dir_all(to).expect("archive dir");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(real)
        .expect("the real archive")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "markdown"))
        .collect();
    sources.sort();
    let texts: Vec<String> =
        sources.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    let start = chrono::NaiveDate::from_ymd_opt(1990, 1, 3).expect("a date");
    let mut bytes = 0;
    for i in 0..count {
        let text = &texts[i % texts.len()];
        let date = start + chrono::Days::new(7 * i as u64);
        let n = 10_000 + i;
        let body = text.split_once("\n\n").map_or(text.as_str(), |(_, b)| b);
        let out = format!(
            "Title: This Week in Rust {n}\nNumber: {n}\nDate: {date}\nCategory: This Week in Rust\nSlug: this-week-in-rust-{n}\n\n{body}"
        );
        bytes += out.len() as u64;
        std::fs::write(to.join(format!("{date}-issue-{n}.md")), out).expect("an article");
    }
    bytes
}

/// A field of `/proc/PID/status` in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The `ms=` and `cpu_ms=` of the `n`th "cycle done" line of `log` (1-based), once written.
fn cycle(log: &Path, n: usize, limit: Duration) -> (f64, f64) {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().filter(|l| l.contains("cycle done")).nth(n - 1) {
            let field = |name: &str| {
                line.split(&format!(" {name}="))
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.trim_matches('"').parse().ok())
                    .unwrap_or(f64::NAN)
            };
            return (field("ms"), field("cpu_ms"));
        }
        assert!(start.elapsed() < limit, "no cycle {n} within {limit:?}: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The service over `archive`: its first cycle, its memory idle, an unchanged cycle's CPU,
/// and a burst of 500 new issues.
fn service(dir: &Path, archive: &Path, name: &str) {
    let work = dir.join("service");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("service dir");
    // A copy the burst can add to.
    let live = work.join("content");
    Command::new("cp").arg("-r").arg(archive).arg(&live).status().expect("cp");
    let config = config(
        &work,
        &live,
        "settle = \"1s\"\ndebounce = \"100ms\"\nrescan = \"*/2 * * * * *\"\nmax_posts_per_cycle = 1000",
    );
    let log = work.join("herald.log");
    let start = Instant::now();
    let mut child = Command::new(HERALD)
        .args(["-c", config.to_str().expect("utf-8"), "run"])
        .env("HERALD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("herald run");
    let pid = child.id();
    let (first_ms, _) = cycle(&log, 1, Duration::from_secs(600));
    let first = start.elapsed();
    let peak = proc_kib(pid, "VmHWM:");
    std::thread::sleep(Duration::from_secs(2));
    let idle = proc_kib(pid, "VmRSS:");
    println!(
        "| service, {name}: first cycle (process start to done); idle RSS after | {:.0} ms (cycle {first_ms:.0} ms) | {:.0} MiB peak; {:.1} MiB idle |",
        ms(first),
        peak as f64 / 1024.0,
        idle as f64 / 1024.0
    );
    // Rescans of the unchanged archive every 2 s: their CPU. The copy's files are read again
    // (not trusted by their stamps) until they are older than a file system clock tick
    // (2 s): the cycles after that.
    let mut cpu: Vec<f64> = (4..=6).map(|n| cycle(&log, n, Duration::from_secs(60)).1).collect();
    cpu.sort_by(f64::total_cmp);
    println!(
        "| service, {name}: a cycle over the unchanged archive | median {:.1} ms CPU | |",
        cpu[1]
    );
    // 500 new issues at once, dated after the newest.
    let seen = std::fs::read_to_string(&log).unwrap_or_default().matches("cycle done").count();
    let burst_start = Instant::now();
    for i in 0..500 {
        let date = chrono::Utc::now().date_naive() - chrono::Days::new(1);
        std::fs::write(
            live.join(format!("burst-{i}.md")),
            format!("Title: Burst {i}\nNumber: {}\nDate: {date}\n\nHello {i}.\n", 90_000 + i),
        )
        .expect("a burst file");
    }
    // The cycle that sees them, and the one after the settle time that decides them.
    let mut decided = (f64::NAN, f64::NAN);
    let mut seen_first = (f64::NAN, f64::NAN);
    for n in seen + 1..seen + 6 {
        let c = cycle(&log, n, Duration::from_secs(120));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let line =
            text.lines().filter(|l| l.contains("cycle done")).nth(n - 1).unwrap_or("").to_string();
        if n == seen + 1 {
            seen_first = c;
        }
        if line.contains("500 deliveries") || line.contains("1000 deliveries") {
            decided = c;
            break;
        }
    }
    println!(
        "| service, {name}: a burst of 500 new files: the cycle that records their verdicts; the one that announces them (1,000 posts to dry-run sinks) | {:.0} ms ({:.0} ms CPU); {:.0} ms ({:.0} ms CPU), {:.1} s after the files | |",
        seen_first.0,
        seen_first.1,
        decided.0,
        decided.1,
        burst_start.elapsed().as_secs_f64()
    );
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();
}

/// Pelican's build of the real archive (4 items), where its reference install is cached.
fn pelican(shared: &Path, real: &Path, dir: &Path) {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    if !home.join(".cache/herald-pelican-ref/.ok").exists() {
        println!(
            "| Pelican 4.7.1 | not installed here (../shared/tools/pelican-reference/run.sh installs it) | |"
        );
        return;
    }
    let start = Instant::now();
    let child = Command::new("bash")
        .arg(shared.join("tools/pelican-reference/run.sh"))
        .arg(real)
        .arg(dir.join("pelican-out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pelican");
    let (ok, maxrss) = wait_rusage(child);
    let t = start.elapsed();
    if ok {
        row("Pelican 4.7.1, 4 items, full archive (same machine)", t, maxrss);
    }
}
