//! `herald feeds`' cache: what a cold process would otherwise read and render again.
//!
//! A run reads the beginning of every article file (for its header) and renders the articles
//! its feeds hold. Both are kept in `herald-cache.db` beside the state database: the
//! beginnings by file, with the file's stamp (size, times, inode: a file whose stamp changed
//! is read again, and a stamp is kept only once the file has stood still for a clock tick);
//! the renderings by what they are made from (content hash, format, `Summary:`, summary
//! settings). A run after one that saw the same files reads and renders nothing again.
//!
//! The cache is only ever an aid. One that cannot be opened, read or written (a read-only
//! directory, a file that is not a database, another run writing it) is set aside, and the
//! run reads and renders as it would without it. One written by another build of herald is
//! emptied first: a renderer that changed must not serve the old one's HTML. What a run
//! writes is one transaction, so a run killed midway leaves the cache as it was. Renderings
//! no run used in its last [`KEEP_RUNS`] runs are let go; so are files no longer there.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{RenderStore, Rendered};
use crate::archive::article::ContentHash;
use crate::archive::heads::{Head, KnownHeads};

/// How many runs a rendering is kept without being used (a run with short feeds uses a few;
/// one with `--max-items all` every article's).
pub const KEEP_RUNS: i64 = 16;

/// The cache of one run, open.
pub struct FeedCache {
    conn: Arc<Mutex<Connection>>,
    /// This run's number (renderings note the last run that used them).
    run: i64,
    heads: KnownHeads,
}

impl FeedCache {
    /// The file of the cache beside the state database at `state_path`.
    pub fn path(state_path: &Path) -> PathBuf {
        state_path.with_file_name("herald-cache.db")
    }

    /// Opens the cache beside the state database at `state_path`, if it can be used (a
    /// cache that cannot is said at debug level and set aside).
    pub fn open(state_path: &Path) -> Option<Self> {
        let path = Self::path(state_path);
        let opened = Self::try_open(&path).or_else(|e| {
            // Not a database, or a damaged one: made anew (it only ever holds what can be
            // read and rendered again).
            let damaged = e.downcast_ref::<rusqlite::Error>().and_then(|e| e.sqlite_error_code());
            if !matches!(
                damaged,
                Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
            ) {
                return Err(e);
            }
            tracing::debug!(path = %path.display(), cause = %e, "feed cache damaged; made anew");
            std::fs::remove_file(&path)?;
            Self::try_open(&path)
        });
        match opened {
            Ok(cache) => Some(cache),
            Err(e) => {
                tracing::debug!(path = %path.display(), cause = %e, "feed cache not used");
                None
            }
        }
    }

