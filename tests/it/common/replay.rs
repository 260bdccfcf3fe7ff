//! Replaying This Week in Rust's real `content/` history (../shared/twir/history, 381 commits
//! from 2022-01 to 2025-05) into a live archive under `herald run`, the way the site's
//! checkout sees it: each commit's changed article files written to a temporary file and
//! renamed into place (as `git pull` does), removed files removed, the real gaps between
//! commits compressed by [`Replay::scale`] with the settle time and the grace period scaled
//! with them.
//!
//! A gap longer than anything the policy waits for (grace + settle) is equivalent to any
//! longer one, so it is cut short as soon as the service has nothing left pending.
//!
//! Then [`Outcome`] checks the promise: every issue published in the range announced exactly
//! once per account, no post carrying placeholder text, no issue present at the start (the
//! baseline) announced, whatever was reverted, re-added, retitled or fixed years later.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One commit of the history.
pub struct Commit {
    /// Its hash.
    pub hash: String,
    /// Its commit time (Unix seconds).
    pub time: i64,
    /// Its subject.
    pub subject: String,
}

/// A replay in a temporary directory.
pub struct Replay {
    _tmp: tempfile::TempDir,
    /// The temporary directory.
    pub dir: PathBuf,
    repo: PathBuf,
    /// The commits, oldest first.
    pub commits: Vec<Commit>,
    /// Real seconds per replayed second (200: TWiR's 10-minute settle takes 3 s).
    pub scale: f64,
    /// More configuration, appended to the replayed site's (`[[notify]]` channels).
    pub extra: String,
}

/// TWiR's settle time and grace period, in real seconds; the replay divides them by its scale.
pub const SETTLE_SECS: f64 = 600.0;
/// See [`SETTLE_SECS`].
pub const GRACE_SECS: f64 = 3600.0;

/// What a replay produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Issues (by `Number:`) published in the range and present at its end.
    pub published: BTreeSet<u32>,
    /// Posts per (number, account).
    pub posts: BTreeMap<(u32, String), usize>,
    /// Posts whose text carries a placeholder.
    pub with_placeholder: Vec<String>,
    /// Issues announced after the grace period, with the placeholders left.
    pub after_grace: Vec<String>,
    /// Baseline issues (present at the start) that were posted.
    pub baseline_posted: Vec<u32>,
    /// Sink lines per platform key above one.
    pub repeated_keys: usize,
    /// Wall time of the replay.
    pub wall: Duration,
    /// Commits applied.
    pub commits: usize,
}

impl Outcome {
    /// Issues published in the range that were posted exactly once on each of `accounts`.
    pub fn exactly_once(&self, accounts: &[&str]) -> usize {
        self.published
            .iter()
            .filter(|n| accounts.iter().all(|a| self.posts.get(&(**n, a.to_string())) == Some(&1)))
            .count()
    }

    /// Every (issue, account) posted more than once.
    pub fn duplicates(&self) -> Vec<String> {
        self.posts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((issue, account), n)| format!("#{issue} {account}: {n} posts"))
            .collect()
    }

    /// Issues published in the range and not posted on some account.
    pub fn missing(&self, accounts: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for n in &self.published {
            for a in accounts {
                if self.posts.get(&(*n, a.to_string())).copied().unwrap_or(0) == 0 {
                    out.push(format!("#{n} {a}"));
                }
            }
        }
        out
    }

    /// A report of the counts.
    pub fn report(&self, accounts: &[&str]) -> String {
        format!(
            "{} commits in {:.0?}; {} issues published in the range, {} announced exactly once per account; \
             {} duplicates; {} missing; {} posts with placeholder text; {} baseline issues posted; \
             {} repeated sink keys; announced after the grace period with placeholders left: {}",
            self.commits,
            self.wall,
            self.published.len(),
            self.exactly_once(accounts),
            self.duplicates().len(),
            self.missing(accounts).len(),
            self.with_placeholder.len(),
            self.baseline_posted.len(),
            self.repeated_keys,
            if self.after_grace.is_empty() {
                "none".to_string()
            } else {
                self.after_grace.join("; ")
            }
        )
    }
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .expect("running git (the replay needs it)");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn is_article(path: &str) -> bool {
    let Some(name) = path.strip_prefix("content/") else { return false };
    !name.contains('/')
        && !name.starts_with('.')
        && (name.ends_with(".md") || name.ends_with(".markdown") || name.ends_with(".rst"))
}

/// The `Number:` header of an article's text.
pub fn number_of(text: &str) -> Option<u32> {
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| l.strip_prefix("Number:").or_else(|| l.strip_prefix("number:")))
        .and_then(|v| v.trim().parse().ok())
}

