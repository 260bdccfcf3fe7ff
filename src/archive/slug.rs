//! Pelican's `slugify`, with its default `SLUG_REGEX_SUBSTITUTIONS`.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

// markupsafe's `_striptags_re`; like it, `.` does not cross lines inside a comment.
static TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<!--.*?-->|<[^>]*>").unwrap());
static NON_WORD_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[^\w\s-]").unwrap());
static DASH_SPACE_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[-\s]+").unwrap());

/// Turns a title into Pelican's slug: strip tags, NFKC, transliterate to ASCII (Unidecode),
/// drop `[^\w\s-]`, lowercase, trim, collapse runs of `-` and white space into one `-`.
///
/// `"Café: déjà vu!"` → `"cafe-deja-vu"`; `"The State of Rust 0.9"` → `"the-state-of-rust-09"`.
pub fn slugify(title: &str) -> String {
    let nfkc: String = striptags(title).nfkc().collect();
    let ascii = unidecode::unidecode(&nfkc);
    let kept = NON_WORD_RE.replace_all(&ascii, "");
    let lower = kept.to_lowercase();
    DASH_SPACE_RE.replace_all(lower.trim(), "-").into_owned()
}

/// markupsafe's `Markup.striptags()`: remove tags and comments, fold white space, unescape
/// entities. Pelican applies it to titles in feeds and before slugifying.
pub fn striptags(s: &str) -> String {
    let stripped = TAG_RE.replace_all(s, "");
    let folded = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::render::markdown::html_unescape(&folded)
}

#[cfg(test)]
mod tests {
    use super::slugify;

    // Expected values come from Pelican 4.7.1's slugify with Unidecode 1.4.0
    // (tools/pelican-reference).
    #[test]
    fn archive_titles() {
        assert_eq!(slugify("This Week in Rust 665"), "this-week-in-rust-665");
        assert_eq!(slugify("This Week In Rust 1"), "this-week-in-rust-1");
        assert_eq!(slugify("The State of Rust 0.9"), "the-state-of-rust-09");
        assert_eq!(slugify("These Weeks in Rust 127"), "these-weeks-in-rust-127");
    }

    #[test]
    fn non_ascii_titles_are_transliterated() {
        assert_eq!(slugify("Café déjà vu"), "cafe-deja-vu");
        assert_eq!(slugify("ﬁne ½"), "fine-12");
        assert_eq!(slugify("emoji 🦀 crab"), "emoji-crab");
    }

    #[test]
    fn punctuation_and_tags_are_dropped() {
        assert_eq!(slugify("Rust 1.0: <em>Ready</em>!"), "rust-10-ready");
        assert_eq!(slugify("a_b  c--d"), "a_b-c-d");
        assert_eq!(slugify("  "), "");
        assert_eq!(slugify("Tom &amp; Jerry"), "tom-jerry");
    }
}
