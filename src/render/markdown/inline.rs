//! Inline markup: Python-Markdown's `InlineProcessor` tree processor and the inline patterns of
//! inlinepatterns.py, applied in their priority order.
//!
//! Each pattern replaces what it matched by a placeholder (`\x02klzzwxh:0000\x03`) whose node is
//! kept in a stash; once every pattern has run, placeholders are turned back into elements.
//! Python's regular expressions (with look-around and back-references) are matched by hand.

use super::blocks::{References, code_escape};
use super::footnotes::Footnotes;
use super::html_block::store;
use super::tree::{Element, find_any, has_byte, is_py_space, py_strip, serialize};
use crate::render::entities::codepoint2name;

const PREFIX: &str = "\u{2}klzzwxh:";
const STX: char = '\u{2}';
const ETX: char = '\u{3}';
/// `util.AMP_SUBSTITUTE`.
pub(super) const AMP_SUBSTITUTE: &str = "\u{2}amp\u{3}";
/// `Markdown.ESCAPED_CHARS` plus `|` from the tables extension.
const ESCAPED_CHARS: &str = "\\`*_{}[]()>#+-.!|";

const BACKTICK: usize = 0;
const ESCAPE: usize = 1;
const FOOTNOTE: usize = 2;
const REFERENCE: usize = 3;
const LINK: usize = 4;
const IMAGE_LINK: usize = 5;
const IMAGE_REFERENCE: usize = 6;
const SHORT_REFERENCE: usize = 7;
const SHORT_IMAGE_REF: usize = 8;
const AUTOLINK: usize = 9;
const AUTOMAIL: usize = 10;
const LINEBREAK: usize = 11;
const HTML: usize = 12;
const ENTITY: usize = 13;
const NOT_STRONG: usize = 14;
const EM_STRONG: usize = 15;
const EM_STRONG2: usize = 16;
const PATTERN_COUNT: usize = 17;

/// A placeholder, built without allocating.
struct Placeholder {
    buf: [u8; 40],
    len: usize,
}

