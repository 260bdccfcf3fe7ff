//! The platform clients behind one type: [`Sender`] posts, finds, lists, deletes and edits
//! through the account's client, matching on the platform in this one place; [`Sink`] is
//! what delivery needs of it.

use std::future::Future;
use std::time::Duration;

use super::bluesky::BlueskyClient;
use super::dry_run::DryRunSink;
use super::mastodon::MastodonClient;
use super::send::{FoundPost, Lookup, Posted, SendError};
use super::{Limits, Platform, Post};
use crate::state::OutboxRow;

/// Something that can post and find its posts again.
pub enum Sender {
    /// A dry-run sink.
    DryRun(DryRunSink),
    /// A Mastodon account.
    Mastodon(MastodonClient),
    /// A Bluesky account.
    Bluesky(BlueskyClient),
}

impl Sender {
    /// Posts `post` with the row's platform key.
    pub async fn send(&self, row: &OutboxRow, post: &Post) -> Result<Posted, SendError> {
        match self {
            Self::DryRun(sink) => sink.send(&row.platform_key, post),
            Self::Mastodon(client) => {
                let language = post.langs.first().map(String::as_str);
                client.post_status(&post.text, language, &row.platform_key).await
            }
            // createdAt is when the row was made: a retry does not post a different record.
            Self::Bluesky(client) => {
                client.create_post(post, &row.platform_key, row.created_at).await
            }
        }
    }

    /// Looks for the row's post on the platform: by its key where the platform keeps one
    /// (Bluesky's rkey, the dry run's key), else (Mastodon forgets idempotency keys after an
    /// hour, GoToSocial ignores them) among the account's statuses back to the row's making:
    /// one linking to the issue with exactly the row's text, passing over the posts other rows
    /// recorded (`known`). A person's status linking to the issue is never taken for it.
    pub async fn find(&self, row: &OutboxRow, known: &[String]) -> Result<Lookup, SendError> {
        let found = |p: Option<Posted>| p.map_or(Lookup::Absent, Lookup::Found);
        match self {
            Self::DryRun(sink) => sink.find(&row.platform_key).map(found),
            Self::Mastodon(client) => {
                let since = row.created_at - LOOK_SLACK;
                client.find_status(&row.issue_urls(), &row_text(row), known, since).await
            }
            Self::Bluesky(client) => client.get_post(&row.platform_key).await.map(found),
        }
    }

    /// The account the sender posts to, by identity rather than by the name the
    /// configuration gives it: `mastodon <instance> <account id>`, `bluesky <DID>`, or for a
    /// dry run its platform and file. A renamed account keeps its identity.
    pub async fn identity(&self) -> Result<String, SendError> {
        match self {
            Self::DryRun(sink) => Ok(sink.identity()),
            Self::Mastodon(client) => client.identity().await,
            Self::Bluesky(client) => client.identity().await,
        }
    }

    /// Whether a post sent again after an unsure call can end up twice on the account: where
    /// the platform does not deduplicate by the row's key. Bluesky records are keyed by their
    /// rkey (a late create hits the same key), and so are the dry-run sinks; Mastodon's
    /// Idempotency-Key is kept for an hour at most and ignored by GoToSocial.
    pub fn lands_late(&self) -> bool {
        matches!(self, Self::Mastodon(_))
    }

    /// Herald's posts of the row's issue on the account (its exact text, linking to the
    /// issue) since the row's first unsure call, with when each was made (Mastodon; nothing
    /// elsewhere, where posts are found by key). A person's posts are never among them.
    pub async fn find_all(&self, row: &OutboxRow) -> Result<Vec<FoundPost>, SendError> {
        match self {
            Self::Mastodon(client) => {
                let since = row.unsure_since.unwrap_or(row.created_at) - LOOK_SLACK;
                client.own_statuses_linking_to(&row.issue_urls(), &row_text(row), since).await
            }
            Self::DryRun(_) | Self::Bluesky(_) => Ok(Vec::new()),
        }
    }

