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
                    let ch = entity_char(&s[i + 1..name_end]);
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

/// `check_for_whole_start_tag`: where the start tag at `i` ends, or `None` if it is incomplete.
fn check_for_whole_start_tag(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let j = locate_starttag_end(s, i);
    match b.get(j) {
        Some(b'>') => Some(j + 1),
        // `/>` ends the tag; any other `/` is taken for a buffer boundary.
        Some(b'/') => b[j..].starts_with(b"/>").then_some(j + 2),
        None => None,
        // End of input in or before an attribute value, or the `/` of a `/>`.
        Some(c) if c.is_ascii_alphabetic() || *c == b'=' => None,
        Some(_) => Some(j),
    }
}

/// How far `locatestarttagend_tolerant` matches from the `<` at `i` (followed by a letter).
fn locate_starttag_end(s: &str, i: usize) -> usize {
    // Tag name: `<[a-zA-Z][^\t\n\r\f />\x00]*`
    let mut p = skip_tag_name(s.as_bytes(), i + 2);
    // `(?:[\s/]*(?:attribute)*)?`
    p = skip_chars(s, p, |c| c == '/' || is_python_space(c));
    while let Some(next) = match_attribute(s, p) {
        p = next;
    }
    // Trailing `\s*`.
    skip_chars(s, p, is_python_space)
}

/// Skips the rest of a tag name, `[^\t\n\r\f />\x00]*`, from `p`.
fn skip_tag_name(b: &[u8], p: usize) -> usize {
    let len = b
        .get(p..)
        .unwrap_or_default()
        .iter()
        .position(|c| matches!(c, b'\t' | b'\n' | b'\r' | b'\x0c' | b' ' | b'/' | b'>' | b'\0'))
        .unwrap_or(b.len().saturating_sub(p));
    p + len
}

/// Skips `(?:\s|/(?!>))*` from `p`.
fn skip_attr_separators(s: &str, mut p: usize) -> usize {
    let b = s.as_bytes();
    while let Some(c) = char_at(s, p) {
        if is_python_space(c) || (c == '/' && b.get(p + 1) != Some(&b'>')) {
            p += c.len_utf8();
        } else {
            break;
        }
    }
    p
}

/// One match of `attrfind_tolerant` (equivalently, one iteration of the attribute group of
/// `locatestarttagend_tolerant`) at `p`, returning where it ends:
///
/// ```text
/// ((?<=['"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*('[^']*'|"[^"]*"|(?![\'"])[^>\s]*))?(?:\s|/(?!>))*
/// ```
fn match_attribute(s: &str, p: usize) -> Option<usize> {
    let prev = char_before(s, p)?;
    if !(prev == '\'' || prev == '"' || prev == '/' || is_python_space(prev)) {
        return None;
    }
    let first = char_at(s, p)?;
    if first == '/' || first == '>' || is_python_space(first) {
        return None;
    }
    let mut q = skip_chars(s, p + first.len_utf8(), |c| {
        !(c == '/' || c == '=' || c == '>' || is_python_space(c))
    });
    if let Some(end) = match_attribute_value(s, q) {
        q = end;
    }
    Some(skip_attr_separators(s, q))
}

/// The optional `\s*=+\s*(value)` group at `q`, with the backtracking Python's regex engine does
/// when a quoted value is never closed.
fn match_attribute_value(s: &str, q: usize) -> Option<usize> {
    let b = s.as_bytes();
    let eq_start = skip_chars(s, q, is_python_space);
    if b.get(eq_start) != Some(&b'=') {
        return None;
    }
    let eq_end = eq_start + b[eq_start..].iter().take_while(|&&c| c == b'=').count();
    let value_start = skip_chars(s, eq_end, is_python_space);
    match b.get(value_start) {
        Some(&quote @ (b'\'' | b'"')) => {
            if let Some(close) = find_byte(b, value_start + 1, quote) {
                return Some(close + 1);
            }
            // Unclosed quote. Backtrack: give the last space back to an empty bare value…
            if value_start > eq_end {
                return Some(value_start);
            }
            // …or one `=` back to a bare value that starts with it…
            if eq_end - eq_start >= 2 {
                return Some(skip_bare_value(s, eq_end - 1));
            }
            // …or give up on the value altogether.
            None
        }
        _ => Some(skip_bare_value(s, value_start)),
    }
}

/// Skips a bare attribute value, `[^>\s]*`, from `p`.
fn skip_bare_value(s: &str, p: usize) -> usize {
    skip_chars(s, p, |c| c != '>' && !is_python_space(c))
}