impl Replay {
    /// Clones the history bundle into a new temporary directory.
    pub fn new(scale: f64) -> Replay {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let bundle = super::shared().join("twir/history/content-2022-01-to-2025-05.bundle");
        let repo = dir.join("history");
        let out = Command::new("git")
            .args(["clone", "-q", "--no-checkout", "-b", "main"])
            .arg(&bundle)
            .arg(&repo)
            .output()
            .expect("git clone of the history bundle");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let commits = git(&repo, &["log", "--reverse", "--first-parent", "--format=%H %ct %s"])
            .lines()
            .map(|l| {
                let mut parts = l.splitn(3, ' ');
                Commit {
                    hash: parts.next().unwrap().into(),
                    time: parts.next().unwrap().parse().unwrap(),
                    subject: parts.next().unwrap_or("").into(),
                }
            })
            .collect();
        Replay { _tmp: tmp, dir, repo, commits, scale, extra: String::new() }
    }

    fn show(&self, hash: &str, path: &str) -> Vec<u8> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.repo)
            .args(["show", &format!("{hash}:{path}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "git show {hash}:{path}");
        out.stdout
    }

    /// The article files of a commit, with their numbers.
    fn tree(&self, hash: &str) -> Vec<String> {
        git(&self.repo, &["ls-tree", "-r", "--name-only", hash, "--", "content/"])
            .lines()
            .filter(|p| is_article(p))
            .map(String::from)
            .collect()
    }

    fn numbers(&self, hash: &str) -> BTreeSet<u32> {
        self.tree(hash)
            .iter()
            .filter_map(|p| number_of(&String::from_utf8_lossy(&self.show(hash, p))))
            .collect()
    }

    /// Writes a file into the live archive as git does: a temporary file renamed into place.
    fn put(&self, live: &Path, hash: &str, path: &str) {
        let name = path.trim_start_matches("content/");
        let tmp = live.join(format!(".{name}.tmp-replay"));
        std::fs::write(&tmp, self.show(hash, path)).unwrap();
        std::fs::rename(&tmp, live.join(name)).unwrap();
    }

    /// The config of the replayed site: TWiR's settings with the settle time and grace period
    /// scaled, no age limit (the history is years old; the issues' dates stay real), and two
    /// dry-run sinks.
    fn config(&self) -> PathBuf {
        let settle = (SETTLE_SECS * 1000.0 / self.scale).ceil() as u64;
        let grace = (GRACE_SECS * 1000.0 / self.scale).ceil() as u64;
        let config = self.dir.join("herald.toml");
        std::fs::write(
            &config,
            format!(
                "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
                 [daemon]\nsettle = \"{settle}ms\"\ndebounce = \"50ms\"\nmax_age = \"3650d\"\n\
                 [announce]\nplaceholder_grace = \"{grace}ms\"\nrequest_timeout = \"2s\"\n\
                 [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n\
                 [[dry_run]]\nname = \"toot\"\nplatform = \"mastodon\"\npath = \"posts.jsonl\"\n{}",
                self.extra
            ),
        )
        .unwrap();
        config
    }

    fn start(&self, config: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("herald.log"))
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["-c", config.to_str().unwrap(), "run"])
            .env("HERALD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// Whether the service has anything pending: an issue waiting, delayed or being
    /// announced, or no scan made yet since `applied`.
    fn busy(&self, since: Instant, applied: Instant) -> bool {
        let Ok(db) = rusqlite::Connection::open_with_flags(
            self.dir.join("state/herald.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        ) else {
            return true;
        };
        let pending: i64 = db
            .query_row(
                "SELECT (SELECT COUNT(*) FROM issues WHERE state = 'waiting' AND changed_at IS NOT NULL
                           AND COALESCE(status, 'waiting') != 'held')
                      + (SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending'))",
                [],
                |r| r.get(0),
            )
            .unwrap_or(1);
        let scanned: Option<String> =
            db.query_row("SELECT value FROM meta WHERE key = 'last_scan'", [], |r| r.get(0)).ok();
        let _ = since;
        // A scan after the commit was applied (its debounce and cycle done).
        let fresh = scanned
            .and_then(|s| s.split(' ').next().map(str::to_string))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .is_some_and(|t| {
                let age = chrono::Utc::now() - t.to_utc();
                age.to_std().unwrap_or_default() < applied.elapsed()
            });
        pending > 0 || !fresh
    }

    /// Replays commits `range` (indices into [`Self::commits`]; the first is the starting
    /// archive, recorded as baseline) under `herald run`, and collects the outcome.
    pub fn run(&self, range: std::ops::Range<usize>) -> Outcome {
        let started = Instant::now();
        let live = self.dir.join("content");
        std::fs::create_dir_all(&live).unwrap();
        let first = &self.commits[range.start];
        for path in self.tree(&first.hash) {
            self.put(&live, &first.hash, &path);
        }
        let baseline = self.numbers(&first.hash);
        let config = self.config();
        let mut service = self.start(&config);
        let state = self.dir.join("state/herald.db");
        let t0 = Instant::now();
        while !state.exists() || self.busy(t0, t0) {
            assert!(t0.elapsed() < Duration::from_secs(60), "no first cycle");
            std::thread::sleep(Duration::from_millis(50));
        }
        let quiet = (GRACE_SECS + SETTLE_SECS + 60.0) as i64;
        let mut prev = first;
        for commit in &self.commits[range.start + 1..range.end] {
            let changes = git(
                &self.repo,
                &["diff", "--name-status", "-M", &prev.hash, &commit.hash, "--", "content/"],
            );
            for line in changes.lines() {
                let parts: Vec<&str> = line.split('\t').collect();
                let (removed, written) = match parts.as_slice() {
                    [status, path] if status.starts_with('D') => (Some(*path), None),
                    [status, from, to] if status.starts_with('R') => (Some(*from), Some(*to)),
                    [_, _, to] => (None, Some(*to)),
                    [_, path] => (None, Some(*path)),
                    _ => (None, None),
                };
                if let Some(path) = removed.filter(|p| is_article(p)) {
                    let _ = std::fs::remove_file(live.join(path.trim_start_matches("content/")));
                }
                if let Some(path) = written.filter(|p| is_article(p)) {
                    self.put(&live, &commit.hash, path);
                }
            }
            let applied = Instant::now();
            let touched = changes.lines().any(|l| l.split('\t').skip(1).any(is_article));
            // The gap to the next commit, compressed. Time matters only while something is
            // pending (an issue settling or delayed by a placeholder, a post on its way): as
            // soon as nothing is, the rest of the gap changes nothing and is skipped.
            let next = self
                .commits
                .iter()
                .position(|c| c.hash == commit.hash)
                .and_then(|i| self.commits.get(i + 1));
            let gap = next.map_or(quiet, |n| (n.time - commit.time).max(0));
            let scaled = Duration::from_secs_f64(gap.min(quiet) as f64 / self.scale);
            if touched {
                std::thread::sleep(Duration::from_millis(100).min(scaled));
                while applied.elapsed() < scaled && self.busy(applied, applied) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            prev = commit;
        }
        // Let the notices of the last cycles go out (the notifier sends right after a cycle).
        let unsent = || -> i64 {
            rusqlite::Connection::open_with_flags(
                &state,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .and_then(|db| {
                db.query_row("SELECT COUNT(*) FROM notices WHERE sent_at IS NULL", [], |r| r.get(0))
            })
            .unwrap_or(0)
        };
        let t = Instant::now();
        while unsent() > 0 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Stop the service.
        let _ = Command::new("kill").args(["-TERM", &service.id().to_string()]).status();
        let _ = service.wait();

        let last = &self.commits[range.end - 1];
        let end = self.numbers(&last.hash);
        let mut outcome = Outcome {
            published: end.difference(&baseline).copied().collect(),
            wall: started.elapsed(),
            commits: range.len(),
            ..Outcome::default()
        };
        // Posts per issue number and account, from the state (the sink's keys name the rows).
        let db = rusqlite::Connection::open(&state).unwrap();
        let mut stmt = db
            .prepare(
                "SELECT i.number, o.account, o.platform_key FROM outbox o JOIN issues i ON i.key = o.issue_key
                 WHERE o.status = 'posted'",
            )
            .unwrap();
        let rows: Vec<(Option<u32>, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let sink = std::fs::read_to_string(self.dir.join("posts.jsonl")).unwrap_or_default();
        let mut per_key: HashMap<String, usize> = HashMap::new();
        for line in sink.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if !v["edit"].is_null() {
                continue;
            }
            *per_key.entry(v["key"].as_str().unwrap_or("").to_string()).or_default() += 1;
            let text = v["post"]["text"].as_str().unwrap_or("");
            if ["INSERT_LINK_HERE", "REDDIT_LINK_HERE", "goes here -->", "go here -->"]
                .iter()
                .any(|p| text.contains(p))
            {
                outcome.with_placeholder.push(text.to_string());
            }
        }
        outcome.repeated_keys = per_key.values().filter(|n| **n > 1).count();
        for (number, account, key) in rows {
            let Some(n) = number else { continue };
            // A post counts once per sink line with its key (a key written twice is two posts).
            *outcome.posts.entry((n, account)).or_default() +=
                per_key.get(&key).copied().unwrap_or(1);
            if baseline.contains(&n) && !outcome.baseline_posted.contains(&n) {
                outcome.baseline_posted.push(n);
            }
        }
        let log = std::fs::read_to_string(self.dir.join("herald.log")).unwrap_or_default();
        for line in log.lines().filter(|l| l.contains("announcing with placeholders left")) {
            let issue = line
                .split("issue=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("?");
            let left = line.split("placeholders=").nth(1).unwrap_or("?");
            outcome.after_grace.push(format!("{issue}: {left}"));
        }
        outcome
    }

    /// The service's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("herald.log")).unwrap_or_default()
    }
}
