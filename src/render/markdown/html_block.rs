//! Raw HTML blocks: a port of Python-Markdown's `HTMLExtractor` (htmlparser.py, with the
//! md_in_html overrides) on top of the tokenizer of Python 3.11's `html.parser`.
//!
//! Block-level tags at the start of a line, comments and other "empty" tags on their own are
//! moved to the HTML stash and replaced by a placeholder; everything else is passed through as
//! text. The quirks of the original are kept on purpose (for example a parse that stops at an
//! unterminated construct and resumes with stale line offsets).

use super::tree::{find_any, is_block_level};
use crate::render::budget;
use crate::render::html_parser::{
    self, char_at, check_for_whole_start_tag_with, find_cdata_end, find_comment_close,
    is_python_space, locate_starttag_end_markdown, match_charref, match_endtagfind, skip_chars,
};

/// `markdown.util.HTML_PLACEHOLDER % key`.
pub(super) fn html_placeholder(key: usize) -> String {
    format!("\u{2}wzxhzdk:{key}\u{3}")
}

/// Stores `html` in the stash and returns its placeholder (`HtmlStash.store`).
pub(super) fn store(stash: &mut Vec<String>, html: String) -> String {
    stash.push(html);
    html_placeholder(stash.len() - 1)
}

/// Runs the HTML block preprocessor over `source`, returning the cleaned document.
pub(super) fn extract(source: &str, stash: &mut Vec<String>) -> String {
    let mut ex = Extractor {
        raw: source.to_string(),
        lineno: 1,
        offset: 0,
        line_starts: vec![0],
        inraw: false,
        intail: false,
        stack: Vec::new(),
        buf: String::new(),
        cleandoc: String::with_capacity(source.len() + 64),
        last_item: 0,
        cdata_elem: None,
        starttag_text: String::new(),
        stash,
    };
    let i = ex.goahead(false);
    ex.raw = tail_from(&ex.raw, i).to_string();
    let i = ex.goahead(true);
    ex.raw = tail_from(&ex.raw, i).to_string();
    if !ex.raw.is_empty() {
        ex.handle_raw(0, ex.raw.len());
    }
    if !ex.buf.is_empty() {
        let html = std::mem::take(&mut ex.buf);
        let ph = store(ex.stash, html);
        ex.push_clean(&ph);
    }
    ex.cleandoc
}

fn tail_from(s: &str, i: usize) -> &str {
    sub(s, i, s.len())
}

/// `s[a:b]` with Python's forgiving bounds (clamped, never panicking; a bound inside a
/// character moves forward to the next boundary).
fn sub(s: &str, a: usize, b: usize) -> &str {
    let fix = |mut p: usize| {
        p = p.min(s.len());
        while !s.is_char_boundary(p) {
            p += 1;
        }
        p
    };
    let (a, b) = (fix(a), fix(b));
    if a >= b { "" } else { &s[a..b] }
}

/// The first byte `b` in `s` at or after `from`.
fn find_byte(s: &str, b: u8, from: usize) -> Option<usize> {
    html_parser::find_byte(s.as_bytes(), from, b)
}

fn find_str(s: &str, pat: &str, from: usize) -> Option<usize> {
    let hay = s.as_bytes().get(from..)?;
    let found = memchr::memmem::find(hay, pat.as_bytes());
    budget::charge(found.map_or(hay.len(), |p| p + pat.len()) + budget::SEARCH);
    found.map(|p| p + from)
}

fn is_cdata_tag(tag: &str) -> bool {
    tag == "script" || tag == "style"
}

struct Extractor<'a> {
    raw: String,
    lineno: usize,
    offset: usize,
    /// `lineno_start_cache`: byte offset of the start of each line seen so far.
    line_starts: Vec<usize>,
    inraw: bool,
    intail: bool,
    stack: Vec<String>,
    /// `_cache`: the raw block being collected.
    buf: String,
    /// `cleandoc`, joined; `last_item` is where its last element starts.
    cleandoc: String,
    last_item: usize,
    cdata_elem: Option<String>,
    starttag_text: String,
    stash: &'a mut Vec<String>,
}

