//! Pelican's Markdown header: `Key: value` lines at the top of an article.
//!
//! Pelican reads Markdown metadata with Python-Markdown's `meta` extension, so these are its
//! rules, not a YAML parser's: the header is every line from the top that looks like
//! `Key: value` (up to three leading spaces, keys of `[A-Za-z0-9_-]`, compared
//! case-insensitively), plus indented continuation lines (four or more spaces); it ends at the
//! first blank line, at a line that starts with `---` or `...`, or at the first line of any
//! other shape, which then belongs to the body. A first line that starts with `---` is skipped.

// Python-Markdown's expressions, matched by hand on one line (no `\n`): every article's
// header is split at every start, and these are a third of the time it takes. The tests
// check each against the expression.

/// `META_RE`, `^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)`: the key and the value.
fn meta(line: &str) -> Option<(&str, &str)> {
    let spaces = line.bytes().take_while(|&b| b == b' ').count();
    if spaces > 3 {
        return None;
    }
    let rest = &line[spaces..];
    let key = rest.bytes().take_while(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key_len = key.count();
    if key_len == 0 || rest.as_bytes().get(key_len) != Some(&b':') {
        return None;
    }
    Some((&rest[..key_len], rest[key_len + 1..].trim_start()))
}

/// `META_MORE_RE`, `^[ ]{4,}(?P<value>.*)`: the value of a continuation line.
fn meta_more(line: &str) -> Option<&str> {
    let spaces = line.bytes().take_while(|&b| b == b' ').count();
    (spaces >= 4).then(|| &line[spaces..])
}

/// `BEGIN_RE`, `^-{3}(\s.*)?`, as Python's `re.match` takes it: anchored at the start only,
/// so any line that starts with `---` (`----`, `---yaml`).
fn is_begin(line: &str) -> bool {
    line.starts_with("---")
}

/// `END_RE`, `^(-{3}|\.{3})(\s.*)?`, as `re.match` takes it: any line that starts with `---`
/// or `...`.
fn is_end(line: &str) -> bool {
    line.starts_with("---") || line.starts_with("...")
}

/// One header field: its lowercased key, every value given for it (a repeated key or a
/// continuation line adds one), and the 1-based line of its first occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key, lowercased.
    pub key: String,
    /// The values in the order they appear, each trimmed.
    pub values: Vec<String>,
    /// The line the key first appears on (1-based).
    pub line: usize,
}

/// A split article: its header fields and the body that follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// Fields in order of first appearance.
    pub fields: Vec<Field>,
    /// The body text (everything after the header and its terminating line).
    pub body: &'a str,
    /// The 1-based line the body starts on.
    pub body_line: usize,
}

