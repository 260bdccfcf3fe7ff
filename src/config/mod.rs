//! Configuration: `herald.toml` read into [`RawConfig`] (serde, unknown keys refused), then
//! validated and assembled into each stage's own settings: the [`Settings`] the program runs
//! with. This module only reads, checks and hands out; the settings types and TWiR's
//! defaults belong to the modules that use them.
//!
//! Relative paths in the file are relative to the file's own directory, so a config works from
//! any working directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod file;
mod notify;
mod raw;

use file::{refuse_inline_secrets, refuse_renamed_keys, toml_error};

pub use raw::*;

use anyhow::{Context, bail};

use crate::announce::compose::{Composer, PlatformSettings};
use crate::announce::fit::Limits;
use crate::announce::guard::GuardSettings;
use crate::announce::{Account, AnnounceSettings, Platform};
use crate::archive::ParseSettings;
use crate::archive::zone::Zone;
use crate::daemon::Settings;
use crate::daemon::schedule::Policy;
use crate::feeds::{FeedSettings, SummarySettings, host_of};
use crate::secret::SecretSource;

/// A checkout's configuration, read when the current directory has one and no other is named.
pub const LOCAL_CONFIG: &str = "config/herald.toml";

/// The installed configuration (the Debian package's conffile), read when no other is named.
pub const INSTALLED_CONFIG: &str = "/etc/herald/herald.toml";

/// Reads and validates a config file.
pub fn load(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if path == Path::new(INSTALLED_CONFIG) => {
            anyhow::anyhow!(
                "no configuration file: none at {} (the installed one) and no {} in {}; name one with --config FILE or HERALD_CONFIG",
                path.display(),
                LOCAL_CONFIG,
                std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
            )
        }
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
    let mut config = parse(&text, base).with_context(|| format!("config {}", path.display()))?;
    config.source = Some(path.to_path_buf());
    Ok(config)
}

/// Parses and validates config text; relative paths are resolved against `base`.
///
/// No error quotes the file: a secret written in it by mistake must not reach a terminal
/// or the journal (a reload logs its errors). TOML errors give the line and the message;
/// a secret-looking key is refused by name, with the key to use instead.
pub fn parse(text: &str, base: &Path) -> anyhow::Result<Settings> {
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    refuse_inline_secrets(&table)?;
    refuse_renamed_keys(&table)?;
    let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    validate(raw, base)
}

/// Turns a [`RawConfig`] into the [`Settings`], naming the field of any bad value.
pub fn validate(raw: RawConfig, base: &Path) -> anyhow::Result<Settings> {
    let timezone = Zone::named(&raw.site.timezone).ok_or_else(|| {
        anyhow::anyhow!("site.timezone: {:?} is not an IANA time zone", raw.site.timezone)
    })?;
    let url = raw.site.url.trim_end_matches('/').to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("site.url: {:?} must start with https:// or http://", raw.site.url);
    }
    if host_of(&url).is_none() {
        bail!("site.url: {:?} has no host", raw.site.url);
    }
    if raw.site.default_category.trim().is_empty() {
        bail!("site.default_category: must not be empty");
    }
    if !raw.site.article_url.contains("{slug}") {
        bail!("site.article_url: {:?} must contain {{slug}}", raw.site.article_url);
    }
    let mut files = raw.feeds;
    files.check().map_err(anyhow::Error::msg)?;
    files.output = resolve(base, &files.output);
    let announce = validate_announce(raw.announce, base)?;
    let state_path = resolve(base, &raw.state.path);
    let accounts = validate_accounts(raw.bluesky, raw.mastodon, raw.dry_run, base, &state_path)?;
    let notify = notify::validate(raw.notify, base)?;
    if raw.daemon.max_posts_per_cycle == 0 {
        bail!("daemon.max_posts_per_cycle: must be at least 1");
    }
    let day = Duration::from_secs(86_400);
    for (key, value, min, max) in [
        ("daemon.settle", raw.daemon.settle, Duration::ZERO, day),
        ("daemon.max_age", raw.daemon.max_age, Duration::from_secs(3600), 3650 * day),
        (
            "daemon.debounce",
            raw.daemon.debounce,
            Duration::from_millis(10),
            Duration::from_secs(60),
        ),
        ("daemon.max_hold", raw.daemon.max_hold, Duration::ZERO, 365 * day),
        ("announce.placeholder_grace", announce.guard.grace, Duration::ZERO, 7 * day),
    ] {
        if !(min..=max).contains(&value) {
            bail!(
                "{key}: {} is out of range ({} to {})",
                humantime::format_duration(value),
                humantime::format_duration(min),
                humantime::format_duration(max)
            );
        }
    }
    if raw.daemon.settle >= raw.daemon.max_age {
        bail!(
            "daemon.settle: {} is not shorter than daemon.max_age ({}): no issue would ever be announced",
            humantime::format_duration(raw.daemon.settle),
            humantime::format_duration(raw.daemon.max_age)
        );
    }
    let policy = Policy {
        settle: raw.daemon.settle,
        max_age: raw.daemon.max_age,
        max_posts_per_cycle: raw.daemon.max_posts_per_cycle,
        announce_latest_on_baseline: false,
        max_hold: raw.daemon.max_hold,
        edit_on_title_change: raw.daemon.edit_on_title_change,
    };
    let rescan: cron::Schedule = raw.daemon.rescan.parse().map_err(|e| {
        anyhow::anyhow!(
            "daemon.rescan: {:?} is not a cron schedule (6 fields, seconds first): {e}",
            raw.daemon.rescan
        )
    })?;
    let listen = match &raw.daemon.listen {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            anyhow::anyhow!(
                "daemon.listen: {text:?} is not an address and port like \"127.0.0.1:9187\""
            )
        })?),
    };
    Ok(Settings {
        source: None,
        notify,
        listen,
        rescan,
        debounce: raw.daemon.debounce,
        announce,
        state_path,
        accounts,
        policy,
        archive_dir: resolve(base, &raw.archive.path),
        parse: ParseSettings {
            timezone,
            default_category: raw.site.default_category.clone(),
            drafts: false,
        },
        feeds: FeedSettings {
            site_url: url,
            site_name: raw.site.name,
            author: raw.site.author,
            lang: raw.site.lang,
            article_url: raw.site.article_url,
            summary: SummarySettings {
                words: raw.archive.summary_words,
                suffix: raw.archive.summary_suffix,
            },
            files,
        },
    })
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
        let password = secret_source("password", b.password_file, b.password_env, base)
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
        let host = host_of(&m.instance)
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
        let token = secret_source("token", m.token_file, m.token_env, base)
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

