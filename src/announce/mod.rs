//! Announcements, from an issue to a post delivered exactly once.
//!
//! - Composing (pure): [`compose`] builds each platform's post from an issue and its
//!   highlights, [`fit`] fits it exactly to the platform's limits (Bluesky facets and link
//!   card included), [`thumb`] prepares the card image, and [`guard`] holds an issue still
//!   carrying placeholders.
//! - Queueing: [`enqueue`](mod@enqueue) prepares an issue once and queues each account's post, for the
//!   service and `herald announce` alike; [`outlet`] builds each [`Account`]'s client.
//! - Delivering (network): [`deliver`] sends an outbox row exactly once through the
//!   platform clients [`bluesky`], [`mastodon`] and [`dry_run`]; [`send`] sorts their
//!   failures; [`stores`] keeps their sessions in the state database.

pub mod account;
pub mod bluesky;
pub mod compose;
pub mod deliver;
pub mod dry_run;
pub mod enqueue;
pub mod fit;
pub mod guard;
pub mod highlights;
pub mod mastodon;
pub mod outlet;
pub mod send;
pub mod sender;
pub mod settings;
pub mod stores;
pub mod thumb;
pub mod verify;
pub mod view;

pub use account::Account;
pub use compose::{Composer, Embed, Facet, FacetKind, Post};
pub use enqueue::{Announcing, Queued, Request, enqueue};
pub use fit::Limits;
pub use guard::{Effect, Finding, GuardSettings, Inspection, inspect};
pub use outlet::Outlet;
pub use send::{Posted, SendError};
pub use settings::AnnounceSettings;

use serde::Serialize;

/// A social platform herald posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
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
    let issue = Announcing::new(article, url.to_string(), settings);
    platforms
        .iter()
        .map(|&platform| {
            let post = issue.compose(settings, platform, None)?;
            Ok(Announcement { post, guard: issue.guard.clone() })
        })
        .collect()
}
