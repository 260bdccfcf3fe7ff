//! What the service runs with: each stage's own settings, assembled by `config` from the
//! file (or by a test), with the daemon's own — the policy, the rescan schedule, the debounce
//! and the health address — beside them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::schedule::Policy;
use crate::announce::{Account, AnnounceSettings};
use crate::archive::ParseSettings;
use crate::feeds::FeedSettings;

/// TWiR's rescan schedule: every 15 minutes (cron with seconds), a backstop for missed file
/// events.
pub const DEFAULT_RESCAN: &str = "0 */15 * * * *";

/// TWiR's debounce of file events.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(300);

/// Everything one configuration gives herald.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
    /// The archive directory (absolute or relative to the working directory).
    pub archive_dir: PathBuf,
    /// How articles are parsed.
    pub parse: ParseSettings,
    /// How feeds are built.
    pub feeds: FeedSettings,
    /// How announcements are built and sent.
    pub announce: AnnounceSettings,
    /// The state database.
    pub state_path: PathBuf,
    /// The accounts (dry-run sinks when none is configured).
    pub accounts: Vec<Account>,
    /// The announcing policy.
    pub policy: Policy,
    /// The rescan schedule (cron, with seconds), parsed.
    pub rescan: cron::Schedule,
    /// File events are handled once they have been quiet this long.
    pub debounce: Duration,
    /// Where `/healthz` and `/metrics` are served, if anywhere.
    pub listen: Option<SocketAddr>,
    /// The operator's channels.
    pub notify: Vec<crate::notify::Channel>,
}

#[cfg(test)]
impl Settings {
    /// TWiR's settings over `archive/`, with a dry-run sink per platform (as a configuration
    /// naming no account gives), for the daemon's own tests.
    pub fn for_tests() -> Settings {
        use crate::announce::Platform;
        Settings {
            source: None,
            archive_dir: "archive".into(),
            parse: ParseSettings::default(),
            feeds: FeedSettings::default(),
            announce: AnnounceSettings::default(),
            state_path: "state/herald.db".into(),
            accounts: [Platform::Bluesky, Platform::Mastodon]
                .map(|platform| Account::DryRun {
                    name: platform.name().into(),
                    platform,
                    path: None,
                })
                .to_vec(),
            policy: Policy::default(),
            rescan: DEFAULT_RESCAN.parse().expect("the default schedule"),
            debounce: DEFAULT_DEBOUNCE,
            listen: None,
            notify: Vec::new(),
        }
    }
}