impl Extractor<'_> {
    /// `cleandoc.append(s)`.
    fn push_clean(&mut self, s: &str) {
        self.last_item = self.cleandoc.len();
        self.cleandoc.push_str(s);
    }

    /// `handle_data(rawdata[i:j])` without copying.
    fn handle_raw(&mut self, i: usize, j: usize) {
        let data = sub(&self.raw, i, j);
        if self.intail && data.contains('\n') {
            self.intail = false;
        }
        if self.inraw {
            self.buf.push_str(data);
        } else {
            self.last_item = self.cleandoc.len();
            self.cleandoc.push_str(data);
        }
    }

    fn updatepos(&mut self, i: usize, j: usize) -> usize {
        if i >= j {
            return j;
        }
        let seg = &self.raw.as_bytes()[i.min(self.raw.len())..j.min(self.raw.len())];
        let nlines = seg.iter().filter(|&&b| b == b'\n').count();
        if nlines > 0 {
            self.lineno += nlines;
            let pos = seg.iter().rposition(|&b| b == b'\n').unwrap_or(0) + i;
            self.offset = j - (pos + 1);
        } else {
            self.offset += j - i;
        }
        j
    }

    fn line_offset(&mut self) -> usize {
        let target = self.lineno.saturating_sub(1);
        while self.line_starts.len() <= target {
            let last = *self.line_starts.last().unwrap_or(&0);
            let lf = find_byte(&self.raw, b'\n', last).unwrap_or(self.raw.len());
            self.line_starts.push(lf + 1);
        }
        self.line_starts[target]
    }

    fn at_line_start(&mut self) -> bool {
        if self.offset == 0 {
            return true;
        }
        if self.offset > 3 {
            return false;
        }
        let lo = self.line_offset();
        sub(&self.raw, lo, lo + self.offset).trim_matches(is_python_space).is_empty()
    }

    /// `blank_line_re.match(rawdata[pos:])`: two lines holding only spaces.
    fn blank_lines_at(&self, pos: usize) -> bool {
        let b = self.raw.as_bytes();
        let mut p = pos;
        for _ in 0..2 {
            while b.get(p) == Some(&b' ') {
                p += 1;
            }
            if b.get(p) != Some(&b'\n') {
                return false;
            }
            p += 1;
        }
        true
    }

    fn get_endtag_text(&mut self, tag: &str) -> String {
        let start = self.line_offset() + self.offset;
        match find_byte(&self.raw, b'>', start) {
            Some(m) => sub(&self.raw, start, m + 1).to_string(),
            None => format!("</{tag}>"),
        }
    }

    fn goahead(&mut self, end: bool) -> usize {
        let n = self.raw.len();
        let mut i = 0;
        // Once the article's work budget is spent, the rest is left as Markdown text.
        while i < n && !budget::spent() {
            let j = match &self.cdata_elem {
                Some(tag) => match find_cdata_end(&self.raw, i, tag) {
                    Some(j) => j,
                    None => break,
                },
                // interesting_normal = re.compile('[&<]')
                None => find_any(self.raw.as_bytes(), i, b"&<").unwrap_or(n),
            };
            if i < j {
                self.handle_raw(i, j);
            }
            i = self.updatepos(i, j);
            if i == n {
                break;
            }
            let rest = &self.raw.as_bytes()[i..];
            if rest[0] == b'<' {
                let k = if rest.get(1).is_some_and(|b| b.is_ascii_alphabetic()) {
                    self.parse_starttag(i)
                } else if rest.starts_with(b"</") {
                    self.parse_endtag(i)
                } else if rest.starts_with(b"<!--") {
                    self.parse_comment(i)
                } else if rest.starts_with(b"<?") {
                    self.parse_pi(i)
                } else if rest.starts_with(b"<!") {
                    self.parse_html_declaration(i)
                } else if i + 1 < n {
                    self.handle_data("<");
                    Some(i + 1)
                } else {
                    break;
                };
                let k = match k {
                    Some(k) => k,
                    None => {
                        if !end {
                            break;
                        }
                        let k = match find_byte(&self.raw, b'>', i + 1) {
                            Some(k) => k + 1,
                            None => find_byte(&self.raw, b'<', i + 1).unwrap_or(i + 1),
                        };
                        self.handle_raw(i, k);
                        k
                    }
                };
                i = self.updatepos(i, k);
            } else if rest.starts_with(b"&#") {
                if let Some((name, k)) = match_charref(self.raw.as_bytes(), i)
                    .map(|(end, k)| (self.raw[i + 2..end].to_string(), k))
                {
                    self.handle_empty_tag(format!("&#{name};"), false);
                    i = self.updatepos(i, k);
                    continue;
                }
                if self.raw[i..].contains(';') {
                    self.handle_data("&#");
                    i = self.updatepos(i, i + 2);
                }
                break;
            } else if let Some(k) = match_entityref(&self.raw, i) {
                let text = self.raw[i..k].to_string();
                self.handle_empty_tag(text, false);
                i = self.updatepos(i, k);
            } else if i + 1 < n {
                self.handle_data("&");
                i = self.updatepos(i, i + 1);
            } else {
                break;
            }
        }
        if end && i < n && self.cdata_elem.is_none() {
            self.handle_raw(i, n);
            i = self.updatepos(i, n);
        }
        i
    }

    fn parse_comment(&mut self, i: usize) -> Option<usize> {
        let (j, end) = find_comment_close(&self.raw, i + 4)?;
        let data = format!("<!--{}-->", &self.raw[i + 4..j]);
        self.handle_empty_tag(data, true);
        Some(end)
    }

    fn parse_pi(&mut self, i: usize) -> Option<usize> {
        if self.at_line_start() || self.intail {
            let j = find_str(&self.raw, "?>", i + 2)?;
            let data = format!("<?{}?>", &self.raw[i + 2..j]);
            self.handle_empty_tag(data, true);
            return Some(j + 2);
        }
        self.handle_data("<?");
        Some(i + 2)
    }

    fn parse_html_declaration(&mut self, i: usize) -> Option<usize> {
        if !(self.at_line_start() || self.intail) {
            self.handle_data("<!");
            return Some(i + 2);
        }
        let rest = &self.raw.as_bytes()[i..];
        if rest.starts_with(b"<![") {
            let j = find_str(&self.raw, "]]>", i + 3)?;
            let data = &self.raw[i + 3..j];
            let close = if data.starts_with("CDATA[") { "]]>" } else { "]>" };
            let text = format!("<![{data}{close}");
            self.handle_empty_tag(text, true);
            Some(j + 3)
        } else if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<!doctype") {
            let gt = find_byte(&self.raw, b'>', i + 9)?;
            let text = format!("<!{}>", &self.raw[i + 2..gt]);
            self.handle_empty_tag(text, true);
            Some(gt + 1)
        } else {
            self.parse_bogus_comment(i)
        }
    }

    fn parse_bogus_comment(&mut self, i: usize) -> Option<usize> {
        let pos = find_byte(&self.raw, b'>', i + 2)?;
        let text = self.raw[i..pos + 1].to_string();
        self.handle_empty_tag(text, false);
        Some(pos + 1)
    }

    fn parse_starttag(&mut self, i: usize) -> Option<usize> {
        let endpos = self.check_for_whole_start_tag(i)?;
        let text = sub(&self.raw, i, endpos).to_string();
        let name_end = skip_chars(&self.raw, i + 2, |c| {
            !matches!(c, '\t' | '\n' | '\r' | '\x0c' | ' ' | '/' | '>' | '\0')
        });
        let tag = self.raw[i + 1..name_end].to_lowercase();
        self.starttag_text = text.clone();
        if !text.ends_with('>') {
            self.handle_data(&text);
            return Some(endpos);
        }
        if text[..text.len() - 1].trim_end_matches(is_python_space).ends_with('/') {
            let data = text;
            let block = is_block_level(&tag);
            self.handle_empty_tag(data, block);
        } else {
            if is_cdata_tag(&tag) {
                self.cdata_elem = Some(tag.clone());
            }
            self.handle_starttag(&tag);
        }
        Some(endpos)
    }

    /// `check_for_whole_start_tag` with Python-Markdown's `locatestarttagend_tolerant`.
    fn check_for_whole_start_tag(&self, i: usize) -> Option<usize> {
        check_for_whole_start_tag_with(&self.raw, i, locate_starttag_end_markdown)
    }

    fn parse_endtag(&mut self, i: usize) -> Option<usize> {
        let gtpos = find_byte(&self.raw, b'>', i + 1)? + 1;
        if let Some(elem) = match_endtagfind(&self.raw, i).map(str::to_lowercase) {
            if let Some(cdata) = &self.cdata_elem
                && &elem != cdata
            {
                let data = self.raw[i..gtpos].to_string();
                self.handle_data(&data);
                return Some(gtpos);
            }
            self.handle_endtag(&elem);
            self.cdata_elem = None;
            return Some(gtpos);
        }
        if self.cdata_elem.is_some() {
            let data = self.raw[i..gtpos].to_string();
            self.handle_data(&data);
            return Some(gtpos);
        }
        let b = self.raw.as_bytes();
        if !b.get(i + 2).is_some_and(|c| c.is_ascii_alphabetic()) {
            if b[i..].starts_with(b"</>") {
                return Some(i + 3);
            }
            return self.parse_bogus_comment(i);
        }
        let name_end = skip_chars(&self.raw, i + 3, |c| {
            !matches!(c, '\t' | '\n' | '\r' | '\x0c' | ' ' | '/' | '>' | '\0')
        });
        let tagname = self.raw[i + 2..name_end].to_lowercase();
        let mut p = name_end;
        loop {
            match char_at(&self.raw, p) {
                Some(c) if is_python_space(c) => p += c.len_utf8(),
                Some('/') if b.get(p + 1) != Some(&b'>') => p += 1,
                _ => break,
            }
        }
        let gt = find_byte(&self.raw, b'>', p).unwrap_or(gtpos - 1);
        self.handle_endtag(&tagname);
        Some(gt + 1)
    }

    // --- md_in_html's HTMLExtractorExtra handlers, then HTMLExtractor's ---

    fn handle_starttag(&mut self, tag: &str) {
        if tag == "hr" && (self.at_line_start() || self.intail) {
            let data = self.starttag_text.clone();
            self.handle_empty_tag(data, true);
            return;
        }
        // Block-level tags at a line start (or in a tail) and anything inside a raw block take
        // the base path; md_in_html's `markdown="1"` handling is not ported.
        if (is_block_level(tag) && (self.at_line_start() || self.intail)) || self.inraw {
            self.base_handle_starttag(tag);
        } else {
            let text = self.starttag_text.clone();
            self.handle_data(&text);
            if is_cdata_tag(tag) {
                self.cdata_elem = None;
            }
        }
    }

    fn base_handle_starttag(&mut self, tag: &str) {
        if tag == "hr" {
            let data = self.starttag_text.clone();
            self.handle_empty_tag(data, true);
            return;
        }
        if is_block_level(tag) && (self.intail || (self.at_line_start() && !self.inraw)) {
            self.inraw = true;
            self.push_clean("\n");
        }
        let text = self.starttag_text.clone();
        if self.inraw {
            self.stack.push(tag.to_string());
            self.buf.push_str(&text);
        } else {
            self.push_clean(&text);
            if is_cdata_tag(tag) {
                self.cdata_elem = None;
            }
        }
    }

    fn handle_endtag(&mut self, tag: &str) {
        if self.inraw {
            self.base_handle_endtag(tag);
        } else {
            let text = self.get_endtag_text(tag);
            self.handle_data(&text);
        }
    }

    fn base_handle_endtag(&mut self, tag: &str) {
        let text = self.get_endtag_text(tag);
        if !self.inraw {
            self.push_clean(&text);
            return;
        }
        let text_len = text.len();
        self.buf.push_str(&text);
        if self.stack.iter().any(|t| t == tag) {
            while let Some(t) = self.stack.pop() {
                if t == tag {
                    break;
                }
            }
        }
        if self.stack.is_empty() {
            let after = self.line_offset() + self.offset + text_len;
            if self.blank_lines_at(after) {
                self.buf.push('\n');
            } else {
                self.intail = true;
            }
            self.inraw = false;
            let html = std::mem::take(&mut self.buf);
            let ph = store(self.stash, html);
            self.push_clean(&ph);
            self.push_clean("\n\n");
        }
    }

    fn handle_data(&mut self, data: &str) {
        if self.intail && data.contains('\n') {
            self.intail = false;
        }
        if self.inraw {
            self.buf.push_str(data);
        } else {
            self.push_clean(data);
        }
    }

    fn handle_empty_tag(&mut self, mut data: String, is_block: bool) {
        if self.inraw || self.intail {
            self.buf.push_str(&data);
        } else if self.at_line_start() && is_block {
            let after = self.line_offset() + self.offset + data.len();
            if self.blank_lines_at(after) {
                data.push('\n');
            } else {
                self.intail = true;
            }
            let item = &self.cleandoc[self.last_item..];
            if !item.ends_with("\n\n") && item.ends_with('\n') {
                self.push_clean("\n");
            }
            let ph = store(self.stash, data);
            self.push_clean(&ph);
            self.push_clean("\n\n");
        } else {
            self.push_clean(&data);
        }
    }
}

