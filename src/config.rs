//! Configuration: `herald.toml` read into [`RawConfig`] (serde, unknown keys refused), then
//! validated into [`Config`], the form the program uses.
//!
//! Relative paths in the file are relative to the file's own directory, so a config works from
//! any working directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::announce::Platform;
use crate::announce::compose::{
    Composer, DEFAULT_BLUESKY_TEMPLATE, DEFAULT_MASTODON_TEMPLATE, PlatformSettings,
};
use crate::announce::fit::Limits;
use crate::announce::guard::{
    DEFAULT_GRACE, DEFAULT_PLACEHOLDERS, DEFAULT_SECTION_PLACEHOLDERS, EmptyCrate, GuardSettings,
};
use crate::announce::mastodon::Visibility;
use crate::archive::ParseSettings;
use crate::daemon::schedule::Policy;
use crate::feeds::{FeedPaths, FeedSettings};
use crate::render::highlights::HighlightKind;

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
    pub feeds: RawFeeds,
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
}

/// `[daemon]`: when issues are announced.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    /// A new issue is announced once present and unchanged this long (a publication
    /// reverted within it is never announced).
    pub settle_secs: u64,
    /// Issues older than this are never announced automatically.
    pub max_age_days: u64,
    /// At most this many issues are announced per cycle, oldest first.
    pub max_posts_per_cycle: usize,
    /// A full rescan on this cron schedule (seconds field first), as a backstop for missed
    /// file events.
    pub rescan: String,
    /// File changes are handled once they have been quiet this long.
    pub debounce_ms: u64,
    /// A draft held by the guard longer than this is logged as an error (and still held).
    pub max_hold_hours: u64,
    /// Serve `/healthz` and `/metrics` on this address (off when unset).
    pub listen: Option<String>,
    /// When an announced issue's title changes, edit its Mastodon statuses.
    pub edit_on_title_change: bool,
}

impl Default for RawDaemon {
    fn default() -> Self {
        let p = Policy::default();
        Self {
            settle_secs: p.settle.as_secs(),
            max_age_days: p.max_age.as_secs() / 86_400,
            max_posts_per_cycle: p.max_posts_per_cycle,
            rescan: "0 */15 * * * *".into(),
            debounce_ms: 300,
            max_hold_hours: p.max_hold.as_secs() / 3600,
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

/// Where a secret comes from. It is read when an account is used, not when the config is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file (for systemd's `LoadCredential=`: `/run/credentials/herald.service/NAME`).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl SecretSource {
    /// Reads the secret.
    pub fn read(&self) -> anyhow::Result<crate::secret::Secret> {
        match self {
            Self::File(path) => crate::secret::Secret::from_file(path),
            Self::Env(name) => crate::secret::Secret::from_env(name),
        }
    }

    fn from_raw(
        key: &str,
        file: Option<PathBuf>,
        env: Option<String>,
        base: &Path,
    ) -> anyhow::Result<Self> {
        match (file, env) {
            (Some(f), None) => Ok(Self::File(resolve(base, &f))),
            (None, Some(e)) => Ok(Self::Env(e)),
            (Some(_), Some(_)) => bail!("{key}: give {key}_file or {key}_env, not both"),
            (None, None) => bail!(
                "{key}: give {key}_file (a systemd credential) or {key}_env; secrets are never read from this file"
            ),
        }
    }
}

/// A configured account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// A Bluesky account.
    Bluesky {
        /// Its name.
        name: String,
        /// PDS / entryway URL.
        service: String,
        /// Handle or DID.
        identifier: String,
        /// The app password's source.
        password: SecretSource,
    },
    /// A Mastodon account.
    Mastodon {
        /// Its name.
        name: String,
        /// Instance URL.
        instance: String,
        /// The token's source.
        token: SecretSource,
        /// Status visibility.
        visibility: Visibility,
    },
    /// A dry-run sink.
    DryRun {
        /// Its name.
        name: String,
        /// Which platform's post it takes.
        platform: Platform,
        /// JSON-lines file, or the log when `None`.
        path: Option<PathBuf>,
    },
}

impl Account {
    /// The account's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Bluesky { name, .. }
            | Self::Mastodon { name, .. }
            | Self::DryRun { name, .. } => name,
        }
    }

    /// The platform whose post it gets.
    pub fn platform(&self) -> Platform {
        match self {
            Self::Bluesky { .. } => Platform::Bluesky,
            Self::Mastodon { .. } => Platform::Mastodon,
            Self::DryRun { platform, .. } => *platform,
        }
    }

    /// The outbox's platform column: `bluesky`, `mastodon` or `dry_run`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bluesky { .. } => "bluesky",
            Self::Mastodon { .. } => "mastodon",
            Self::DryRun { .. } => "dry_run",
        }
    }
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
    /// How long a placeholder outside the post's text may delay an announcement, in seconds.
    pub placeholder_grace_secs: u64,
    /// Regular expressions that hold an issue inside the sections highlights come from.
    pub section_placeholders: Vec<String>,
    /// How long one request to a platform may take, in seconds. A post in flight is owned
    /// by its sender for three times this (the lease); a post sent again after a call whose
    /// outcome was unknown is checked for a late duplicate ten times this later.
    pub request_timeout_secs: u64,
    /// `[announce.bluesky]`
    pub bluesky: RawBlueskyPost,
    /// `[announce.mastodon]`
    pub mastodon: RawMastodonPost,
}

