//! What the benchmarks share: `herald` run as a process, with its time and peak memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The release binary the benchmark was built with.
pub const HERALD: &str = env!("CARGO_BIN_EXE_herald");

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A config over `archive` writing into `dir/out`, with `extra` in `[daemon]`.
pub fn config(dir: &Path, archive: &Path, extra: &str) -> PathBuf {
    let path = dir.join("scale.toml");
    std::fs::write(
        &path,
        format!(
            "[archive]\npath = {:?}\n[feeds]\noutput = {:?}\n[state]\npath = {:?}\n[daemon]\n{extra}\n",
            archive.display().to_string(),
            dir.join("out").display().to_string(),
            dir.join("state/herald.db").display().to_string()
        ),
    )
    .expect("config");
    path
}

/// `herald feeds ARGS` over `archive`, `runs` times: the median wall time and the largest peak
/// RSS. With `cache`, each run finds what the one before it kept in its cache (the first
/// fills it, and its peak is not counted); without, each starts with none.
pub fn feeds(
    dir: &Path,
    archive: &Path,
    args: &[&str],
    runs: usize,
    cache: bool,
) -> (Duration, u64) {
    let config = config(dir, archive, "");
    let cache_file = dir.join("state/herald-cache.db");
    let _ = std::fs::remove_file(&cache_file);
    let mut times = Vec::new();
    let mut peak = 0;
    for run in 0..runs {
        if !cache {
            let _ = std::fs::remove_file(&cache_file);
        }
        let start = Instant::now();
        let child = Command::new(HERALD)
            .args(["-c", config.to_str().expect("utf-8"), "feeds"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("herald feeds");
        let (ok, maxrss) = wait_rusage(child);
        times.push(start.elapsed());
        assert!(ok, "herald feeds failed");
        // With the cache, the first run (which fills it) is a run without one: not its peak.
        if !cache || run > 0 {
            peak = peak.max(maxrss);
        }
    }
    times.sort();
    (times[runs / 2], peak)
}

/// Waits for `child`: whether it succeeded, and its peak RSS in KiB.
pub fn wait_rusage(child: Child) -> (bool, u64) {
    let mut status = 0;
    // SAFETY: wait4 writes only the status and the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    (r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, usage.ru_maxrss as u64)
}