impl Placeholder {
    fn new(id: usize) -> Self {
        let mut buf = [0u8; 40];
        buf[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        let mut digits = [b'0'; 20];
        let mut n = id;
        let mut count = 0;
        while n > 0 || count < 4 {
            digits[19 - count] = b'0' + (n % 10) as u8;
            n /= 10;
            count += 1;
        }
        let mut len = PREFIX.len();
        buf[len..len + count].copy_from_slice(&digits[20 - count..]);
        len += count;
        buf[len] = ETX as u8;
        Placeholder { buf, len: len + 1 }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// One bit per byte some pattern starts with (see `handle_inline`).
static TRIGGERS: [u16; 256] = {
    let mut t = [0u16; 256];
    let bytes = *b"`\\[!<\n&*_";
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = 1 << i;
        i += 1;
    }
    t
};

enum Stashed {
    Node(Option<Element>),
    Text(String),
}

/// What a pattern's `handleMatch` produced.
enum Found {
    Node(Element),
    Text(String),
    /// Matched, but leave the text as it is and continue after it.
    Skip,
}

pub(super) struct Inline<'a> {
    /// Whether a backslash escape (`\x02NN\x03`) was produced: only then does the tree need
    /// `UnescapeTreeprocessor`.
    pub escapes_used: bool,
    stash: Vec<Stashed>,
    html: &'a mut Vec<String>,
    refs: &'a References,
    footnotes: &'a mut Footnotes,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn prev_char(s: &str, p: usize) -> Option<char> {
    s.get(..p).and_then(|h| h.chars().next_back())
}

fn next_char(s: &str, p: usize) -> Option<char> {
    s.get(p..).and_then(|t| t.chars().next())
}

/// The first byte `c` in `s` at or after `from`.
fn find_byte(s: &str, c: u8, from: usize) -> Option<usize> {
    find_any(s.as_bytes(), from, &[c])
}

fn find_bytes(b: &[u8], pat: &[u8], from: usize) -> Option<usize> {
    if from > b.len() {
        return None;
    }
    b[from..].windows(pat.len()).position(|w| w == pat).map(|p| p + from)
}

/// `re.sub(r'\s+', ' ', s)` for Unicode whitespace.
fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_ws = false;
    for c in s.chars() {
        if is_py_space(c) {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    out
}

/// `UnescapeTreeprocessor.unescape`: `\x02NN\x03` back to the character.
pub(super) fn unescape_stx(text: &str) -> String {
    if !has_byte(text, 2) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(STX) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && after[digits..].starts_with(ETX)
            && let Some(c) = after[..digits].parse::<u32>().ok().and_then(char::from_u32)
        {
            out.push(c);
            rest = &after[digits + 1..];
        } else {
            out.push(STX);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The next [`PREFIX`] at or after `from`.
fn find_prefix(data: &str, from: usize) -> Option<usize> {
    let mut p = from;
    loop {
        let i = memchr::memchr(2, data.as_bytes().get(p..)?)? + p;
        if data[i..].starts_with(PREFIX) {
            return Some(i);
        }
        p = i + 1;
    }
}

/// The placeholder at `i` (which starts with [`PREFIX`]): (id, end).
fn placeholder_at(data: &str, i: usize) -> Option<(usize, usize)> {
    let after = data.get(i + PREFIX.len()..)?;
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !after[digits..].starts_with(ETX) {
        return None;
    }
    let id = after[..digits].parse().ok()?;
    Some((id, i + PREFIX.len() + digits + 1))
}

impl<'a> Inline<'a> {
    pub fn new(
        html: &'a mut Vec<String>,
        refs: &'a References,
        footnotes: &'a mut Footnotes,
    ) -> Self {
        Inline { escapes_used: false, stash: Vec::new(), html, refs, footnotes }
    }

    /// `InlineProcessor.run` on the whole tree.
    pub fn run(&mut self, root: &mut Element) {
        self.run_element(root);
    }

    fn run_element(&mut self, cur: &mut Element) {
        // Python keeps a stack: per child, the nodes made from its text and then the child
        // itself (when it had children) are pushed, and popped last first. The order is
        // visible in which of several references to one footnote gets `fnref:`.
        let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
        let mut pending: Vec<(usize, Vec<Element>)> = Vec::new();
        let mut i = 0;
        while i < cur.children.len() {
            let child = &mut cur.children[i];
            let had_children = !child.children.is_empty();
            if !child.text.is_empty() && !child.atomic {
                let text = std::mem::take(&mut child.text);
                let data = self.handle_inline(text, 0);
                if has_byte(&data, 2) {
                    let lst = self.process_placeholders(&data, child, true);
                    stack.extend((0..lst.len()).map(|m| (i, Some(m))));
                    pending.push((i, lst));
                } else {
                    child.text = data;
                }
            }
            if !cur.children[i].tail.is_empty() {
                let tail = std::mem::take(&mut cur.children[i].tail);
                let data = self.handle_inline(tail, 0);
                if has_byte(&data, 2) {
                    let mut dummy = Element::new("d");
                    let res = self.process_placeholders(&data, &mut dummy, false);
                    cur.children[i].tail = dummy.tail;
                    let at = i + 1;
                    cur.children.splice(at..at, res);
                } else {
                    cur.children[i].tail = data;
                }
            }
            if had_children {
                stack.push((i, None));
            }
            i += 1;
        }
        for (j, lst) in pending {
            cur.children[j].children.splice(0..0, lst);
        }
        while let Some((j, m)) = stack.pop() {
            match m {
                Some(m) => self.run_element(&mut cur.children[j].children[m]),
                None => self.run_element(&mut cur.children[j]),
            }
        }
    }

    /// Stashes `node`; returns its placeholder (`INLINE_PLACEHOLDER % "%04d"`).
    fn stash_node(&mut self, node: Stashed) -> Placeholder {
        let id = self.stash.len();
        self.stash.push(node);
        Placeholder::new(id)
    }

    /// `__handleInline`.
    fn handle_inline(&mut self, mut data: String, mut pi: usize) -> String {
        // Replacing a match by a placeholder never adds a byte a pattern looks for, so a
        // pattern whose first character is absent now cannot match later either.
        let mut seen = 0u16;
        for &b in data.as_bytes() {
            seen |= TRIGGERS[b as usize];
        }
        let present = |c: u8| seen & TRIGGERS[c as usize] != 0;
        let mut start = 0;
        while pi < PATTERN_COUNT {
            let possible = match pi {
                BACKTICK => present(b'`'),
                ESCAPE => present(b'\\'),
                // Without definitions every footnote reference is left as text.
                FOOTNOTE => present(b'[') && !self.footnotes.is_empty(),
                REFERENCE | LINK | SHORT_REFERENCE => present(b'['),
                IMAGE_LINK | IMAGE_REFERENCE | SHORT_IMAGE_REF => present(b'!'),
                AUTOLINK | AUTOMAIL | HTML => present(b'<'),
                LINEBREAK => present(b'\n'),
                ENTITY => present(b'&'),
                NOT_STRONG => present(b'*') || present(b'_'),
                EM_STRONG => present(b'*'),
                _ => present(b'_'),
            };
            if !possible {
                pi += 1;
                start = 0;
                continue;
            }
            let (matched, s) = self.apply_pattern(pi, &mut data, start);
            start = s;
            if !matched {
                pi += 1;
            }
        }
        data
    }

    /// `__applyPattern`.
    fn apply_pattern(&mut self, pi: usize, data: &mut String, start: usize) -> (bool, usize) {
        let Some((found, s, e)) = self.find(pi, data, start) else {
            return (false, 0);
        };
        let placeholder = match found {
            Found::Skip => return (true, e),
            Found::Text(t) => {
                if pi <= ESCAPE {
                    self.escapes_used = true;
                }
                self.stash_node(Stashed::Text(t))
            }
            Found::Node(mut el) => {
                if !el.atomic {
                    if !el.text.is_empty() {
                        let t = std::mem::take(&mut el.text);
                        el.text = self.handle_inline(t, pi + 1);
                    }
                    if !el.tail.is_empty() {
                        let t = std::mem::take(&mut el.tail);
                        el.tail = self.handle_inline(t, pi);
                    }
                    for c in &mut el.children {
                        if !c.text.is_empty() && !c.atomic {
                            let t = std::mem::take(&mut c.text);
                            c.text = self.handle_inline(t, pi + 1);
                        }
                        if !c.tail.is_empty() {
                            let t = std::mem::take(&mut c.tail);
                            c.tail = self.handle_inline(t, pi);
                        }
                    }
                }
                self.stash_node(Stashed::Node(Some(el)))
            }
        };
        data.replace_range(s..e, placeholder.as_str());
        (true, 0)
    }

    /// `__processPlaceholders`: turns placeholders back into nodes. Text goes into
    /// `parent.text` (or `parent.tail` when `is_text` is false) or the tail of the last node.
    fn process_placeholders(
        &mut self,
        data: &str,
        parent: &mut Element,
        is_text: bool,
    ) -> Vec<Element> {
        let mut result: Vec<Element> = Vec::new();
        let link_text = |result: &mut Vec<Element>, parent: &mut Element, text: &str| {
            if text.is_empty() {
                return;
            }
            if let Some(last) = result.last_mut() {
                last.tail.push_str(text);
            } else if !is_text {
                parent.tail.push_str(text);
            } else {
                parent.text.push_str(text);
            }
        };
        let mut start = 0;
        loop {
            let Some(index) = find_prefix(data, start) else {
                link_text(&mut result, parent, &data[start..]);
                break;
            };
            let found = placeholder_at(data, index).filter(|(id, _)| *id < self.stash.len());
            let Some((id, ph_end)) = found else {
                let end = index + PREFIX.len();
                link_text(&mut result, parent, &data[start..end]);
                start = end;
                continue;
            };
            link_text(&mut result, parent, &data[start..index]);
            match &mut self.stash[id] {
                Stashed::Text(t) => {
                    let t = t.clone();
                    link_text(&mut result, parent, &t);
                }
                Stashed::Node(slot) => {
                    if let Some(mut node) = slot.take() {
                        self.expand_node(&mut node);
                        result.push(node);
                    }
                }
            }
            start = ph_end;
        }
        result
    }

    /// The `for child in [node] + list(node)` loop of `__processPlaceholders`.
    fn expand_node(&mut self, node: &mut Element) {
        let originals = node.children.len();
        let mut shift = 0;
        // Text without placeholders would be put back unchanged.
        if has_byte(&node.tail, 2) && !py_strip(&node.tail).is_empty() {
            let text = std::mem::take(&mut node.tail);
            let res = self.process_placeholders(&text, node, false);
            shift += res.len();
            node.children.splice(0..0, res);
        }
        if has_byte(&node.text, 2) && !py_strip(&node.text).is_empty() {
            let text = std::mem::take(&mut node.text);
            let res = self.process_placeholders(&text, node, true);
            shift += res.len();
            node.children.splice(0..0, res);
        }
        let mut i = shift;
        for _ in 0..originals {
            if i >= node.children.len() {
                break;
            }
            let mut added = 0;
            if has_byte(&node.children[i].tail, 2) && !py_strip(&node.children[i].tail).is_empty() {
                let text = std::mem::take(&mut node.children[i].tail);
                let res = self.process_placeholders(&text, &mut node.children[i], false);
                added = res.len();
                node.children.splice(i + 1..i + 1, res);
            }
            if has_byte(&node.children[i].text, 2) && !py_strip(&node.children[i].text).is_empty() {
                let text = std::mem::take(&mut node.children[i].text);
                let child = &mut node.children[i];
                let res = self.process_placeholders(&text, child, true);
                child.children.splice(0..0, res);
            }
            i += 1 + added;
        }
    }

    /// `Pattern.unescape`: placeholders replaced by their text.
    fn unescape<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if !has_byte(text, 2) {
            return std::borrow::Cow::Borrowed(text);
        }
        std::borrow::Cow::Owned(self.replace_placeholders(text, |node| match node {
            Stashed::Text(t) => t.clone(),
            Stashed::Node(Some(el)) => {
                let mut s = String::new();
                el.itertext(&mut s);
                s
            }
            Stashed::Node(None) => String::new(),
        }))
    }

    /// `HtmlInlineProcessor.unescape` then `backslash_unescape`.
    fn unescape_html(&self, text: &str) -> String {
        let s = self.replace_placeholders(text, |node| match node {
            Stashed::Text(t) => format!("\\{t}"),
            Stashed::Node(Some(el)) => {
                let mut s = String::new();
                serialize(el, &mut s);
                s
            }
            Stashed::Node(None) => String::new(),
        });
        unescape_stx(&s)
    }

    fn replace_placeholders(&self, text: &str, f: impl Fn(&Stashed) -> String) -> String {
        let mut out = String::with_capacity(text.len());
        let mut start = 0;
        while let Some(i) = find_prefix(text, start) {
            match placeholder_at(text, i) {
                Some((id, end)) if id < self.stash.len() => {
                    out.push_str(&text[start..i]);
                    out.push_str(&f(&self.stash[id]));
                    start = end;
                }
                _ => {
                    let end = i + PREFIX.len();
                    out.push_str(&text[start..end]);
                    start = end;
                }
            }
        }
        out.push_str(&text[start..]);
        out
    }

    /// The first match of pattern `pi` at or after `from` that its handler accepts.
    fn find(&mut self, pi: usize, data: &str, from: usize) -> Option<(Found, usize, usize)> {
        let b = data.as_bytes();
        match pi {
            BACKTICK => backtick(data, from),
            ESCAPE => {
                let p = find_byte(data, b'\\', from)?;
                let c = next_char(data, p + 1)?;
                let end = p + 1 + c.len_utf8();
                if ESCAPED_CHARS.contains(c) {
                    Some((Found::Text(format!("{STX}{}{ETX}", c as u32)), p, end))
                } else {
                    Some((Found::Skip, p, end))
                }
            }
            FOOTNOTE => {
                // `\[\^([^\]]*)\]`; an unknown label is skipped.
                let mut p = from;
                loop {
                    let s = find_bytes(b, b"[^", p)?;
                    let close = find_byte(data, b']', s + 2)?;
                    p = close + 1;
                    if let Some(sup) = self.footnotes.reference(&data[s + 2..close]) {
                        return Some((Found::Node(sup), s, close + 1));
                    }
                }
            }
            REFERENCE | LINK | SHORT_REFERENCE => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'[', p)?;
                    p = s + 1;
                    if prev_char(data, s) == Some('!') {
                        continue;
                    }
                    if let Some((found, e)) = self.link_like(pi, data, s + 1) {
                        return Some((found, s, e));
                    }
                }
            }
            IMAGE_LINK | IMAGE_REFERENCE | SHORT_IMAGE_REF => {
                let mut p = from;
                loop {
                    let s = find_bytes(b, b"![", p)?;
                    p = s + 2;
                    if let Some((found, e)) = self.link_like(pi, data, s + 2) {
                        return Some((found, s, e));
                    }
                }
            }
            AUTOLINK => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'<', p)?;
                    p = s + 1;
                    if let Some(e) = autolink_at(b, s) {
                        let url = &data[s + 1..e - 1];
                        let mut a = Element::new("a");
                        a.set("href", self.unescape(url));
                        a.text = url.to_string();
                        a.atomic = true;
                        return Some((Found::Node(a), s, e));
                    }
                }
            }
            AUTOMAIL => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'<', p)?;
                    p = s + 1;
                    if let Some(e) = automail_at(data, s) {
                        let el = self.automail(&data[s + 1..e - 1]);
                        return Some((Found::Node(el), s, e));
                    }
                }
            }
            LINEBREAK => {
                let s = find_bytes(b, b"  \n", from)?;
                Some((Found::Node(Element::new("br")), s, s + 3))
            }
            HTML => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'<', p)?;
                    p = s + 1;
                    if let Some(e) = html_at(b, s) {
                        let raw = self.unescape_html(&data[s..e]);
                        let ph = store(self.html, raw);
                        return Some((Found::Text(ph), s, e));
                    }
                }
            }
            ENTITY => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'&', p)?;
                    p = s + 1;
                    if let Some(e) = entity_at(b, s) {
                        let raw = self.unescape_html(&data[s..e]);
                        let ph = store(self.html, raw);
                        return Some((Found::Text(ph), s, e));
                    }
                }
            }
            NOT_STRONG => {
                let mut p = from;
                loop {
                    let s = p + b.get(p..)?.iter().position(|&c| c == b'*' || c == b'_')?;
                    p = s + 1;
                    let ok_before = s == 0 || prev_char(data, s).is_some_and(is_py_space);
                    if !ok_before {
                        continue;
                    }
                    let run = b[s..].iter().take_while(|&&c| c == b[s]).count();
                    if run <= 3 && next_char(data, s + run).is_none_or(is_py_space) {
                        return Some((Found::Text(data[s..s + run].to_string()), s, s + run));
                    }
                }
            }
            EM_STRONG | EM_STRONG2 => {
                let ch = if pi == EM_STRONG { b'*' } else { b'_' };
                let mut p = from;
                loop {
                    let s = find_byte(data, ch, p)?;
                    p = s + 1;
                    for index in 0..5 {
                        if let Some(m) = em_match(data, s, ch, index) {
                            let el = build_em(data, &m, ch, index);
                            return Some((Found::Node(el), s, m.end));
                        }
                    }
                }
            }
            _ => None,
        }
    }

    /// The handlers of the link, image and reference patterns; `index` is just after the
    /// opening `[` (or `![`). Returns `None` when the handler rejects the match.
    fn link_like(&mut self, pi: usize, data: &str, index: usize) -> Option<(Found, usize)> {
        let text_start = index;
        let (text_end, index) = get_text(data.as_bytes(), index)?;
        let text = &data[text_start..text_end];
        match pi {
            LINK | IMAGE_LINK => {
                let (href, title, end) = self.get_link(data, index)?;
                let el = if pi == LINK {
                    let mut a = Element::with_text("a", text);
                    a.set("href", href);
                    if let Some(t) = title {
                        a.set("title", t);
                    }
                    a
                } else {
                    let mut img = Element::new("img");
                    img.set("src", href);
                    if let Some(t) = title {
                        img.set("title", t);
                    }
                    img.set("alt", self.unescape(text));
                    img
                };
                Some((Found::Node(el), end))
            }
            _ => {
                let (id, end) = if pi == REFERENCE || pi == IMAGE_REFERENCE {
                    // RE_LINK = `\s?\[([^\]]*)\]`
                    let b = data.as_bytes();
                    let mut p = index;
                    if let Some(c) = next_char(data, p)
                        && is_py_space(c)
                    {
                        p += c.len_utf8();
                    }
                    if b.get(p) != Some(&b'[') {
                        return None;
                    }
                    let close = find_byte(data, b']', p + 1)?;
                    let id = data[p + 1..close].to_lowercase();
                    let id = if id.is_empty() { text.to_lowercase() } else { id };
                    (id, close + 1)
                } else {
                    (text.to_lowercase(), index)
                };
                let id = collapse_ws(&id);
                let Some((href, title)) = self.refs.get(&id) else {
                    return Some((Found::Skip, end));
                };
                let el = if pi == REFERENCE || pi == SHORT_REFERENCE {
                    let mut a = Element::new("a");
                    a.set("href", href.clone());
                    if let Some(t) = title.as_ref().filter(|t| !t.is_empty()) {
                        a.set("title", t.clone());
                    }
                    a.text = text.to_string();
                    a
                } else {
                    let mut img = Element::new("img");
                    img.set("src", href.clone());
                    if let Some(t) = title.as_ref().filter(|t| !t.is_empty()) {
                        img.set("title", t.clone());
                    }
                    img.set("alt", self.unescape(text));
                    img
                };
                Some((Found::Node(el), end))
            }
        }
    }

    /// `LinkInlineProcessor.getLink`: (href, title, end).
    fn get_link(&self, data: &str, index: usize) -> Option<(String, Option<String>, usize)> {
        let b = data.as_bytes();
        if b.get(index) != Some(&b'(') {
            return None;
        }
        let skip_ws = |mut p: usize| {
            while let Some(c) = next_char(data, p).filter(|&c| is_py_space(c)) {
                p += c.len_utf8();
            }
            p
        };
        let p = skip_ws(index + 1);
        // `(<[^<>]*>)\s*(?:('[^']*'|"[^"]*")\s*)?\)`
        if b.get(p) == Some(&b'<')
            && let Some(q) = b[p + 1..].iter().position(|&c| c == b'<' || c == b'>')
            && b[p + 1 + q] == b'>'
        {
            let gt = p + 1 + q;
            let r = skip_ws(gt + 1);
            let mut title = None;
            let mut close = None;
            if let Some(&qc @ (b'\'' | b'"')) = b.get(r)
                && let Some(qe) = find_byte(data, qc, r + 1)
            {
                let r2 = skip_ws(qe + 1);
                if b.get(r2) == Some(&b')') {
                    title = Some(&data[r + 1..qe]);
                    close = Some(r2);
                }
            }
            if close.is_none() && b.get(r) == Some(&b')') {
                close = Some(r);
            }
            if let Some(c) = close {
                let href = py_strip(&data[p + 1..gt]).to_string();
                let href = py_strip(&self.unescape(&href)).to_string();
                let title = title.map(|t| self.clean_title(t));
                return Some((href, title, c + 1));
            }
        }
        let start_index = p;
        // Common case: no quote or parenthesis before the closing `)`; the loop below would
        // end there with the same result.
        if let Some(close) = find_any(b, p, b"()'\"")
            && b[close] == b')'
        {
            let href = py_strip(&self.unescape(&data[start_index..close])).to_string();
            return Some((href, None, close + 1));
        }
        let mut index = p as isize;
        let mut bracket_count: i64 = 1;
        let mut backtrack_count: i64 = 1;
        let mut last_bracket: isize = -1;
        let mut quote: Option<char> = None;
        let mut start_quote: isize = -1;
        let mut exit_quote: isize = -1;
        let mut ignore_matches = false;
        let mut alt_quote: Option<char> = None;
        let mut start_alt_quote: isize = -1;
        let mut exit_alt_quote: isize = -1;
        let mut last: Option<char> = None;
        let mut href: &str = "";
        let mut title: Option<&str> = None;
        for c in data[start_index..].chars() {
            match c {
                '(' => {
                    if !ignore_matches {
                        bracket_count += 1;
                    } else if backtrack_count > 0 {
                        backtrack_count -= 1;
                    }
                }
                ')' => {
                    if (exit_quote != -1 && quote == last)
                        || (exit_alt_quote != -1 && alt_quote == last)
                    {
                        bracket_count = 0;
                    } else if !ignore_matches {
                        bracket_count -= 1;
                    } else if backtrack_count > 0 {
                        backtrack_count -= 1;
                        if backtrack_count == 0 {
                            last_bracket = index + 1;
                        }
                    }
                }
                '\'' | '"' => {
                    if quote.is_none() {
                        ignore_matches = true;
                        backtrack_count = bracket_count;
                        bracket_count = 1;
                        start_quote = index + 1;
                        quote = Some(c);
                    } else if Some(c) != quote && alt_quote.is_none() {
                        start_alt_quote = index + 1;
                        alt_quote = Some(c);
                    } else if Some(c) == quote {
                        exit_quote = index + 1;
                    } else if alt_quote.is_some() && Some(c) == alt_quote {
                        exit_alt_quote = index + 1;
                    }
                }
                _ => {}
            }
            index += c.len_utf8() as isize;
            if bracket_count == 0 {
                let idx = index as usize;
                if exit_quote >= 0 && quote == last {
                    href = &data[start_index..start_quote as usize - 1];
                    title = Some(&data[start_quote as usize..exit_quote as usize - 1]);
                } else if exit_alt_quote >= 0 && alt_quote == last {
                    href = &data[start_index..start_alt_quote as usize - 1];
                    title = Some(&data[start_alt_quote as usize..exit_alt_quote as usize - 1]);
                } else {
                    href = &data[start_index..idx - 1];
                }
                break;
            }
            if c != ' ' {
                last = Some(c);
            }
        }
        let mut end = index as usize;
        if bracket_count != 0 && backtrack_count == 0 {
            if last_bracket < 0 {
                // Python slices with -2 and resumes at -1 here: the text up to the
                // second-to-last character, and the last character stays.
                let mut starts = data.char_indices().rev().map(|(i, _)| i);
                let last_start = starts.next().unwrap_or(0);
                let second_last = starts.next().unwrap_or(0);
                href = data.get(start_index..second_last).unwrap_or("");
                end = last_start;
            } else {
                href = &data[start_index..last_bracket as usize - 1];
                end = last_bracket as usize;
            }
            bracket_count = 0;
        }
        if bracket_count != 0 {
            return None;
        }
        let title = title.map(|t| self.clean_title(t));
        let href = py_strip(&self.unescape(href)).to_string();
        Some((href, title, end))
    }

    fn clean_title(&self, t: &str) -> String {
        let t = self.unescape(py_strip(t));
        let t = dequote(&t);
        t.chars().map(|c| if is_py_space(c) { ' ' } else { c }).collect()
    }

    /// `AutomailInlineProcessor.handleMatch`.
    fn automail(&self, group: &str) -> Element {
        let email = self.unescape(group);
        let email = email.strip_prefix("mailto:").unwrap_or(&email);
        let mut text = String::new();
        for c in email.chars() {
            text.push_str(AMP_SUBSTITUTE);
            match codepoint2name(c) {
                Some(name) => text.push_str(name),
                None => {
                    text.push('#');
                    text.push_str(&(c as u32).to_string());
                }
            }
            text.push(';');
        }
        let mut href = String::new();
        for c in "mailto:".chars().chain(email.chars()) {
            href.push_str(AMP_SUBSTITUTE);
            href.push('#');
            href.push_str(&(c as u32).to_string());
            href.push(';');
        }
        let mut a = Element::with_text("a", text);
        a.atomic = true;
        a.set("href", href);
        a
    }
}

