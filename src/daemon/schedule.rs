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
//! - At most `max_posts_per_cycle` issues are announced per cycle, oldest first ([`Quota`]:
//!   one the guard holds or delays takes no place).

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

/// Decides for every candidate, oldest first. `first_start`: the state has never recorded an
/// issue. What is due is offered whole: [`Quota`] applies the per-cycle limit to the verdicts.
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
        } else {
            Decision::Announce
        };
        out.push((c.key.clone(), decision));
    }
    out
}

/// The per-cycle limit (`max_posts_per_cycle`): it counts the issues posted, in `plan`'s
/// order (oldest first). An issue the guard holds or delays takes no place, so a held draft
/// never stands in front of the issues behind it.
pub struct Quota {
    left: usize,
}

impl Quota {
    /// A cycle's quota under `policy`.
    pub fn new(policy: &Policy) -> Self {
        Quota { left: policy.max_posts_per_cycle }
    }

    /// `verdict` (judged on `decision`) as the limit leaves it: an announcement over the
    /// limit waits for the next cycle.
    pub fn admit(&mut self, decision: Decision, verdict: Verdict) -> (Decision, Verdict) {
        match verdict {
            Verdict::Announce { .. } if self.left == 0 => {
                (Decision::NextCycle, Verdict::next_cycle())
            }
            Verdict::Announce { .. } => {
                self.left -= 1;
                (decision, verdict)
            }
            other => (decision, other),
        }
    }
}

/// What the service records about an issue after deciding, and does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Present at the first start: recorded, not announced.
    Baseline,
    /// Older than `max_age` when first seen: recorded, not announced automatically.
    TooOld,
    /// Not yet: settling, dated in the future, or over the per-cycle cap.
    Waiting {
        /// Until when (none: the next cycle).
        until: Option<DateTime<Utc>>,
        /// Why, for the operator.
        why: String,
        /// What the guard already finds in it (settling issues), each saying what it will
        /// do: the editor can fix them before the issue is due.
        findings: Vec<String>,
    },
    /// The guard holds it (or two files claim it) until it is fixed.
    Held {
        /// Every reason.
        reasons: Vec<String>,
    },
    /// Placeholders outside the post's text: announced anyway at `until`.
    Delayed {
        /// When the grace period ends.
        until: DateTime<Utc>,
        /// Every placeholder left.
        reasons: Vec<String>,
    },
    /// Announce now; `left` names placeholders still in the issue (outside the post's text).
    Announce {
        /// Placeholders announced with, after the grace period.
        left: Vec<String>,
    },
}

impl Verdict {
    /// Waiting for the next cycle: over the per-cycle limit.
    fn next_cycle() -> Verdict {
        Verdict::Waiting {
            until: None,
            why: "over the per-cycle limit (max_posts_per_cycle): the next cycle".into(),
            findings: Vec::new(),
        }
    }

    /// The status recorded for `herald status`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::TooOld => "too_old",
            Self::Waiting { .. } => "waiting",
            Self::Held { .. } => "held",
            Self::Delayed { .. } => "delayed",
            Self::Announce { .. } => "announced",
        }
    }
}

