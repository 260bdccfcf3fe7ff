//! Finding herald's statuses on an account people share: the account's statuses read back in
//! time page by page, and each one linking to the issue told apart as herald's (its exact text,
//! from its application) or a person's.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{MastodonClient, reply};
use crate::announce::send::{FoundPost, Lookup, SendError};

/// How many statuses [`MastodonClient::find_status`] asks for per page (Mastodon's maximum
/// for account statuses, <https://docs.joinmastodon.org/methods/accounts/#statuses>).
const STATUSES_PER_PAGE: usize = 40;

/// How many pages a look reads at most: it reads back in time to the first call of the row it
/// looks for, whatever the number of statuses posted since; this only bounds a look against a
/// server that never ends its list (10,000 statuses).
const MAX_PAGES: usize = 250;

/// Whose a status linking to the issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// Herald's exact text, from herald's application (or the server does not say).
    Herald,
    /// Herald's exact text, from another application.
    OtherApplication,
    /// Anything else: a person's status.
    Person,
}

/// A status linking to the issue.
#[derive(Debug, Clone)]
struct Candidate {
    found: FoundPost,
    whose: Whose,
    application: Option<String>,
}

/// A status's `created_at`.
fn created_at(status: &Value) -> Option<DateTime<Utc>> {
    status
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
}

impl MastodonClient {
    /// Looks for herald's status for an issue among the account's statuses
    /// (`GET /api/v1/accounts/:id/statuses`), newest first, back to `since`: one linking to
    /// one of `needles` (the URLs) whose text is exactly `text`, the post herald
    /// composed, and, where the server names the posting application and herald knows its
    /// own (`GET /api/v1/apps/verify_credentials`), posted by herald's application. Statuses
    /// whose id is in `known` (recorded by another row) are passed over.
    ///
    /// A status that merely links to the issue (a person's "goes out soon", a reply) is never
    /// herald's. One with herald's exact text from another application cannot be told apart:
    /// [`Lookup::Ambiguous`], and the caller neither sends nor records.
    #[tracing::instrument(skip_all, fields(account = %self.account.name))]
    pub async fn find_status(
        &self,
        needles: &[&str],
        text: &str,
        known: &[String],
        since: DateTime<Utc>,
    ) -> Result<Lookup, SendError> {
        let found =
            self.scan_statuses(needles, text, since, true).await.map_err(|e| self.redact(e))?;
        let fresh = || found.iter().filter(|c| !known.contains(&c.found.posted.id));
        if let Some(own) = fresh().find(|c| c.whose == Whose::Herald) {
            tracing::info!(status_id = %own.found.posted.id, "found herald's status");
            return Ok(Lookup::Found(own.found.posted.clone()));
        }
        if let Some(other) = fresh().find(|c| c.whose == Whose::OtherApplication) {
            let why = format!(
                "status {} has herald's text but was posted by another application ({}); herald \
                 cannot tell whether it is its announcement",
                other.found.posted.link(),
                other.application.as_deref().unwrap_or("unnamed"),
            );
            tracing::warn!(status_id = %other.found.posted.id, "{why}");
            return Ok(Lookup::Ambiguous(why));
        }
        tracing::info!("no status of herald's links to the issue");
        Ok(Lookup::Absent)
    }