impl Default for RawAnnounce {
    fn default() -> Self {
        Self {
            highlights: HighlightKind::DEFAULT_ORDER.to_vec(),
            items_per_kind: 2,
            empty_crate_of_the_week: EmptyCrate::Skip,
            langs: vec!["en".into()],
            card_image: None,
            placeholders: DEFAULT_PLACEHOLDERS.iter().map(|s| s.to_string()).collect(),
            placeholders_hold_anywhere: Vec::new(),
            placeholder_grace_secs: DEFAULT_GRACE.as_secs(),
            section_placeholders: DEFAULT_SECTION_PLACEHOLDERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            request_timeout_secs: 30,
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
        Self { template: DEFAULT_BLUESKY_TEMPLATE.into() }
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
        Self {
            template: DEFAULT_MASTODON_TEMPLATE.into(),
            max_characters: 500,
            characters_reserved_per_url: 23,
        }
    }
}

/// Validated `[announce]` settings.
#[derive(Debug, Clone)]
pub struct AnnounceSettings {
    /// Highlight kinds in rank order.
    pub highlights: Vec<HighlightKind>,
    /// Items per list kind.
    pub items_per_kind: usize,
    /// The draft guard.
    pub guard: GuardSettings,
    /// Bluesky composition.
    pub bluesky: PlatformSettings,
    /// Mastodon composition (limits are the fallback when the instance does not say).
    pub mastodon: PlatformSettings,
    /// How long one request to a platform may take.
    pub request_timeout: std::time::Duration,
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
        Self {
            url: "https://this-week-in-rust.org".into(),
            name: "This Week in Rust".into(),
            timezone: "America/New_York".into(),
            default_category: "misc".into(),
            author: "TWiR Contributors".into(),
            lang: "en".into(),
            article_url: "blog/{date:%Y}/{date:%m}/{date:%d}/{slug}/".into(),
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
        Self { path: "content".into(), summary_words: 50, summary_suffix: "…".into() }
    }
}

/// `[feeds]`: which feed files to write, where.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFeeds {
    /// Output directory (the site root the feed paths are relative to).
    pub output: PathBuf,
    /// Entries per feed (FEED_MAX_ITEMS); `"all"` or 0 for every article.
    pub max_items: MaxItems,
    /// Also write a JSON Feed 1.1.
    pub json_feed: bool,
    /// Site-wide Atom feed path (FEED_ALL_ATOM); `""` turns it off.
    pub all_atom: String,
    /// Site-wide RSS feed path (FEED_ALL_RSS).
    pub all_rss: String,
    /// Per-category Atom feed path, with `{slug}` (CATEGORY_FEED_ATOM).
    pub category_atom: String,
    /// Per-category RSS feed path (CATEGORY_FEED_RSS).
    pub category_rss: String,
    /// Per-author Atom feed path (AUTHOR_FEED_ATOM).
    pub author_atom: String,
    /// Per-author RSS feed path (AUTHOR_FEED_RSS).
    pub author_rss: String,
    /// Per-language Atom feed path, with `{lang}` (TRANSLATION_FEED_ATOM).
    pub translation_atom: String,
    /// JSON Feed path, written when `json_feed` is on.
    pub json: String,
}