/// Turns the plan's `decision` for an issue into a verdict. For [`Decision::Announce`] the
/// draft guard's findings (`guard`), a clash with another file (`clash`), when the issue was
/// first seen and the grace period decide. `None` for an issue already decided.
pub fn judge(
    decision: &Decision,
    guard: Option<&crate::announce::Inspection>,
    clash: Option<&str>,
    first_seen: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: Duration,
    settle: Duration,
) -> Option<Verdict> {
    use crate::announce::Effect;
    let labelled = |effect: Effect, label: &str| -> Vec<String> {
        guard
            .map(|g| {
                g.findings
                    .iter()
                    .filter(|f| f.effect == effect)
                    .map(|f| format!("{f}{label}"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let texts = |effect: Effect| labelled(effect, "");
    Some(match decision {
        Decision::Known => return None,
        Decision::Baseline => Verdict::Baseline,
        Decision::TooOld => Verdict::TooOld,
        Decision::WaitUntil(t) => {
            let why = if *t - now > chrono::Duration::from_std(settle).unwrap_or_default() {
                "dated in the future".to_string()
            } else {
                format!("settling: announced once unchanged for {} s", settle.as_secs())
            };
            // In file order (what holds first on a line), each saying what it will do.
            let mut found: Vec<&crate::announce::Finding> =
                guard.map(|g| g.findings.iter().collect()).unwrap_or_default();
            found.sort_by_key(|f| (f.line.unwrap_or(0), f.effect == Effect::Delay));
            let findings = found
                .iter()
                .map(|f| match f.effect {
                    Effect::Hold => format!("{f} (will hold the issue)"),
                    Effect::Delay => format!("{f} (will delay the announcement)"),
                })
                .collect();
            Verdict::Waiting { until: Some(*t), why, findings }
        }
        Decision::NextCycle => Verdict::next_cycle(),
        Decision::Announce => {
            let mut held = texts(Effect::Hold);
            if let Some(clash) = clash {
                held.insert(0, clash.to_string());
            }
            if !held.is_empty() {
                // What only delays is said too: the editor fixes everything in one round.
                held.extend(labelled(Effect::Delay, " (would only delay the announcement)"));
                return Some(Verdict::Held { reasons: held });
            }
            let left = texts(Effect::Delay);
            let ends = first_seen + chrono::Duration::from_std(grace).unwrap_or_default();
            if !left.is_empty() && now < ends {
                Verdict::Delayed { until: ends, reasons: left }
            } else {
                Verdict::Announce { left }
            }
        }
    })
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
        let mut quota = Quota::new(&p);
        let post = || Verdict::Announce { left: Vec::new() };
        let got: Vec<(String, Decision)> = plan(&issues, false, t(NOW), &p)
            .into_iter()
            .map(|(key, d)| (key, quota.admit(d, post()).0))
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), Decision::Announce),
                ("b".into(), Decision::Announce),
                ("c".into(), Decision::NextCycle)
            ]
        );
    }

    #[test]
    fn a_held_or_delayed_issue_takes_no_place_under_the_limit() {
        let mut quota = Quota::new(&Policy { max_posts_per_cycle: 1, ..Policy::default() });
        let held = Verdict::Held { reasons: vec!["line 3: placeholder".into()] };
        let delayed = Verdict::Delayed { until: t(NOW), reasons: vec!["line 9".into()] };
        assert_eq!(quota.admit(Decision::Announce, held.clone()), (Decision::Announce, held));
        assert_eq!(quota.admit(Decision::Announce, delayed.clone()), (Decision::Announce, delayed));
        let post = Verdict::Announce { left: Vec::new() };
        assert_eq!(
            quota.admit(Decision::Announce, post.clone()),
            (Decision::Announce, post.clone())
        );
        assert_eq!(
            quota.admit(Decision::Announce, post),
            (Decision::NextCycle, Verdict::next_cycle())
        );
    }
}

#[cfg(test)]
mod verdict_tests {
    use super::*;
    use crate::announce::{Effect, Finding, Inspection};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn finding(line: usize, text: &str, effect: Effect) -> Finding {
        Finding {
            reason: format!("placeholder `{text}`"),
            line: Some(line),
            effect,
            fix: String::new(),
        }
    }

    const GRACE: Duration = Duration::from_secs(3600);
    const SETTLE: Duration = Duration::from_secs(600);

    fn judged(guard: &Inspection, clash: Option<&str>, now: &str) -> Verdict {
        let seen = t("2026-08-20T12:00:00Z");
        judge(&Decision::Announce, Some(guard), clash, seen, t(now), GRACE, SETTLE).unwrap()
    }

