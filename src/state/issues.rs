//! The issues herald has seen: when first and last, their content's settle time, what was
//! decided for them (baseline, announced, too old) and the status `herald status` shows;
//! renames (a title or date fixed) carry an issue's state to its new URL.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::db::{Db, DbError, parse_ts, ts};

/// An issue as the state records it, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRecord {
    /// Its URL.
    pub key: String,
    /// `Number:`.
    pub number: Option<u32>,
    /// Its title.
    pub title: String,
    /// Its file.
    pub source: String,
    /// Its date, where recorded.
    pub date: Option<DateTime<Utc>>,
    /// When herald first saw it.
    pub first_seen: Option<DateTime<Utc>>,
    /// Decided: announced, baseline or too old.
    pub decided: bool,
    /// Recorded at the first start (or, before status was recorded, too old).
    pub baseline: bool,
    /// What the service decided (`waiting`, `held`, `delayed`, `baseline`, `too_old`,
    /// `announced`); `None` for an issue recorded by an older herald.
    pub status: Option<String>,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// Until when (waiting, the grace period).
    pub until: Option<DateTime<Utc>>,
    /// The guard's findings or other reasons (JSON list).
    pub reasons: Option<String>,
    /// In the archive now.
    pub present: bool,
}

/// An issue as a cycle finds it in the archive.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    /// Its key (URL).
    pub key: &'a str,
    /// Its `Number:`.
    pub number: Option<u32>,
    /// Its title as feeds show it.
    pub title: &'a str,
    /// Its file.
    pub source: &'a str,
    /// Its date.
    pub date: DateTime<Utc>,
    /// Its content hash.
    pub content_hash: &'a str,
}

/// An issue not decided yet, as [`Db::undecided`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// Its key (URL).
    pub key: String,
    /// Since when its file has been unchanged (`None` while it is away from the archive).
    pub unchanged_since: Option<DateTime<Utc>>,
}