impl Default for RawFeeds {
    fn default() -> Self {
        let paths = FeedPaths::default();
        Self {
            output: "output".into(),
            max_items: MaxItems::Count(4),
            json_feed: false,
            all_atom: paths.all_atom,
            all_rss: paths.all_rss,
            category_atom: paths.category_atom,
            category_rss: paths.category_rss,
            author_atom: paths.author_atom,
            author_rss: paths.author_rss,
            translation_atom: paths.translation_atom,
            json: paths.json,
        }
    }
}

/// A feed length: a count, or every article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxItems {
    /// At most this many entries.
    Count(usize),
    /// Every article.
    All,
}

impl MaxItems {
    /// As an optional limit (`None` = no limit).
    pub fn limit(self) -> Option<usize> {
        match self {
            Self::Count(0) | Self::All => None,
            Self::Count(n) => Some(n),
        }
    }
}

impl std::str::FromStr for MaxItems {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        s.parse().map(Self::Count).map_err(|_| format!("expected a number or `all`, got {s:?}"))
    }
}

impl<'de> Deserialize<'de> for MaxItems {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Count(usize),
            Word(String),
        }
        match Repr::deserialize(d)? {
            Repr::Count(n) => Ok(Self::Count(n)),
            Repr::Word(w) => w.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
    /// The archive directory (absolute or relative to the working directory).
    pub archive_dir: PathBuf,
    /// How articles are parsed.
    pub parse: ParseSettings,
    /// The feed output directory.
    pub feeds_dir: PathBuf,
    /// How feeds are built.
    pub feeds: FeedSettings,
    /// How announcements are built.
    pub announce: AnnounceSettings,
    /// The state database.
    pub state_path: PathBuf,
    /// The accounts (dry-run sinks when none is configured).
    pub accounts: Vec<Account>,
    /// The announcing policy.
    pub policy: Policy,
    /// The rescan schedule (cron, with seconds).
    pub rescan: String,
    /// Debounce of file events, in milliseconds.
    pub debounce_ms: u64,
    /// Where `/healthz` and `/metrics` are served, if anywhere.
    pub listen: Option<std::net::SocketAddr>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!(
                "no configuration file at {}{}: name one with --config FILE or HERALD_CONFIG",
                path.display(),
                std::env::current_dir()
                    .ok()
                    .filter(|_| path.is_relative())
                    .map(|d| format!(" (relative to {})", d.display()))
                    .unwrap_or_default()
            ),
            std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
                "reading config {}: permission denied for {}",
                path.display(),
                crate::report::current_user()
            ),
            _ => anyhow::anyhow!("reading config {}: {e}", path.display()),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config =
            Self::parse(&text, base).with_context(|| format!("config {}", path.display()))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses and validates config text; relative paths are resolved against `base`.
    ///
    /// No error quotes the file: a secret written in it by mistake must not reach a terminal
    /// or the journal (a reload logs its errors). TOML errors give the line and the message;
    /// a secret-looking key is refused by name, with the key to use instead.
    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        refuse_inline_secrets(&table)?;
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        Self::validate(raw, base)
    }

    /// Turns a [`RawConfig`] into a [`Config`], naming the field of any bad value.
    pub fn validate(raw: RawConfig, base: &Path) -> anyhow::Result<Self> {
        let timezone: Tz = raw.site.timezone.parse().map_err(|_| {
            anyhow::anyhow!("site.timezone: {:?} is not an IANA time zone", raw.site.timezone)
        })?;
        let url = raw.site.url.trim_end_matches('/').to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!("site.url: {:?} must start with https:// or http://", raw.site.url);
        }
        if url::host_of(&url).is_none() {
            bail!("site.url: {:?} has no host", raw.site.url);
        }
        if raw.site.default_category.trim().is_empty() {
            bail!("site.default_category: must not be empty");
        }
        if !raw.site.article_url.contains("{slug}") {
            bail!("site.article_url: {:?} must contain {{slug}}", raw.site.article_url);
        }
        let f = raw.feeds;
        for (key, value, needs) in [
            ("feeds.category_atom", &f.category_atom, "{slug}"),
            ("feeds.category_rss", &f.category_rss, "{slug}"),
            ("feeds.author_atom", &f.author_atom, "{slug}"),
            ("feeds.author_rss", &f.author_rss, "{slug}"),
            ("feeds.translation_atom", &f.translation_atom, "{lang}"),
        ] {
            if !value.is_empty() && !value.contains(needs) {
                bail!("{key}: {value:?} must contain {needs} (or be \"\" to turn the feed off)");
            }
        }
        for (key, value) in [
            ("feeds.all_atom", &f.all_atom),
            ("feeds.all_rss", &f.all_rss),
            ("feeds.category_atom", &f.category_atom),
            ("feeds.category_rss", &f.category_rss),
            ("feeds.author_atom", &f.author_atom),
            ("feeds.author_rss", &f.author_rss),
            ("feeds.translation_atom", &f.translation_atom),
            ("feeds.json", &f.json),
        ] {
            if value.starts_with('/') || value.split('/').any(|part| part == "..") {
                bail!("{key}: {value:?} must be a path inside feeds.output");
            }
        }
        let announce = validate_announce(raw.announce, base)?;
        let state_path = resolve(base, &raw.state.path);
        let accounts =
            validate_accounts(raw.bluesky, raw.mastodon, raw.dry_run, base, &state_path)?;
        if raw.daemon.max_posts_per_cycle == 0 {
            bail!("daemon.max_posts_per_cycle: must be at least 1");
        }
        let policy = Policy {
            settle: std::time::Duration::from_secs(raw.daemon.settle_secs),
            max_age: std::time::Duration::from_secs(raw.daemon.max_age_days.saturating_mul(86_400)),
            max_posts_per_cycle: raw.daemon.max_posts_per_cycle,
            announce_latest_on_baseline: false,
            max_hold: std::time::Duration::from_secs(
                raw.daemon.max_hold_hours.saturating_mul(3600),
            ),
            edit_on_title_change: raw.daemon.edit_on_title_change,
        };
        if let Err(e) = <cron::Schedule as std::str::FromStr>::from_str(&raw.daemon.rescan) {
            bail!(
                "daemon.rescan: {:?} is not a cron schedule (6 fields, seconds first): {e}",
                raw.daemon.rescan
            );
        }
        let listen = match &raw.daemon.listen {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                anyhow::anyhow!(
                    "daemon.listen: {text:?} is not an address and port like \"127.0.0.1:9187\""
                )
            })?),
        };
        Ok(Config {
            source: None,
            listen,
            rescan: raw.daemon.rescan,
            debounce_ms: raw.daemon.debounce_ms,
            announce,
            state_path,
            accounts,
            policy,
            archive_dir: resolve(base, &raw.archive.path),
            parse: ParseSettings {
                timezone,
                default_category: raw.site.default_category.clone(),
                summary_words: raw.archive.summary_words,
                summary_suffix: raw.archive.summary_suffix,
            },
            feeds_dir: resolve(base, &f.output),
            feeds: FeedSettings {
                site_url: url,
                site_name: raw.site.name,
                author: raw.site.author,
                lang: raw.site.lang,
                article_url: raw.site.article_url,
                max_items: f.max_items.limit(),
                json_feed: f.json_feed,
                paths: FeedPaths {
                    all_atom: f.all_atom,
                    all_rss: f.all_rss,
                    category_atom: f.category_atom,
                    category_rss: f.category_rss,
                    author_atom: f.author_atom,
                    author_rss: f.author_rss,
                    translation_atom: f.translation_atom,
                    json: f.json,
                },
            },
        })
    }
}

