//! The file as written: every table and key optional, unknown ones refused. A missing key
//! takes TWiR's value from the module whose settings it is (`Policy::default`,
//! `AnnounceSettings::default`, `FeedSettings::default`, `ParseSettings::default`); the
//! `[feeds]` table is the feeds' own [`FeedFiles`]. Only the archive and state paths'
//! defaults are the configuration's.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::announce::guard::EmptyCrate;
use crate::announce::highlights::HighlightKind;
use crate::announce::mastodon::Visibility;
use crate::announce::{AnnounceSettings, Platform};
use crate::archive::ParseSettings;
use crate::daemon::schedule::Policy;
use crate::daemon::settings::{DEFAULT_DEBOUNCE, DEFAULT_RESCAN};
use crate::feeds::{FeedFiles, FeedSettings, SummarySettings};

/// The file as written. Every table and key is optional; missing ones take TWiR's values.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[site]`
    #[serde(default)]
    pub site: RawSite,
    /// `[archive]`
    #[serde(default)]
    pub archive: RawArchive,
    /// `[feeds]`
    #[serde(default)]
    pub feeds: FeedFiles,
    /// `[announce]`
    #[serde(default)]
    pub announce: RawAnnounce,
    /// `[state]`
    #[serde(default)]
    pub state: RawState,
    /// `[daemon]`
    #[serde(default)]
    pub daemon: RawDaemon,
    /// `[[bluesky]]` accounts.
    #[serde(default)]
    pub bluesky: Vec<RawBluesky>,
    /// `[[mastodon]]` accounts.
    #[serde(default)]
    pub mastodon: Vec<RawMastodon>,
    /// `[[dry_run]]` sinks: write what would be posted to a file or the log.
    #[serde(default)]
    pub dry_run: Vec<RawDryRun>,
    /// `[[notify]]` channels: webhooks and email for the operator.
    #[serde(default)]
    pub notify: Vec<super::notify::RawNotify>,
}

/// `[daemon]`: when issues are announced.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    /// A new issue is announced once present and unchanged this long (a publication
    /// reverted within it is never announced).
    #[serde(deserialize_with = "duration")]
    pub settle: Duration,
    /// Issues older than this are never announced automatically.
    #[serde(deserialize_with = "duration")]
    pub max_age: Duration,
    /// At most this many issues are announced per cycle, oldest first.
    pub max_posts_per_cycle: usize,
    /// A full rescan on this cron schedule (seconds field first), as a backstop for missed
    /// file events.
    pub rescan: String,
    /// File changes are handled once they have been quiet this long.
    #[serde(deserialize_with = "duration")]
    pub debounce: Duration,
    /// A draft held by the guard longer than this is logged as an error (and still held).
    #[serde(deserialize_with = "duration")]
    pub max_hold: Duration,
    /// Serve `/healthz` and `/metrics` on this address (off when unset).
    pub listen: Option<String>,
    /// When an announced issue's title changes, edit its Mastodon statuses.
    pub edit_on_title_change: bool,
}

impl Default for RawDaemon {
    fn default() -> Self {
        let p = Policy::default();
        Self {
            settle: p.settle,
            max_age: p.max_age,
            max_posts_per_cycle: p.max_posts_per_cycle,
            rescan: DEFAULT_RESCAN.into(),
            debounce: DEFAULT_DEBOUNCE,
            max_hold: p.max_hold,
            listen: None,
            edit_on_title_change: p.edit_on_title_change,
        }
    }
}

/// `[state]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawState {
    /// The state database.
    pub path: PathBuf,
}

impl Default for RawState {
    fn default() -> Self {
        Self { path: "state/herald.db".into() }
    }
}

/// `[[bluesky]]`: an account posted to with an app password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBluesky {
    /// A name for logs, `status` and `--account` (default: the identifier).
    pub name: Option<String>,
    /// The PDS or entryway (default `https://bsky.social`).
    #[serde(default = "default_bluesky_service")]
    pub service: String,
    /// Handle or DID.
    pub identifier: String,
    /// A file holding the app password (a systemd credential).
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the app password.
    pub password_env: Option<String>,
}

fn default_bluesky_service() -> String {
    "https://bsky.social".into()
}

/// `[[mastodon]]`: an account posted to with an access token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMastodon {
    /// A name for logs, `status` and `--account` (default: the instance's host).
    pub name: Option<String>,
    /// The instance URL.
    pub instance: String,
    /// A file holding the access token.
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the access token.
    pub token_env: Option<String>,
    /// `public` (the default, sent explicitly: some servers default to unlisted), `unlisted`,
    /// `private` or `direct`.
    #[serde(default)]
    pub visibility: Visibility,
}

/// `[[dry_run]]`: a sink that posts nowhere.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDryRun {
    /// Its name.
    pub name: String,
    /// Which platform's post it receives.
    pub platform: Platform,
    /// A JSON-lines file to append posts to; without it, posts go to the log.
    pub path: Option<PathBuf>,
}

