//! Inline markup: Python-Markdown's `InlineProcessor` tree processor and the inline patterns of
//! inlinepatterns.py, applied in their priority order.
//!
//! Each pattern replaces what it matched by a placeholder (`\x02klzzwxh:0000\x03`) whose node is
//! kept in a stash; once every pattern has run, placeholders are turned back into elements.
//! Python's regular expressions (with look-around and back-references) are matched by hand.

mod emphasis;
mod links;
mod patterns;

use super::blocks::{References, code_escape};
use super::footnotes::Footnotes;
use super::html_block::store;
use super::tree::{Element, find_any, has_byte, is_py_space, py_strip, serialize};
use crate::render::budget;
use crate::render::entities::codepoint2name;

const PREFIX: &str = "\u{2}klzzwxh:";
const STX: char = '\u{2}';
const ETX: char = '\u{3}';
/// `util.AMP_SUBSTITUTE`.
pub(super) const AMP_SUBSTITUTE: &str = "\u{2}amp\u{3}";
/// `Markdown.ESCAPED_CHARS` plus `|` from the tables extension.
const ESCAPED_CHARS: &str = "\\`*_{}[]()>#+-.!|";

/// Python-Markdown's inline patterns (with the footnote extension's), in priority order: each
/// runs over the text the ones before it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pattern {
    /// `` `code` ``
    Backtick,
    /// `\*`
    Escape,
    /// `[^1]`
    Footnote,
    /// `[text][id]`
    Reference,
    /// `[text](url "title")`
    Link,
    /// `![alt](src)`
    ImageLink,
    /// `![alt][id]`
    ImageReference,
    /// `[id]`
    ShortReference,
    /// `![id]`
    ShortImageRef,
    /// `<https://…>`
    Autolink,
    /// `<a@b.c>`
    Automail,
    /// two spaces before a line break
    Linebreak,
    /// `<tag>`
    Html,
    /// `&amp;`
    Entity,
    /// ` * ` and ` _ ` standing alone
    NotStrong,
    /// `*em*`, `**strong**`
    EmStrong,
    /// `_em_`, `__strong__`
    EmStrong2,
}

impl Pattern {
    /// Every pattern, in the order they run.
    const ALL: [Pattern; 17] = [
        Pattern::Backtick,
        Pattern::Escape,
        Pattern::Footnote,
        Pattern::Reference,
        Pattern::Link,
        Pattern::ImageLink,
        Pattern::ImageReference,
        Pattern::ShortReference,
        Pattern::ShortImageRef,
        Pattern::Autolink,
        Pattern::Automail,
        Pattern::Linebreak,
        Pattern::Html,
        Pattern::Entity,
        Pattern::NotStrong,
        Pattern::EmStrong,
        Pattern::EmStrong2,
    ];

    /// The pattern that runs after this one, if any.
    fn next(self) -> Option<Pattern> {
        Self::ALL.get(self as usize + 1).copied()
    }
}

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

/// The first byte `c` in `s` at or after `from`; nothing once the article's work budget is
/// spent (see [`budget`]), which ends every pattern's search.
fn find_byte(s: &str, c: u8, from: usize) -> Option<usize> {
    if budget::spent() {
        return None;
    }
    find_any(s.as_bytes(), from, &[c])
}

/// The first `pat` in `b` at or after `from`; nothing once the work budget is spent.
fn find_bytes(b: &[u8], pat: &[u8], from: usize) -> Option<usize> {
    if from > b.len() || budget::spent() {
        return None;
    }
    let found = memchr::memmem::find(&b[from..], pat);
    budget::charge(found.map_or(b.len() - from, |p| p + pat.len()) + budget::SEARCH);
    found.map(|p| p + from)
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
                let data = self.handle_inline(text, Some(Pattern::Backtick));
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
                let data = self.handle_inline(tail, Some(Pattern::Backtick));
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
    fn handle_inline(&mut self, mut data: String, from: Option<Pattern>) -> String {
        // Replacing a match by a placeholder never adds a byte a pattern looks for, so a
        // pattern whose first character is absent now cannot match later either.
        let mut seen = 0u16;
        for &b in data.as_bytes() {
            seen |= TRIGGERS[b as usize];
        }
        let present = |c: u8| seen & TRIGGERS[c as usize] != 0;
        let mut start = 0;
        let mut next = from;
        while let Some(pi) = next {
            let possible = match pi {
                Pattern::Backtick => present(b'`'),
                Pattern::Escape => present(b'\\'),
                // Without definitions every footnote reference is left as text.
                Pattern::Footnote => present(b'[') && !self.footnotes.is_empty(),
                Pattern::Reference | Pattern::Link | Pattern::ShortReference => present(b'['),
                Pattern::ImageLink | Pattern::ImageReference | Pattern::ShortImageRef => {
                    present(b'!')
                }
                Pattern::Autolink | Pattern::Automail | Pattern::Html => present(b'<'),
                Pattern::Linebreak => present(b'\n'),
                Pattern::Entity => present(b'&'),
                Pattern::NotStrong => present(b'*') || present(b'_'),
                Pattern::EmStrong => present(b'*'),
                Pattern::EmStrong2 => present(b'_'),
            };
            if !possible {
                next = pi.next();
                start = 0;
                continue;
            }
            let (matched, s) = self.apply_pattern(pi, &mut data, start);
            start = s;
            if !matched {
                next = pi.next();
            }
        }
        data
    }

    /// `__applyPattern`.
    fn apply_pattern(&mut self, pi: Pattern, data: &mut String, start: usize) -> (bool, usize) {
        if budget::spent() {
            return (false, 0);
        }
        let Some((found, s, e)) = self.find(pi, data, start) else {
            return (false, 0);
        };
        let placeholder = match found {
            Found::Skip => return (true, e),
            Found::Text(t) => {
                if pi <= Pattern::Escape {
                    self.escapes_used = true;
                }
                self.stash_node(Stashed::Text(t))
            }
            Found::Node(mut el) => {
                if !el.atomic {
                    if !el.text.is_empty() {
                        let t = std::mem::take(&mut el.text);
                        el.text = self.handle_inline(t, pi.next());
                    }
                    if !el.tail.is_empty() {
                        let t = std::mem::take(&mut el.tail);
                        el.tail = self.handle_inline(t, Some(pi));
                    }
                    for c in &mut el.children {
                        if !c.text.is_empty() && !c.atomic {
                            let t = std::mem::take(&mut c.text);
                            c.text = self.handle_inline(t, pi.next());
                        }
                        if !c.tail.is_empty() {
                            let t = std::mem::take(&mut c.tail);
                            c.tail = self.handle_inline(t, Some(pi));
                        }
                    }
                }
                self.stash_node(Stashed::Node(Some(el)))
            }
        };
        budget::charge(data.len() - e);
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
}
