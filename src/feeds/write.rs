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
    let mut sink = FileSink::new(path, Some(bytes.len() as u64));
    sink.write_all(bytes).map_err(|source| WriteError { path: path.to_path_buf(), source })?;
    sink.finish(|| Ok(()))
}

/// A file written as its bytes are produced, atomically and only if they change: the bytes
/// are compared with the file in place as they come and, from the first that differs (or if
/// there is no such file), written to a temporary file beside it, which replaces the file at
/// [`Self::finish`]. Nothing is replaced before then; a sink dropped unfinished leaves the
/// file as it was and removes its temporary file.
///
/// A new file gets mode 0644 (feeds are public and a web server must read them); a replaced
/// file keeps its mode.
pub struct FileSink {
    path: PathBuf,
    /// The file in place, while every byte so far is the same as its.
    old: Option<io::BufReader<fs::File>>,
    /// Bytes written so far.
    len: u64,
    /// The new file, from the first byte that differs.
    tmp: Option<io::BufWriter<tempfile::NamedTempFile>>,
}

/// How much of a new feed is buffered before it goes to its temporary file.
const BUFFER: usize = 256 * 1024;
/// How much of the file in place is read at a time to compare (the feeds are mostly
/// unchanged, and a small buffer is touched, and faulted in, once).
const COMPARE: usize = 32 * 1024;

impl FileSink {
    /// A sink for the file at `path`; if the new bytes' `size` is known and the file in place
    /// has another, it is not read. A symbolic link is written through: the file it names is
    /// replaced, as Pelican writes it, and the link stays.
    pub fn new(path: &Path, size: Option<u64>) -> Self {
        let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let path = match link.then(|| fs::canonicalize(path)) {
            Some(Ok(target)) => target,
            _ => path.to_path_buf(),
        };
        let old = fs::File::open(&path).ok().filter(|f| {
            f.metadata().is_ok_and(|m| m.is_file() && size.is_none_or(|s| s == m.len()))
        });
        let old = old.map(|f| io::BufReader::with_capacity(COMPARE, f));
        Self { path, old, len: 0, tmp: None }
    }

    /// Whether `bytes` come next in the file in place (read past them if so).
    fn same_next(old: &mut io::BufReader<fs::File>, mut bytes: &[u8]) -> io::Result<bool> {
        use io::BufRead;
        while !bytes.is_empty() {
            let buf = old.fill_buf()?;
            let n = buf.len().min(bytes.len());
            if n == 0 || buf[..n] != bytes[..n] {
                return Ok(false);
            }
            old.consume(n);
            bytes = &bytes[n..];
        }
        Ok(true)
    }

    /// From here on the bytes differ from the file in place: the new file starts with the
    /// bytes so far (the same as the old file's first ones, copied from it).
    fn diverge(&mut self) -> io::Result<&mut io::BufWriter<tempfile::NamedTempFile>> {
        if self.tmp.is_none() {
            let dir = dir_of(&self.path);
            create_public_dir(dir)?;
            let mut tmp =
                tempfile::Builder::new().prefix(TMP_PREFIX).suffix(TMP_SUFFIX).tempfile_in(dir)?;
            if let Some(old) = self.old.take() {
                use io::{Read, Seek};
                let mut old = old.into_inner();
                old.seek(io::SeekFrom::Start(0))?;
                io::copy(&mut old.take(self.len), tmp.as_file_mut())?;
            }
            self.tmp = Some(io::BufWriter::with_capacity(BUFFER, tmp));
        }
        Ok(self.tmp.as_mut().expect("made above"))
    }

    /// Whether the new bytes could replace the file: not if a directory stands where it goes.
    /// Asked of every feed before any is replaced, so that such a failure replaces none.
    pub fn check(&self) -> Result<(), WriteError> {
        if fs::symlink_metadata(&self.path).is_ok_and(|m| m.is_dir()) {
            let source = io::Error::new(io::ErrorKind::IsADirectory, "a directory is in the way");
            return Err(WriteError { path: self.path.clone(), source });
        }
        Ok(())
    }

    /// Puts the new bytes in place if they differ from the file's, calling `before_replace`
    /// first (a change recorded there is never lost to a crash: at worst it is recorded for a
    /// file left unchanged).
    pub fn finish(
        mut self,
        before_replace: impl FnOnce() -> io::Result<()>,
    ) -> Result<WriteOutcome, WriteError> {
        let path = self.path.clone();
        let err = |source| WriteError { path: path.clone(), source };
        if let Some(old) = &mut self.old {
            use io::BufRead;
            if old.fill_buf().map_err(err)?.is_empty() {
                return Ok(WriteOutcome::Unchanged);
            }
        }
        let mode = fs::metadata(&path).ok().filter(fs::Metadata::is_file).map(|m| m.permissions());
        self.diverge().map_err(err)?;
        let tmp = self.tmp.take().expect("diverged");
        let tmp = tmp.into_inner().map_err(|e| err(e.into_error()))?;
        if let Some(permissions) = mode.or_else(default_permissions) {
            tmp.as_file().set_permissions(permissions).map_err(err)?;
        }
        tmp.as_file().sync_all().map_err(err)?;
        before_replace().map_err(err)?;
        tmp.persist(&path).map_err(|e| err(e.error))?;
        sync_dir(dir_of(&path)).map_err(err)?;
        Ok(WriteOutcome::Written)
    }
}

