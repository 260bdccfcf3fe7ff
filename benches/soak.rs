//! Soak: runs `herald run` (the release binary) for a while over a copy of an archive, adds a
//! new issue every few seconds the way editors publish (a temporary file renamed into place),
//! and reports idle RSS, CPU time per cycle, CPU time while idle, and change-to-feed latency.
//! At the end it checks that every added issue was posted exactly once per account.
//!
//! `cargo bench --bench soak` — 10 minutes, an issue every 3 s, over the repository's sample
//! archive. Environment: `SOAK_SECS` (600), `SOAK_EVERY_MS` (3000), `SOAK_IDLE_SECS` (30: the
//! quiet stretch at the end), `SOAK_ARCHIVE` (a directory of articles to start from, e.g.
//! `../shared/twir/content`).
//!
//! Targets: idle RSS ≤ 15 MiB, no CPU while idle (no busy polling), p99 latency ≤ 250 ms after
//! the change has settled (the latency minus the debounce window).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

const DEBOUNCE_MS: u64 = 300;
const SETTLE_SECS: u64 = 2;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let secs = env_num("SOAK_SECS", 600);
    let every = Duration::from_millis(env_num("SOAK_EVERY_MS", 3000));
    let idle_secs = env_num("SOAK_IDLE_SECS", 30);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::env::var_os("SOAK_ARCHIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("tests/fixtures/twir"));
    let body = std::fs::read_to_string(
        manifest.join("tests/fixtures/twir/2026-08-19-this-week-in-rust.md"),
    )
    .expect("fixture issue");
    let body = body.split_once("\n\n").expect("header").1.to_string();

    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    let mut copied = 0;
    for entry in std::fs::read_dir(&source).expect("archive") {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), content.join(entry.file_name())).unwrap();
            copied += 1;
        }
    }
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
             [daemon]\nsettle = \"{SETTLE_SECS}s\"\ndebounce = \"{DEBOUNCE_MS}ms\"\n\
             [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n\
             [[dry_run]]\nname = \"toot\"\nplatform = \"mastodon\"\npath = \"posts.jsonl\"\n"
        ),
    )
    .unwrap();
    println!(
        "soak: {secs} s, an issue every {} ms, then {idle_secs} s idle; {copied} articles from {}; settle {SETTLE_SECS} s, debounce {DEBOUNCE_MS} ms",
        every.as_millis(),
        source.display()
    );

    let log = dir.join("herald.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["-c", config.to_str().unwrap(), "run"])
        .env("HERALD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("herald");
    let pid = child.id();
    let out = dir.join("out");
    wait_until(Duration::from_secs(60), || out.join("atom.xml").exists());
    std::thread::sleep(Duration::from_secs(1));
    let cycles_at_start = cycles(&log);
    let cpu_at_start = cpu_ticks(pid);
    let startup_rss = rss_kib(pid);

    // When each issue's URL first appears in the Atom feed, seen through inotify.
    let seen: Arc<Mutex<HashMap<u32, Instant>>> = Arc::default();
    let feed = out.join("atom.xml");
    let s = seen.clone();
    let mut watcher = notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
        let now = Instant::now();
        let Ok(text) = std::fs::read_to_string(&feed) else { return };
        let mut seen = s.lock().unwrap();
        for part in text.split("/this-week-in-rust-").skip(1) {
            if let Some(n) = part.split('/').next().and_then(|n| n.parse::<u32>().ok()) {
                seen.entry(n).or_insert(now);
            }
        }
    })
    .unwrap();
    watcher.watch(&out, RecursiveMode::NonRecursive).unwrap();

    // Dated yesterday (announceable whatever the site's time zone), a second apart so that
    // each new issue is the newest and leads the feeds.
    let day = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let mut written: Vec<(u32, Instant)> = Vec::new();
    let mut idle_rss = Vec::new();
    let start = Instant::now();
    let mut number = 2000;
    while start.elapsed() < Duration::from_secs(secs) {
        // Just before a change the service has been quiet for most of `every`.
        idle_rss.push(rss_kib(pid));
        let tmp_file = content.join(format!(".{number}.md.swp"));
        std::fs::write(
            &tmp_file,
            format!(
                "Title: This Week in Rust {number}\nNumber: {number}\nDate: {day} {:02}:{:02}:{:02}\nCategory: This Week in Rust\n\n{body}",
                (number - 2000) / 3600 % 24,
                (number - 2000) / 60 % 60,
                (number - 2000) % 60,
            ),
        )
        .unwrap();
        std::fs::rename(&tmp_file, content.join(format!("{day}-this-week-in-rust-{number}.md")))
            .unwrap();
        written.push((number, Instant::now()));
        number += 1;
        std::thread::sleep(every);
    }
    // Let the last issue settle and post, then measure a quiet stretch.
    std::thread::sleep(Duration::from_secs(SETTLE_SECS + 3));
    let cycles_busy = cycles(&log) - cycles_at_start;
    let cpu_busy = cpu_ticks(pid) - cpu_at_start;
    let idle_cpu_start = cpu_ticks(pid);
    let idle_cycles_start = cycles(&log);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let idle_cpu = cpu_ticks(pid) - idle_cpu_start;
    let idle_cycles = cycles(&log) - idle_cycles_start;
    let final_rss = rss_kib(pid);
    let final_anon = status_kib(pid, "RssAnon:");
    let final_file = status_kib(pid, "RssFile:");
    let peak_rss = status_kib(pid, "VmHWM:");
    drop(watcher);
    stop(&mut child);

    // Latency from the rename to the feed carrying the issue.
    let seen = seen.lock().unwrap();
    let mut latencies: Vec<f64> = written
        .iter()
        .filter_map(|(n, at)| seen.get(n).map(|t| t.duration_since(*at).as_secs_f64() * 1000.0))
        .collect();
    let missing = written.len() - latencies.len();
    latencies.sort_by(f64::total_cmp);
    let after_settle: Vec<f64> =
        latencies.iter().map(|l| (l - DEBOUNCE_MS as f64).max(0.0)).collect();

    // Exactly once: two posts (one per account) for every added issue.
    let posts = std::fs::read_to_string(dir.join("posts.jsonl")).unwrap_or_default();
    let mut per_issue: HashMap<u32, usize> = HashMap::new();
    for line in posts.lines() {
        if let Some(n) = line
            .split("/this-week-in-rust-")
            .nth(1)
            .and_then(|p| p.split('/').next())
            .and_then(|n| n.parse().ok())
        {
            *per_issue.entry(n).or_default() += 1;
        }
    }
    let wrong: Vec<_> =
        written.iter().filter(|(n, _)| per_issue.get(n) != Some(&2)).map(|(n, _)| *n).collect();

    let tick_ms = 1000.0 / clock_ticks_per_sec();
    let idle_max = idle_rss.iter().copied().max().unwrap_or(0);
    println!("issues added: {}, cycles: {cycles_busy}", written.len());
    println!(
        "RSS: after start {:.1} MiB, idle (before each change) median {:.1} MiB, max {:.1} MiB; after the quiet stretch {:.1} MiB; peak {:.1} MiB",
        mib(startup_rss),
        mib(median_u64(&idle_rss)),
        mib(idle_max),
        mib(final_rss),
        mib(peak_rss)
    );
    println!(
        "  of which after the quiet stretch: {:.1} MiB anonymous (herald's own memory), {:.1} MiB file-backed (the binary's code and data pages, shared and evictable)",
        mib(final_anon),
        mib(final_file)
    );
    println!(
        "CPU: {:.1} ms per cycle ({:.0} ms over {cycles_busy} cycles); idle {:.0} ms over {idle_secs} s with {idle_cycles} cycles",
        cpu_busy as f64 * tick_ms / cycles_busy.max(1) as f64,
        cpu_busy as f64 * tick_ms,
        idle_cpu as f64 * tick_ms
    );
    println!(
        "change-to-feed latency: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; after settle (minus the {DEBOUNCE_MS} ms debounce): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; not seen: {missing}",
        pct(&latencies, 0.50),
        pct(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        pct(&after_settle, 0.50),
        pct(&after_settle, 0.99),
        after_settle.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "posts: {} lines; issues not posted exactly once per account: {wrong:?}",
        posts.lines().count()
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "targets: idle RSS ≤ 15 MiB {}; no CPU while idle {}; p99 ≤ 250 ms after settle {}",
        verdict(mib(idle_max) <= 15.0 && mib(final_rss) <= 15.0),
        verdict(idle_cpu == 0 && idle_cycles == 0),
        verdict(pct(&after_settle, 0.99) <= 250.0 && missing == 0),
    );
    if !wrong.is_empty() || missing > 0 {
        eprintln!("soak: exactly-once or feed check failed; log in {}", log.display());
        let _ = std::fs::copy(&log, "/tmp/herald-soak.log");
        std::process::exit(1);
    }
}

fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().expect("herald exit");
    assert!(status.success(), "herald exited with {status}");
}

fn cycles(log: &Path) -> u64 {
    std::fs::read_to_string(log).unwrap_or_default().matches("cycle done").count() as u64
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n > 0 { n as f64 } else { 100.0 }
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median_u64(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}
