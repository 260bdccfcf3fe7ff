//! The database file: opening (created 0600), pragmas, versioned migrations, and the small
//! tables beside the outbox (issues seen, Bluesky sessions and logins, key/value meta).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// A state database error, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("state database {}: {source}", path.display())]
pub struct DbError {
    /// The database file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: rusqlite::Error,
}

/// Migrations, applied in order; `user_version` records how many ran. Never edit one that
/// has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: issues, outbox, sessions, logins, meta.
    "
    CREATE TABLE issues (
        key         TEXT PRIMARY KEY,   -- the issue's URL: stable across edits
        number      INTEGER,
        title       TEXT NOT NULL,
        source      TEXT NOT NULL,
        first_seen  TEXT NOT NULL,
        last_seen   TEXT NOT NULL,
        baseline    INTEGER NOT NULL DEFAULT 0   -- present at the first start: never announced automatically
    );
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        issue_key       TEXT NOT NULL REFERENCES issues(key),
        account         TEXT NOT NULL,
        platform        TEXT NOT NULL,
        generation      INTEGER NOT NULL DEFAULT 0,  -- `announce --force-new` adds one
        post            TEXT NOT NULL,               -- the rendered post (JSON)
        post_hash       TEXT NOT NULL,
        platform_key    TEXT NOT NULL,               -- Bluesky rkey (TID) / Mastodon Idempotency-Key
        status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'posted', 'failed', 'held')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        reconcile       INTEGER NOT NULL DEFAULT 0,  -- a call may have reached the server: look before sending
        refitted        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        next_attempt_at TEXT,
        remote_id       TEXT,
        remote_cid      TEXT,
        remote_url      TEXT,
        posted_at       TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (issue_key, account, generation)
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE TABLE sessions (
        account     TEXT PRIMARY KEY,
        did         TEXT NOT NULL,
        handle      TEXT NOT NULL,
        access_jwt  TEXT NOT NULL,
        refresh_jwt TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE logins (account TEXT NOT NULL, at TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ",
    // 2: the daemon's view of each issue: waiting to settle, or decided.
    "
    ALTER TABLE issues ADD COLUMN content_hash TEXT;
    ALTER TABLE issues ADD COLUMN changed_at TEXT;   -- NULL while absent from the archive
    ALTER TABLE issues ADD COLUMN state TEXT NOT NULL DEFAULT 'decided'
        CHECK (state IN ('waiting', 'decided'));
    ",
    // 3: the issue title each post was composed with, for `edit_on_title_change`.
    "
    ALTER TABLE outbox ADD COLUMN title TEXT;       -- NULL for rows made before: never edited
    ALTER TABLE outbox ADD COLUMN edited_at TEXT;
    ",
    // 4: claims with leases, the late-duplicate check, sessions bound to an identity, and
    // the identity each Mastodon token belongs to.
    "
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;   -- who holds the row while it is `sending`
    ALTER TABLE outbox ADD COLUMN lease_until TEXT;  -- nobody else touches a `sending` row before this
    ALTER TABLE outbox ADD COLUMN unsure_since TEXT; -- start of the first call whose outcome is unknown
    ALTER TABLE outbox ADD COLUMN verify_at TEXT;    -- posted after a re-send: look for a late duplicate then
    ALTER TABLE sessions ADD COLUMN service TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN identifier TEXT NOT NULL DEFAULT '';
    CREATE TABLE identities (
        account     TEXT PRIMARY KEY,
        origin      TEXT NOT NULL,   -- the server the token belongs to
        remote_id   TEXT NOT NULL,   -- the account id (Mastodon) or DID (Bluesky) it posts as
        handle      TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    ",
    // 5: what the service decided about each issue, for `status` and for logging a change once.
    "
    ALTER TABLE issues ADD COLUMN date TEXT;          -- the issue's date (RFC 3339, UTC)
    ALTER TABLE issues ADD COLUMN status TEXT;        -- see IssueStatus; NULL: recorded before
    ALTER TABLE issues ADD COLUMN status_since TEXT;
    ALTER TABLE issues ADD COLUMN status_until TEXT;  -- waiting until / grace ends / held since
    ALTER TABLE issues ADD COLUMN reasons TEXT;       -- JSON list of the guard's findings
    ",
    // 6: the issue URL each post was composed with, looked for after a rename.
    "
    ALTER TABLE outbox ADD COLUMN post_url TEXT;
    UPDATE outbox SET post_url = issue_key;
    ALTER TABLE outbox ADD COLUMN found INTEGER NOT NULL DEFAULT 0;  -- recorded by looking, not by a reply
    ",
];

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

/// The open state database.
pub struct Db {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// The file's device and inode when it was opened, to notice it deleted or replaced.
    file_id: Option<(u64, u64)>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

/// Timestamps are stored as RFC 3339 UTC text (sortable).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

impl Db {
    /// Opens (creating it 0600, and its directory) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let err = |source| DbError { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(io_err(e)))?;
        }
        create_private(path).map_err(|e| err(io_err(e)))?;
        let conn = Connection::open(path).map_err(|e| err(explain_open(path, e)))?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        let file_id = file_id(path);
        let mut db = Self { conn, path: path.to_path_buf(), file_id };
        db.migrate()?;
        Ok(db)
    }

    /// Checks that the file at the database's path is still the one opened. SQLite keeps
    /// writing into a deleted or replaced file without a word, and everything recorded there
    /// would be lost: the service stops instead.
    pub fn check_file(&self) -> anyhow::Result<()> {
        let now = file_id(&self.path);
        if now.is_none() || now != self.file_id {
            anyhow::bail!(
                "the state database {} was {} while herald ran; stopping rather than recording \
                 into a file nobody will read (put the database back, or remove what replaced \
                 it, then start herald again)",
                self.path.display(),
                if now.is_none() { "deleted" } else { "replaced" }
            );
        }
        Ok(())
    }

    /// Opens the database at `path` read-only, touching nothing (for `check`), and returns
    /// its schema version; an error if it is not a database, is damaged, or is newer than
    /// this herald knows.
    pub fn open_read_only(path: &Path) -> Result<usize, DbError> {
        let err = |source| DbError { path: path.to_path_buf(), source };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| err(explain_open(path, e)))?;
        let version: usize =
            conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        let check: String =
            conn.pragma_query_value(None, "quick_check", |r| r.get(0)).map_err(err)?;
        if check != "ok" {
            return Err(err(io_err(std::io::Error::other(format!(
                "damaged ({check}); restore it from a backup"
            )))));
        }
        if version > MIGRATIONS.len() {
            return Err(err(io_err(std::io::Error::other(format!(
                "schema version {version} is newer than this herald knows ({}); upgrade herald",
                MIGRATIONS.len()
            )))));
        }
        Ok(version)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> DbError {
        DbError { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<(), DbError> {
        let version: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > MIGRATIONS.len() {
            return Err(self.err(io_err(std::io::Error::other(format!(
                "schema version {version} is newer than this herald knows ({}); upgrade herald",
                MIGRATIONS.len()
            )))));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self
                .conn
                .transaction()
                .map_err(|e| DbError { path: self.path.clone(), source: e })?;
            tx.execute_batch(sql).map_err(|e| DbError { path: self.path.clone(), source: e })?;
            tx.pragma_update(None, "user_version", i + 1)
                .map_err(|e| DbError { path: self.path.clone(), source: e })?;
            tx.commit().map_err(|e| DbError { path: self.path.clone(), source: e })?;
        }
        Ok(())
    }

    /// Runs `f` in one transaction: committed if it succeeds, rolled back if not.
    pub fn batch<T>(&self, f: impl FnOnce(&Db) -> Result<T, DbError>) -> Result<T, DbError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))?;
        match f(self) {
            Ok(value) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// A meta value.
    pub fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sets a meta value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
                params![key, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

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

    /// Notes an issue present in the archive now, with the hash of its file. A new issue starts
    /// `waiting`; a changed one (or one back after being absent) restarts its settle time.
    /// Returns whether it is decided (announced, baseline or too old) and since when it has
    /// been unchanged.
    #[allow(clippy::too_many_arguments)]
    pub fn observe_issue(
        &self,
        key: &str,
        number: Option<u32>,
        title: &str,
        source: &str,
        date: DateTime<Utc>,
        content_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(bool, DateTime<Utc>), DbError> {
        let now_s = ts(now);
        // Run for every issue on every cycle: prepared once.
        self.conn
            .prepare_cached(
                "INSERT INTO issues (key, number, title, source, first_seen, last_seen, content_hash, changed_at, state, date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?5, 'waiting', ?7)
                 ON CONFLICT (key) DO UPDATE SET
                     number = ?2, title = ?3, source = ?4, last_seen = ?5, date = ?7,
                     changed_at = CASE WHEN changed_at IS NULL OR content_hash IS NOT ?6 THEN ?5 ELSE changed_at END,
                     content_hash = ?6",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![key, number, title, source, now_s, content_hash, ts(date)])
            })
            .map_err(|e| self.err(e))?;
        let (state, changed): (String, Option<String>) = self
            .conn
            .prepare_cached("SELECT state, changed_at FROM issues WHERE key = ?1")
            .and_then(|mut stmt| stmt.query_row([key], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(|e| self.err(e))?;
        Ok((state == "decided", changed.as_deref().and_then(parse_ts).unwrap_or(now)))
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
    pub fn mark_absent(&self, present: &[&str]) -> Result<(), DbError> {
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
                .execute("UPDATE issues SET changed_at = NULL WHERE key = ?1", [key])
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
                     WHERE n.state = 'waiting' AND n.changed_at IS NOT NULL
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
        let mut stmt = self
            .conn
            .prepare(
                "SELECT key, number, title, source, date, first_seen, state, baseline, status,
                        status_since, status_until, reasons, changed_at IS NOT NULL
                 FROM issues ORDER BY COALESCE(date, first_seen) DESC, key",
            )
            .map_err(|e| self.err(e))?;
        let opt_ts = |s: Option<String>| s.as_deref().and_then(parse_ts);
        stmt.query_map([], |r| {
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

/// The file at `path` (device and inode), to notice it deleted or replaced.
pub(crate) fn file_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| identity(&m))
}

/// A file's device and inode.
pub(crate) fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        (m.len(), 0)
    }
}

/// SQLite says "unable to open database file" for any reason; say which when it is the file
/// system's permissions, and as whom herald runs.
fn explain_open(path: &Path, e: rusqlite::Error) -> rusqlite::Error {
    let denied = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .err()
        .filter(|io| io.kind() == std::io::ErrorKind::PermissionDenied);
    match denied {
        Some(_) => io_err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "permission denied for {}: run herald as the user that owns the state (the service's)",
                crate::report::current_user()
            ),
        )),
        None => e,
    }
}

fn io_err(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Creates the file if it does not exist (SQLite would use the umask): 0600, readable by
/// herald alone, or 0660 in a directory its group may write to (the package's
/// /var/lib/herald, setgid herald: operators in that group share the state). SQLite gives
/// the WAL and shared-memory files the database's mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let shared = std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o020 != 0);
        let mode = if shared { 0o660 } else { 0o600 };
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        mode
    };
    match options.open(path) {
        // The umask may have taken the group's bits: set the mode itself.
        #[cfg(unix)]
        Ok(file) => {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))
        }
        #[cfg(not(unix))]
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_in_wal_mode_and_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/herald.db");
        let db = Db::open(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let mode: String = db.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = db.conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "FULL");
        db.set_meta("k", "v").unwrap();
        drop(db);
        let db = Db::open(&path).unwrap();
        assert_eq!(db.meta("k").unwrap().as_deref(), Some("v"));
        let version: usize =
            db.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    #[test]
    fn shared_with_the_group_only_in_a_group_writable_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
        Db::open(&shared.join("h.db")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&shared.join("h.db")), 0o660);
        Db::open(&dir.path().join("h.db")).unwrap();
        assert_eq!(mode(&dir.path().join("h.db")), 0o600);
    }

    #[test]
    fn a_database_deleted_or_replaced_under_it_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let db = Db::open(&path).unwrap();
        db.check_file().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(db.check_file().unwrap_err().to_string().contains("was deleted"));
        std::fs::write(&path, b"").unwrap();
        assert!(db.check_file().unwrap_err().to_string().contains("was replaced"));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let db = Db::open(&path).unwrap();
        db.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(db);
        let err = Db::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer than this herald knows"), "{err}");
    }

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
        // Gone and back: it restarts too.
        db.mark_absent(&[]).unwrap();
        assert_eq!(
            db.observe_issue("k", None, "T", "a.md", t0, "h2", t2).unwrap().1,
            parse_ts(&ts(t2)).unwrap()
        );
        db.decide_issue("k", false).unwrap();
        assert!(db.observe_issue("k", None, "T", "a.md", t0, "h3", t2).unwrap().0);
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
        db.mark_absent(&[]).unwrap();
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
