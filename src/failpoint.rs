//! Crash points for the exactly-once tests: with `HERALD_FAILPOINTS=name[,name…]` in its
//! environment, herald kills itself with SIGKILL when it reaches a named point — no unwinding,
//! no destructors, no flushing, as after a power cut. Unset (always, in production), a point
//! costs one environment look-up per post.

/// The points, in the order a delivery passes them.
pub const POINTS: [&str; 4] = ["before-intent", "before-call", "after-response", "after-record"];

/// Dies here if `name` is listed in `HERALD_FAILPOINTS`.
pub fn hit(name: &str) {
    let Some(list) = std::env::var_os("HERALD_FAILPOINTS") else { return };
    if list.to_string_lossy().split(',').any(|p| p.trim() == name) {
        tracing::warn!(point = name, "failpoint: killing this process");
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        // `kill` may be missing: abort is as abrupt.
        std::process::abort();
    }
}
