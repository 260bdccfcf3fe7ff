//! An article's content hash: what tells the daemon an issue changed.

use std::fmt;

use chrono::{DateTime, FixedOffset};

/// An article's content hash once computed. It follows from the article's other fields, so it
/// takes no part in comparing articles (one computed and one not are the same article).
#[derive(Debug, Clone, Default)]
pub(super) struct LazyHash(pub(super) std::sync::OnceLock<ContentHash>);

impl PartialEq for LazyHash {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for LazyHash {}

/// An article's content hash ([`super::Article::content_hash`]): a SHA-256, shown in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash with these bytes (as [`Self::as_bytes`] gave them).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// [`super::Article::content_hash`], fed to the hash piece by piece.
pub(super) fn content_hash(title: &str, date: &DateTime<FixedOffset>, body: &str) -> ContentHash {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for part in [title, "\n", &date.to_rfc3339(), "\n", body] {
        hash.update(part.as_bytes());
    }
    ContentHash(hash.finalize().into())
}
