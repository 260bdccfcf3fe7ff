//! Building a [`Post`]: render the platform's template with the issue and its highlights,
//! fit it to the platform's limits, then compute facets and the link card on the final text.
//!
//! Fitting, when the text is too long: drop the lowest-ranked highlights first; then use the
//! room left by shortening the first dropped highlight (at a grapheme boundary, with `…`,
//! never inside a URL, hashtag or mention); if even no highlights is too long, shorten the
//! title. The issue URL is never touched.

use std::path::PathBuf;

use minijinja::{AutoEscape, Environment, context};
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::Platform;
use super::fit::{Limits, find_hashtags, find_urls, shorten};
use super::thumb::{Thumb, prepare_thumbnail};
use crate::announce::highlights::Highlight;

/// TWiR's Bluesky template.
pub const DEFAULT_BLUESKY_TEMPLATE: &str = "\
{{ issue.title }} is out: {{ issue.url }}

{% for h in highlights %}
• {{ h.text }}
{% endfor %}

#rustlang
";

/// TWiR's Mastodon template.
pub const DEFAULT_MASTODON_TEMPLATE: &str = "\
{{ issue.title }} is out! {{ issue.url }}

{% for h in highlights %}
• {{ h.text }}
{% endfor %}

#rustlang #rust
";

/// The issue fields a template sees as `issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueFields {
    /// The title, tags stripped.
    pub title: String,
    /// The `Number:` header, if any.
    pub number: Option<u32>,
    /// The issue's URL.
    pub url: String,
    /// The local publication date, `YYYY-MM-DD`.
    pub date: String,
}

/// One platform's post. Stored as JSON in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The platform.
    pub platform: Platform,
    /// The final text.
    pub text: String,
    /// Its length as the platform counts it.
    pub graphemes: usize,
    /// The platform's limit.
    pub limit: usize,
    /// Rich-text facets (Bluesky), on UTF-8 byte offsets of `text`.
    pub facets: Vec<Facet>,
    /// Language tags.
    pub langs: Vec<String>,
    /// The link card (Bluesky `app.bsky.embed.external`).
    pub embed: Option<Embed>,
    /// How many highlights made it in (the last possibly shortened).
    pub highlights_kept: usize,
    /// How many highlights there were.
    pub highlights_total: usize,
}

/// A rich-text facet: a byte range of the text and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    /// Inclusive start, a UTF-8 byte offset.
    #[serde(rename = "byteStart")]
    pub byte_start: usize,
    /// Exclusive end, a UTF-8 byte offset.
    #[serde(rename = "byteEnd")]
    pub byte_end: usize,
    /// What the range is.
    #[serde(flatten)]
    pub kind: FacetKind,
}

/// The feature of a [`Facet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum FacetKind {
    /// `app.bsky.richtext.facet#link` to this URI.
    Link(String),
    /// `app.bsky.richtext.facet#tag` with this tag (no `#`).
    Tag(String),
}

impl Post {
    /// The text cut at its facets, in order: plain text, and the text each facet covers with
    /// what it is — how a reader sees it (links and tags marked), for previews.
    pub fn segments(&self) -> Vec<(&str, Option<&FacetKind>)> {
        let mut out = Vec::new();
        let mut at = 0;
        let mut facets: Vec<&Facet> = self.facets.iter().collect();
        facets.sort_by_key(|f| f.byte_start);
        for f in facets {
            let covered =
                (f.byte_start >= at).then(|| self.text.get(f.byte_start..f.byte_end)).flatten();
            let Some(covered) = covered else { continue };
            if f.byte_start > at {
                out.push((&self.text[at..f.byte_start], None));
            }
            out.push((covered, Some(&f.kind)));
            at = f.byte_end;
        }
        if at < self.text.len() {
            out.push((&self.text[at..], None));
        }
        out
    }
}

/// A link card: `app.bsky.embed.external`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embed {
    /// The issue URL.
    pub uri: String,
    /// The issue title.
    pub title: String,
    /// A description drawn from the highlights.
    pub description: String,
    /// The thumbnail, re-encoded to fit the 1,000,000-byte limit.
    pub thumb: Option<Thumb>,
}

