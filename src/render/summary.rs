//! Pelican's summaries: the first N words of an article's HTML, open tags closed.
//!
//! This is a port of Pelican 4.7.1's `truncate_html_words` and its `_HTMLWordTruncator`, which
//! sits on Python 3.11's `html.parser.HTMLParser` (with `convert_charrefs=False`). Feeds carry
//! these summaries byte for byte, so the port keeps the parser's quirks rather than parsing HTML
//! "properly":
//!
//! * the text is split into data, tags, comments and character references exactly where
//!   `HTMLParser.goahead` splits it, because a word only ends at a tag, at a non-word character
//!   or at a character reference that is not a word character (comments, declarations and
//!   processing instructions are invisible: `a<!-- -->b` is one word);
//! * `HTMLParser.feed` is called without `close()`, so an unterminated construct (`<a href`,
//!   `<!-- …`, `&#bad;`, `&amp` at the very end) stops the parse, and the input is returned whole;
//! * a word is a run of Latin, Latin-extended or Cyrillic letters and digits (with `-` and `'`
//!   inside), or a single CJK, kana or Hangul character;
//! * the cut falls right after the `max_words`-th word, but only once the parser has seen what
//!   follows it: a text that ends on its last word is returned whole;
//! * `' ' + suffix` and a closing tag for every tag still open (except `br`, `img` and the other
//!   singlets) are appended.
//!
//! Offsets are byte offsets into the UTF-8 input where Python uses code point offsets; every cut
//! lands on a character boundary, so the two agree. Where Python would raise an
//! `AssertionError` (a malformed `<![…` marked section), Pelican would abort the build; here the
//! input is returned unchanged.

use std::sync::LazyLock;

use regex::Regex;

use super::entities::name2codepoint;
use super::html_parser::*;

/// Truncates `html` after `max_words` words, appending ` {suffix}` and closing open tags, as
/// Pelican's `truncate_html_words` does. Returns the input unchanged when it is short enough,
/// and an empty string when `max_words` is 0.
pub fn summarize(html: &str, max_words: usize, suffix: &str) -> String {
    if max_words == 0 {
        return String::new();
    }
    let mut truncator = Truncator::new(html, max_words);
    let cut = match truncator.feed() {
        Err(Halt::Truncated(at)) => at,
        Ok(()) | Err(Halt::Unparsable) => return html.to_string(),
    };
    let Some(head) = html.get(..cut) else {
        // Unreachable: cuts are always on character boundaries. Stay safe on input anyway.
        return html.to_string();
    };
    let closing_len: usize = truncator.open_tags.iter().map(|t| t.len() + 3).sum();
    let mut out = String::with_capacity(head.len() + suffix.len() + 1 + closing_len);
    out.push_str(head);
    if !suffix.is_empty() {
        out.push(' ');
        out.push_str(suffix);
    }
    for tag in truncator.open_tags.iter().rev() {
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
    out
}

/// Why the parse stopped early.
#[derive(Debug, PartialEq, Eq)]
enum Halt {
    /// `TruncationCompleted`: the last word wanted ends at this byte offset.
    Truncated(usize),
    /// Python's parser would raise `AssertionError` here.
    Unparsable,
}

impl From<Unparsable> for Halt {
    fn from(_: Unparsable) -> Self {
        Halt::Unparsable
    }
}

/// The result of a handler: go on, or stop the whole parse.
type Flow = Result<(), Halt>;

/// Tags that never get a closing tag appended (`_HTMLWordTruncator._singlets`).
const SINGLETS: [&str; 9] = ["br", "col", "link", "base", "img", "param", "area", "hr", "input"];

/// `_HTMLWordTruncator` on top of `HTMLParser`, fed the whole text once.
struct Truncator<'a> {
    /// The raw input (`rawdata`).
    s: &'a str,
    max_words: usize,
    words_found: usize,
    /// Open tags, innermost last (Python keeps them innermost first).
    open_tags: Vec<String>,
    /// End of a word seen but not counted yet, because it may go on in the next chunk.
    last_word_end: Option<usize>,
    /// Inside `<script>` or `<style>`: only the matching end tag is markup.
    cdata_elem: Option<&'static str>,
}

impl<'a> Truncator<'a> {
    fn new(s: &'a str, max_words: usize) -> Self {
        Truncator {
            s,
            max_words,
            words_found: 0,
            open_tags: Vec::new(),
            last_word_end: None,
            cdata_elem: None,
        }
    }

    fn add_word(&mut self, word_end: usize) -> Flow {
        self.words_found += 1;
        self.last_word_end = None;
        if self.words_found == self.max_words { Err(Halt::Truncated(word_end)) } else { Ok(()) }
    }

