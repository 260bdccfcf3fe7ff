//! Announcements: the post for each platform, built from an issue and its highlights, fitted
//! exactly to the platform's limits, with Bluesky rich-text facets and a link card; and the
//! draft guard that holds an issue still carrying placeholders.
//!
//! Everything here is pure: no network look-ups are needed to build a post.

pub mod bluesky;
pub mod compose;
pub mod deliver;
pub mod dry_run;
pub mod fit;
pub mod guard;
pub mod mastodon;
pub mod queue;
pub mod send;
pub mod thumb;

pub use compose::{Composer, Embed, Facet, FacetKind, Post};
pub use fit::Limits;
pub use guard::{Effect, Finding, GuardSettings, Inspection, inspect};
pub use send::{Posted, SendError};

use serde::Serialize;

/// A social platform herald posts to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Bluesky (AT Protocol).
    Bluesky,
    /// Mastodon and servers speaking its API.
    Mastodon,
}

impl Platform {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bluesky => "bluesky",
            Self::Mastodon => "mastodon",
        }
    }
}

use crate::archive::Article;
use crate::config::AnnounceSettings;
use crate::render::highlights::extract_highlights;

/// A post ready for one platform, and what the draft guard found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Announcement {
    /// The post.
    pub post: Post,
    /// What holds or delays it.
    pub guard: Inspection,
}

/// Builds the announcement of `article` (published at `url`) for each of `platforms`, with
/// the configured limits (as `preview` shows it).
pub fn prepare(
    article: &Article,
    url: &str,
    settings: &AnnounceSettings,
    platforms: &[Platform],
) -> Result<Vec<Announcement>, compose::ComposeError> {
    let guard = inspect(article, &extract_highlights(&article.body()), &settings.guard);
    platforms
        .iter()
        .map(|platform| {
            let platform_settings = match platform {
                Platform::Bluesky => &settings.bluesky,
                Platform::Mastodon => &settings.mastodon,
            };
            let post = queue::compose_with(platform_settings.clone(), settings, article, url)?;
            Ok(Announcement { post, guard: guard.clone() })
        })
        .collect()
}

/// A platform key for a new outbox row: a Bluesky rkey must be a TID; anywhere else a random
/// 128-bit hex string (the Mastodon Idempotency-Key).
pub fn new_platform_key(platform: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    match platform {
        "bluesky" => bluesky::new_tid(now),
        _ => {
            let bytes: [u8; 16] = rand::random();
            hex::encode(bytes)
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_per_platform() {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-08-19T12:00:00Z").unwrap().to_utc();
        assert_eq!(new_platform_key("bluesky", t0).len(), 13);
        let (a, b) = (new_platform_key("mastodon", t0), new_platform_key("mastodon", t0));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