    fn try_open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_millis(100))?;
        // Nothing waits for the disk (a run would spend more on it than it saves): a power
        // cut may leave the cache damaged, which is found (SQLite's checks, each row's
        // checksum, keys that name the file's stamp or the content) and made anew.
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        let meta = |key: &str| -> rusqlite::Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
        };
        let build = build_id()?;
        if meta("build")?.as_deref() != Some(build.as_str()) {
            // Another build's cache: its tables go, whatever their shape.
            conn.execute_batch(
                "DROP TABLE IF EXISTS heads; DROP TABLE IF EXISTS renderings;
                 DROP TABLE IF EXISTS used;",
            )?;
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS heads (
                 path BLOB PRIMARY KEY, stamp TEXT NOT NULL, head BLOB NOT NULL, hash BLOB,
                 checksum BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS renderings (
                 key BLOB PRIMARY KEY, html TEXT NOT NULL, summary TEXT NOT NULL,
                 checksum BLOB NOT NULL);
             -- The last run that used each rendering: a table of its own, so that noting a
             -- use writes a few bytes, not the rendering again.
             CREATE TABLE IF NOT EXISTS used (key BLOB PRIMARY KEY, run INTEGER NOT NULL)
                 WITHOUT ROWID;",
        )?;
        let run = meta("run")?.and_then(|r| r.parse::<i64>().ok()).unwrap_or(0) + 1;
        for (key, value) in [("build", build), ("run", run.to_string())] {
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                [key, &value],
            )?;
        }
        let mut heads = KnownHeads::new();
        {
            let mut stmt = conn.prepare("SELECT path, stamp, head, hash, checksum FROM heads")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let path: Vec<u8> = row.get(0)?;
                let hash: Option<[u8; 32]> = row.get(3)?;
                let head = Head {
                    stamp: row.get(1)?,
                    bytes: row.get(2)?,
                    hash: hash.map(ContentHash::from_bytes),
                };
                // A row damaged where the database does not look: as if not there.
                if row.get::<_, Vec<u8>>(4)? == head_checksum(&path, &head) {
                    heads.insert(path_of(path), head);
                }
            }
        }
        Ok(Self { conn: Arc::new(Mutex::new(conn)), run, heads })
    }

    /// The beginnings of files kept from earlier runs.
    pub fn heads(&self) -> &KnownHeads {
        &self.heads
    }

    /// Where this run's renderings are taken from and put.
    pub fn renderings(&self) -> Box<dyn RenderStore> {
        Box::new(Store { conn: self.conn.clone(), run: self.run, broken: false })
    }

    /// Keeps `heads` (the beginnings of files read in this run, and those whose content hash
    /// this run learned), and lets go of those of files not among `present`; then writes
    /// everything this run kept.
    pub fn finish(self, heads: &KnownHeads, present: &[&Path]) {
        let write = || -> rusqlite::Result<()> {
            let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut put =
                conn.prepare("INSERT OR REPLACE INTO heads VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for (path, head) in heads {
                let hash = head.hash.as_ref().map(|h| &h.as_bytes()[..]);
                let check = head_checksum(bytes_of(path), head);
                put.execute(params![bytes_of(path), head.stamp, head.bytes, hash, check])?;
            }
            let present: std::collections::HashSet<&Path> = present.iter().copied().collect();
            let mut delete = conn.prepare("DELETE FROM heads WHERE path = ?1")?;
            for path in self.heads.keys().filter(|p| !present.contains(p.as_path())) {
                delete.execute([bytes_of(path)])?;
            }
            conn.execute(
                "DELETE FROM renderings WHERE key IN (SELECT key FROM used WHERE run <= ?1)",
                [self.run - KEEP_RUNS],
            )?;
            conn.execute("DELETE FROM used WHERE run <= ?1", [self.run - KEEP_RUNS])?;
            conn.execute_batch("COMMIT")
        };
        if let Err(e) = write() {
            tracing::debug!(cause = %e, "feed cache not written");
        }
    }
}

/// The SHA-256 of `parts`, each after its length: what a row is checked against when read
/// (SQLite notices a damaged page structure, not a changed byte in a value).
fn checksum(parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}

fn head_checksum(path: &[u8], head: &Head) -> Vec<u8> {
    let hash = head.hash.as_ref().map_or(&[][..], |h| &h.as_bytes()[..]);
    checksum(&[path, head.stamp.as_bytes(), &head.bytes, hash])
}

fn rendering_checksum(rendered: &Rendered) -> Vec<u8> {
    checksum(&[rendered.html.as_bytes(), rendered.summary.as_bytes()])
}

/// What identifies this build of herald: the version, and the executable's size and time.
fn build_id() -> anyhow::Result<String> {
    let exe = std::fs::metadata(std::env::current_exe()?)?;
    let time = exe.modified()?.duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    Ok(format!("{} {} {time}", env!("CARGO_PKG_VERSION"), exe.len()))
}

fn bytes_of(path: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes()
}