fn dequote(s: &str) -> &str {
    if (s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')) {
        s.get(1..s.len().saturating_sub(1)).unwrap_or("")
    } else {
        s
    }
}

/// `LinkInlineProcessor.getText`: the end of the bracketed text and the index after `]`.
fn get_text(b: &[u8], index: usize) -> Option<(usize, usize)> {
    let mut depth = 1;
    let mut p = index;
    while let Some(i) = find_any(b, p, b"[]") {
        if b[i] == b']' {
            depth -= 1;
            if depth == 0 {
                return Some((i, i + 1));
            }
        } else {
            depth += 1;
        }
        p = i + 1;
    }
    None
}

/// `BACKTICK_RE` searched from `from`:
/// `(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)(`+)(.+?)(?<!`)\2(?!`))`.
///
/// The regex tries positions left to right. An escaped pair run (`\\` repeated) just before
/// a backtick wins at its own position; otherwise a backtick run opens with as many backticks
/// as possible and closes at the first later run of exactly that length. Runs are matched in
/// linear time (the regex itself backtracks cubically on long unmatched runs).
fn backtick(data: &str, from: usize) -> Option<(Found, usize, usize)> {
    let b = data.as_bytes();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut p = from;
    while let Some(q) = find_any(b, p, b"`") {
        let len = b[q..].iter().take_while(|&&x| x == b'`').count();
        runs.push((q, len));
        p = q + len;
    }
    if runs.is_empty() {
        return None;
    }
    // For each run, right to left: the opening length and closing run the regex would pick.
    let mut nearest: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut answer: Vec<Option<(usize, usize, usize)>> = vec![None; runs.len()];
    for r in (0..runs.len()).rev() {
        let (start, len) = runs[r];
        let escaped = start > 0 && b[start - 1] == b'\\';
        // An escaped run can still open one backtick later, after the escaped one.
        let (open, k) = if escaped { (start + 1, len - 1) } else { (start, len) };
        answer[r] = (1..=k).rev().find_map(|kk| nearest.get(&kk).map(|&c| (open, kk, c)));
        nearest.insert(len, r);
    }
    for (r, &(start, _)) in runs.iter().enumerate() {
        // Alternative 1 at the start of a run of backslashes right before this run.
        let slashes = b[from.min(start)..start].iter().rev().take_while(|&&x| x == b'\\').count();
        let bs_start = start - slashes;
        let bs_free = bs_start == 0 || b[bs_start - 1] != b'\\';
        if slashes > 0 && slashes % 2 == 0 && bs_start >= from && bs_free {
            let esc = format!("{STX}92{ETX}");
            let text = data[bs_start..start].replace("\\\\", &esc);
            return Some((Found::Text(text), bs_start, start));
        }
        if let Some((open, kk, closer)) = answer[r] {
            let content = open + kk;
            let close_start = runs[closer].0;
            let mut code =
                Element::with_text("code", code_escape(py_strip(&data[content..close_start])));
            code.atomic = true;
            return Some((Found::Node(code), open, close_start + kk));
        }
    }
    None
}