fn validate_accounts(
    bluesky: Vec<RawBluesky>,
    mastodon: Vec<RawMastodon>,
    dry_run: Vec<RawDryRun>,
    base: &Path,
    state_path: &Path,
) -> anyhow::Result<Vec<Account>> {
    let mut accounts = Vec::new();
    for (i, b) in bluesky.into_iter().enumerate() {
        let key = format!("bluesky[{i}]");
        if !(b.service.starts_with("https://") || b.service.starts_with("http://")) {
            bail!("{key}.service: {:?} must be an http(s) URL", b.service);
        }
        let password = SecretSource::from_raw("password", b.password_file, b.password_env, base)
            .map_err(|e| anyhow::anyhow!("{key}.{e}"))?;
        accounts.push(Account::Bluesky {
            name: b.name.unwrap_or_else(|| b.identifier.clone()),
            service: b.service.trim_end_matches('/').to_string(),
            identifier: b.identifier,
            password,
        });
    }
    for (i, m) in mastodon.into_iter().enumerate() {
        let key = format!("mastodon[{i}]");
        let host = url::host_of(&m.instance)
            .ok_or_else(|| {
                anyhow::anyhow!("{key}.instance: {:?} must be an http(s) URL", m.instance)
            })?
            .to_string();
        if !["public", "unlisted", "private", "direct"].contains(&m.visibility.as_str()) {
            bail!(
                "{key}.visibility: {:?} must be public, unlisted, private or direct",
                m.visibility
            );
        }
        let token = SecretSource::from_raw("token", m.token_file, m.token_env, base)
            .map_err(|e| anyhow::anyhow!("{key}.{e}"))?;
        accounts.push(Account::Mastodon {
            name: m.name.unwrap_or(host),
            instance: m.instance.trim_end_matches('/').to_string(),
            token,
            visibility: m.visibility,
        });
    }
    for d in dry_run {
        accounts.push(Account::DryRun {
            name: d.name,
            platform: d.platform,
            path: d.path.map(|p| resolve(base, &p)),
        });
    }
    if accounts.is_empty() {
        // No accounts: announce into a file beside the state, one sink per platform.
        let path = state_path.with_file_name("dry-run.jsonl");
        for platform in [Platform::Bluesky, Platform::Mastodon] {
            accounts.push(Account::DryRun {
                name: format!("dry-run-{}", platform.name()),
                platform,
                path: Some(path.clone()),
            });
        }
    }
    let mut names: Vec<&str> = accounts.iter().map(Account::name).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        bail!("two accounts are named {:?}: give each a distinct `name`", w[0]);
    }
    Ok(accounts)
}

