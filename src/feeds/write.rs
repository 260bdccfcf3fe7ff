//! Putting feed files on disk: atomically, and only when their bytes change.
//!
//! A feed is written to a temporary file in its own directory, flushed with `fsync`, renamed
//! over the old one and the directory is synced, so a reader or a crash sees either the old
//! feed or the new one, never half of one. A feed whose bytes are unchanged is not touched, so
//! its mtime (and the web server's `Last-Modified`/ETag) stays and conditional GETs keep
//! answering 304.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::FeedFile;
use crate::archive::scan::Stamp;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file was created or its bytes changed.
    Written,
    /// The file already had exactly these bytes.
    Unchanged,
}

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing {}: {source}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// Writes `bytes` to `path` atomically unless the file already holds exactly them.
///
/// New files get mode 0644 (feeds are public and a web server must read them); a replaced
/// file keeps its mode.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<WriteOutcome, WriteError> {
    write_if_changed_then(path, bytes, || Ok(()))
}

/// [`write_if_changed`], calling `before_replace` once the new bytes are ready and before
/// they replace the old file (a change recorded there is never lost to a crash: at worst it
/// is recorded for a file left unchanged).
pub fn write_if_changed_then(
    path: &Path,
    bytes: &[u8],
    before_replace: impl FnOnce() -> io::Result<()>,
) -> Result<WriteOutcome, WriteError> {
    let err = |source| WriteError { path: path.to_path_buf(), source };
    let same_size = fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64);
    if same_size && fs::read(path).map_err(err)? == bytes {
        return Ok(WriteOutcome::Unchanged);
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(err)?;
    let mode = fs::metadata(path).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    if let Some(permissions) = mode.or_else(default_permissions) {
        tmp.as_file().set_permissions(permissions).map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    before_replace().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    sync_dir(dir).map_err(err)?;
    Ok(WriteOutcome::Written)
}

/// The feed files a build left in place, with the settings they were built under. While
/// the articles they were built from are unchanged, the settings the same and every file's
/// stamp as it was, building them again would give the same bytes: a caller that knows the
/// articles unchanged skips the build.
#[derive(Debug)]
pub struct Left {
    settings: super::FeedSettings,
    /// Each file with its stamp (size, times, inode: what a write by anyone else changes).
    files: Vec<(PathBuf, Option<Stamp>)>,
}

impl Left {
    /// The files at `paths` (as [`super::update`] returns them, relative to the output
    /// directory) as they are now.
    pub fn new(settings: &super::FeedSettings, paths: &[String]) -> Self {
        let files = paths
            .iter()
            .map(|p| {
                let path = settings.files.output.join(p);
                let stamp = Stamp::of_path(&path);
                (path, stamp)
            })
            .collect();
        Self { settings: settings.clone(), files }
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether every file stands as it was left, under the same `settings`.
    pub fn still(&self, settings: &super::FeedSettings) -> bool {
        self.settings == *settings
            && self
                .files
                .iter()
                .all(|(path, stamp)| stamp.is_some() && Stamp::of_path(path) == *stamp)
    }
}

/// The prefix and suffix of herald's temporary files (`.herald-XXXXXX.tmp`).
const TMP_PREFIX: &str = ".herald-";
const TMP_SUFFIX: &str = ".tmp";

/// Removes temporary files of herald's own naming left in `output` (and in the directories
/// feeds are written to below it: two levels, as in `categories/{slug}/`) by a write that
/// was killed before its rename. Returns how many were removed. Nothing else is touched.
pub fn remove_leftovers(output: &Path) -> io::Result<usize> {
    fn walk(dir: &Path, depth: usize, removed: &mut usize) -> io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_file() && name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX) {
                fs::remove_file(entry.path())?;
                *removed += 1;
            } else if kind.is_dir() && depth < 2 {
                walk(&entry.path(), depth + 1, removed)?;
            }
        }
        Ok(())
    }
    let mut removed = 0;
    walk(output, 0, &mut removed)?;
    Ok(removed)
}

/// The mode of a new feed: 0644 on Unix (the temporary file would be 0600).
fn default_permissions() -> Option<fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(fs::Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    None
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}

/// Writes every file below `output`, returning each path (relative) with its outcome. Stops at
/// the first failure; files already written stay written (each one is complete).
pub fn write_feeds(
    output: &Path,
    files: &[FeedFile],
) -> Result<Vec<(String, WriteOutcome)>, WriteError> {
    write_feeds_then(output, files, &mut |_| Ok(()))
}

/// [`write_feeds`], calling `before_replace` with a file's path (relative) before its new
/// bytes replace the old ones.
pub fn write_feeds_then(
    output: &Path,
    files: &[FeedFile],
    before_replace: &mut dyn FnMut(&str) -> io::Result<()>,
) -> Result<Vec<(String, WriteOutcome)>, WriteError> {
    files
        .iter()
        .map(|f| {
            let outcome =
                write_if_changed_then(&output.join(&f.path), &f.bytes, || before_replace(&f.path))?;
            Ok((f.path.clone(), outcome))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_temporary_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        fs::create_dir_all(out.join("categories/week-in-rust")).unwrap();
        for f in [".herald-abc123.tmp", "categories/week-in-rust/.herald-x.tmp"] {
            fs::write(out.join(f), "partial").unwrap();
        }
        for f in ["atom.xml", ".hidden.tmp", "herald-x.tmp", "categories/week-in-rust/atom.xml"] {
            fs::write(out.join(f), "keep").unwrap();
        }
        assert_eq!(remove_leftovers(out).unwrap(), 2);
        assert!(!out.join(".herald-abc123.tmp").exists());
        for f in ["atom.xml", ".hidden.tmp", "herald-x.tmp", "categories/week-in-rust/atom.xml"] {
            assert!(out.join(f).exists(), "{f}");
        }
        assert_eq!(remove_leftovers(&out.join("missing")).unwrap(), 0);
    }

    #[test]
    fn unchanged_bytes_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/atom.xml");
        assert_eq!(write_if_changed(&path, b"<feed/>").unwrap(), WriteOutcome::Written);
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(write_if_changed(&path, b"<feed/>").unwrap(), WriteOutcome::Unchanged);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        assert_eq!(write_if_changed(&path, b"<feed>x</feed>").unwrap(), WriteOutcome::Written);
        assert_eq!(fs::read(&path).unwrap(), b"<feed>x</feed>");
        // No temporary file is left behind.
        let names: Vec<_> =
            fs::read_dir(dir.path().join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["atom.xml"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_feeds_are_world_readable_and_replacements_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rss.xml");
        write_if_changed(&path, b"a").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_if_changed(&path, b"b").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_failed_write_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").unwrap();
        let err = write_if_changed(&blocker.join("atom.xml"), b"y").unwrap_err();
        assert!(err.to_string().contains("file/atom.xml"), "{err}");
    }
}