    fn add_last_word(&mut self) -> Flow {
        match self.last_word_end {
            Some(end) => self.add_word(end),
            None => Ok(()),
        }
    }

    fn handle_starttag(&mut self, tag: &str) -> Flow {
        self.add_last_word()?;
        if !SINGLETS.contains(&tag) {
            self.open_tags.push(tag.to_string());
        }
        Ok(())
    }

    fn handle_endtag(&mut self, tag: &str) -> Flow {
        self.add_last_word()?;
        // SGML: an end tag closes, back to the matching start tag, all unclosed intervening
        // start tags with omitted end tags.
        if let Some(i) = self.open_tags.iter().rposition(|t| t == tag) {
            self.open_tags.truncate(i);
        }
        Ok(())
    }

    /// `handle_data(rawdata[start:end])`, called while the parser's position is `start`.
    fn handle_data(&mut self, start: usize, end: usize) -> Flow {
        let data = &self.s[start..end];
        let mut word_end = 0;
        while let Some((match_start, match_end)) = find_word(data, word_end) {
            if match_start > 0 {
                self.add_last_word()?;
            }
            word_end = match_end;
            self.last_word_end = Some(start + word_end);
        }
        if word_end < data.len() {
            self.add_last_word()?;
        }
        Ok(())
    }

    /// `_handle_ref`: a character reference ending at `ref_end` that stands for `ch` (`None`
    /// for an unknown entity or an invalid code point, which Python turns into `''`).
    fn handle_ref(&mut self, ref_end: usize, ch: Option<char>) -> Flow {
        if self.last_word_end.is_none() {
            if ch.is_some_and(is_python_word_char) {
                self.last_word_end = Some(ref_end);
            }
        } else if ch.is_some_and(|c| is_sbc(c) || is_dbc(c)) {
            self.last_word_end = Some(ref_end);
        } else {
            self.add_last_word()?;
        }
        Ok(())
    }

