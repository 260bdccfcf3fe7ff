//! The dry-run sink: posts go to a JSON-lines file (or the log) instead of a platform. It is
//! the default when no account is configured, and it keeps the platforms' contract — a post
//! is found again by its key — so the outbox behaves exactly as with real accounts.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use super::send::{Posted, SendError};
use super::{Platform, Post};

/// A dry-run sink.
#[derive(Debug, Clone)]
pub struct DryRunSink {
    /// The sink's name.
    pub name: String,
    /// Which platform's post it takes.
    pub platform: Platform,
    /// The JSON-lines file; `None` logs the post instead (and cannot find it again).
    pub path: Option<PathBuf>,
}

impl DryRunSink {
    /// "Posts": appends one JSON line with the key and the post, and syncs it to disk.
    pub fn send(&self, key: &str, post: &Post) -> Result<Posted, SendError> {
        let line = serde_json::json!({ "account": self.name, "key": key, "post": post });
        self.write(&line, post)?;
        Ok(self.posted(key))
    }

    /// "Edits" the post made with `key`: appends a line with `"edit": true` and the new post.
    pub fn edit(&self, key: &str, post: &Post) -> Result<(), SendError> {
        let line =
            serde_json::json!({ "account": self.name, "key": key, "edit": true, "post": post });
        self.write(&line, post)
    }

    fn write(&self, line: &serde_json::Value, post: &Post) -> Result<(), SendError> {
        let line = line.to_string();
        match &self.path {
            Some(path) => {
                let io = |e: std::io::Error| SendError::Transient {
                    message: format!("{}: {e}", path.display()),
                };
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut file =
                    std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
                file.write_all(format!("{line}\n").as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
            }
            None => {
                tracing::info!(account = %self.name, text = %post.text, "dry run: would post")
            }
        }
        Ok(())
    }

    /// The sink's identity: its platform and file (the log when none), so a sink renamed in
    /// the configuration is the same sink.
    pub fn identity(&self) -> String {
        let path =
            self.path.as_ref().map_or_else(|| "log".to_string(), |p| p.display().to_string());
        format!("dry_run {} {path}", self.platform.name())
    }

    /// Looks for a post made with `key`.
    pub fn find(&self, key: &str) -> Result<Option<Posted>, SendError> {
        let Some(path) = &self.path else { return Ok(None) };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(SendError::Transient { message: format!("{}: {e}", path.display()) });
            }
        };
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| SendError::Transient { message: e.to_string() })?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if v["account"] == self.name.as_str() && v["key"] == key && v["edit"].is_null() {
                return Ok(Some(self.posted(key)));
            }
        }
        Ok(None)
    }

    fn posted(&self, key: &str) -> Posted {
        Posted { id: format!("dry-run:{}:{key}", self.name), cid: None, url: None }
    }
}