fn validate_announce(a: RawAnnounce, base: &Path) -> anyhow::Result<AnnounceSettings> {
    let compile = |key: &str, list: &[String]| -> anyhow::Result<Vec<regex::Regex>> {
        list.iter()
            .enumerate()
            .map(|(i, p)| {
                regex::Regex::new(p).map_err(|e| {
                    anyhow::anyhow!("announce.{key}[{i}]: {p:?} is not a valid pattern: {e}")
                })
            })
            .collect()
    };
    if a.langs.len() > 3 {
        bail!("announce.langs: at most 3 language tags (Bluesky's limit), got {}", a.langs.len());
    }
    if a.mastodon.max_characters < 50 {
        bail!(
            "announce.mastodon.max_characters: {} is too small for a post",
            a.mastodon.max_characters
        );
    }
    if !(1..=600).contains(&a.request_timeout_secs) {
        bail!(
            "announce.request_timeout_secs: {} is out of range (1 to 600 seconds)",
            a.request_timeout_secs
        );
    }
    let card_image = a.card_image.map(|p| resolve(base, &p));
    let bluesky = PlatformSettings {
        platform: Platform::Bluesky,
        template: a.bluesky.template,
        limits: Limits::BLUESKY,
        langs: a.langs.clone(),
        card_image,
    };
    let mastodon = PlatformSettings {
        platform: Platform::Mastodon,
        template: a.mastodon.template,
        limits: Limits::mastodon(a.mastodon.max_characters, a.mastodon.characters_reserved_per_url),
        langs: a.langs,
        card_image: None,
    };
    for (key, settings) in [("bluesky", &bluesky), ("mastodon", &mastodon)] {
        Composer::new(settings.clone())
            .map_err(|e| anyhow::anyhow!("announce.{key}.template: {e:#}"))?;
    }
    Ok(AnnounceSettings {
        guard: GuardSettings {
            placeholders: compile("placeholders", &a.placeholders)?,
            hold_anywhere: compile("placeholders_hold_anywhere", &a.placeholders_hold_anywhere)?,
            grace: std::time::Duration::from_secs(a.placeholder_grace_secs),
            section_placeholders: compile("section_placeholders", &a.section_placeholders)?,
            highlights: a.highlights.clone(),
            empty_crate: a.empty_crate_of_the_week,
        },
        highlights: a.highlights,
        items_per_kind: a.items_per_kind,
        bluesky,
        mastodon,
        request_timeout: std::time::Duration::from_secs(a.request_timeout_secs),
    })
}

