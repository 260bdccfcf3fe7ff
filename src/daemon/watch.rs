//! Watching the archive directory: every change (an editor's atomic rename, a git checkout
//! touching hundreds of files, the directory replaced wholesale, an inotify overflow) becomes
//! one wake-up on a channel; the service debounces them and rescans the whole archive, which
//! is cheap, so no event needs to be interpreted beyond whether it concerns an article file.

use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A running watch; dropping it stops watching.
pub struct ArchiveWatch {
    watcher: notify::RecommendedWatcher,
    dir: PathBuf,
}

/// Whether a change to `path` may change what the archive `dir` holds: the directory itself
/// (created, removed, replaced) or an article file directly in it.
fn concerns_archive(path: &Path, dir: &Path) -> bool {
    if path == dir {
        return true;
    }
    path.parent() == Some(dir)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(crate::archive::scan::is_article_name)
}

impl ArchiveWatch {
    /// Watches `dir` (and its parent, so that a directory deleted and created again is
    /// noticed). Each event sends `()` on the returned channel.
    pub fn start(dir: &Path) -> notify::Result<(Self, mpsc::UnboundedReceiver<()>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        // Absolute, as notify reports event paths (it joins a relative path to the working
        // directory); and a relative archive's parent (`""`) is then a directory to watch.
        let dir = std::env::current_dir()?.join(dir);
        let archive = dir.clone();
        let mut watcher = notify::recommended_watcher(
            move |event: notify::Result<notify::Event>| {
                match &event {
                    // Opening and reading (the scan itself lists the directory) change
                    // nothing; a file closed after writing does.
                    Ok(e) if matches!(e.kind, EventKind::Access(a) if a != AccessKind::Close(AccessMode::Write)) =>
                    {
                        return;
                    }
                    // Only the archive directory itself and the article files in it count:
                    // not files beside it (a dry-run sink, the state; the parent is watched for
                    // the directory), nor other files in it (a download's `.part`, an editor's
                    // swap file), which may change for ever without an article changing.
                    Ok(e)
                        if !e.need_rescan()
                            && !e.paths.is_empty()
                            && !e.paths.iter().any(|p| concerns_archive(p, &archive)) =>
                    {
                        return;
                    }
                    Ok(_) => {}
                    // Errors (an overflowed queue among them) also mean "look again".
                    Err(e) => tracing::warn!(cause = %e, "file watch error; rescanning"),
                }
                let _ = tx.send(());
            },
        )?;
        if let Some(parent) = dir.parent() {
            let _ = watcher.watch(parent, RecursiveMode::NonRecursive);
        }
        let mut watch = Self { watcher, dir };
        watch.rewatch();
        Ok((watch, rx))
    }

    /// Watches the directory again (after it was replaced). Harmless when already watched.
    pub fn rewatch(&mut self) {
        if let Err(e) = self.watcher.watch(&self.dir, RecursiveMode::NonRecursive) {
            tracing::debug!(dir = %self.dir.display(), cause = %e, "cannot watch the archive directory (yet)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_directory_and_its_article_files_count() {
        let dir = Path::new("/srv/site/content");
        assert!(concerns_archive(dir, dir));
        assert!(concerns_archive(&dir.join("2026-12-02-this-week-in-rust.md"), dir));
        assert!(concerns_archive(&dir.join("notes.rst"), dir));
        for other in ["big.iso.part", ".x.md.swp", "x.md~", ".#x.md", "images/a.md"] {
            assert!(!concerns_archive(&dir.join(other), dir), "{other}");
        }
        assert!(!concerns_archive(Path::new("/srv/site/dry-run.jsonl"), dir));
        assert!(!concerns_archive(Path::new("/srv/site/content2/x.md"), dir));
    }
}