/// `endtagfind`, `</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>`, matched at `i`: the tag name.
fn match_endtagfind(s: &str, i: usize) -> Option<&str> {
    let b = s.as_bytes();
    let start = skip_chars(s, i + 2, is_python_space);
    if !b.get(start).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let end = start
        + b[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b':' | b'_'))
            .count();
    let gt = skip_chars(s, end, is_python_space);
    (b.get(gt) == Some(&b'>')).then(|| &s[start..end])
}

/// In `<script>` or `<style>`: the start of the next `</\s*elem\s*>` (Python matches it with
/// `re.IGNORECASE`, which also lets `ſ` stand for `s` and `ı`/`İ` for `i`).
fn find_cdata_end(s: &str, from: usize, elem: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut p = from;
    while let Some(lt) = find_byte(b, p, b'<') {
        if b.get(lt + 1) == Some(&b'/') {
            let mut chars = s[lt + 2..].chars().skip_while(|&c| is_python_space(c)).peekable();
            let mut name_matches = true;
            for want in elem.chars() {
                match chars.next() {
                    Some(c) if ignore_case_eq(want, c) => {}
                    _ => {
                        name_matches = false;
                        break;
                    }
                }
            }
            if name_matches && chars.find(|&c| !is_python_space(c)) == Some('>') {
                return Some(lt);
            }
        }
        p = lt + 1;
    }
    None
}

/// Whether the ASCII letter `want` matches `c` under Python's Unicode `re.IGNORECASE`.
fn ignore_case_eq(want: char, c: char) -> bool {
    want.eq_ignore_ascii_case(&c)
        || (want == 's' && c == '\u{17f}')
        || (want == 'i' && (c == '\u{131}' || c == '\u{130}'))
        || (want == 'k' && c == '\u{212a}')
}

/// `parse_comment`: the end of the `<!--` comment at `i` (the first `--\s*>`), if closed.
fn parse_comment(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut p = i + 4;
    loop {
        let dash = p + b.get(p..)?.windows(2).position(|w| w == b"--")?;
        let after = skip_chars(s, dash + 2, is_python_space);
        if b.get(after) == Some(&b'>') {
            return Some(after + 1);
        }
        p = dash + 1;
    }
}

/// `parse_html_declaration` for `<!` at `i` (not a comment): the end of the declaration, `None`
/// if it is incomplete.
fn parse_html_declaration(s: &str, i: usize) -> Result<Option<usize>, Halt> {
    let b = s.as_bytes();
    if b[i..].starts_with(b"<![") {
        return parse_marked_section(s, i);
    }
    let gt_from = if b.get(i..i + 9).is_some_and(|d| d.eq_ignore_ascii_case(b"<!doctype")) {
        i + 9
    } else {
        // A bogus comment.
        i + 2
    };
    Ok(find_byte(b, gt_from, b'>').map(|p| p + 1))
}

/// `_markupbase.parse_marked_section` (`<![CDATA[…]]>`, `<![if …]>` …).
fn parse_marked_section(s: &str, i: usize) -> Result<Option<usize>, Halt> {
    let b = s.as_bytes();
    // `_scan_name`: `[a-zA-Z][-_.a-zA-Z0-9]*\s*`
    let start = i + 3;
    if start == b.len() {
        return Ok(None);
    }
    if !b[start].is_ascii_alphabetic() {
        return Err(Halt::Unparsable);
    }
    let name_end = start
        + b[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            .count();
    if skip_chars(s, name_end, is_python_space) == b.len() {
        return Ok(None);
    }
    let name = s[start..name_end].to_ascii_lowercase();
    let two_brackets = match name.as_str() {
        "temp" | "cdata" | "ignore" | "include" | "rcdata" => true,
        "if" | "else" | "endif" => false,
        _ => return Err(Halt::Unparsable),
    };
    // `]\s*]\s*>` or `]\s*>`, searched from the name.
    let mut p = start;
    while let Some(bracket) = find_byte(b, p, b']') {
        let mut q = skip_chars(s, bracket + 1, is_python_space);
        if two_brackets {
            if b.get(q) != Some(&b']') {
                p = bracket + 1;
                continue;
            }
            q = skip_chars(s, q + 1, is_python_space);
        }
        if b.get(q) == Some(&b'>') {
            return Ok(Some(q + 1));
        }
        p = bracket + 1;
    }
    Ok(None)
}

/// `charref`, `&#(?:[0-9]+|[xX][0-9a-fA-F]+)[^0-9a-fA-F]`, at `i`: the end of the number and the
/// end of the reference (after its `;`, if it has one).
fn match_charref(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let p = i + 2;
    let digits_start = match b.get(p)? {
        b'0'..=b'9' => p,
        b'x' | b'X' => p + 1,
        _ => return None,
    };
    let hex = digits_start != p;
    let digits = b.get(digits_start..)?.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let dec_digits = b[digits_start..].iter().take_while(|c| c.is_ascii_digit()).count();
    let end = digits_start + if hex { digits } else { dec_digits };
    if end == digits_start {
        return None;
    }
    // The terminating character must exist and must not be a hex digit.
    match b.get(end) {
        None => None,
        Some(c) if c.is_ascii_hexdigit() => None,
        Some(b';') => Some((end, end + 1)),
        Some(_) => Some((end, end)),
    }
}

/// The character `handle_charref` gets for the reference body `name` (`65`, `x41`, `X41`).
fn charref_char(name: &str) -> Option<char> {
    // Python only strips a lowercase `x`; `int("X41")` fails, which gives `''`.
    let code = match name.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => name.parse::<u32>().ok()?,
    };
    char::from_u32(code)
}

