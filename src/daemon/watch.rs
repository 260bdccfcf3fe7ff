//! Watching the archive directory: every change (an editor's atomic rename, a git checkout
//! touching hundreds of files, the directory replaced wholesale, an inotify overflow) becomes
//! one wake-up on a channel; the service debounces them and rescans the whole archive, which
//! is cheap, so no event needs to be interpreted.

use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A running watch; dropping it stops watching.
pub struct ArchiveWatch {
    watcher: notify::RecommendedWatcher,
    dir: PathBuf,
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
                    // The parent is watched only for the archive directory itself: other
                    // files beside it (a dry-run sink, the state) are not the archive's.
                    Ok(e)
                        if !e.need_rescan()
                            && !e.paths.is_empty()
                            && !e.paths.iter().any(|p| p.starts_with(&archive)) =>
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
