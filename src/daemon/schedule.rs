//! The announcing policy: which issues to announce now, which to wait for, which never to
//! announce automatically. Pure: issues, what the state knows and the clock in; actions out.
//!
//! - First start with an empty state is a baseline: every issue present is recorded as seen
//!   and not announced (optionally except the newest).
//! - A new issue is announced once it has been present and unchanged for `settle`, so a
//!   publication reverted within that window is never announced.
//! - An issue dated in the future waits until its date; one older than `max_age` is never
//!   announced automatically.
//! - An issue already known (announced, baseline, or seen before and deleted and re-added)
//!   is never announced again.
//! - At most `max_posts_per_cycle` issues are announced per cycle, oldest first.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The policy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How long a new issue must be present and unchanged.
    pub settle: Duration,
    /// Issues older than this are never announced automatically.
    pub max_age: Duration,
    /// Announcements per cycle at most.
    pub max_posts_per_cycle: usize,
    /// On a baseline start, announce the newest issue anyway.
    pub announce_latest_on_baseline: bool,
    /// A draft held longer than this is logged as an error (and still held).
    pub max_hold: Duration,
    /// When an announced issue's title changes (and settles), edit its Mastodon statuses.
    pub edit_on_title_change: bool,
}

impl Default for Policy {
    /// TWiR's defaults.
    fn default() -> Self {
        Self {
            settle: Duration::from_secs(600),
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_posts_per_cycle: 2,
            announce_latest_on_baseline: false,
            max_hold: Duration::from_secs(12 * 3600),
            edit_on_title_change: false,
        }
    }
}

/// An issue in the archive now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its key (URL).
    pub key: String,
    /// Its publication date.
    pub date: DateTime<Utc>,
    /// When its file's content was last seen to change (or first seen).
    pub unchanged_since: DateTime<Utc>,
    /// Whether the state knows it already (seen before: announced, baseline or queued).
    pub known: bool,
}

/// What to do with an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Record as seen, never announce automatically (baseline).
    Baseline,
    /// Announce now.
    Announce,
    /// Not yet: look again at this time.
    WaitUntil(DateTime<Utc>),
    /// Over the per-cycle cap: next cycle.
    NextCycle,
    /// Older than `max_age`: record, never announce automatically.
    TooOld,
    /// Known already: nothing to do.
    Known,
}

/// Decides for every candidate. `first_start`: the state has never recorded an issue.
pub fn plan(
    candidates: &[Candidate],
    first_start: bool,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Vec<(String, Decision)> {
    let newest = candidates.iter().max_by_key(|c| c.date).map(|c| c.key.clone());
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by_key(|c| c.date); // oldest first
    let max_age = chrono::Duration::from_std(policy.max_age).unwrap_or(chrono::Duration::MAX);
    let settle = chrono::Duration::from_std(policy.settle).unwrap_or_default();
    let mut announced = 0;
    let mut out = Vec::with_capacity(order.len());
    for c in order {
        let decision = if c.known {
            Decision::Known
        } else if first_start
            && !(policy.announce_latest_on_baseline && newest.as_ref() == Some(&c.key))
        {
            Decision::Baseline
        } else if now - c.date > max_age {
            Decision::TooOld
        } else if c.date > now {
            Decision::WaitUntil(c.date)
        } else if now - c.unchanged_since < settle {
            Decision::WaitUntil(c.unchanged_since + settle)
        } else if announced >= policy.max_posts_per_cycle {
            Decision::NextCycle
        } else {
            announced += 1;
            Decision::Announce
        };
        out.push((c.key.clone(), decision));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn c(key: &str, date: &str, unchanged_since: &str, known: bool) -> Candidate {
        Candidate { key: key.into(), date: t(date), unchanged_since: t(unchanged_since), known }
    }

    fn decisions(v: Vec<(String, Decision)>) -> Vec<Decision> {
        v.into_iter().map(|(_, d)| d).collect()
    }

    const NOW: &str = "2026-08-20T12:00:00Z";

    #[test]
    fn first_start_is_a_baseline() {
        let issues = [
            c("a", "2026-08-12T04:00:00Z", NOW, false),
            c("b", "2026-08-19T04:00:00Z", NOW, false),
        ];
        let p = Policy::default();
        assert_eq!(
            decisions(plan(&issues, true, t(NOW), &p)),
            [Decision::Baseline, Decision::Baseline]
        );
        let latest = Policy { announce_latest_on_baseline: true, settle: Duration::ZERO, ..p };
        assert_eq!(
            decisions(plan(&issues, true, t(NOW), &latest)),
            [Decision::Baseline, Decision::Announce]
        );
    }

    #[test]
    fn a_new_issue_waits_to_settle() {
        let p = Policy::default();
        let fresh = [c("n", "2026-08-19T04:00:00Z", "2026-08-20T11:55:00Z", false)];
        assert_eq!(
            decisions(plan(&fresh, false, t(NOW), &p)),
            [Decision::WaitUntil(t("2026-08-20T12:05:00Z"))]
        );
        let settled = [c("n", "2026-08-19T04:00:00Z", "2026-08-20T11:50:00Z", false)];
        assert_eq!(decisions(plan(&settled, false, t(NOW), &p)), [Decision::Announce]);
    }

    #[test]
    fn future_old_and_known_issues() {
        let p = Policy::default();
        let issues = [
            c("old", "2026-08-01T04:00:00Z", "2026-08-20T10:00:00Z", false),
            c("known", "2026-08-19T04:00:00Z", "2026-08-20T10:00:00Z", true),
            c("future", "2026-08-26T04:00:00Z", "2026-08-20T10:00:00Z", false),
        ];
        assert_eq!(
            decisions(plan(&issues, false, t(NOW), &p)),
            [Decision::TooOld, Decision::Known, Decision::WaitUntil(t("2026-08-26T04:00:00Z"))]
        );
    }

    #[test]
    fn at_most_n_per_cycle_oldest_first() {
        let p = Policy::default();
        let since = "2026-08-20T10:00:00Z";
        let issues = [
            c("c", "2026-08-19T04:00:00Z", since, false),
            c("a", "2026-08-17T04:00:00Z", since, false),
            c("b", "2026-08-18T04:00:00Z", since, false),
        ];
        let got = plan(&issues, false, t(NOW), &p);
        assert_eq!(
            got,
            [
                ("a".into(), Decision::Announce),
                ("b".into(), Decision::Announce),
                ("c".into(), Decision::NextCycle)
            ]
        );
    }
}
