//! The database file: opening (created 0600, or 0660 in a group-writable directory),
//! pragmas, versioned migrations, batches, and the key/value meta table. The tables have their
//! own files: `issues`, `outbox`, `sessions`.

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
    // 7: claims are fenced by a generation; rows belong to the account's identity, not its
    // name; a row herald cannot decide about says why.
    "
    ALTER TABLE outbox ADD COLUMN claim_gen INTEGER NOT NULL DEFAULT 0;  -- bumped by every claim
    ALTER TABLE outbox ADD COLUMN identity TEXT;   -- the account posted to (platform, server, id or DID)
    ALTER TABLE outbox ADD COLUMN ambiguous TEXT;  -- why herald cannot tell whether a post is its own
    UPDATE outbox SET identity = (SELECT 'mastodon ' || i.origin || ' ' || i.remote_id
                                  FROM identities i WHERE i.account = outbox.account)
     WHERE platform = 'mastodon';
    UPDATE outbox SET identity = (SELECT 'bluesky ' || s.did FROM sessions s WHERE s.account = outbox.account)
     WHERE platform = 'bluesky';
    CREATE INDEX outbox_identity ON outbox (identity, issue_key);
    ",
    // 8: notices to the operator's channels and WebSub hubs, each sent once, retried.
    "
    CREATE TABLE notices (
        id              INTEGER PRIMARY KEY,
        channel         TEXT NOT NULL,   -- a [[notify]] channel's name, or `websub <hub>`
        key             TEXT NOT NULL,   -- what is notified: one notice per channel and key
        event           TEXT NOT NULL,
        body            TEXT NOT NULL,   -- the message (JSON)
        created_at      TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        sent_at         TEXT,
        last_error      TEXT,
        UNIQUE (channel, key)
    );
    CREATE INDEX notices_due ON notices (sent_at, next_attempt_at);
    ",
    // 9: the issues still to decide, found without reading every issue of the archive.
    "
    CREATE INDEX issues_undecided ON issues (key) WHERE state != 'decided';
    ",
    // 10: the check every cycle makes for times in the clock's future (it was set back), by
    // index rather than by reading every issue.
    "
    CREATE INDEX issues_first_seen ON issues (first_seen);
    CREATE INDEX issues_changed_at ON issues (changed_at);
    CREATE INDEX issues_too_old ON issues (status_since) WHERE status = 'too_old';
    ",
];

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
    /// The database shared by a process's tasks, locked; also after a panic in another
    /// holder, since the state is SQLite's (each step a transaction), not the mutex's.
    pub fn lock(db: &std::sync::Mutex<Db>) -> std::sync::MutexGuard<'_, Db> {
        db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens (creating it 0600, and its directory) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let err = |source| DbError { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(io_err(e)))?;
        }
        create_private(path).map_err(|e| err(io_err(e)))?;
        let conn = Connection::open(path).map_err(|e| err(explain_open(path, e)))?;
        // SQLite opens a file it cannot write read-only without a word, and the first write
        // fails with "attempt to write a readonly database".
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(err(io_err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "not writable by {}, and herald records there what it posts; run herald as \
                     the user that owns it (the service's: `sudo -u herald herald …`), or give \
                     it to this user (`chown`)",
                    crate::report::current_user()
                ),
            ))));
        }
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        // SQLite's page cache would grow to 2 MiB, and keep there as much of the state as it
        // read: memory that grows with the archive. The pages are read again from the
        // system's cache when needed (measured at 20,000 articles: idle RSS 30.5 → 28.2 MiB,
        // an unchanged cycle's CPU the same).
        conn.pragma_update(None, "cache_size", -64).map_err(err)?;
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
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| err(explain_read(e)))?;
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

    /// The database at `path`, read-only and as it is (for `check`): `None` unless its schema
    /// is this herald's own (an older one is migrated by the service, not here).
    pub fn reader(path: &Path) -> Result<Option<Db>, DbError> {
        if Self::open_read_only(path)? != MIGRATIONS.len() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| DbError { path: path.to_path_buf(), source })?;
        Ok(Some(Db { conn, path: path.to_path_buf(), file_id: None }))
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

    /// Removes a meta value.
    pub fn delete_meta(&self, key: &str) -> Result<(), DbError> {
        self.conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map(drop)
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

/// SQLite's "readonly directory" said as what it means for the operator.
fn explain_read(e: rusqlite::Error) -> rusqlite::Error {
    match e.sqlite_error() {
        Some(s) if s.extended_code == rusqlite::ffi::SQLITE_READONLY_DIRECTORY => {
            io_err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "cannot be read by {}: SQLite keeps its journal files beside it, in a \
                     directory this user cannot write",
                    crate::report::current_user()
                ),
            ))
        }
        _ => e,
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
}
