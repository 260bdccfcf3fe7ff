//! The tokenizer of Python 3.11's `html.parser` (and the `_markupbase` parts it uses), shared
//! by the two ports that stand on it: Pelican's summary truncator ([`super::summary`]) and
//! Python-Markdown's raw-HTML extractor (`markdown::html_block`), which overrides
//! `locatestarttagend_tolerant` and `entityref` the way Python-Markdown does.
//!
//! Each function matches one of the module's regular expressions at a byte offset, keeping
//! the quirks of the original (Unicode `\s`, `re.IGNORECASE` letting `ſ` stand for `s`).
//! Offsets are byte offsets into UTF-8 where Python counts code points; every match ends on a
//! character boundary, so the two agree.
use super::budget;

/// Python would raise `AssertionError` here (a malformed `<![` marked section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unparsable;

/// `check_for_whole_start_tag`: where the start tag at `i` ends, or `None` if it is incomplete.
pub fn check_for_whole_start_tag(s: &str, i: usize) -> Option<usize> {
    check_for_whole_start_tag_with(s, i, locate_starttag_end)
}

/// [`check_for_whole_start_tag`] with another `locatestarttagend_tolerant` (Python-Markdown
/// replaces it).
pub fn check_for_whole_start_tag_with(
    s: &str,
    i: usize,
    locate: impl Fn(&str, usize) -> usize,
) -> Option<usize> {
    let b = s.as_bytes();
    let j = locate(s, i);
    match b.get(j) {
        Some(b'>') => Some(j + 1),
        // `/>` ends the tag; any other `/` is taken for a buffer boundary.
        Some(b'/') => b[j..].starts_with(b"/>").then_some(j + 2),
        None => None,
        // End of input in or before an attribute value, or the `/` of a `/>`.
        Some(c) if c.is_ascii_alphabetic() || *c == b'=' => None,
        // Python's `if j > i: return j else: return i + 1`.
        Some(_) => Some(if j > i { j } else { i + 1 }),
    }
}