    /// Herald's statuses for an issue (as [`find_status`](Self::find_status) tells them)
    /// made since `since`, newest first, with their `created_at`: a person's statuses linking
    /// to the issue are not among them.
    #[tracing::instrument(skip_all, fields(account = %self.account.name))]
    pub async fn own_statuses_linking_to(
        &self,
        needles: &[&str],
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<FoundPost>, SendError> {
        let found =
            self.scan_statuses(needles, text, since, false).await.map_err(|e| self.redact(e))?;
        Ok(found.into_iter().filter(|c| c.whose == Whose::Herald).map(|c| c.found).collect())
    }

    /// The name of the application the token belongs to
    /// (`GET /api/v1/apps/verify_credentials`), remembered once known; `None` only where the
    /// server has no such endpoint (404: the check by application is then skipped, the text
    /// still decides). Any other failure is the look's failure: a look that cannot tell
    /// herald's posts from a person's neither adopts nor deletes, and is made again later.
    async fn own_application(&self) -> Result<Option<String>, SendError> {
        let url = self.api_url(&["apps", "verify_credentials"])?;
        self.application
            .get_or_try_init(|| async {
                match self.get_json(url.as_str()).await {
                    Ok((_, json)) => {
                        Ok(json.get("name").and_then(Value::as_str).map(str::to_string))
                    }
                    Err(SendError::Permanent { message, .. })
                        if message.starts_with("HTTP 404") =>
                    {
                        tracing::debug!("the server does not say which application a token is of");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
            .await
            .cloned()
    }

    /// The statuses linking to one of `needles`, newest first, each with whose it is, page by
    /// page back in time (`max_id`, or the `Link` header's `next`) until a page reaches past
    /// `since` or the account has no more; with `first_only`, stops at the first of
    /// herald's. A look that cannot reach `since` within [`MAX_PAGES`] is an error, never
    /// "absent": herald does not post blind.
    async fn scan_statuses(
        &self,
        needles: &[&str],
        text: &str,
        since: DateTime<Utc>,
        first_only: bool,
    ) -> Result<Vec<Candidate>, SendError> {
        let account_id = self.verify().await?;
        let application = self.own_application().await?;
        let base = self.instance_url()?;
        let mut page = self.api_url(&["accounts", account_id.as_str(), "statuses"])?;
        page.query_pairs_mut()
            .append_pair("limit", &STATUSES_PER_PAGE.to_string())
            .append_pair("exclude_reblogs", "true");
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let (headers, body) = self.get_json(page.as_str()).await?;
            let Some(statuses) = body.as_array() else {
                return Err(SendError::Transient {
                    message: "the account's statuses reply is not a list".into(),
                });
            };
            for s in statuses {
                if !s.get("reblog").is_none_or(Value::is_null)
                    || !needles.iter().any(|n| reply::status_links_to(s, n))
                {
                    continue;
                }
                let Some(posted) = reply::posted_from_status(s) else { continue };
                let app = reply::status_application(s).map(str::to_string);
                let whose = match (reply::status_says(s, text), &app, &application) {
                    (false, _, _) => Whose::Person,
                    (true, Some(theirs), Some(ours)) if theirs != ours => Whose::OtherApplication,
                    (true, _, _) => Whose::Herald,
                };
                let found_post = FoundPost { posted, created_at: created_at(s) };
                found.push(Candidate { found: found_post, whose, application: app });
            }
            if first_only && found.iter().any(|c| c.whose == Whose::Herald) {
                return Ok(found);
            }
            // Newest first: once a page's oldest status is older than `since`, what follows is too.
            let oldest = statuses.iter().filter_map(created_at).min();
            if statuses.is_empty() || oldest.is_some_and(|t| t < since) {
                return Ok(found);
            }
            let last_id = statuses.last().and_then(reply::posted_from_status).map(|p| p.id);
            let link = headers.get(reqwest::header::LINK).and_then(|v| v.to_str().ok());
            let next = match link {
                // A Link header without `next` is the last page.
                Some(link) => {
                    reply::next_link(link).and_then(|href| base.join(&href).ok()).map(|next| {
                        // The token goes to the configured instance only, whatever the header
                        // says: a server that names itself by another host (GoToSocial's
                        // `host` behind a proxy) is asked for the same page at the instance.
                        if next.origin() == base.origin() {
                            return next;
                        }
                        let mut same = base.clone();
                        same.set_path(next.path());
                        same.set_query(next.query());
                        same
                    })
                }
                None => last_id.map(|id| {
                    let mut next = page.clone();
                    let kept: Vec<(String, String)> = page
                        .query_pairs()
                        .filter(|(k, _)| k != "max_id")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    next.query_pairs_mut().clear().extend_pairs(kept).append_pair("max_id", &id);
                    next
                }),
            };
            match next {
                Some(next) => page = next,
                None => return Ok(found),
            }
        }
        Err(SendError::Transient {
            message: format!(
                "the account has more than {} statuses since {}; cannot tell whether the post is among them",
                MAX_PAGES * STATUSES_PER_PAGE,
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        })
    }
}