    #[test]
    fn a_placeholder_outside_the_post_delays_until_the_grace_ends_then_is_announced() {
        let guard = Inspection { findings: vec![finding(360, "REDDIT_LINK_HERE", Effect::Delay)] };
        assert_eq!(
            judged(&guard, None, "2026-08-20T12:30:00Z"),
            Verdict::Delayed {
                until: t("2026-08-20T13:00:00Z"),
                reasons: vec!["line 360: placeholder `REDDIT_LINK_HERE`".into()]
            }
        );
        assert_eq!(
            judged(&guard, None, "2026-08-20T13:00:00Z"),
            Verdict::Announce { left: vec!["line 360: placeholder `REDDIT_LINK_HERE`".into()] }
        );
        assert_eq!(
            judged(&Inspection::default(), None, "2026-08-20T12:01:00Z"),
            Verdict::Announce { left: vec![] }
        );
    }

    #[test]
    fn a_placeholder_in_the_post_holds_with_every_reason_for_ever() {
        let guard = Inspection {
            findings: vec![
                finding(58, "COTW", Effect::Hold),
                finding(143, "Rust updates", Effect::Hold),
                finding(360, "REDDIT_LINK_HERE", Effect::Delay),
            ],
        };
        // The delaying placeholder too, so that the editor fixes everything in one round.
        let held = Verdict::Held {
            reasons: vec![
                "line 58: placeholder `COTW`".into(),
                "line 143: placeholder `Rust updates`".into(),
                "line 360: placeholder `REDDIT_LINK_HERE` (would only delay the announcement)"
                    .into(),
            ],
        };
        assert_eq!(judged(&guard, None, "2026-08-20T12:30:00Z"), held);
        assert_eq!(judged(&guard, None, "2026-09-20T12:30:00Z"), held, "no grace for a hold");
    }

    /// An issue still settling already shows what the guard finds in it.
    #[test]
    fn a_settling_issue_shows_the_guard_s_findings() {
        let guard = Inspection {
            findings: vec![
                finding(58, "COTW", Effect::Hold),
                finding(360, "REDDIT_LINK_HERE", Effect::Delay),
            ],
        };
        let now = t("2026-08-20T12:00:00Z");
        let until = t("2026-08-20T12:10:00Z");
        let v = judge(&Decision::WaitUntil(until), Some(&guard), None, now, now, GRACE, SETTLE);
        assert_eq!(
            v,
            Some(Verdict::Waiting {
                until: Some(until),
                why: "settling: announced once unchanged for 600 s".into(),
                findings: vec![
                    "line 58: placeholder `COTW` (will hold the issue)".into(),
                    "line 360: placeholder `REDDIT_LINK_HERE` (will delay the announcement)".into(),
                ],
            })
        );
    }

    #[test]
    fn two_files_for_one_issue_hold_it() {
        let v = judged(
            &Inspection::default(),
            Some("a.md and b.md give the same URL"),
            "2026-08-20T12:30:00Z",
        );
        assert_eq!(v, Verdict::Held { reasons: vec!["a.md and b.md give the same URL".into()] });
    }

    #[test]
    fn waiting_says_why_and_decided_issues_are_left_alone() {
        let now = t("2026-08-20T12:00:00Z");
        let wait = |d: Decision| judge(&d, None, None, now, now, GRACE, SETTLE);
        assert!(matches!(
            wait(Decision::WaitUntil(t("2026-08-20T12:10:00Z"))),
            Some(Verdict::Waiting { why, .. }) if why.starts_with("settling")
        ));
        assert!(matches!(
            wait(Decision::WaitUntil(t("2026-08-26T04:00:00Z"))),
            Some(Verdict::Waiting { why, .. }) if why == "dated in the future"
        ));
        assert!(matches!(wait(Decision::NextCycle), Some(Verdict::Waiting { until: None, .. })));
        assert_eq!(wait(Decision::TooOld), Some(Verdict::TooOld));
        assert_eq!(wait(Decision::Known), None);
    }
}
