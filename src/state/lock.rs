//! One service per state database: `herald run` holds an exclusive lock on a file beside the
//! database (`herald.db.lock`) for its whole life, so a unit started twice, or a manual run
//! beside the service, stops at once with a message naming the process that holds it.
//!
//! The lock is `flock(2)` (std's `File::try_lock`): the kernel releases it when the process
//! ends, however it ends, so a crash never leaves a stale lock behind. The file itself stays
//! and holds the last holder's pid, for the message.
//!
//! Commands that post without the service (`herald announce`) take no lock: they claim each
//! outbox row by the same conditional update as the service (see [`super::outbox`]), so the
//! two never send the same row.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another herald run{} holds the state database {}; only one may run at a time \
         (stop the other one, e.g. `systemctl stop herald`, or give this one its own [state] path)",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
        db.display()
    )]
    Held {
        /// The database.
        db: PathBuf,
        /// What the lock file says of its holder.
        holder: Option<String>,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {}: {source}{}", path.display(), denied_hint(source))]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What to do when the lock file is someone else's.
fn denied_hint(e: &std::io::Error) -> String {
    if e.kind() != std::io::ErrorKind::PermissionDenied {
        return String::new();
    }
    format!(
        " for {}; run herald as the user that owns the state (the service's: `sudo -u herald \
         herald …`), or give the state directory to this user (`chown -R`)",
        crate::report::current_user()
    )
}

impl StateLock {
    /// The lock file of the database at `db`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        db.with_file_name(name)
    }

    /// Takes the lock of the database at `db` for this process, or fails at once. The lock
    /// file sits beside the database's real file: a config that reaches the same database
    /// through a symbolic link (or another spelling of the path) takes the same lock.
    pub fn acquire(db: &Path) -> Result<Self, LockError> {
        let path = Self::path_for(&real_path(db));
        let io = |source| LockError::Io { path: path.clone(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = Some(text.trim().to_string()).filter(|t| !t.is_empty());
                return Err(LockError::Held { db: db.to_path_buf(), holder });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let holder = format!("pid {}, since {since}", std::process::id());
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        Ok(Self { file, path })
    }

    /// Who holds the lock of the database at `db` now (what its lock file says, e.g.
    /// `pid 1234, since …`), or `None` when no process does. Takes no lock that lasts: a
    /// shared lock is tried and let go at once, with read access only.
    pub fn holder(db: &Path) -> Option<String> {
        let path = Self::path_for(&real_path(db));
        let mut file = File::open(&path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Some(text.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .or(Some("a herald run".into()))
            }
            Err(std::fs::TryLockError::Error(_)) => None,
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the lock file is still the one locked: removed or replaced, it no longer
    /// keeps a second `herald run` out.
    pub fn check(&self) -> anyhow::Result<()> {
        let held = self.file.metadata().ok().map(|m| super::db::identity(&m));
        if held.is_none() || held != super::db::file_id(&self.path) {
            anyhow::bail!(
                "the lock file {} was removed or replaced while herald ran, so another herald \
                 could start on the same state; stopping (start herald again)",
                self.path.display()
            );
        }
        Ok(())
    }
}

/// `db` with every symbolic link in it resolved (the file itself need not exist yet).
fn real_path(db: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(db) {
        return real;
    }
    match (db.parent().filter(|p| !p.as_os_str().is_empty()), db.file_name()) {
        (Some(dir), Some(name)) => {
            std::fs::canonicalize(dir).map(|d| d.join(name)).unwrap_or_else(|_| db.to_path_buf())
        }
        _ => db.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_seen_without_taking_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        assert_eq!(StateLock::holder(&db), None);
        let lock = StateLock::acquire(&db).unwrap();
        let holder = StateLock::holder(&db).unwrap();
        assert!(holder.starts_with(&format!("pid {}", std::process::id())), "{holder}");
        drop(lock);
        assert_eq!(StateLock::holder(&db), None);
        // Looking took no lock: the service can still start.
        assert!(StateLock::acquire(&db).is_ok());
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("herald.db");
        let first = StateLock::acquire(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("herald.db.lock"));
        let err = StateLock::acquire(&db).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        assert!(err.contains("only one may run at a time"), "{err}");
        // The same database through a symbolic link: the same lock.
        std::fs::write(&db, b"").unwrap();
        let link = dir.path().join("other/link.db");
        std::fs::create_dir(dir.path().join("other")).unwrap();
        std::os::unix::fs::symlink(&db, &link).unwrap();
        assert!(StateLock::acquire(&link).is_err());
        first.check().unwrap();
        std::fs::remove_file(first.path()).unwrap();
        assert!(first.check().unwrap_err().to_string().contains("was removed or replaced"));
        drop(first);
        StateLock::acquire(&db).unwrap();
    }
}