impl Write for FileSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(old) = &mut self.old
            && Self::same_next(old, bytes)?
        {
            self.len += bytes.len() as u64;
            return Ok(());
        }
        self.diverge()?.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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

/// The directory a file at `path` is in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Creates `dir` and the directories above it that are missing, each 0755 whatever the umask
/// (a web server running as another user must reach the feeds in them).
fn create_public_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_public_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        other => other?,
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
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
    files
        .iter()
        .map(|f| Ok((f.path.clone(), write_if_changed(&output.join(&f.path), &f.bytes)?)))
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

    /// Writes `pieces` through a sink over a file holding `old` (or none); returns the
    /// outcome, the file's bytes after and whether the file in place was left alone.
    fn through_sink(old: Option<&[u8]>, pieces: &[Vec<u8>]) -> (WriteOutcome, Vec<u8>, bool) {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        if let Some(old) = old {
            fs::write(&path, old).unwrap();
        }
        let before = fs::metadata(&path).map(|m| (m.ino(), m.mtime_nsec())).ok();
        let mut sink = FileSink::new(&path, None);
        for piece in pieces {
            sink.write_all(piece).unwrap();
        }
        let outcome = sink.finish(|| Ok(())).unwrap();
        let after = fs::metadata(&path).map(|m| (m.ino(), m.mtime_nsec())).ok();
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["feed.xml"], "no temporary file left");
        (outcome, fs::read(&path).unwrap(), before.is_some() && before == after)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Whatever the old bytes, the new ones (the old with an edit anywhere, past the
        /// sink's buffers included) and how they come in pieces: the file ends holding the
        /// new bytes, and is replaced exactly when they differ.
        #[test]
        fn a_sink_leaves_the_new_bytes_and_touches_the_file_only_if_they_differ(
            len in 0usize..700_000,
            exists in proptest::bool::weighted(0.9),
            edit in (0usize..700_000, 0usize..3, 0usize..4),
            cuts in proptest::collection::vec(0usize..700_000, 0..12),
        ) {
            // Old bytes, and the new: the old with `removed` bytes at `at` replaced by
            // `added` others.
            let old: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let (at, removed, added) = (edit.0.min(len), edit.1, edit.2);
            let mut new = old[..at].to_vec();
            new.extend(std::iter::repeat_n(b'!', added));
            new.extend_from_slice(&old[(at + removed).min(len)..]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(new.len())).collect();
            cuts.sort();
            let mut pieces = Vec::new();
            let mut from = 0;
            for c in cuts.into_iter().chain([new.len()]) {
                pieces.push(new[from..c].to_vec());
                from = c;
            }
            let old = exists.then_some(old);
            let (outcome, bytes, untouched) = through_sink(old.as_deref(), &pieces);
            proptest::prop_assert!(bytes == new);
            let unchanged = old.as_deref() == Some(&new[..]);
            proptest::prop_assert_eq!(outcome == WriteOutcome::Unchanged, unchanged);
            proptest::prop_assert_eq!(untouched, unchanged);
        }
    }

    #[test]
    fn a_sink_replaces_a_file_that_differs_only_at_its_end() {
        let old = b"<feed><entry>1</entry></feed>".to_vec();
        let longer = [old.clone(), b"\n".to_vec()].concat();
        assert_eq!(
            through_sink(Some(&old), std::slice::from_ref(&longer)).0,
            WriteOutcome::Written
        );
        assert_eq!(through_sink(Some(&longer), std::slice::from_ref(&old)).1, old);
        let (outcome, bytes, untouched) =
            through_sink(Some(&old), &[old[..5].to_vec(), old[5..].to_vec()]);
        assert_eq!((outcome, bytes, untouched), (WriteOutcome::Unchanged, old, true));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.xml");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join("rss.xml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(write_if_changed(&link, b"new").unwrap(), WriteOutcome::Written);
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(write_if_changed(&link, b"new").unwrap(), WriteOutcome::Unchanged);
    }

    #[test]
    fn a_sink_dropped_unfinished_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atom.xml");
        fs::write(&path, "old feed").unwrap();
        let mut sink = FileSink::new(&path, None);
        sink.write_all(b"a new feed, half").unwrap();
        drop(sink);
        assert_eq!(fs::read(&path).unwrap(), b"old feed");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
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