/// A TOML error as `line N (table.key): message`, without the source line the toml crate
/// quotes (it may hold a secret): only the key, taken from before the `=`, is repeated.
fn toml_error(text: &str, e: &toml::de::Error) -> anyhow::Error {
    let message = e.message().trim_end_matches('\n');
    let Some(span) = e.span() else { return anyhow::anyhow!("{message}") };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let table = text[..start]
        .lines()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            l.starts_with('[').then(|| l.trim_matches(['[', ']']).trim().to_string())
        })
        .unwrap_or_default();
    let key = line_text.split_once('=').map(|(k, _)| k.trim()).filter(|k| {
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c))
    });
    match key {
        Some(key) if table.is_empty() => anyhow::anyhow!("line {line} ({key}): {message}"),
        Some(key) => anyhow::anyhow!("line {line} ({table}.{key}): {message}"),
        None => anyhow::anyhow!("line {line}: {message}"),
    }
}

/// Keys that would hold a secret in an account table, and what to write instead.
const SECRET_KEYS: [(&str, &str); 6] = [
    ("password", "password_file"),
    ("app_password", "password_file"),
    ("token", "token_file"),
    ("access_token", "token_file"),
    ("secret", "password_file or token_file"),
    ("client_secret", "token_file"),
];

/// Refuses a secret written in the file (`password = "…"` under `[[bluesky]]`), naming the
/// key and the fix, never the value.
fn refuse_inline_secrets(table: &toml::Table) -> anyhow::Result<()> {
    for platform in ["bluesky", "mastodon", "dry_run"] {
        let Some(accounts) = table.get(platform).and_then(|v| v.as_array()) else { continue };
        for (i, account) in accounts.iter().enumerate() {
            let Some(account) = account.as_table() else { continue };
            for key in account.keys() {
                let lower = key.to_ascii_lowercase();
                if let Some((_, instead)) = SECRET_KEYS.iter().find(|(k, _)| *k == lower) {
                    let env = instead.split(' ').next().unwrap_or("").replace("_file", "_env");
                    bail!(
                        "{platform}[{i}].{key}: secrets are never written in the configuration \
                         (its value is not shown here); put it in a file readable only by herald \
                         and give `{instead} = \"/path\"` (a systemd credential: \
                         /run/credentials/herald.service/NAME), or `{env} = \"VARIABLE\"`"
                    );
                }
            }
        }
    }
    Ok(())
}

/// `path` relative to `base` (unless absolute), with `dir/..` pairs folded away so that
/// messages show `public/atom.xml`, not `config/../public/atom.xml`.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