    /// Deletes a post (a duplicate that landed late).
    pub async fn delete(&self, id: &str) -> Result<(), SendError> {
        match self {
            Self::Mastodon(client) => client.delete_status(id).await,
            Self::DryRun(_) | Self::Bluesky(_) => Ok(()),
        }
    }

    /// Edits the row's posted post to `post`, where the platform can: `Ok(false)` where it
    /// cannot (Bluesky posts cannot be edited; neither can a dry run's Bluesky sink).
    pub async fn edit(&self, row: &OutboxRow, post: &Post) -> Result<bool, SendError> {
        match self {
            Self::Mastodon(client) => {
                let Some(remote) = &row.remote else { return Ok(false) };
                let language = post.langs.first().map(String::as_str);
                client.edit_status(&remote.id, &post.text, language).await.map(|()| true)
            }
            Self::DryRun(sink) if sink.platform == Platform::Mastodon => {
                sink.edit(&row.platform_key, post).map(|()| true)
            }
            Self::DryRun(_) | Self::Bluesky(_) => Ok(false),
        }
    }

    /// The limits to fit posts to: the instance's own for Mastodon, else `fallback`.
    pub async fn limits(&self, fallback: Limits) -> Limits {
        match self {
            Self::Mastodon(client) => client.limits(fallback).await,
            Self::DryRun(_) | Self::Bluesky(_) => fallback,
        }
    }
}

/// What delivery needs of a platform: post with the row's key, find the row's post again,
/// and, where a post sent twice can land twice, list and delete the issue's posts.
/// [`Sender`] is the real thing; tests script one.
pub trait Sink {
    /// Posts `post` with the row's platform key.
    fn send(&self, row: &OutboxRow, post: &Post)
    -> impl Future<Output = Result<Posted, SendError>>;
    /// The row's post, if the platform has it; `known` are the posts other rows recorded.
    fn find(
        &self,
        row: &OutboxRow,
        known: &[String],
    ) -> impl Future<Output = Result<Lookup, SendError>>;
    /// The account's identity (see [`Sender::identity`]).
    fn identity(&self) -> impl Future<Output = Result<String, SendError>>;
    /// Whether a post sent again after an unsure call can end up twice on the account.
    fn lands_late(&self) -> bool;
    /// Every post of the account linking to the row's issue, with when it was made.
    fn find_all(&self, row: &OutboxRow) -> impl Future<Output = Result<Vec<FoundPost>, SendError>>;
    /// Deletes a post (a duplicate that landed late).
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), SendError>>;
}

impl Sink for Sender {
    fn send(
        &self,
        row: &OutboxRow,
        post: &Post,
    ) -> impl Future<Output = Result<Posted, SendError>> {
        Sender::send(self, row, post)
    }
    fn find(
        &self,
        row: &OutboxRow,
        known: &[String],
    ) -> impl Future<Output = Result<Lookup, SendError>> {
        Sender::find(self, row, known)
    }
    fn identity(&self) -> impl Future<Output = Result<String, SendError>> {
        Sender::identity(self)
    }
    fn lands_late(&self) -> bool {
        Sender::lands_late(self)
    }
    fn find_all(&self, row: &OutboxRow) -> impl Future<Output = Result<Vec<FoundPost>, SendError>> {
        Sender::find_all(self, row)
    }
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), SendError>> {
        Sender::delete(self, id)
    }
}

/// How far before a row was made a look reads back: the server's clock may be ahead of or
/// behind ours, and reading a day more costs a page or two.
const LOOK_SLACK: chrono::Duration = chrono::Duration::days(1);

/// The text of the row's post (empty if it does not decode: then nothing is herald's).
fn row_text(row: &OutboxRow) -> String {
    serde_json::from_str::<Post>(&row.post).map(|p| p.text).unwrap_or_default()
}

/// The HTTP client every platform client uses: rustls, timeouts, herald's user agent.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}