impl Db {
    /// Records an issue as seen (or refreshes its title and last-seen time). `baseline` marks
    /// issues present at the first start, which are never announced automatically. Returns
    /// whether the issue was new.
    pub fn record_issue(
        &self,
        key: &str,
        number: Option<u32>,
        title: &str,
        source: &str,
        baseline: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let inserted = self
            .conn
            .execute(
                "INSERT INTO issues (key, number, title, source, first_seen, last_seen, baseline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (key) DO NOTHING",
                params![key, number, title, source, ts(now), baseline],
            )
            .map_err(|e| self.err(e))?;
        if inserted == 0 {
            self.conn
                .execute(
                    "UPDATE issues SET number = ?2, title = ?3, source = ?4, last_seen = ?5, state = 'decided' WHERE key = ?1",
                    params![key, number, title, source, ts(now)],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(inserted == 1)
    }

    /// [`Self::note_issue`], then its row read back: whether it is decided (announced,
    /// baseline or too old) and since when it has been unchanged. For tests: a cycle notes
    /// what changed and reads the undecided issues back at once ([`Self::undecided`]).
    #[cfg(test)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn observe_issue(
        &self,
        key: &str,
        number: Option<u32>,
        title: &str,
        source: &str,
        date: DateTime<Utc>,
        content_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(bool, DateTime<Utc>), DbError> {
        let sighting = Sighting { key, number, title, source, date, content_hash };
        self.note_issue(&sighting, now)?;
        let (state, changed): (String, Option<String>) = self
            .conn
            .prepare_cached("SELECT state, changed_at FROM issues WHERE key = ?1")
            .and_then(|mut stmt| stmt.query_row([key], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(|e| self.err(e))?;
        Ok((state == "decided", changed.as_deref().and_then(parse_ts).unwrap_or(now)))
    }

    /// Notes an issue present in the archive now, with the hash of its file. A new issue starts
    /// `waiting`; a changed one (or one back after being absent) restarts its settle time.
    pub fn note_issue(&self, issue: &Sighting, now: DateTime<Utc>) -> Result<(), DbError> {
        let Sighting { key, number, title, source, date, content_hash } = *issue;
        let now_s = ts(now);
        // Writing nothing for an issue whose file is as it was (a cycle over an unchanged
        // archive rewrites no page of the database). `last_seen` is its last change here, and
        // the time it went away in `mark_absent`.
        self.conn
            .prepare_cached(
                "INSERT INTO issues (key, number, title, source, first_seen, last_seen, content_hash, changed_at, state, date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?5, 'waiting', ?7)
                 ON CONFLICT (key) DO UPDATE SET
                     number = ?2, title = ?3, source = ?4, last_seen = ?5, date = ?7,
                     changed_at = CASE WHEN changed_at IS NULL OR content_hash IS NOT ?6 THEN ?5 ELSE changed_at END,
                     content_hash = ?6
                 WHERE number IS NOT ?2 OR title IS NOT ?3 OR source IS NOT ?4 OR date IS NOT ?7
                    OR content_hash IS NOT ?6 OR changed_at IS NULL",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![key, number, title, source, now_s, content_hash, ts(date)])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The issues not decided yet (waiting, held).
    pub fn undecided(&self) -> Result<Vec<Undecided>, DbError> {
        self.conn
            .prepare_cached("SELECT key, changed_at FROM issues WHERE state != 'decided'")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| {
                    let changed: Option<String> = r.get(1)?;
                    Ok(Undecided {
                        key: r.get(0)?,
                        unchanged_since: changed.as_deref().and_then(parse_ts),
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))
    }

    /// The clock was set back: times recorded in its future are brought to `now` (first seen,
    /// changed), and an issue judged too old in the clock's future (first seen while the
    /// clock ran ahead) is judged again. Returns the issues judged again.
    pub fn forget_the_future(&self, now: DateTime<Utc>) -> Result<Vec<String>, DbError> {
        let now = ts(now);
        let reopened = self
            .conn
            .prepare_cached(
                "UPDATE issues SET state = 'waiting', status = NULL, status_since = NULL,
                     status_until = NULL, first_seen = ?1
                 WHERE state = 'decided' AND status = 'too_old' AND status_since > ?1
                   AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.issue_key = issues.key)
                 RETURNING key",
            )
            .and_then(|mut stmt| stmt.query_map([&now], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        self.conn
            .prepare_cached(
                "UPDATE issues SET first_seen = MIN(first_seen, ?1), changed_at = MIN(changed_at, ?1)
                 WHERE first_seen > ?1 OR changed_at > ?1",
            )
            .and_then(|mut stmt| stmt.execute([&now]))
            .map_err(|e| self.err(e))?;
        Ok(reopened)
    }

    /// When the issue was first seen.
    pub fn first_seen(&self, key: &str) -> Result<Option<DateTime<Utc>>, DbError> {
        self.conn
            .query_row("SELECT first_seen FROM issues WHERE key = ?1", [key], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map(|s| s.as_deref().and_then(parse_ts))
            .map_err(|e| self.err(e))
    }

    /// Marks issues that are not in `present` as absent: if a waiting one comes back, its
    /// settle time starts again (a publication reverted and re-added is new again).
    pub fn mark_absent(&self, present: &[&str], now: DateTime<Utc>) -> Result<(), DbError> {
        let present: std::collections::HashSet<&str> = present.iter().copied().collect();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key FROM issues WHERE changed_at IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let known: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        for key in known.iter().filter(|k| !present.contains(k.as_str())) {
            self.conn
                .execute(
                    "UPDATE issues SET changed_at = NULL, last_seen = ?2 WHERE key = ?1",
                    params![key, ts(now)],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Finds decided issues that reappeared under a new URL — a new, waiting issue with the
    /// same `Number:` or the same file as a decided issue gone from the archive (its title or
    /// date was edited, and the slug or date in the URL with it) — and moves the old one's
    /// state to the new URL: it stays decided, keeps its posts (for `edit_on_title_change`),
    /// and is not announced again. Returns the (old, new) URLs.
    pub fn adopt_renamed(&self) -> Result<Vec<(String, String)>, DbError> {
        let pairs: Vec<(String, String)> = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT o.key, n.key FROM issues n JOIN issues o
                       ON o.key != n.key AND o.state = 'decided' AND o.changed_at IS NULL
                      AND (o.status IN ('announced', 'baseline')
                           OR (o.status IS NULL AND (o.baseline = 1
                               OR EXISTS (SELECT 1 FROM outbox WHERE issue_key = o.key))))
                      AND ((n.number IS NOT NULL AND o.number = n.number) OR o.source = n.source)
                     -- `state != 'decided'` lets the planner read the new issues from the
                     -- partial index issues_undecided instead of every issue.
                     WHERE n.state != 'decided' AND n.state = 'waiting' AND n.changed_at IS NOT NULL
                     ORDER BY o.last_seen DESC",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<Result<_, _>>())
                .map_err(|e| self.err(e))?
        };
        self.batch(|db| {
            let mut adopted: Vec<(String, String)> = Vec::new();
            for (old, new) in pairs {
                // One old issue per new one and the other way round (the newest match wins).
                if adopted.iter().any(|(o, n)| *o == old || *n == new) {
                    continue;
                }
                db.move_issue(&old, &new)?;
                adopted.push((old, new));
            }
            Ok(adopted)
        })
    }

    /// The announced (or baseline) issue that `key` renames, if any: another issue with the
    /// same `Number:` or the same file, which `herald announce` then takes for the same issue
    /// (the service finds renames with [`Self::adopt_renamed`]).
    pub fn renamed_from(
        &self,
        key: &str,
        number: Option<u32>,
        source: &str,
    ) -> Result<Option<String>, DbError> {
        self.conn
            .query_row(
                "SELECT o.key FROM issues o
                 WHERE o.key != ?1 AND ((?2 IS NOT NULL AND o.number = ?2) OR o.source = ?3)
                   AND (o.status IN ('announced', 'baseline')
                        OR (o.status IS NULL AND (o.baseline = 1
                            OR EXISTS (SELECT 1 FROM outbox WHERE issue_key = o.key))))
                 ORDER BY o.last_seen DESC LIMIT 1",
                params![key, number, source],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Moves issue `old`'s state and posts to `new` (its new URL): `new` stays decided,
    /// keeps the posts, and `old` is gone.
    pub fn adopt_issue(&self, old: &str, new: &str) -> Result<(), DbError> {
        self.batch(|db| db.move_issue(old, new))
    }

    fn move_issue(&self, old: &str, new: &str) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE issues SET state = 'decided',
                     baseline = (SELECT baseline FROM issues WHERE key = ?1),
                     first_seen = (SELECT first_seen FROM issues WHERE key = ?1),
                     status = (SELECT status FROM issues WHERE key = ?1),
                     status_since = (SELECT status_since FROM issues WHERE key = ?1),
                     status_until = NULL, reasons = NULL
                 WHERE key = ?2",
                params![old, new],
            )
            .and_then(|_| {
                self.conn.execute(
                    "UPDATE outbox SET issue_key = ?2 WHERE issue_key = ?1",
                    params![old, new],
                )
            })
            .and_then(|_| self.conn.execute("DELETE FROM issues WHERE key = ?1", [old]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Marks an issue decided (announced, baseline or too old): it is never considered again.
    pub fn decide_issue(&self, key: &str, baseline: bool) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE issues SET state = 'decided', baseline = ?2 WHERE key = ?1",
                params![key, baseline],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Records what the service decided about an issue now; `Ok(true)` when that is a change
    /// (another status, another time, other reasons), which is then logged once by the caller.
    /// `status_since` moves only when the status itself changes.
    pub fn set_issue_status(
        &self,
        key: &str,
        status: &str,
        until: Option<DateTime<Utc>>,
        reasons: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE issues SET
                     status_since = CASE WHEN status IS ?2 THEN status_since ELSE ?5 END,
                     status = ?2, status_until = ?3, reasons = ?4
                 WHERE key = ?1 AND (status IS NOT ?2 OR status_until IS NOT ?3 OR reasons IS NOT ?4)",
            )
            .and_then(|mut stmt| stmt.execute(params![key, status, until.map(ts), reasons, ts(now)]))
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Since when the issue has had its recorded status.
    pub fn issue_status_since(&self, key: &str) -> Result<Option<DateTime<Utc>>, DbError> {
        self.conn
            .query_row("SELECT status_since FROM issues WHERE key = ?1", [key], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()
            .map(|s| s.flatten().as_deref().and_then(parse_ts))
            .map_err(|e| self.err(e))
    }

    /// Every issue with what was decided about it, newest first.
    pub fn issue_records(&self) -> Result<Vec<IssueRecord>, DbError> {
        self.records_where("1", [])
    }

    /// The issues notifications are about: held now, or announced since `since` (newest
    /// first) — a handful, whatever the archive's size.
    pub fn notable_issues(&self, since: DateTime<Utc>) -> Result<Vec<IssueRecord>, DbError> {
        self.records_where(
            "status = 'held' OR (status = 'announced' AND status_since >= ?1)
             OR key IN (SELECT issue_key FROM outbox WHERE status = 'failed' OR ambiguous IS NOT NULL)",
            [ts(since)],
        )
    }

    fn records_where(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<IssueRecord>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT key, number, title, source, date, first_seen, state, baseline, status,
                        status_since, status_until, reasons, changed_at IS NOT NULL
                 FROM issues WHERE {condition} ORDER BY COALESCE(date, first_seen) DESC, key"
            ))
            .map_err(|e| self.err(e))?;
        let opt_ts = |s: Option<String>| s.as_deref().and_then(parse_ts);
        stmt.query_map(params, |r| {
            Ok(IssueRecord {
                key: r.get(0)?,
                number: r.get(1)?,
                title: r.get(2)?,
                source: r.get(3)?,
                date: opt_ts(r.get(4)?),
                first_seen: opt_ts(r.get(5)?),
                decided: r.get::<_, String>(6)? == "decided",
                baseline: r.get(7)?,
                status: r.get(8)?,
                since: opt_ts(r.get(9)?),
                until: opt_ts(r.get(10)?),
                reasons: r.get(11)?,
                present: r.get(12)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Whether the state has recorded any issue (without counting them).
    pub fn has_issues(&self) -> Result<bool, DbError> {
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM issues)", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// How many issues the state has recorded.
    pub fn issue_count(&self) -> Result<u64, DbError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM issues", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Whether the issue is known.
    pub fn issue_known(&self, key: &str) -> Result<bool, DbError> {
        self.conn
            .query_row("SELECT 1 FROM issues WHERE key = ?1", [key], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_issues_settle_unless_changed_or_absent() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let t0 = Utc::now();
        let t1 = t0 + chrono::Duration::seconds(60);
        let t2 = t0 + chrono::Duration::seconds(120);
        assert_eq!(
            db.observe_issue("k", None, "T", "a.md", t0, "h1", t0).unwrap(),
            (false, parse_ts(&ts(t0)).unwrap())
        );
        // Unchanged: the settle clock keeps running.
        assert_eq!(
            db.observe_issue("k", None, "T", "a.md", t0, "h1", t1).unwrap().1,
            parse_ts(&ts(t0)).unwrap()
        );
        // Changed: it restarts.
        assert_eq!(
            db.observe_issue("k", None, "T", "a.md", t0, "h2", t1).unwrap().1,
            parse_ts(&ts(t1)).unwrap()
        );
        // Seen again unchanged: nothing is written (the database's change counter stays).
        let changes = db.conn.total_changes();
        db.observe_issue("k", None, "T", "a.md", t0, "h2", t2).unwrap();
        assert_eq!(db.conn.total_changes(), changes, "an unchanged issue rewrote its row");
        // Gone and back: it restarts too.
        db.mark_absent(&[], t2).unwrap();
        assert_eq!(
            db.observe_issue("k", None, "T", "a.md", t0, "h2", t2).unwrap().1,
            parse_ts(&ts(t2)).unwrap()
        );
        db.decide_issue("k", false).unwrap();
        assert!(db.observe_issue("k", None, "T", "a.md", t0, "h3", t2).unwrap().0);
    }

    /// The clock 30 days ahead when an issue is first seen: judged too old. Once the clock is
    /// right again, it is judged again, and its settle time is not in the future. Before: too
    /// old for good.
    #[test]
    fn an_issue_judged_while_the_clock_ran_ahead_is_judged_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let now = Utc::now();
        let ahead = now + chrono::Duration::days(30);
        db.observe_issue("k", Some(1), "T", "a.md", now, "h", ahead).unwrap();
        db.decide_issue("k", false).unwrap();
        db.set_issue_status("k", "too_old", None, None, ahead).unwrap();
        // An announced issue seen then stays decided.
        db.observe_issue("j", Some(2), "T", "b.md", now, "h", ahead).unwrap();
        db.decide_issue("j", false).unwrap();
        db.set_issue_status("j", "announced", None, None, ahead).unwrap();
        assert!(db.forget_the_future(ahead).unwrap().is_empty(), "nothing in the future yet");
        assert_eq!(db.forget_the_future(now).unwrap(), ["k"]);
        let (decided, unchanged_since) =
            db.observe_issue("k", Some(1), "T", "a.md", now, "h", now).unwrap();
        assert!(!decided);
        assert!(unchanged_since <= now);
        assert!(db.first_seen("k").unwrap().unwrap() <= now);
        assert!(db.observe_issue("j", Some(2), "T", "b.md", now, "h", now).unwrap().0);
    }

    /// Issue #12: only an announced (or baseline) issue keeps its state across a rename; a
    /// too-old one whose date is fixed is a new issue under the normal rules.
    #[test]
    fn a_fix_is_a_rename_only_for_an_announced_or_baseline_issue() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let t0 = Utc::now();
        let t1 = t0 + chrono::Duration::seconds(60);
        for (n, status) in [(1u32, "announced"), (2, "baseline"), (3, "too_old")] {
            let old = format!("https://x/old-{n}/");
            db.observe_issue(&old, Some(n), "T", &format!("{n}.md"), t0, "h", t0).unwrap();
            db.decide_issue(&old, status == "baseline").unwrap();
            db.set_issue_status(&old, status, None, None, t0).unwrap();
        }
        // Every issue renamed: the old URLs gone, new ones waiting.
        db.mark_absent(&[], t0).unwrap();
        for n in 1..=3u32 {
            let new = format!("https://x/new-{n}/");
            db.observe_issue(&new, Some(n), "T2", &format!("{n}.md"), t1, "h2", t1).unwrap();
        }
        let mut adopted = db.adopt_renamed().unwrap();
        adopted.sort();
        assert_eq!(
            adopted,
            [
                ("https://x/old-1/".to_string(), "https://x/new-1/".to_string()),
                ("https://x/old-2/".to_string(), "https://x/new-2/".to_string())
            ]
        );
        assert!(
            db.observe_issue("https://x/new-1/", Some(1), "T2", "1.md", t1, "h2", t1).unwrap().0
        );
        assert!(
            !db.observe_issue("https://x/new-3/", Some(3), "T2", "3.md", t1, "h2", t1).unwrap().0
        );
    }

    #[test]
    fn issues_are_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let now = Utc::now();
        assert!(db.record_issue("https://x/1/", Some(1), "One", "a.md", false, now).unwrap());
        assert!(!db.record_issue("https://x/1/", Some(1), "One!", "a.md", false, now).unwrap());
        assert!(db.issue_known("https://x/1/").unwrap());
        assert!(!db.issue_known("https://x/2/").unwrap());
    }
}