/// `AUTOLINK_RE` at `s`: the end.
fn autolink_at(b: &[u8], s: usize) -> Option<usize> {
    let mut p = s + 1;
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    if lower(p) == Some(b'f') {
        p += 1;
    } else if lower(p) == Some(b'h') && lower(p + 1) == Some(b't') {
        p += 2;
    } else {
        return None;
    }
    if lower(p) != Some(b't') || lower(p + 1) != Some(b'p') {
        return None;
    }
    p += 2;
    if lower(p) == Some(b's') {
        p += 1;
    }
    if !b[p.min(b.len())..].starts_with(b"://") {
        return None;
    }
    let q = b[p..].iter().position(|&c| c == b'<' || c == b'>')? + p;
    (b[q] == b'>').then_some(q + 1)
}

/// `AUTOMAIL_RE` (`<([^<> !]+@[^@<> ]+)>`) at `s`: the end.
fn automail_at(data: &str, s: usize) -> Option<usize> {
    let b = data.as_bytes();
    let q = b[s + 1..].iter().position(|&c| c == b'<' || c == b'>' || c == b' ')? + s + 1;
    if b[q] != b'>' {
        return None;
    }
    let inner = &b[s + 1..q];
    let at = inner.iter().rposition(|&c| c == b'@')?;
    let ok = at > 0 && at + 1 < inner.len() && !inner[..at].contains(&b'!');
    ok.then_some(q + 1)
}