/// Why a post could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The template does not parse or render.
    #[error("the {platform} template: {source:#}")]
    Template {
        /// Which template.
        platform: &'static str,
        /// The template engine's error.
        #[source]
        source: minijinja::Error,
    },
    /// Even with no highlights and a one-word title, the text is over the limit.
    #[error(
        "the {platform} template's fixed text and the issue URL alone are over the limit of {limit}"
    )]
    TooLong {
        /// Which platform.
        platform: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The thumbnail could not be prepared.
    #[error(transparent)]
    Thumb(#[from] super::thumb::ThumbError),
}

/// One platform's composition settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSettings {
    /// Which platform.
    pub platform: Platform,
    /// The template source (minijinja).
    pub template: String,
    /// The limits to fit.
    pub limits: Limits,
    /// Language tags (Bluesky `langs`, at most 3; Mastodon uses the first).
    pub langs: Vec<String>,
    /// Link card image, for Bluesky.
    pub card_image: Option<PathBuf>,
}

/// Renders posts for one platform.
pub struct Composer {
    env: Environment<'static>,
    settings: PlatformSettings,
}

impl Composer {
    /// Compiles the template; a template error is reported here, before any issue is seen.
    pub fn new(settings: PlatformSettings) -> Result<Self, ComposeError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let platform = settings.platform.name();
        env.add_template_owned(platform, settings.template.clone())
            .map_err(|source| ComposeError::Template { platform, source })?;
        let composer = Self { env, settings };
        // Render once with sample values so a template that fails at render time (an unknown
        // variable) is reported at start-up, not at announcement time.
        let sample = IssueFields {
            title: "T".into(),
            number: Some(1),
            url: "https://x.example/".into(),
            date: "2000-01-01".into(),
        };
        composer.render(&sample, &[])?;
        Ok(composer)
    }

    /// The settings in use.
    pub fn settings(&self) -> &PlatformSettings {
        &self.settings
    }

    fn render(
        &self,
        issue: &IssueFields,
        highlights: &[Highlight],
    ) -> Result<String, ComposeError> {
        let platform = self.settings.platform.name();
        let template = self
            .env
            .get_template(platform)
            .map_err(|source| ComposeError::Template { platform, source })?;
        let text = template
            .render(context! { issue => issue, highlights => highlights })
            .map_err(|source| ComposeError::Template { platform, source })?;
        Ok(tidy(&text))
    }

    /// Builds the post for an issue with its ranked highlights.
    pub fn compose(
        &self,
        issue: &IssueFields,
        highlights: &[Highlight],
    ) -> Result<Post, ComposeError> {
        let limits = self.settings.limits;
        let (text, kept) = self.fit(issue, highlights)?;
        let facets = facets(&text);
        let embed = match self.settings.platform {
            Platform::Bluesky => Some(Embed {
                uri: issue.url.clone(),
                title: issue.title.clone(),
                description: card_description(highlights),
                thumb: self.settings.card_image.as_deref().map(prepare_thumbnail).transpose()?,
            }),
            Platform::Mastodon => None,
        };
        Ok(Post {
            platform: self.settings.platform,
            graphemes: limits.count(&text),
            limit: limits.max_graphemes,
            text,
            facets,
            langs: self.settings.langs.iter().take(3).cloned().collect(),
            embed,
            highlights_kept: kept,
            highlights_total: highlights.len(),
        })
    }

    /// The fitted text and how many highlights it holds.
    fn fit(
        &self,
        issue: &IssueFields,
        highlights: &[Highlight],
    ) -> Result<(String, usize), ComposeError> {
        let limits = self.settings.limits;
        // The most highlights that fit whole (fitting is monotonic in the count).
        let mut kept = highlights.len();
        let mut text = self.render(issue, highlights)?;
        while !limits.fits(&text) && kept > 0 {
            kept -= 1;
            text = self.render(issue, &highlights[..kept])?;
        }
        if limits.fits(&text) {
            if kept < highlights.len()
                && let Some(longer) = self.fit_shortened(issue, &highlights[..=kept])?
            {
                return Ok((longer, kept + 1));
            }
            return Ok((text, kept));
        }
        // Not even without highlights: shorten the title.
        let graphemes = issue.title.graphemes(true).take(limits.max_graphemes + 1).count();
        let fits_with = |n: usize| -> Result<Option<String>, ComposeError> {
            let Some(title) = shorten(&issue.title, n) else { return Ok(None) };
            let text = self.render(&IssueFields { title, ..issue.clone() }, &[])?;
            Ok(limits.fits(&text).then_some(text))
        };
        if let Some(text) = largest(2, graphemes, fits_with)? {
            return Ok((text, 0));
        }
        // A title that cannot be cut (one long URL or hashtag) is replaced by an ellipsis.
        let text = self.render(&IssueFields { title: "…".into(), ..issue.clone() }, &[])?;
        if limits.fits(&text) {
            return Ok((text, 0));
        }
        Err(ComposeError::TooLong {
            platform: self.settings.platform.name(),
            limit: limits.max_graphemes,
        })
    }

    /// The text with `highlights`, the last shortened as little as needed, if at least
    /// [`MIN_SHORTENED_GRAPHEMES`] of it can stay.
    fn fit_shortened(
        &self,
        issue: &IssueFields,
        highlights: &[Highlight],
    ) -> Result<Option<String>, ComposeError> {
        let Some((last, rest)) = highlights.split_last() else { return Ok(None) };
        let limits = self.settings.limits;
        // No cut longer than the whole post's limit can fit: the search stays within it.
        let graphemes = last.text.graphemes(true).take(limits.max_graphemes + 1).count();
        let try_len = |n: usize| -> Result<Option<String>, ComposeError> {
            let Some(short) = shorten(&last.text, n) else { return Ok(None) };
            let mut list = rest.to_vec();
            list.push(Highlight { text: short, ..last.clone() });
            let text = self.render(issue, &list)?;
            Ok(limits.fits(&text).then_some(text))
        };
        largest(MIN_SHORTENED_GRAPHEMES, graphemes, try_len)
    }
}

