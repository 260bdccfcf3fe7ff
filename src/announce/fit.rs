//! Counting a post the way each platform counts it, and fitting text to a limit.
//!
//! - Bluesky: at most 300 grapheme clusters (UAX #29) and 3000 UTF-8 bytes, URLs counted in
//!   full (the `app.bsky.feed.post` lexicon: `"maxGraphemes": 300, "maxLength": 3000`;
//!   <https://docs.bsky.app/docs/advanced-guides/post-richtext>).
//! - Mastodon: `configuration.statuses.max_characters` grapheme clusters, each URL counted as
//!   `characters_reserved_per_url` (23) — herald counts it as the larger of that and its full
//!   length, so servers that count URLs in full (GoToSocial) accept the post too
//!   (<https://docs.joinmastodon.org/methods/instance/#v2>).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

/// How a platform measures a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Most grapheme clusters (with URLs counted per `url_min_graphemes`).
    pub max_graphemes: usize,
    /// Most UTF-8 bytes, where the platform has such a limit.
    pub max_bytes: Option<usize>,
    /// A URL counts as at least this many graphemes (Mastodon's reserved URL length); `None`
    /// counts URLs as they are.
    pub url_min_graphemes: Option<usize>,
}

impl Limits {
    /// Bluesky's limits.
    pub const BLUESKY: Limits =
        Limits { max_graphemes: 300, max_bytes: Some(3000), url_min_graphemes: None };

    /// Mastodon's limits for an instance allowing `max_characters`, reserving `per_url` per link.
    pub fn mastodon(max_characters: usize, per_url: usize) -> Limits {
        Limits { max_graphemes: max_characters, max_bytes: None, url_min_graphemes: Some(per_url) }
    }

    /// The length of `text` as this platform counts it.
    pub fn count(&self, text: &str) -> usize {
        let mut total = text.graphemes(true).count();
        if let Some(reserved) = self.url_min_graphemes {
            for url in find_urls(text) {
                let n = text[url].graphemes(true).count();
                total = total - n + n.max(reserved);
            }
        }
        total
    }

    /// Whether `text` is within every limit.
    pub fn fits(&self, text: &str) -> bool {
        self.max_bytes.is_none_or(|max| text.len() <= max) && self.count(text) <= self.max_graphemes
    }
}

static URL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"'`{}|\\^\[\]]+"#).unwrap());
static TAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)([#＃]([\p{L}\p{M}\p{N}_]*[\p{L}\p{M}_][\p{L}\p{M}\p{N}_]*))").unwrap()
});
static MENTION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)(@[A-Za-z0-9_.-]+(?:@[A-Za-z0-9.-]+)?)").unwrap());

/// Byte ranges of the URLs in `text`, without trailing sentence punctuation.
pub fn find_urls(text: &str) -> Vec<Range<usize>> {
    URL_RE
        .find_iter(text)
        .map(|m| {
            let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '…']);
            // Keep a closing parenthesis that closes one inside the URL (Wikipedia-style).
            let mut end = m.start() + trimmed.len();
            if m.as_str()[trimmed.len()..].starts_with(')') && trimmed.contains('(') {
                end += 1;
            }
            m.start()..end
        })
        .collect()
}

/// Byte ranges of the hashtags in `text` (with the `#`) and their tag values (without it).
/// Purely numeric tags (`#665`) are not tags; tags longer than 64 graphemes are ignored.
pub fn find_hashtags(text: &str) -> Vec<(Range<usize>, String)> {
    let urls = find_urls(text);
    TAG_RE
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(1)?;
            let tag = c.get(2)?.as_str();
            let inside_url = urls.iter().any(|u| u.contains(&whole.start()));
            (!inside_url && tag.graphemes(true).count() <= 64)
                .then(|| (whole.range(), tag.to_string()))
        })
        .collect()
}

/// Byte ranges that must never be cut: URLs, hashtags and mentions.
pub fn protected_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = find_urls(text);
    spans.extend(find_hashtags(text).into_iter().map(|(r, _)| r));
    spans.extend(MENTION_RE.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.range()));
    spans
}

/// How far back [`shorten`] looks for a space to end on.
const WORD_BACKOFF_GRAPHEMES: usize = 20;