/// Python-Markdown's `entityref = re.compile(r'&([a-zA-Z][-.a-zA-Z0-9]*);')` at `i`: the end.
fn match_entityref(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    if !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let mut p = i + 2;
    while b.get(p).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') {
        p += 1;
    }
    (b.get(p) == Some(&b';')).then_some(p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected output from Python-Markdown 3.7's HtmlBlockPreprocessor (with md_in_html).
    #[test]
    fn comment_on_its_own_lines_is_stashed() {
        let mut stash = Vec::new();
        let out = extract("a\n\n<!-- x\n\ny -->\n\nb\n\n", &mut stash);
        assert_eq!(stash, vec!["<!-- x\n\ny -->\n".to_string()]);
        assert_eq!(out, format!("a\n\n{}\n\n\n\nb\n\n", html_placeholder(0)));
    }

    #[test]
    fn inline_tags_pass_through() {
        let mut stash = Vec::new();
        let src = "text <small>x</small> and HashMap<K, V> & more\n\n";
        assert_eq!(extract(src, &mut stash), src);
        assert!(stash.is_empty());
    }

    #[test]
    fn block_tag_at_line_start_is_raw() {
        let mut stash = Vec::new();
        let out = extract("<div>\n*x*\n</div>\n\nafter\n\n", &mut stash);
        assert_eq!(stash, vec!["<div>\n*x*\n</div>\n".to_string()]);
        assert_eq!(out, format!("\n{}\n\n\n\nafter\n\n", html_placeholder(0)));
    }
}
