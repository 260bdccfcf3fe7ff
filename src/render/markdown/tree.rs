//! The small element tree Python-Markdown builds between block parsing and serialization, and
//! its HTML serializer (`markdown.serializers._serialize_html` with `output_format="html5"`).

use std::borrow::Cow;

/// One element, with ElementTree's `text` (before the first child) and `tail` (after the
/// element, inside its parent). An empty string stands for Python's `None`.
#[derive(Debug, Clone, Default)]
pub(super) struct Element {
    /// Every element this renderer creates has a fixed, lowercase tag name.
    pub tag: &'static str,
    pub attrs: Vec<(Cow<'static, str>, String)>,
    pub text: String,
    /// `text` is an `AtomicString`: inline patterns leave it alone.
    pub atomic: bool,
    pub tail: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn new(tag: &'static str) -> Self {
        Element { tag, ..Element::default() }
    }

    pub fn with_text(tag: &'static str, text: impl Into<String>) -> Self {
        Element { tag, text: text.into(), ..Element::default() }
    }

    pub fn set(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((key, value)),
        }
    }

    pub fn last_tag(&self) -> Option<&'static str> {
        self.children.last().map(|c| c.tag)
    }

    /// `''.join(el.itertext())`: the text of the element and its descendants, without its tail.
    pub fn itertext(&self, out: &mut String) {
        out.push_str(&self.text);
        for c in &self.children {
            c.itertext(out);
            out.push_str(&c.tail);
        }
    }
}

/// `markdown.util.BLOCK_LEVEL_ELEMENTS`.
const BLOCK_LEVEL: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
    "canvas",
    "colgroup",
    "dd",
    "body",
    "dt",
    "group",
    "html",
    "iframe",
    "li",
    "legend",
    "math",
    "map",
    "noscript",
    "output",
    "object",
    "option",
    "progress",
    "script",
    "style",
    "summary",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "tr",
    "video",
];

/// `Markdown.is_block_level`: `tag.lower().rstrip('/')` is a block-level element.
pub(super) fn is_block_level(tag: &str) -> bool {
    match tag {
        // The tags this renderer creates, answered without a search.
        "p" | "li" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote"
        | "pre" | "hr" | "table" | "thead" | "tbody" | "tr" | "th" | "td" | "div" => true,
        "a" | "code" | "em" | "strong" | "img" | "br" => false,
        _ => {
            let lower = tag.to_lowercase();
            BLOCK_LEVEL.contains(&lower.trim_end_matches('/'))
        }
    }
}

/// `xml.etree.ElementTree.HTML_EMPTY`: elements serialized without a closing tag.
const HTML_EMPTY: &[&str] = &[
    "area", "base", "basefont", "br", "col", "embed", "frame", "hr", "img", "input", "isindex",
    "link", "meta", "param", "source", "track", "wbr",
];

/// Whether `&` at `s[0]` starts an entity the serializer keeps (`RE_AMP` in serializers.py):
/// `&#123;`, `&#x1f;` or `&name;`, ASCII letters and digits, case-insensitive.
fn is_entity_start(s: &[u8]) -> bool {
    let rest = &s[1..];
    let run = |from: usize, ok: fn(u8) -> bool| -> Option<usize> {
        let n = rest[from..].iter().take_while(|&&b| ok(b)).count();
        (n > 0 && rest.get(from + n) == Some(&b';')).then_some(n)
    };
    if rest.first() == Some(&b'#') {
        if run(1, |b| b.is_ascii_digit()).is_some() {
            return true;
        }
        if matches!(rest.get(1), Some(b'x' | b'X')) && run(2, |b| b.is_ascii_hexdigit()).is_some() {
            return true;
        }
        return false;
    }
    run(0, |b| b.is_ascii_alphanumeric()).is_some()
}

/// The position of the first byte (from `from`) equal to one of `set` (one to four bytes),
/// using the SIMD searches of the `memchr` crate.
pub(super) fn find_any<const N: usize>(hay: &[u8], from: usize, set: &[u8; N]) -> Option<usize> {
    let rest = hay.get(from..)?;
    let found = match *set.as_slice() {
        [a] => memchr::memchr(a, rest),
        [a, b] => memchr::memchr2(a, b, rest),
        [a, b, c] => memchr::memchr3(a, b, c, rest),
        [a, b, c, ref more @ ..] => {
            let first = memchr::memchr3(a, b, c, rest);
            let limit = first.unwrap_or(rest.len());
            let other = rest[..limit].iter().position(|x| more.contains(x));
            other.or(first)
        }
        [] => None,
    };
    crate::render::budget::charge(found.map_or(rest.len(), |p| p + 1) + 32);
    found.map(|p| p + from)
}

/// Whether `s` contains the byte `b` (ASCII).
pub(super) fn has_byte(s: &str, b: u8) -> bool {
    memchr::memchr(b, s.as_bytes()).is_some()
}