/// `text` cut to at most `max_graphemes` grapheme clusters, ending in `…`, never inside a URL,
/// hashtag or mention (the cut moves to before it). Returns `None` if nothing useful is left.
pub fn shorten(text: &str, max_graphemes: usize) -> Option<String> {
    // Bounded: a long text is looked at only up to the cut, not counted whole.
    if text.graphemes(true).nth(max_graphemes).is_none() {
        return Some(text.to_string());
    }
    if max_graphemes < 2 {
        return None;
    }
    // Room for the ellipsis.
    let mut cut = text.grapheme_indices(true).nth(max_graphemes - 1).map_or(text.len(), |(i, _)| i);
    // A URL, hashtag or mention the cut falls in ends at the next space at the latest.
    let token_end = text[cut..].find(char::is_whitespace).map_or(text.len(), |i| cut + i);
    for span in protected_spans(&text[..token_end]) {
        if span.start < cut && cut < span.end {
            cut = span.start;
        }
    }
    // Prefer ending at a word boundary when one is near (text without spaces, like CJK, is
    // cut at the grapheme boundary).
    if cut < text.len() && !text[cut..].starts_with(char::is_whitespace) {
        let mut window = text[..cut].grapheme_indices(true).rev().take(WORD_BACKOFF_GRAPHEMES);
        if let Some((i, _)) = window.find(|(_, g)| g.chars().all(char::is_whitespace)) {
            cut = i;
        }
    }
    let kept = text[..cut].trim_end_matches(|c: char| c.is_whitespace() || ",;:—–-(".contains(c));
    if kept.is_empty() {
        return None;
    }
    Some(format!("{kept}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bluesky_counts_graphemes_and_bytes() {
        assert_eq!(Limits::BLUESKY.count("👨‍👩‍👧‍👦 e\u{301}"), 3);
        assert!(Limits::BLUESKY.fits(&"🦀".repeat(300)));
        assert!(!Limits::BLUESKY.fits(&"🦀".repeat(301)));
        // 300 graphemes but over 3000 bytes: a family emoji is 25 bytes.
        assert!(!Limits::BLUESKY.fits(&"👨‍👩‍👧‍👦".repeat(150)));
    }

    #[test]
    fn mastodon_counts_urls_as_at_least_the_reserved_length() {
        let m = Limits::mastodon(500, 23);
        assert_eq!(m.count("see https://a.io"), 4 + 23);
        let long = format!("see https://example.com/{}", "x".repeat(40));
        assert_eq!(m.count(&long), 4 + 20 + 40);
    }

    #[test]
    fn urls_drop_trailing_punctuation() {
        let t = "Read https://x.io/a_(b). And https://y.io/c, then (https://z.io/d)!";
        let urls: Vec<_> = find_urls(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(urls, ["https://x.io/a_(b)", "https://y.io/c", "https://z.io/d"]);
    }

    #[test]
    fn hashtags() {
        let t = "#rustlang issue #665 C# https://x.io/#frag #日本語 #a_b.";
        let tags: Vec<_> = find_hashtags(t).into_iter().map(|(r, v)| (&t[r], v)).collect();
        assert_eq!(
            tags,
            [
                ("#rustlang", "rustlang".into()),
                ("#日本語", "日本語".into()),
                ("#a_b", "a_b".into())
            ]
        );
    }

    #[test]
    fn shortening_never_cuts_a_url_or_tag() {
        let t = "Great read at https://example.com/a/very/long/path today";
        assert_eq!(shorten(t, 30).unwrap(), "Great read at…");
        assert_eq!(shorten("Hello #rustlang world", 12).unwrap(), "Hello…");
        assert_eq!(shorten("short", 10).unwrap(), "short");
        assert_eq!(shorten("e\u{301}e\u{301}e\u{301}e\u{301}", 3).unwrap(), "e\u{301}e\u{301}…");
        assert_eq!(shorten("the lang team had stabilized", 20).unwrap(), "the lang team had…");
        assert_eq!(shorten("東京都の天気は晴れです", 6).unwrap(), "東京都の天…");
        assert!(shorten("https://example.com/x", 5).is_none());
    }
}