/// How far `locatestarttagend_tolerant` matches from the `<` at `i` (followed by a letter).
pub fn locate_starttag_end(s: &str, i: usize) -> usize {
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

/// End of the `locatestarttagend_tolerant` match at `i` (Python-Markdown's version, which keeps
/// backticks out of tag and attribute names and bare values).
pub fn locate_starttag_end_markdown(s: &str, i: usize) -> usize {
    let b = s.as_bytes();
    let mut p = skip_chars(s, i + 2, |c| {
        !matches!(c, '`' | '\t' | '\n' | '\r' | '\x0c' | ' ' | '/' | '>' | '\0')
    });
    p = skip_chars(s, p, |c| is_python_space(c) || c == '/');
    loop {
        let prev = s[..p].chars().next_back();
        if !prev.is_some_and(|c| c == '\'' || c == '"' || c == '/' || is_python_space(c)) {
            break;
        }
        match char_at(s, p) {
            Some(c) if !(c == '`' || c == '/' || c == '>' || is_python_space(c)) => {
                p += c.len_utf8()
            }
            _ => break,
        }
        p = skip_chars(s, p, |c| !(is_python_space(c) || c == '/' || c == '=' || c == '>'));
        // optional value
        let q = skip_chars(s, p, is_python_space);
        if b.get(q) == Some(&b'=') {
            let q = skip_chars(s, q, |c| c == '=');
            let q = skip_chars(s, q, is_python_space);
            let value_end = match b.get(q) {
                Some(&quote @ (b'\'' | b'"')) => find_byte(b, q + 1, quote).map(|e| e + 1),
                _ => Some(skip_chars(s, q, |c| !(c == '`' || c == '>' || is_python_space(c)))),
            };
            if let Some(mut e) = value_end {
                loop {
                    let r = skip_chars(s, e, is_python_space);
                    if b.get(r) == Some(&b',') {
                        e = r + 1;
                    } else {
                        break;
                    }
                }
                p = e;
            }
        }
        loop {
            match char_at(s, p) {
                Some(c) if is_python_space(c) => p += c.len_utf8(),
                Some('/') if b.get(p + 1) != Some(&b'>') => p += 1,
                _ => break,
            }
        }
    }
    skip_chars(s, p, is_python_space)
}

/// Skips the rest of a tag name, `[^\t\n\r\f />\x00]*`, from `p`.
pub fn skip_tag_name(b: &[u8], p: usize) -> usize {
    let len = b
        .get(p..)
        .unwrap_or_default()
        .iter()
        .position(|c| matches!(c, b'\t' | b'\n' | b'\r' | b'\x0c' | b' ' | b'/' | b'>' | b'\0'))
        .unwrap_or(b.len().saturating_sub(p));
    p + len
}

/// Skips `(?:\s|/(?!>))*` from `p`.
pub fn skip_attr_separators(s: &str, mut p: usize) -> usize {
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
pub fn match_attribute(s: &str, p: usize) -> Option<usize> {
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
pub fn match_endtagfind(s: &str, i: usize) -> Option<&str> {
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
pub fn find_cdata_end(s: &str, from: usize, elem: &str) -> Option<usize> {
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
pub fn parse_comment(s: &str, i: usize) -> Option<usize> {
    find_comment_close(s, i + 4).map(|(_, end)| end)
}

/// `commentclose`, `--\s*>`, searched from `from`: where the match starts and ends.
pub fn find_comment_close(s: &str, from: usize) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut p = from;
    loop {
        let found = memchr::memmem::find(b.get(p..)?, b"--");
        budget::charge(found.map_or(b.len() - p, |d| d + 2) + budget::SEARCH);
        let dash = p + found?;
        let after = skip_chars(s, dash + 2, is_python_space);
        if b.get(after) == Some(&b'>') {
            return Some((dash, after + 1));
        }
        p = dash + 1;
    }
}

/// `parse_html_declaration` for `<!` at `i` (not a comment): the end of the declaration, `None`
/// if it is incomplete.
pub fn parse_html_declaration(s: &str, i: usize) -> Result<Option<usize>, Unparsable> {
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
pub fn parse_marked_section(s: &str, i: usize) -> Result<Option<usize>, Unparsable> {
    let b = s.as_bytes();
    // `_scan_name`: `[a-zA-Z][-_.a-zA-Z0-9]*\s*`
    let start = i + 3;
    if start == b.len() {
        return Ok(None);
    }
    if !b[start].is_ascii_alphabetic() {
        return Err(Unparsable);
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
        _ => return Err(Unparsable),
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
pub fn match_charref(b: &[u8], i: usize) -> Option<(usize, usize)> {
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
pub fn charref_char(name: &str) -> Option<char> {
    // Python only strips a lowercase `x`; `int("X41")` fails, which gives `''`.
    let code = match name.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => name.parse::<u32>().ok()?,
    };
    char::from_u32(code)
}

/// `entityref`, `&([a-zA-Z][-.a-zA-Z0-9]*)[^a-zA-Z0-9]`, at `i`: the end of the name and the
/// end of the reference (after its `;`, if it has one).
pub fn match_entityref(b: &[u8], i: usize) -> Option<(usize, usize)> {
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

/// Python's `\s` and `str.isspace()`, which unlike Unicode's `White_Space` include the
/// information separators U+001C..U+001F.
pub fn is_python_space(c: char) -> bool {
    matches!(c,
        '\t'..='\r' | '\u{1c}'..=' ' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// The character starting at byte `p`, if `p` is a character boundary inside `s`.
pub fn char_at(s: &str, p: usize) -> Option<char> {
    s.get(p..)?.chars().next()
}

/// The character ending at byte `p`.
pub fn char_before(s: &str, p: usize) -> Option<char> {
    s.get(..p)?.chars().next_back()
}

/// Skips characters matching `keep` from byte `p`; returns where the first other one starts.
pub fn skip_chars(s: &str, p: usize, keep: impl Fn(char) -> bool) -> usize {
    let Some(rest) = s.get(p..) else {
        return p;
    };
    let skipped = rest.char_indices().find(|&(_, c)| !keep(c)).map_or(rest.len(), |(i, _)| i);
    budget::charge(skipped + 8);
    p + skipped
}

/// The first `needle` at or after `from`.
pub fn find_byte(b: &[u8], from: usize, needle: u8) -> Option<usize> {
    let rest = b.get(from..)?;
    let found = memchr::memchr(needle, rest);
    budget::charge(found.map_or(rest.len(), |p| p + 1) + 8);
    Some(from + found?)
}

/// The first `x` or `y` at or after `from`.
pub fn find_byte2(b: &[u8], from: usize, x: u8, y: u8) -> Option<usize> {
    let rest = b.get(from..)?;
    let found = memchr::memchr2(x, y, rest);
    budget::charge(found.map_or(rest.len(), |p| p + 1) + 8);
    Some(from + found?)
}