/// Tiny URL helpers (the site URL is the only URL the config holds).
pub mod url {
    /// The host of an `http(s)://host[:port]/…` URL.
    pub fn host_of(url: &str) -> Option<&str> {
        let rest = url.split_once("://")?.1;
        let authority = rest.split('/').next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = host.split(':').next()?;
        (!host.is_empty()).then_some(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_twir_defaults() {
        let c = Config::parse("", Path::new("/etc/herald")).unwrap();
        assert_eq!(c.feeds.site_url, "https://this-week-in-rust.org");
        assert_eq!(c.feeds.max_items, Some(4));
        assert_eq!(c.parse.timezone, chrono_tz::America::New_York);
        assert_eq!(c.archive_dir, Path::new("/etc/herald/content"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("[feeds]\nmax_itemz = 3\n", Path::new(".")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("max_itemz"), "{msg}");
        let err = Config::parse("[sight]\n", Path::new(".")).unwrap_err();
        assert!(format!("{err:#}").contains("sight"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let err =
            Config::parse("[site]\ntimezone = \"Mars/Olympus\"\n", Path::new(".")).unwrap_err();
        assert!(err.to_string().starts_with("site.timezone:"), "{err}");
        let err = Config::parse("[feeds]\nmax_items = \"lots\"\n", Path::new(".")).unwrap_err();
        assert!(format!("{err:#}").contains("max_items"), "{err:#}");
        let err = Config::parse("[feeds]\nall_rss = \"../x.xml\"\n", Path::new(".")).unwrap_err();
        assert!(err.to_string().starts_with("feeds.all_rss:"), "{err}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        assert_eq!(resolve(Path::new("config"), Path::new("../public")), Path::new("public"));
        assert_eq!(resolve(Path::new("/etc/herald"), Path::new("/srv/www")), Path::new("/srv/www"));
        assert_eq!(resolve(Path::new(""), Path::new("../x")), Path::new("../x"));
        assert_eq!(resolve(Path::new("a"), Path::new("..")), Path::new("."));
    }

    #[test]
    fn announce_settings_are_checked() {
        let err =
            Config::parse("[announce]\nplaceholders = [\"(\"]\n", Path::new(".")).unwrap_err();
        assert!(err.to_string().starts_with("announce.placeholders[0]:"), "{err}");
        let err =
            Config::parse("[announce.bluesky]\ntemplate = \"{{ issue.nope }}\"\n", Path::new("."))
                .unwrap_err();
        assert!(err.to_string().starts_with("announce.bluesky.template:"), "{err}");
        let err =
            Config::parse("[announce]\nhighlights = [\"gossip\"]\n", Path::new(".")).unwrap_err();
        assert!(format!("{err:#}").contains("gossip"), "{err:#}");
        let c = Config::parse(
            "[announce]\nhighlights = [\"merged_prs\"]\nempty_crate_of_the_week = \"hold\"\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.announce.highlights, [HighlightKind::MergedPrs]);
        assert_eq!(c.announce.guard.empty_crate, EmptyCrate::Hold);
    }

    /// The commented file in config/ must say what the built-in defaults are.
    #[test]
    fn the_packaged_config_is_the_bundled_one_with_server_paths() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let bundled = std::fs::read_to_string(dir.join("herald.toml")).unwrap();
        let packaged = std::fs::read_to_string(dir.join("herald.etc.toml")).unwrap();
        let differing: Vec<(&str, &str)> =
            bundled.lines().zip(packaged.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(bundled.lines().count(), packaged.lines().count());
        let keys: Vec<&str> = differing
            .iter()
            .filter(|(a, _)| !a.starts_with('#'))
            .map(|(_, b)| b.split(" = ").next().unwrap())
            .collect();
        assert_eq!(keys, ["path", "output", "path"], "{differing:?}");
        let c = Config::parse(&packaged, Path::new("/etc/herald")).unwrap();
        assert_eq!(c.archive_dir, Path::new("/var/lib/herald/site/content"));
        assert_eq!(c.state_path, Path::new("/var/lib/herald/herald.db"));
        assert_eq!(c.feeds_dir, Path::new("/var/www/this-week-in-rust"));
    }

    #[test]
    fn bundled_config_states_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml");
        let bundled = Config::from_file(&path).unwrap();
        let defaults = Config::parse("", Path::new("config")).unwrap();
        assert_eq!(bundled.feeds, defaults.feeds);
        assert_eq!(bundled.parse.timezone, defaults.parse.timezone);
        assert_eq!(bundled.parse.default_category, defaults.parse.default_category);
        assert_eq!(bundled.parse.summary_suffix, defaults.parse.summary_suffix);
        let (b, d) = (&bundled.announce, &defaults.announce);
        assert_eq!(b.highlights, d.highlights);
        assert_eq!(b.items_per_kind, d.items_per_kind);
        assert_eq!(b.bluesky, d.bluesky);
        assert_eq!(b.mastodon, d.mastodon);
        let patterns = |g: &GuardSettings| {
            (
                g.placeholders
                    .iter()
                    .chain(&g.section_placeholders)
                    .chain(&g.hold_anywhere)
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>(),
                g.empty_crate,
                g.grace,
            )
        };
        assert_eq!(patterns(&b.guard), patterns(&d.guard));
        assert_eq!(bundled.policy, defaults.policy);
        assert_eq!(
            (&bundled.rescan, bundled.debounce_ms, bundled.listen),
            (&defaults.rescan, defaults.debounce_ms, defaults.listen)
        );
        // The repository's state/ directory (git-ignored contents).
        assert_eq!(
            bundled.state_path,
            Path::new(env!("CARGO_MANIFEST_DIR")).join("state/herald.db")
        );
    }

    #[test]
    fn accounts_need_a_secret_source_and_distinct_names() {
        let c = Config::parse("", Path::new("/srv")).unwrap();
        let names: Vec<_> = c.accounts.iter().map(Account::name).collect();
        assert_eq!(names, ["dry-run-bluesky", "dry-run-mastodon"]);
        assert_eq!(c.state_path, Path::new("/srv/state/herald.db"));

        let err = Config::parse("[[bluesky]]\nidentifier = \"a.bsky.social\"\n", Path::new("."))
            .unwrap_err();
        assert!(err.to_string().starts_with("bluesky[0].password:"), "{err}");
        let err = Config::parse(
            "[[bluesky]]\nidentifier = \"a\"\npassword = \"hunter2\"\n",
            Path::new("."),
        )
        .unwrap_err();
        // Issue #13: refused by name with the fix, the value never echoed.
        let text = format!("{err:#}");
        assert!(text.starts_with("bluesky[0].password: secrets are never written"), "{text}");
        assert!(text.contains("password_file") && text.contains("password_env"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        // Any other TOML error names the line, without quoting it.
        let err = Config::parse(
            "[[mastodon]]\ninstance = \"https://m.example\"\ntoken_file = \"t\"\nvisibilty = \"s3cret-ish\"\n",
            Path::new("."),
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.starts_with("line 4 (mastodon.visibilty): unknown field `visibilty`"),
            "{text}"
        );
        assert!(!text.contains("s3cret-ish"), "{text}");
        let err = Config::parse("[daemon]\nsettle_secs = = 3\n", Path::new(".")).unwrap_err();
        assert!(format!("{err:#}").starts_with("line 2 (daemon.settle_secs):"), "{err:#}");
        let two = "[[mastodon]]\ninstance = \"https://m.example\"\ntoken_env = \"T\"\n";
        let err = Config::parse(&format!("{two}{two}"), Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("two accounts are named \"m.example\""), "{err}");
        let c = Config::parse(
            &format!("{two}[[bluesky]]\nidentifier = \"a\"\npassword_file = \"pw\"\n"),
            Path::new("/etc/herald"),
        )
        .unwrap();
        assert_eq!(
            c.accounts[0],
            Account::Bluesky {
                name: "a".into(),
                service: "https://bsky.social".into(),
                identifier: "a".into(),
                password: SecretSource::File("/etc/herald/pw".into())
            }
        );
    }

    #[test]
    fn max_items_all() {
        let c = Config::parse("[feeds]\nmax_items = \"all\"\n", Path::new(".")).unwrap();
        assert_eq!(c.feeds.max_items, None);
    }

    #[test]
    fn host_of_urls() {
        assert_eq!(url::host_of("https://this-week-in-rust.org"), Some("this-week-in-rust.org"));
        assert_eq!(url::host_of("http://a.b:8080/x"), Some("a.b"));
        assert_eq!(url::host_of("https://"), None);
    }
}