/// `s.split('\n')`, with a SIMD newline search.
pub(super) fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', s.as_bytes()).chain(std::iter::once(s.len()));
    std::iter::from_fn(move || {
        let end = ends.next()?;
        let line = &s[start..end];
        start = end + 1;
        Some(line)
    })
}

fn escape(text: &str, quote: bool, out: &mut String) {
    let bytes = text.as_bytes();
    let find = |from: usize| {
        if quote { find_any(bytes, from, b"&<>\"") } else { find_any(bytes, from, b"&<>") }
    };
    let mut last = 0;
    let mut from = 0;
    while let Some(i) = find(from) {
        from = i + 1;
        let b = bytes[i];
        let rep = match b {
            b'&' if !is_entity_start(&bytes[i..]) => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if quote => "&quot;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

/// `_escape_cdata`: `&` (unless it starts an entity), `<` and `>`.
pub(super) fn escape_cdata(text: &str, out: &mut String) {
    escape(text, false, out);
}

/// Serializes `el` (and its tail) as `_serialize_html(..., "html")` does.
pub(super) fn serialize(el: &Element, out: &mut String) {
    out.push('<');
    out.push_str(el.tag);
    if !el.attrs.is_empty() {
        let mut order: [usize; 4] = [0, 1, 2, 3];
        let sorted_many;
        let indices: &[usize] = if el.attrs.len() <= 4 {
            let order = &mut order[..el.attrs.len()];
            order.sort_by(|&a, &b| el.attrs[a].cmp(&el.attrs[b]));
            order
        } else {
            let mut v: Vec<usize> = (0..el.attrs.len()).collect();
            v.sort_by(|&a, &b| el.attrs[a].cmp(&el.attrs[b]));
            sorted_many = v;
            &sorted_many
        };
        for &i in indices {
            let (k, v) = &el.attrs[i];
            if k == v {
                out.push(' ');
                out.push_str(v);
            } else {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape(v, true, out);
                out.push('"');
            }
        }
    }
    out.push('>');
    if !el.text.is_empty() {
        if el.tag == "script" || el.tag == "style" {
            out.push_str(&el.text);
        } else {
            escape_cdata(&el.text, out);
        }
    }
    for c in &el.children {
        serialize(c, out);
    }
    if !HTML_EMPTY.contains(&el.tag) {
        out.push_str("</");
        out.push_str(el.tag);
        out.push('>');
    }
    if !el.tail.is_empty() {
        escape_cdata(&el.tail, out);
    }
}

/// Python's `str.isspace()`.
pub(super) use crate::render::html_parser::is_python_space as is_py_space;

/// Python's `str.strip()`.
pub(super) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `PrettifyTreeprocessor`: newlines between block-level elements, after `<br>`, and a single
/// trailing newline in `<pre><code>`.
pub(super) fn prettify(root: &mut Element) {
    prettify_el(root);
    fix_br_and_pre(root);
}

fn prettify_el(el: &mut Element) {
    if is_block_level(el.tag) && el.tag != "code" && el.tag != "pre" {
        if py_strip(&el.text).is_empty()
            && el.children.first().is_some_and(|c| is_block_level(c.tag))
        {
            el.text = "\n".to_string();
        }
        for c in &mut el.children {
            if is_block_level(c.tag) {
                prettify_el(c);
            }
        }
    }
    if py_strip(&el.tail).is_empty() {
        el.tail = "\n".to_string();
    }
}

fn fix_br_and_pre(el: &mut Element) {
    if el.tag == "br" {
        if py_strip(&el.tail).is_empty() {
            el.tail = "\n".to_string();
        } else {
            el.tail.insert(0, '\n');
        }
    }
    if el.tag == "pre"
        && let Some(code) = el.children.first_mut()
        && code.tag == "code"
        && code.children.is_empty()
        && !code.text.is_empty()
    {
        let t = code.text.trim_end_matches(is_py_space).to_string();
        code.text = t + "\n";
    }
    for c in &mut el.children {
        fix_br_and_pre(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_entities() {
        // Expected output of Python-Markdown 3.7's serializers._escape_cdata: an `&` that starts
        // an entity is left alone.
        let mut out = String::new();
        escape_cdata("a & b &amp; &#12; &#x1F; &nope <>", &mut out);
        assert_eq!(out, "a &amp; b &amp; &#12; &#x1F; &amp;nope &lt;&gt;");
    }

    #[test]
    fn serialize_sorts_attributes() {
        let mut a = Element::with_text("a", "x");
        a.set("href", "#id");
        a.set("class", "toclink");
        let mut out = String::new();
        serialize(&a, &mut out);
        assert_eq!(out, "<a class=\"toclink\" href=\"#id\">x</a>");
    }

    #[test]
    fn find_any_finds_first_of_set() {
        let hay = b"0123456789abcdef<ghij&k";
        assert_eq!(find_any(hay, 0, b"&<"), Some(16));
        assert_eq!(find_any(hay, 17, b"&<"), Some(21));
        assert_eq!(find_any(hay, 0, b"&<>\""), Some(16));
        assert_eq!(find_any(hay, 30, b"&"), None);
    }
}