impl Header<'_> {
    /// The first value of `key` (already lowercase), as Pelican takes for single-valued keys.
    pub fn first(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// Splits `text` (already normalized: `\n` line ends, tabs expanded) into header and body.
///
/// Never fails: a file with no header yields no fields and the whole text as body; the caller
/// decides which fields are required.
pub fn split_header(text: &str) -> Header<'_> {
    let mut fields: Vec<Field> = Vec::new();
    // Where each key is in `fields`: a header of many keys is read in linear time.
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut pos = 0; // byte offset of the next unread line
    let mut line_no = 1;
    let mut current: Option<usize> = None;
    let mut first = true;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..end];
        let next = (end + 1).min(text.len());
        if first && is_begin(line) {
            first = false;
            pos = next;
            line_no += 1;
            continue;
        }
        first = false;
        if line.trim().is_empty() || is_end(line) {
            // The terminating line is consumed, as Python-Markdown pops it.
            pos = next;
            line_no += 1;
            break;
        }
        if let Some((key, value)) = meta(line) {
            let key = key.to_ascii_lowercase();
            let value = value.trim().to_string();
            match index.get(&key) {
                Some(&i) => {
                    fields[i].values.push(value);
                    current = Some(i);
                }
                None => {
                    index.insert(key.clone(), fields.len());
                    fields.push(Field { key, values: vec![value], line: line_no });
                    current = Some(fields.len() - 1);
                }
            }
        } else if let (Some(value), Some(i)) = (meta_more(line), current) {
            fields[i].values.push(value.trim().to_string());
        } else {
            break; // this line is the first line of the body
        }
        pos = next;
        line_no += 1;
    }
    Header { fields, body: &text[pos..], body_line: line_no }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn a_first_line_that_starts_with_three_dashes_is_skipped() {
        // Python's `re.match` anchors Python-Markdown's expressions at the start only.
        for first in ["---", "----", "---yaml", "--- x"] {
            let text = format!("{first}\nTitle: T\n...more\nBody\n");
            let h = split_header(&text);
            assert_eq!((h.fields.len(), h.body), (1, "Body\n"), "{first}");
        }
        assert_eq!(split_header("--\nTitle: T\n").fields.len(), 0);
    }

    proptest::proptest! {
        /// Each line matcher is Python-Markdown's expression.
        #[test]
        fn the_line_matchers_are_the_expressions(
            line in "([ \t:.a-zA-Z09_\u{a0}\u{2003}\u{85}\u{b}\r-]|é|Title|---|\\.\\.\\.|    |  ){0,12}"
        ) {
            let meta_re = Regex::new(r"^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)").unwrap();
            let more_re = Regex::new(r"^[ ]{4,}(?P<value>.*)").unwrap();
            // Python's `re.match`: anchored at the start, not at the end.
            let begin_re = Regex::new(r"^-{3}(\s.*)?").unwrap();
            let end_re = Regex::new(r"^(-{3}|\.{3})(\s.*)?").unwrap();
            let expected = meta_re.captures(&line).map(|m| {
                (m.name("key").unwrap().as_str(), m.name("value").unwrap().as_str())
            });
            proptest::prop_assert_eq!(meta(&line), expected);
            let expected = more_re.captures(&line).map(|m| m.name("value").unwrap().as_str());
            proptest::prop_assert_eq!(meta_more(&line), expected);
            proptest::prop_assert_eq!(is_begin(&line), begin_re.is_match(&line));
            proptest::prop_assert_eq!(is_end(&line), end_re.is_match(&line));
        }
    }

    #[test]
    fn header_ends_at_first_blank_line() {
        let h = split_header("Title: A\nDate: 2020-01-01\n\nBody: not a field\n");
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.fields[0].key, "title");
        assert_eq!(h.body, "Body: not a field\n");
        assert_eq!(h.body_line, 4);
    }

    #[test]
    fn blank_line_inside_header_makes_the_rest_body() {
        // Issue 604 (2025-06-18): a blank line before `Category:`.
        let h = split_header("Title: T\nDate: 2025-06-18\n\nCategory: This Week in Rust\n\nHi");
        assert!(h.first("category").is_none());
        assert!(h.body.starts_with("Category: This Week in Rust"));
    }

    #[test]
    fn keys_are_case_insensitive_and_repeats_collect() {
        let h = split_header("TITLE: A\ntitle: B\n\n");
        assert_eq!(h.fields.len(), 1);
        assert_eq!(h.fields[0].values, ["A", "B"]);
    }

    #[test]
    fn indented_lines_continue_the_previous_key() {
        let h = split_header("Title: A long\n    title here\nDate: 2020-01-01\n\nx");
        assert_eq!(h.first("title").unwrap().values, ["A long", "title here"]);
        assert_eq!(h.first("date").unwrap().line, 3);
    }

    #[test]
    fn a_line_of_another_shape_starts_the_body() {
        let h = split_header("Title: A\nHello world\nDate: x\n");
        assert_eq!(h.fields.len(), 1);
        assert_eq!(h.body, "Hello world\nDate: x\n");
        assert_eq!(h.body_line, 2);
    }

    #[test]
    fn no_header_at_all() {
        let h = split_header("# Heading\n\ntext");
        assert!(h.fields.is_empty());
        assert_eq!(h.body_line, 1);
    }

    #[test]
    fn yaml_style_delimiters() {
        let h = split_header("---\nTitle: A\n---\nbody");
        assert_eq!(h.first("title").unwrap().values, ["A"]);
        assert_eq!(h.body, "body");
    }

    #[test]
    fn up_to_three_leading_spaces_is_still_a_key() {
        let h = split_header("   Title: A\n\n");
        assert_eq!(h.first("title").unwrap().values, ["A"]);
    }
}