/// `HTML_RE` at `s`: the end.
fn html_at(b: &[u8], s: usize) -> Option<usize> {
    let mut p = s + 1;
    if b[p.min(b.len())..].starts_with(b"!--") {
        let body = s + 4;
        let close = find_bytes(b, b"-->", body)?;
        let open = find_bytes(b, b"<!--", body);
        return match open {
            Some(o) if o < close => None,
            _ => Some(close + 3),
        };
    }
    if b.get(p) == Some(&b'/') {
        p += 1;
    }
    if !b.get(p).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let q = b[p..].iter().position(|&c| matches!(c, b'<' | b'>' | b'@' | b' '))? + p;
    match b[q] {
        b'>' => Some(q + 1),
        b' ' => {
            let r = b[q..].iter().position(|&c| c == b'<' || c == b'>')? + q;
            (b[r] == b'>').then_some(r + 1)
        }
        _ => None,
    }
}

/// `ENTITY_RE` at `s`: the end.
fn entity_at(b: &[u8], s: usize) -> Option<usize> {
    let p = s + 1;
    let end = if b.get(p) == Some(&b'#') {
        let d = b[p + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if d > 0 {
            p + 1 + d
        } else if b.get(p + 1) == Some(&b'x') {
            let h = b[p + 2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if h == 0 {
                return None;
            }
            p + 2 + h
        } else {
            return None;
        }
    } else {
        let n = b[p..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        if n == 0 {
            return None;
        }
        p + n
    };
    (b.get(end) == Some(&b';')).then_some(end + 1)
}

struct EmMatch {
    end: usize,
    g2: (usize, usize),
    g3: Option<(usize, usize)>,
}

fn word_before(data: &str, p: usize) -> bool {
    prev_char(data, p).is_some_and(is_word)
}

fn word_at(data: &str, p: usize) -> bool {
    next_char(data, p).is_some_and(is_word)
}

/// The emphasis/strong pattern `index` of the asterisk (`ch == b'*'`) or underscore processor,
/// matched at `s` (Python's `pattern.match(data, s)`).
fn em_match(data: &str, s: usize, ch: u8, index: usize) -> Option<EmMatch> {
    let b = data.as_bytes();
    let at = |p: usize, n: usize| p + n <= b.len() && b[p..p + n].iter().all(|&c| c == ch);
    let find_run = |from: usize, n: usize| (from..b.len()).find(|&p| at(p, n));
    let not_ch = |p: usize| b.get(p) != Some(&ch);
    match index {
        // `(c)\1{2}(.+?)\1(.*?)\1{2}`
        0 => {
            if !at(s, 3) {
                return None;
            }
            let a = find_byte(data, ch, s + 4)?;
            let z = find_run(a + 1, 2)?;
            Some(EmMatch { end: z + 2, g2: (s + 3, a), g3: Some((a + 1, z)) })
        }
        // `(c)\1{2}(.+?)\1{2}(.*?)\1`
        1 => {
            if !at(s, 3) {
                return None;
            }
            let a = find_run(s + 4, 2)?;
            let z = find_byte(data, ch, a + 2)?;
            Some(EmMatch { end: z + 1, g2: (s + 3, a), g3: Some((a + 2, z)) })
        }
        2 if ch == b'*' => {
            // `(\*)\1(?!\1)([^*]+?)\1(?!\1)(.+?)\1{3}`
            if !at(s, 2) || !not_ch(s + 2) {
                return None;
            }
            let a = find_byte(data, ch, s + 2)?;
            if a < s + 3 || !not_ch(a + 1) {
                return None;
            }
            let z = find_run(a + 2, 3)?;
            Some(EmMatch { end: z + 3, g2: (s + 2, a), g3: Some((a + 1, z)) })
        }
        2 => {
            // `(?<!\w)(\_)\1(?!\1)(.+?)(?<!\w)\1(?!\1)(.+?)\1{3}(?!\w)`
            if word_before(data, s) || !at(s, 2) || !not_ch(s + 2) {
                return None;
            }
            let a =
                (s + 3..b.len()).find(|&a| b[a] == ch && !word_before(data, a) && not_ch(a + 1))?;
            let z = (a + 2..b.len()).find(|&z| at(z, 3) && !word_at(data, z + 3))?;
            Some(EmMatch { end: z + 3, g2: (s + 2, a), g3: Some((a + 1, z)) })
        }
        3 if ch == b'*' => {
            // `(\*{2})(.+?)\1`
            if !at(s, 2) {
                return None;
            }
            let a = find_run(s + 3, 2)?;
            Some(EmMatch { end: a + 2, g2: (s + 2, a), g3: None })
        }
        3 => {
            // `(?<!\w)(_{2})(?!_)(.+?)(?<!_)\1(?!\w)`
            if word_before(data, s) || !at(s, 2) || !not_ch(s + 2) {
                return None;
            }
            let a =
                (s + 3..b.len()).find(|&a| at(a, 2) && b[a - 1] != ch && !word_at(data, a + 2))?;
            Some(EmMatch { end: a + 2, g2: (s + 2, a), g3: None })
        }
        4 if ch == b'*' => {
            // `(\*)([^\*]+)\1`
            if !at(s, 1) {
                return None;
            }
            let a = find_byte(data, ch, s + 1)?;
            (a > s + 1).then_some(EmMatch { end: a + 1, g2: (s + 1, a), g3: None })
        }
        4 => {
            // `(?<!\w)(_)(?!_)(.+?)(?<!_)\1(?!\w)`
            if word_before(data, s) || !at(s, 1) || !not_ch(s + 1) {
                return None;
            }
            let a = (s + 2..b.len())
                .find(|&a| b[a] == ch && b[a - 1] != ch && !word_at(data, a + 1))?;
            Some(EmMatch { end: a + 1, g2: (s + 1, a), g3: None })
        }
        _ => None,
    }
}

/// `build_single` / `build_double` / `build_double2` of `AsteriskProcessor`.
fn build_em(data: &str, m: &EmMatch, ch: u8, index: usize) -> Element {
    let g2 = &data[m.g2.0..m.g2.1];
    let g3 = m.g3.map(|(a, z)| &data[a..z]);
    match index {
        0 | 1 => {
            let (t1, t2) = if index == 0 { ("strong", "em") } else { ("em", "strong") };
            let mut el1 = Element::new(t1);
            let mut el2 = Element::new(t2);
            parse_sub_patterns(g2, &mut el2, false, ch, index);
            el1.children.push(el2);
            if let Some(g3) = g3 {
                parse_sub_patterns(g3, &mut el1, true, ch, index);
            }
            el1
        }
        2 => {
            let mut el1 = Element::new("strong");
            let mut el2 = Element::new("em");
            parse_sub_patterns(g2, &mut el1, false, ch, index);
            parse_sub_patterns(g3.unwrap_or(""), &mut el2, false, ch, index);
            el1.children.push(el2);
            el1
        }
        _ => {
            let mut el = Element::new(if index == 3 { "strong" } else { "em" });
            parse_sub_patterns(g2, &mut el, false, ch, index);
            el
        }
    }
}

/// `AsteriskProcessor.parse_sub_patterns`. `has_last` says the parent's last child is the
/// `last` element text should follow.
fn parse_sub_patterns(data: &str, parent: &mut Element, has_last: bool, ch: u8, idx: usize) {
    let b = data.as_bytes();
    let mut offset = 0;
    let mut pos = 0;
    let mut has_last = has_last;
    let set_text = |parent: &mut Element, has_last: bool, text: &str| {
        if text.is_empty() {
            return;
        }
        match parent.children.last_mut() {
            Some(last) if has_last => last.tail = text.to_string(),
            _ => parent.text = text.to_string(),
        }
    };
    while pos < b.len() {
        if b[pos] == ch {
            let mut matched = false;
            for index in idx + 1..5 {
                if let Some(m) = em_match(data, pos, ch, index) {
                    set_text(parent, has_last, &data[offset..pos]);
                    let el = build_em(data, &m, ch, index);
                    parent.children.push(el);
                    has_last = true;
                    offset = m.end;
                    pos = m.end;
                    matched = true;
                }
            }
            if !matched {
                pos += 1;
            }
        } else {
            pos += 1;
        }
    }
    set_text(parent, has_last, &data[offset..]);
}