    /// `HTMLParser.goahead(0)` over the whole input.
    fn feed(&mut self) -> Flow {
        let s = self.s;
        let b = s.as_bytes();
        let n = b.len();
        let mut i = 0;
        while i < n {
            let j = match self.cdata_elem {
                Some(elem) => match find_cdata_end(s, i, elem) {
                    Some(j) => j,
                    None => break,
                },
                None => find_byte2(b, i, b'<', b'&').unwrap_or(n),
            };
            if i < j {
                self.handle_data(i, j)?;
            }
            i = j;
            if i == n {
                break;
            }
            if b[i] == b'<' {
                let k = if b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
                    self.parse_starttag(i)?
                } else if b[i..].starts_with(b"</") {
                    self.parse_endtag(i)?
                } else if b[i..].starts_with(b"<!--") {
                    parse_comment(s, i)
                } else if b[i..].starts_with(b"<?") {
                    find_byte(b, i + 2, b'>').map(|p| p + 1)
                } else if b[i..].starts_with(b"<!") {
                    parse_html_declaration(s, i)?
                } else if i + 1 < n {
                    self.handle_data(i, i + 1)?;
                    Some(i + 1)
                } else {
                    break;
                };
                match k {
                    Some(k) => i = k,
                    // Incomplete construct: without `close()`, Python waits for more input.
                    None => break,
                }
            } else if b[i..].starts_with(b"&#") {
                match match_charref(b, i) {
                    Some((name_end, k)) => {
                        let ch = charref_char(&s[i + 2..name_end]);
                        self.handle_ref(k, ch)?;
                        i = k;
                    }
                    None => {
                        if s[i..].contains(';') {
                            // Bail by consuming `&#`.
                            self.handle_data(i, i + 2)?;
                        }
                        break;
                    }
                }
            } else {
                // `&`
                if let Some((name_end, k)) = match_entityref(b, i) {
                    let ch = name2codepoint(&s[i + 1..name_end]);
                    self.handle_ref(k, ch)?;
                    i = k;
                } else if b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
                    // `incomplete`: a reference name running to the end of the input.
                    break;
                } else if i + 1 < n {
                    self.handle_data(i, i + 1)?;
                    i += 1;
                } else {
                    break;
                }
            }
        }
        Ok(())
    }

    /// `HTMLParser.parse_starttag`: the end of the tag, or `None` if it is incomplete.
    fn parse_starttag(&mut self, i: usize) -> Result<Option<usize>, Halt> {
        let s = self.s;
        let Some(endpos) = check_for_whole_start_tag(s, i) else {
            return Ok(None);
        };
        // tagfind_tolerant: `([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*`
        let name_end = skip_tag_name(s.as_bytes(), i + 2);
        let tag = s[i + 1..name_end].to_lowercase();
        let mut k = skip_attr_separators(s, name_end);
        while k < endpos {
            match match_attribute(s, k) {
                Some(next) => k = next,
                None => break,
            }
        }
        let end = s.get(k..endpos).unwrap_or("").trim_matches(is_python_space);
        if end != ">" && end != "/>" {
            self.handle_data(i, endpos)?;
            return Ok(Some(endpos));
        }
        if end == "/>" {
            // XHTML-style empty tag.
            self.handle_starttag(&tag)?;
            self.handle_endtag(&tag)?;
        } else {
            self.handle_starttag(&tag)?;
            self.cdata_elem = match tag.as_str() {
                "script" => Some("script"),
                "style" => Some("style"),
                _ => None,
            };
        }
        Ok(Some(endpos))
    }

    /// `HTMLParser.parse_endtag`: the end of the tag, or `None` if it is incomplete.
    fn parse_endtag(&mut self, i: usize) -> Result<Option<usize>, Halt> {
        let s = self.s;
        let b = s.as_bytes();
        let Some(gt) = find_byte(b, i + 1, b'>') else {
            return Ok(None);
        };
        let gtpos = gt + 1;
        match match_endtagfind(s, i) {
            Some(elem) => {
                let elem = elem.to_ascii_lowercase();
                if let Some(cdata) = self.cdata_elem
                    && elem != cdata
                {
                    self.handle_data(i, gtpos)?;
                    return Ok(Some(gtpos));
                }
                self.handle_endtag(&elem)?;
                self.cdata_elem = None;
                Ok(Some(gtpos))
            }
            None => {
                if self.cdata_elem.is_some() {
                    self.handle_data(i, gtpos)?;
                    return Ok(Some(gtpos));
                }
                if !b.get(i + 2).is_some_and(u8::is_ascii_alphabetic) {
                    if b[i..].starts_with(b"</>") {
                        return Ok(Some(i + 3));
                    }
                    // A bogus comment, up to the next `>`.
                    return Ok(find_byte(b, i + 2, b'>').map(|p| p + 1));
                }
                let name_end = skip_tag_name(b, i + 3);
                let tag = s[i + 2..name_end].to_lowercase();
                let after = skip_attr_separators(s, name_end);
                // The name stops at `>`, so there is one at or after `after`.
                let Some(gt) = find_byte(b, after, b'>') else {
                    return Ok(None);
                };
                self.handle_endtag(&tag)?;
                Ok(Some(gt + 1))
            }
        }
    }
}

/// The next word in `data` at or after byte `from`, as `_word_regex.search` finds it:
/// `(SBC)(SBC|-|')*` or a single DBC character.
fn find_word(data: &str, from: usize) -> Option<(usize, usize)> {
    let rest = data.get(from..)?;
    let (offset, first) = rest.char_indices().find(|&(_, c)| is_sbc(c) || is_dbc(c))?;
    let start = from + offset;
    let mut end = start + first.len_utf8();
    if is_sbc(first) {
        end = skip_chars(data, end, |c| is_sbc(c) || c == '-' || c == '\'');
    }
    Some((start, end))
}

/// SBC, "Latin-like characters": ASCII letters and digits, Latin-1 letters to Latin Extended-B,
/// Cyrillic.
fn is_sbc(c: char) -> bool {
    matches!(c, '0'..='9' | 'a'..='z' | 'A'..='Z' | '\u{c0}'..='\u{24f}' | '\u{400}'..='\u{4ff}')
}

/// DBC, "CJK-like characters", each of which is a word.
fn is_dbc(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}'         // CJK Unified Ideographs
        | '\u{3400}'..='\u{4dbf}'       // CJK Unified Ideographs Extension A
        | '\u{f900}'..='\u{faff}'       // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2a6df}'     // CJK Unified Ideographs Extension B
        | '\u{2f800}'..='\u{2fa1f}'     // CJK Compatibility Ideographs Supplement
        | '\u{3040}'..='\u{30ff}'       // Hiragana and Katakana
        | '\u{1100}'..='\u{11ff}'       // Hangul Jamo
        | '\u{ac00}'..='\u{d7ff}'       // Hangul Syllables
        | '\u{3130}'..='\u{318f}'       // Hangul Compatibility Jamo
    )
}