/// `[announce]`: what the posts say and how they are fitted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAnnounce {
    /// Highlight kinds, highest rank first; the lowest are dropped first when a post is long.
    pub highlights: Vec<HighlightKind>,
    /// At most this many Official items and community items each.
    pub items_per_kind: usize,
    /// `skip`: announce without an empty Crate of the Week; `hold`: wait until it is filled.
    pub empty_crate_of_the_week: EmptyCrate,
    /// Language tags of the posts (Bluesky takes up to 3; Mastodon the first).
    pub langs: Vec<String>,
    /// An image for the Bluesky link card (re-encoded to at most 1,000,000 bytes).
    pub card_image: Option<PathBuf>,
    /// Placeholders (regular expressions): they hold an issue in the text a post is made
    /// from (the title, a highlight), and delay it elsewhere.
    pub placeholders: Vec<String>,
    /// Placeholders that hold an issue wherever they appear.
    pub placeholders_hold_anywhere: Vec<String>,
    /// How long a placeholder outside the post's text may delay an announcement.
    #[serde(deserialize_with = "duration")]
    pub placeholder_grace: Duration,
    /// Regular expressions that hold an issue inside the sections highlights come from.
    pub section_placeholders: Vec<String>,
    /// How long one request to a platform may take. A post in flight is owned
    /// by its sender for three times this (the lease); a post sent again after a call whose
    /// outcome was unknown is checked for a late duplicate ten times this later.
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// `[announce.bluesky]`
    pub bluesky: RawBlueskyPost,
    /// `[announce.mastodon]`
    pub mastodon: RawMastodonPost,
}

impl Default for RawAnnounce {
    fn default() -> Self {
        let d = AnnounceSettings::default();
        let sources = |list: &[regex::Regex]| list.iter().map(|r| r.as_str().to_string()).collect();
        Self {
            highlights: d.highlights,
            items_per_kind: d.items_per_kind,
            empty_crate_of_the_week: d.guard.empty_crate,
            langs: d.bluesky.langs,
            card_image: d.bluesky.card_image,
            placeholders: sources(&d.guard.placeholders),
            placeholders_hold_anywhere: sources(&d.guard.hold_anywhere),
            placeholder_grace: d.guard.grace,
            section_placeholders: sources(&d.guard.section_placeholders),
            request_timeout: d.request_timeout,
            bluesky: RawBlueskyPost::default(),
            mastodon: RawMastodonPost::default(),
        }
    }
}

/// `[announce.bluesky]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBlueskyPost {
    /// The post template (minijinja): `issue.{title,number,url,date}`, `highlights[].{kind,text,url}`.
    pub template: String,
}

impl Default for RawBlueskyPost {
    fn default() -> Self {
        Self { template: AnnounceSettings::default().bluesky.template }
    }
}

/// `[announce.mastodon]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMastodonPost {
    /// The status template (minijinja), as for Bluesky.
    pub template: String,
    /// The instance's limit when it does not say (`configuration.statuses.max_characters`).
    pub max_characters: usize,
    /// What a URL counts as at least (`configuration.statuses.characters_reserved_per_url`).
    pub characters_reserved_per_url: usize,
}

impl Default for RawMastodonPost {
    fn default() -> Self {
        let mastodon = AnnounceSettings::default().mastodon;
        Self {
            template: mastodon.template,
            max_characters: mastodon.limits.max_graphemes,
            characters_reserved_per_url: mastodon.limits.url_min_graphemes.unwrap_or_default(),
        }
    }
}

/// `[site]`: what the feeds say about the site.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSite {
    /// Site URL without a trailing slash (Pelican's SITEURL / FEED_DOMAIN).
    pub url: String,
    /// Site name, the feeds' title (SITENAME).
    pub name: String,
    /// IANA zone naive `Date:` headers are in (TIMEZONE).
    pub timezone: String,
    /// Category of articles without a `Category:` header (DEFAULT_CATEGORY).
    pub default_category: String,
    /// Author of every article (AUTHOR; no TWiR article names its own).
    pub author: String,
    /// Language of the articles (DEFAULT_LANG).
    pub lang: String,
    /// Article URL pattern relative to the site (ARTICLE_URL).
    pub article_url: String,
}

impl Default for RawSite {
    fn default() -> Self {
        let (feeds, parse) = (FeedSettings::default(), ParseSettings::default());
        Self {
            url: feeds.site_url,
            name: feeds.site_name,
            timezone: parse.timezone.name().into(),
            default_category: parse.default_category,
            author: feeds.author,
            lang: feeds.lang,
            article_url: feeds.article_url,
        }
    }
}

/// `[archive]`: where the articles are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawArchive {
    /// The directory of article files.
    pub path: PathBuf,
    /// Words in a generated summary (SUMMARY_MAX_LENGTH).
    pub summary_words: usize,
    /// Appended to a cut summary (SUMMARY_END_SUFFIX).
    pub summary_suffix: String,
}

impl Default for RawArchive {
    fn default() -> Self {
        let summary = SummarySettings::default();
        Self {
            path: "content".into(),
            summary_words: summary.words,
            summary_suffix: summary.suffix,
        }
    }
}

/// A duration as the file writes it: a number and a unit, `ms`, `s`, `m`, `h` or `d` (or their
/// long names), parts added up (`"1h 30m"`). Months and years (humantime's `M` and `y`, one
/// letter from minutes) and fractions (which humantime would cut short without a word) are
/// refused, naming what to write instead.
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

/// An optional [`duration`].
pub(super) fn optional_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    text.map(|t| parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
}

/// See [`duration`].
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.contains('.') {
        return Err(format!(
            "{text:?}: fractions are not read; write whole units (\"90m\", not \"1.5h\")"
        ));
    }
    let units = text.split(|c: char| c.is_ascii_digit() || c.is_whitespace());
    if let Some(unit) = units.filter(|u| !u.is_empty()).find(|u| {
        u.starts_with('M') || u.starts_with("mo") || u.starts_with('y') || u.starts_with('w')
    }) {
        return Err(format!(
            "{text:?}: `{unit}` is not a unit here; use ms, s, m (minutes), h or d (\"30d\")"
        ));
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?} is not a duration: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_plain_units_only() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_duration("10M").unwrap_err().contains("`M` is not a unit here"));
        assert!(parse_duration("2months").unwrap_err().contains("not a unit here"));
        assert!(parse_duration("1y").unwrap_err().contains("not a unit here"));
        assert!(parse_duration("1.5h").unwrap_err().contains("fractions"));
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