/// A highlight shortened to fewer graphemes than this is left out instead.
pub const MIN_SHORTENED_GRAPHEMES: usize = 16;

/// The result for the largest `n` in `lo..=hi` for which `f(n)` gives one (binary search: a
/// longer cut never fits where a shorter one does not).
fn largest<T>(
    lo: usize,
    hi: usize,
    f: impl Fn(usize) -> Result<Option<T>, ComposeError>,
) -> Result<Option<T>, ComposeError> {
    let (mut lo, mut hi) = (lo, hi);
    let mut best = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        match f(mid)? {
            Some(t) => {
                best = Some(t);
                lo = mid + 1;
            }
            None => {
                if mid == 0 {
                    break;
                }
                hi = mid - 1;
            }
        }
    }
    Ok(best)
}

/// Trailing spaces off every line, at most one blank line in a row, no blank lines at the ends.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// Link facets for every URL and tag facets for every hashtag of the final text.
pub fn facets(text: &str) -> Vec<Facet> {
    let mut out: Vec<Facet> = find_urls(text)
        .into_iter()
        .map(|r| Facet {
            byte_start: r.start,
            byte_end: r.end,
            kind: FacetKind::Link(text[r].to_string()),
        })
        .collect();
    out.extend(find_hashtags(text).into_iter().map(|(r, tag)| Facet {
        byte_start: r.start,
        byte_end: r.end,
        kind: FacetKind::Tag(tag),
    }));
    out.sort_by_key(|f| f.byte_start);
    out
}

/// The card's description: the highlights' texts, joined, at most 300 graphemes.
fn card_description(highlights: &[Highlight]) -> String {
    let joined = highlights.iter().map(|h| h.text.as_str()).collect::<Vec<_>>().join(" · ");
    shorten(&joined, 300).unwrap_or_default()
}
