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
    if let Some(slug) = slugify_plain(title) {
        return slug;
    }
    slugify_any(title)
}

/// [`slugify`] of a title of printable ASCII with no tag and no entity (most titles): what
/// the steps leave of it, without the regular expressions and the Unicode tables.
fn slugify_plain(title: &str) -> Option<String> {
    let plain = title.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'<' && b != b'&');
    if !plain {
        return None;
    }
    let kept: String = title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut slug = String::with_capacity(kept.len());
    let mut run = false; // within a run of `-` and spaces
    for c in kept.trim_matches(' ').chars() {
        if c == '-' || c == ' ' {
            run = true;
        } else {
            if run {
                slug.push('-');
            }
            run = false;
            slug.push(c);
        }
    }
    if run {
        slug.push('-');
    }
    Some(slug)
}

/// [`slugify`], every step as Pelican takes it.
fn slugify_any(title: &str) -> String {
    let nfkc: String = striptags(title).nfkc().collect();
    let ascii = unidecode(&nfkc);
    let kept = NON_WORD_RE.replace_all(&ascii, "");
    let lower = kept.to_lowercase();
    DASH_SPACE_RE.replace_all(lower.trim(), "-").into_owned()
}

/// The unidecode crate's transliteration (as Python's Unidecode, which Pelican uses): each
/// character below U+FFFF to its ASCII text, every other to nothing.
fn unidecode(s: &str) -> String {
    // build.rs writes the crate's table as offsets into one text: the crate's own table is
    // 65,535 pointers, a mebibyte the loader relocates at every start of every process.
    static TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/unidecode.bin"));
    const ENTRIES: usize = 0xFFFF;
    let offset = |i: usize| {
        let at = 4 * i;
        u32::from_le_bytes([TABLE[at], TABLE[at + 1], TABLE[at + 2], TABLE[at + 3]]) as usize
    };
    let text = &TABLE[4 * (ENTRIES + 1)..];
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let i = c as usize;
        if i < ENTRIES {
            // The table holds only ASCII, so any range of it is a str.
            out.extend(text[offset(i)..offset(i + 1)].iter().map(|&b| b as char));
        }
    }
    out
}

/// markupsafe's `Markup.striptags()`: remove tags and comments, fold white space, unescape
/// entities. Pelican applies it to titles in feeds and before slugifying.
pub fn striptags(s: &str) -> String {
    if !s.contains(['<', '&']) {
        // No tag, no entity: only the white space to fold.
        return s.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let stripped = TAG_RE.replace_all(s, "");
    let folded = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::render::markdown::html_unescape(&folded)
}

#[cfg(test)]
mod tests {
    use super::{slugify, slugify_any, slugify_plain};

    #[test]
    fn the_table_built_for_unidecode_is_the_crates_for_every_character() {
        let every: String = (0..=0x10FFFF).filter_map(char::from_u32).collect();
        assert_eq!(super::unidecode(&every), unidecode::unidecode(&every));
        for c in ['é', 'ß', '北', '\u{FFFE}', '\u{FFFF}', '\u{10000}', '😀'] {
            let one = c.to_string();
            assert_eq!(super::unidecode(&one), unidecode::unidecode(&one), "{c:?}");
        }
    }

    proptest::proptest! {
        /// The shortcut gives what every step gives, for every title it takes.
        #[test]
        fn a_plain_title_slugs_as_any_title(title in "[ -~]{0,40}") {
            if let Some(fast) = slugify_plain(&title) {
                proptest::prop_assert_eq!(fast, slugify_any(&title));
            }
        }

        #[test]
        fn a_plain_title_of_few_characters_slugs_as_any_title(title in "[ a_.:!-]{0,12}") {
            proptest::prop_assert_eq!(slugify_plain(&title).unwrap(), slugify_any(&title));
        }
    }

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