/// The longest placeholder pattern accepted, in characters.
const MAX_PATTERN: usize = 500;
/// The most a placeholder pattern may compile to, in bytes (the regex crate's default is
/// 10 MiB; TWiR's compile to a few kilobytes).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

fn validate_announce(a: RawAnnounce, base: &Path) -> anyhow::Result<AnnounceSettings> {
    // A placeholder pattern is short; a long one (or one that compiles to a huge program)
    // would take seconds to compile at every start and reload.
    let compile = |key: &str, list: &[String]| -> anyhow::Result<Vec<regex::Regex>> {
        list.iter()
            .enumerate()
            .map(|(i, p)| {
                if p.chars().count() > MAX_PATTERN {
                    bail!(
                        "announce.{key}[{i}]: a pattern of {} characters; at most {MAX_PATTERN} \
                         (a placeholder pattern describes one short comment or word)",
                        p.chars().count()
                    );
                }
                if let Some(compiled) = GuardSettings::default_pattern(p) {
                    return Ok(compiled);
                }
                regex::RegexBuilder::new(p).size_limit(PATTERN_SIZE_LIMIT).build().map_err(|e| {
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
    // Sub-second timeouts are for tests against servers on this machine (the leases and the
    // late-landing window follow them); the state keeps times to the millisecond.
    let timeouts = Duration::from_millis(100)..=Duration::from_secs(600);
    if !timeouts.contains(&a.request_timeout)
        || !a.request_timeout.subsec_nanos().is_multiple_of(1_000_000)
    {
        bail!(
            "announce.request_timeout: {} is out of range (100ms to 10m, in whole milliseconds)",
            humantime::format_duration(a.request_timeout)
        );
    }
    let card_image = a.card_image.map(|p| resolve(base, &p));
    // A card image that is there but no image file (a device, a 300 MB file) is the config's
    // fault, said now rather than when an issue is announced. One that is missing is said by
    // `check` (it may be put in place before the next issue).
    if let Some(path) = card_image.as_deref().filter(|p| p.exists()) {
        let meta = std::fs::metadata(path)?;
        let cap = crate::announce::thumb::MAX_CARD_IMAGE_BYTES;
        if !meta.is_file() {
            bail!(
                "announce.card_image: {} is not a regular file; name a PNG or JPEG image",
                path.display()
            );
        }
        if meta.len() > cap {
            bail!(
                "announce.card_image: {} is {} bytes, more than the {} herald reads; use a smaller image",
                path.display(),
                meta.len(),
                cap
            );
        }
    }
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
            grace: a.placeholder_grace,
            section_placeholders: compile("section_placeholders", &a.section_placeholders)?,
            highlights: a.highlights.clone(),
            empty_crate: a.empty_crate_of_the_week,
        },
        highlights: a.highlights,
        items_per_kind: a.items_per_kind,
        bluesky,
        mastodon,
        request_timeout: a.request_timeout,
    })
}

/// Where the secret `key` comes from: `{key}_file` or `{key}_env`, exactly one.
fn secret_source(
    key: &str,
    file: Option<PathBuf>,
    env: Option<String>,
    base: &Path,
) -> anyhow::Result<SecretSource> {
    match (file, env) {
        (Some(f), None) => Ok(SecretSource::File(resolve(base, &f))),
        (None, Some(e)) => Ok(SecretSource::Env(e)),
        (Some(_), Some(_)) => bail!("{key}: give {key}_file or {key}_env, not both"),
        (None, None) => bail!(
            "{key}: give {key}_file (a systemd credential) or {key}_env; secrets are never read from this file"
        ),
    }
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

#[cfg(test)]
mod tests;