fn path_of(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// The renderings table, as a run's [`RenderStore`]. A failure sets it aside for the rest of
/// the run.
struct Store {
    conn: Arc<Mutex<Connection>>,
    run: i64,
    broken: bool,
}

impl Store {
    fn with<T>(&mut self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
        if self.broken {
            return None;
        }
        let conn = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match f(&conn) {
            Ok(value) => Some(value),
            Err(e) => {
                tracing::debug!(cause = %e, "feed cache set aside");
                self.broken = true;
                None
            }
        }
    }
}

impl RenderStore for Store {
    fn get(&mut self, key: &[u8; 32]) -> Option<Rendered> {
        let run = self.run;
        self.with(|conn| {
            let found = conn
                .prepare_cached("SELECT html, summary, checksum FROM renderings WHERE key = ?1")?
                .query_row([&key[..]], |r| {
                    let rendered = Rendered { html: r.get(0)?, summary: r.get(1)? };
                    Ok((rendered, r.get::<_, Vec<u8>>(2)?))
                })
                .optional()?
                // A row damaged where the database does not look: rendered again.
                .filter(|(rendered, check)| *check == rendering_checksum(rendered))
                .map(|(rendered, _)| rendered);
            if found.is_some() {
                conn.prepare_cached("INSERT OR REPLACE INTO used VALUES (?1, ?2)")?
                    .execute(params![&key[..], run])?;
            }
            Ok(found)
        })
        .flatten()
    }

    fn put(&mut self, key: &[u8; 32], rendered: &Rendered) {
        let run = self.run;
        self.with(|conn| {
            conn.prepare_cached("INSERT OR REPLACE INTO renderings VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![
                    &key[..],
                    rendered.html,
                    rendered.summary,
                    rendering_checksum(rendered)
                ])?;
            conn.prepare_cached("INSERT OR REPLACE INTO used VALUES (?1, ?2)")?
                .execute(params![&key[..], run])
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &str) -> Rendered {
        Rendered { html: format!("<p>{text}</p>"), summary: text.into() }
    }

    #[test]
    fn what_a_run_keeps_the_next_finds_unless_another_build_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/herald.db");
        let cache = FeedCache::open(&state).unwrap();
        assert!(cache.heads().is_empty());
        let mut store = cache.renderings();
        store.put(&[1; 32], &rendered("one"));
        drop(store);
        let (a, b) = (dir.path().join("a.md"), dir.path().join("b.md"));
        let head = |stamp: &str, bytes: &[u8], hash: Option<ContentHash>| Head {
            stamp: stamp.into(),
            bytes: bytes.to_vec(),
            hash,
        };
        let fresh: KnownHeads = [
            (a.clone(), head("stamp a", b"Title: A\n\n", None)),
            (b.clone(), head("stamp b", b"Title: B\n\n", Some(ContentHash::from_bytes([7; 32])))),
        ]
        .into();
        cache.finish(&fresh, &[&a, &b]);

        // The next run finds both; one file gone is let go at its end.
        let cache = FeedCache::open(&state).unwrap();
        assert_eq!(cache.heads(), &fresh);
        assert_eq!(cache.renderings().get(&[1; 32]), Some(rendered("one")));
        assert_eq!(cache.renderings().get(&[2; 32]), None);
        cache.finish(&KnownHeads::new(), &[&a]);
        let cache = FeedCache::open(&state).unwrap();
        assert_eq!(cache.heads().keys().collect::<Vec<_>>(), [&a]);
        cache.finish(&KnownHeads::new(), &[&a]);

        // Written by another build: emptied.
        let conn = Connection::open(FeedCache::path(&state)).unwrap();
        conn.execute("UPDATE meta SET value = 'another build' WHERE key = 'build'", []).unwrap();
        drop(conn);
        let cache = FeedCache::open(&state).unwrap();
        assert!(cache.heads().is_empty());
        assert_eq!(cache.renderings().get(&[1; 32]), None);
    }

    #[test]
    fn a_value_damaged_inside_the_database_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("herald.db");
        let a = dir.path().join("a.md");
        let cache = FeedCache::open(&state).unwrap();
        cache.renderings().put(&[1; 32], &rendered("welcome"));
        let head = Head { stamp: "s".into(), bytes: b"Title: welcome\n\n".to_vec(), hash: None };
        cache.finish(&[(a.clone(), head)].into(), &[&a]);
        // One byte changed in each value, where SQLite's own checks do not look.
        let conn = Connection::open(FeedCache::path(&state)).unwrap();
        conn.execute("UPDATE renderings SET html = '<p>Welcome</p>'", []).unwrap();
        conn.execute("UPDATE heads SET head = CAST('Title: Welcome\n\n' AS BLOB)", []).unwrap();
        drop(conn);
        let cache = FeedCache::open(&state).unwrap();
        assert!(cache.heads().is_empty());
        assert_eq!(cache.renderings().get(&[1; 32]), None);
    }

    #[test]
    fn a_rendering_no_run_used_for_a_while_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("herald.db");
        let cache = FeedCache::open(&state).unwrap();
        let mut store = cache.renderings();
        store.put(&[1; 32], &rendered("used"));
        store.put(&[2; 32], &rendered("not used"));
        drop(store);
        cache.finish(&KnownHeads::new(), &[]);
        for _ in 0..KEEP_RUNS {
            let cache = FeedCache::open(&state).unwrap();
            assert!(cache.renderings().get(&[1; 32]).is_some());
            cache.finish(&KnownHeads::new(), &[]);
        }
        let cache = FeedCache::open(&state).unwrap();
        assert!(cache.renderings().get(&[1; 32]).is_some());
        assert_eq!(cache.renderings().get(&[2; 32]), None);
    }

    #[test]
    fn a_cache_another_run_is_writing_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("herald.db");
        let first = FeedCache::open(&state).unwrap();
        assert!(FeedCache::open(&state).is_none(), "a second run waits for no one");
        first.finish(&KnownHeads::new(), &[]);
        assert!(FeedCache::open(&state).is_some());
    }
}