/// `entityref`, `&([a-zA-Z][-.a-zA-Z0-9]*)[^a-zA-Z0-9]`, at `i`: the end of the name and the
/// end of the reference (after its `;`, if it has one).
fn match_entityref(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if !b.get(i + 1)?.is_ascii_alphabetic() {
        return None;
    }
    let run_start = i + 2;
    let run = b[run_start..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.'))
        .count();
    let end = run_start + run;
    if end < b.len() {
        // The next character is not in the name, so not alphanumeric either.
        return Some(if b[end] == b';' { (end, end + 1) } else { (end, end) });
    }
    // At the end of the input, the regex backtracks until a `-` or `.` can end the reference.
    let cut = run_start + b[run_start..end].iter().rposition(|c| matches!(c, b'-' | b'.'))?;
    Some((cut, cut))
}

/// The character an HTML 4 entity name stands for (`html.entities.name2codepoint`).
fn entity_char(name: &str) -> Option<char> {
    ENTITIES.binary_search_by(|(n, _)| n.cmp(&name)).ok().map(|i| ENTITIES[i].1)
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

/// Python's `\s` and `str.isspace()`, which unlike Unicode's `White_Space` include the
/// information separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    matches!(c,
        '\t'..='\r' | '\u{1c}'..=' ' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// The character starting at byte `p`, if `p` is a character boundary inside `s`.
fn char_at(s: &str, p: usize) -> Option<char> {
    s.get(p..)?.chars().next()
}

/// The character ending at byte `p`.
fn char_before(s: &str, p: usize) -> Option<char> {
    s.get(..p)?.chars().next_back()
}

/// Skips characters matching `keep` from byte `p`; returns where the first other one starts.
fn skip_chars(s: &str, p: usize, keep: impl Fn(char) -> bool) -> usize {
    let Some(rest) = s.get(p..) else {
        return p;
    };
    p + rest.char_indices().find(|&(_, c)| !keep(c)).map_or(rest.len(), |(i, _)| i)
}

/// The first `needle` at or after `from`.
fn find_byte(b: &[u8], from: usize, needle: u8) -> Option<usize> {
    Some(from + b.get(from..)?.iter().position(|&c| c == needle)?)
}

/// The first `x` or `y` at or after `from`.
fn find_byte2(b: &[u8], from: usize, x: u8, y: u8) -> Option<usize> {
    Some(from + b.get(from..)?.iter().position(|&c| c == x || c == y)?)
}

/// `html.entities.name2codepoint`: the 252 HTML 4 entities, sorted by name.
#[rustfmt::skip]
static ENTITIES: [(&str, char); 252] = [
    ("AElig", '\u{c6}'), ("Aacute", '\u{c1}'), ("Acirc", '\u{c2}'), ("Agrave", '\u{c0}'),
    ("Alpha", '\u{391}'), ("Aring", '\u{c5}'), ("Atilde", '\u{c3}'), ("Auml", '\u{c4}'),
    ("Beta", '\u{392}'), ("Ccedil", '\u{c7}'), ("Chi", '\u{3a7}'), ("Dagger", '\u{2021}'),
    ("Delta", '\u{394}'), ("ETH", '\u{d0}'), ("Eacute", '\u{c9}'), ("Ecirc", '\u{ca}'),
    ("Egrave", '\u{c8}'), ("Epsilon", '\u{395}'), ("Eta", '\u{397}'), ("Euml", '\u{cb}'),
    ("Gamma", '\u{393}'), ("Iacute", '\u{cd}'), ("Icirc", '\u{ce}'), ("Igrave", '\u{cc}'),
    ("Iota", '\u{399}'), ("Iuml", '\u{cf}'), ("Kappa", '\u{39a}'), ("Lambda", '\u{39b}'),
    ("Mu", '\u{39c}'), ("Ntilde", '\u{d1}'), ("Nu", '\u{39d}'), ("OElig", '\u{152}'),
    ("Oacute", '\u{d3}'), ("Ocirc", '\u{d4}'), ("Ograve", '\u{d2}'), ("Omega", '\u{3a9}'),
    ("Omicron", '\u{39f}'), ("Oslash", '\u{d8}'), ("Otilde", '\u{d5}'), ("Ouml", '\u{d6}'),
    ("Phi", '\u{3a6}'), ("Pi", '\u{3a0}'), ("Prime", '\u{2033}'), ("Psi", '\u{3a8}'),
    ("Rho", '\u{3a1}'), ("Scaron", '\u{160}'), ("Sigma", '\u{3a3}'), ("THORN", '\u{de}'),
    ("Tau", '\u{3a4}'), ("Theta", '\u{398}'), ("Uacute", '\u{da}'), ("Ucirc", '\u{db}'),
    ("Ugrave", '\u{d9}'), ("Upsilon", '\u{3a5}'), ("Uuml", '\u{dc}'), ("Xi", '\u{39e}'),
    ("Yacute", '\u{dd}'), ("Yuml", '\u{178}'), ("Zeta", '\u{396}'), ("aacute", '\u{e1}'),
    ("acirc", '\u{e2}'), ("acute", '\u{b4}'), ("aelig", '\u{e6}'), ("agrave", '\u{e0}'),
    ("alefsym", '\u{2135}'), ("alpha", '\u{3b1}'), ("amp", '\u{26}'), ("and", '\u{2227}'),
    ("ang", '\u{2220}'), ("aring", '\u{e5}'), ("asymp", '\u{2248}'), ("atilde", '\u{e3}'),
    ("auml", '\u{e4}'), ("bdquo", '\u{201e}'), ("beta", '\u{3b2}'), ("brvbar", '\u{a6}'),
    ("bull", '\u{2022}'), ("cap", '\u{2229}'), ("ccedil", '\u{e7}'), ("cedil", '\u{b8}'),
    ("cent", '\u{a2}'), ("chi", '\u{3c7}'), ("circ", '\u{2c6}'), ("clubs", '\u{2663}'),
    ("cong", '\u{2245}'), ("copy", '\u{a9}'), ("crarr", '\u{21b5}'), ("cup", '\u{222a}'),
    ("curren", '\u{a4}'), ("dArr", '\u{21d3}'), ("dagger", '\u{2020}'), ("darr", '\u{2193}'),
    ("deg", '\u{b0}'), ("delta", '\u{3b4}'), ("diams", '\u{2666}'), ("divide", '\u{f7}'),
    ("eacute", '\u{e9}'), ("ecirc", '\u{ea}'), ("egrave", '\u{e8}'), ("empty", '\u{2205}'),
    ("emsp", '\u{2003}'), ("ensp", '\u{2002}'), ("epsilon", '\u{3b5}'), ("equiv", '\u{2261}'),
    ("eta", '\u{3b7}'), ("eth", '\u{f0}'), ("euml", '\u{eb}'), ("euro", '\u{20ac}'),
    ("exist", '\u{2203}'), ("fnof", '\u{192}'), ("forall", '\u{2200}'), ("frac12", '\u{bd}'),
    ("frac14", '\u{bc}'), ("frac34", '\u{be}'), ("frasl", '\u{2044}'), ("gamma", '\u{3b3}'),
    ("ge", '\u{2265}'), ("gt", '\u{3e}'), ("hArr", '\u{21d4}'), ("harr", '\u{2194}'),
    ("hearts", '\u{2665}'), ("hellip", '\u{2026}'), ("iacute", '\u{ed}'), ("icirc", '\u{ee}'),
    ("iexcl", '\u{a1}'), ("igrave", '\u{ec}'), ("image", '\u{2111}'), ("infin", '\u{221e}'),
    ("int", '\u{222b}'), ("iota", '\u{3b9}'), ("iquest", '\u{bf}'), ("isin", '\u{2208}'),
    ("iuml", '\u{ef}'), ("kappa", '\u{3ba}'), ("lArr", '\u{21d0}'), ("lambda", '\u{3bb}'),
    ("lang", '\u{2329}'), ("laquo", '\u{ab}'), ("larr", '\u{2190}'), ("lceil", '\u{2308}'),
    ("ldquo", '\u{201c}'), ("le", '\u{2264}'), ("lfloor", '\u{230a}'), ("lowast", '\u{2217}'),
    ("loz", '\u{25ca}'), ("lrm", '\u{200e}'), ("lsaquo", '\u{2039}'), ("lsquo", '\u{2018}'),
    ("lt", '\u{3c}'), ("macr", '\u{af}'), ("mdash", '\u{2014}'), ("micro", '\u{b5}'),
    ("middot", '\u{b7}'), ("minus", '\u{2212}'), ("mu", '\u{3bc}'), ("nabla", '\u{2207}'),
    ("nbsp", '\u{a0}'), ("ndash", '\u{2013}'), ("ne", '\u{2260}'), ("ni", '\u{220b}'),
    ("not", '\u{ac}'), ("notin", '\u{2209}'), ("nsub", '\u{2284}'), ("ntilde", '\u{f1}'),
    ("nu", '\u{3bd}'), ("oacute", '\u{f3}'), ("ocirc", '\u{f4}'), ("oelig", '\u{153}'),
    ("ograve", '\u{f2}'), ("oline", '\u{203e}'), ("omega", '\u{3c9}'), ("omicron", '\u{3bf}'),
    ("oplus", '\u{2295}'), ("or", '\u{2228}'), ("ordf", '\u{aa}'), ("ordm", '\u{ba}'),
    ("oslash", '\u{f8}'), ("otilde", '\u{f5}'), ("otimes", '\u{2297}'), ("ouml", '\u{f6}'),
    ("para", '\u{b6}'), ("part", '\u{2202}'), ("permil", '\u{2030}'), ("perp", '\u{22a5}'),
    ("phi", '\u{3c6}'), ("pi", '\u{3c0}'), ("piv", '\u{3d6}'), ("plusmn", '\u{b1}'),
    ("pound", '\u{a3}'), ("prime", '\u{2032}'), ("prod", '\u{220f}'), ("prop", '\u{221d}'),
    ("psi", '\u{3c8}'), ("quot", '\u{22}'), ("rArr", '\u{21d2}'), ("radic", '\u{221a}'),
    ("rang", '\u{232a}'), ("raquo", '\u{bb}'), ("rarr", '\u{2192}'), ("rceil", '\u{2309}'),
    ("rdquo", '\u{201d}'), ("real", '\u{211c}'), ("reg", '\u{ae}'), ("rfloor", '\u{230b}'),
    ("rho", '\u{3c1}'), ("rlm", '\u{200f}'), ("rsaquo", '\u{203a}'), ("rsquo", '\u{2019}'),
    ("sbquo", '\u{201a}'), ("scaron", '\u{161}'), ("sdot", '\u{22c5}'), ("sect", '\u{a7}'),
    ("shy", '\u{ad}'), ("sigma", '\u{3c3}'), ("sigmaf", '\u{3c2}'), ("sim", '\u{223c}'),
    ("spades", '\u{2660}'), ("sub", '\u{2282}'), ("sube", '\u{2286}'), ("sum", '\u{2211}'),
    ("sup", '\u{2283}'), ("sup1", '\u{b9}'), ("sup2", '\u{b2}'), ("sup3", '\u{b3}'),
    ("supe", '\u{2287}'), ("szlig", '\u{df}'), ("tau", '\u{3c4}'), ("there4", '\u{2234}'),
    ("theta", '\u{3b8}'), ("thetasym", '\u{3d1}'), ("thinsp", '\u{2009}'), ("thorn", '\u{fe}'),
    ("tilde", '\u{2dc}'), ("times", '\u{d7}'), ("trade", '\u{2122}'), ("uArr", '\u{21d1}'),
    ("uacute", '\u{fa}'), ("uarr", '\u{2191}'), ("ucirc", '\u{fb}'), ("ugrave", '\u{f9}'),
    ("uml", '\u{a8}'), ("upsih", '\u{3d2}'), ("upsilon", '\u{3c5}'), ("uuml", '\u{fc}'),
    ("weierp", '\u{2118}'), ("xi", '\u{3be}'), ("yacute", '\u{fd}'), ("yen", '\u{a5}'),
    ("yuml", '\u{ff}'), ("zeta", '\u{3b6}'), ("zwj", '\u{200d}'), ("zwnj", '\u{200c}'),
];

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
    fn entity_table_is_sorted() {
        assert!(ENTITIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(entity_char("eacute"), Some('é'));
        assert_eq!(entity_char("bogus"), None);
    }

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