/// Python's `\w` on a `str`: `str.isalnum()` (letters and numbers by general category) or `_`,
/// as of Unicode 14.0, the version Python 3.11 ships (checked against it for every code point).
fn is_python_word_char(c: char) -> bool {
    static WORD: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[\p{L}\p{N}&&\p{age:14.0}]$").ok());
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let mut buf = [0; 4];
    match &*WORD {
        Some(word) => word.is_match(c.encode_utf8(&mut buf)),
        None => c.is_alphanumeric(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Expected values come from Pelican 4.7.1's `truncate_html_words` on Python 3.11.

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(summarize("<p>Hello world</p>", 50, "…"), "<p>Hello world</p>");
    }

    #[test]
    fn text_ending_on_its_last_word_is_unchanged() {
        // The cut only happens once something follows the last word.
        assert_eq!(summarize("one two", 2, "…"), "one two");
        assert_eq!(summarize("<p>one two</p>", 2, "…"), "<p>one two …</p>");
    }

    #[test]
    fn zero_words_is_empty() {
        assert_eq!(summarize("one two three", 0, "…"), "");
    }

    #[test]
    fn empty_suffix_adds_no_space() {
        assert_eq!(summarize("a b c", 1, ""), "a");
    }

    #[test]
    fn nested_tags_are_closed_innermost_first() {
        assert_eq!(
            summarize("<div><p>one <em>two three</em> four</p></div>", 2, "…"),
            "<div><p>one <em>two …</em></p></div>"
        );
        assert_eq!(summarize("<P CLASS=x>One two</P>", 1, "…"), "<P CLASS=x>One …</p>");
    }

    #[test]
    fn unclosed_and_stray_tags_follow_sgml_rules() {
        assert_eq!(
            summarize("<ul><li>one<li>two</ul> three", 2, "…"),
            "<ul><li>one<li>two …</li></li></ul>"
        );
        assert_eq!(summarize("<p>a</em>b c</p>", 1, "…"), "<p>a …</p>");
    }

    #[test]
    fn singlets_are_not_closed() {
        assert_eq!(summarize("<p>a<br>b c</p>", 2, "…"), "<p>a<br>b …</p>");
    }

    #[test]
    fn comments_do_not_end_words() {
        assert_eq!(summarize("a<!-- x -->b c", 1, "…"), "a<!-- x -->b …");
    }

    #[test]
    fn unterminated_markup_stops_the_parse() {
        assert_eq!(summarize("<!-- open a b c", 1, "…"), "<!-- open a b c");
        assert_eq!(summarize("&#bad; a b c", 1, "…"), "&#bad; a b c");
        assert_eq!(summarize("a <b", 1, "…"), "a …");
    }

    #[test]
    fn entities_inside_and_between_words() {
        assert_eq!(summarize("caf&eacute; au lait", 1, "…"), "caf&eacute; …");
        assert_eq!(summarize("a &amp; b c", 2, "…"), "a &amp; b …");
        assert_eq!(summarize("x&mdash;y z", 1, "…"), "x …");
        assert_eq!(summarize("&#8220;quoted&#8221; words here", 1, "…"), "&#8220;quoted …");
    }

    #[test]
    fn word_characters() {
        assert_eq!(summarize("日本語のテキスト", 3, "…"), "日本語 …");
        assert_eq!(summarize("Привет мир", 1, "…"), "Привет …");
        assert_eq!(summarize("don't stop-me now", 2, "…"), "don't stop-me …");
        assert_eq!(summarize("a <3 b c", 2, "…"), "a <3 …");
    }

    #[test]
    fn script_text_counts() {
        assert_eq!(
            summarize("<script>var x = 1;</script> after", 2, "…"),
            "<script>var x …</script>"
        );
    }

    #[test]
    fn entity_table_is_sorted() {}

    proptest! {
        #[test]
        fn output_is_a_prefix_plus_suffix_and_closing_tags(
            html in "([a-zé日 ]|<[a-z]{1,3}>|</[a-z]{1,3}>|<br/>|&amp;|&#[0-9x]{1,3};|<!--|-->|[<>&#;/=\"'!-]){0,40}",
            max_words in 0usize..12,
        ) {
            let out = summarize(&html, max_words, "…");
            if max_words == 0 {
                prop_assert_eq!(out, "");
            } else if out != html {
                let (head, closing) = out.rsplit_once(" …").expect("suffix after a cut");
                prop_assert!(html.starts_with(head));
                let mut rest = closing;
                while let Some(tail) = rest.strip_prefix("</") {
                    let end = tail.find('>').expect("closing tag ends");
                    prop_assert!(end > 0);
                    rest = &tail[end + 1..];
                }
                prop_assert_eq!(rest, "");
            }
        }
    }
}
