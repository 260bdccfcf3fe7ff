//! Heading ids and anchors: the `toc` extension with `anchorlink=True`.

use std::collections::{HashMap, HashSet};

use unicode_normalization::UnicodeNormalization;

use super::inline::unescape_stx;
use super::postprocess;
use super::tree::{Element, has_byte, is_py_space, py_strip, serialize};
use crate::render::entities::name2codepoint;

/// `TocTreeprocessor.run`: gives every heading an id and wraps its content in
/// `<a class="toclink" href="#id">`.
pub(super) fn add_ids(root: &mut Element, stash: &[String]) {
    let mut used = Ids::default();
    collect_ids(root, &mut used.taken);
    visit(root, stash, &mut used);
}

/// The ids in use, and for each id asked for, the last one [`unique`] gave for it.
#[derive(Default)]
pub(super) struct Ids {
    taken: HashSet<String>,
    /// Ids are only ever added, so every id between an asked one and what was given for it
    /// stays taken: the next search for it starts there, not at `_1` (n headings of one
    /// name would otherwise take n² steps).
    resume: HashMap<String, String>,
}

fn collect_ids(el: &Element, used: &mut HashSet<String>) {
    if let Some((_, id)) = el.attrs.iter().find(|(k, _)| *k == "id") {
        used.insert(id.clone());
    }
    for c in &el.children {
        collect_ids(c, used);
    }
}

fn visit(el: &mut Element, stash: &[String], used: &mut Ids) {
    let is_heading =
        el.tag.len() == 2 && el.tag.starts_with('h') && matches!(el.tag.as_bytes()[1], b'1'..=b'6');
    if is_heading {
        let existing = el.attrs.iter().find(|(k, _)| *k == "id").map(|(_, v)| v.clone());
        let id = match existing {
            // Do not override pre-existing ids (from attr_list).
            Some(id) => id,
            None => {
                let without_refs;
                let el: &Element = if has_sup(el) {
                    let mut copy = el.clone();
                    remove_fnrefs(&mut copy);
                    without_refs = copy;
                    &without_refs
                } else {
                    el
                };
                // Plain-text headings: serializing, dropping tags and unescaping gives back
                // the text with its whitespace collapsed.
                let name = if el.children.is_empty() && !has_byte(&el.text, 2) {
                    collapse_whitespace(&el.text)
                } else {
                    strip_tags(&inner_html(el, stash))
                };
                unique(slugify(&html_unescape(&name)), used)
            }
        };
        let mut a = Element::new("a");
        a.text = std::mem::take(&mut el.text);
        a.set("href", format!("#{id}"));
        a.set("class", "toclink");
        a.children = std::mem::take(&mut el.children);
        el.set("id", id);
        el.children.push(a);
    }
    for c in &mut el.children {
        visit(c, stash, used);
    }
}

fn has_sup(el: &Element) -> bool {
    el.children.iter().any(|c| c.tag == "sup" || has_sup(c))
}

/// `remove_fnrefs`: footnote references (`<sup id="fnref…">`) out of a heading's name, their
/// tails kept.
fn remove_fnrefs(el: &mut Element) {
    let mut carry = String::new();
    let mut i = el.children.len();
    while i > 0 {
        i -= 1;
        let c = &el.children[i];
        let is_ref =
            c.tag == "sup" && c.attrs.iter().any(|(k, v)| k == "id" && v.starts_with("fnref"));
        if is_ref {
            let c = el.children.remove(i);
            carry.insert_str(0, &c.tail);
        } else if !carry.is_empty() {
            el.children[i].tail.push_str(&carry);
            carry.clear();
        }
    }
    if !carry.is_empty() {
        el.text.push_str(&carry);
    }
    for c in &mut el.children {
        remove_fnrefs(c);
    }
}

/// `render_inner_html`: the element's content as final HTML.
fn inner_html(el: &Element, stash: &[String]) -> String {
    let mut s = String::new();
    serialize(el, &mut s);
    let s = unescape_stx(&s);
    let start = s.find('>').map_or(0, |i| i + 1);
    let end = s.rfind('<').unwrap_or(s.len()).max(start);
    let inner = py_strip(&s[start..end]);
    postprocess(inner, stash)
}

/// `' '.join(text.split())`.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(is_py_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `strip_tags`: drops comments and tags, collapses whitespace.
fn strip_tags(text: &str) -> String {
    if !text.contains('<') && !text.contains(is_py_space) {
        return text.to_string();
    }
    let mut text = text.to_string();
    while let Some(start) = text.find("<!--") {
        let Some(end) = text[start..].find("-->").map(|e| e + start) else { break };
        text.replace_range(start..end + 3, "");
    }
    while let Some(start) = text.find('<') {
        let Some(end) = text[start..].find('>').map(|e| e + start) else { break };
        text.replace_range(start..end + 1, "");
    }
    collapse_whitespace(&text)
}

/// `html.unescape` for numeric references and the HTML 4 names (heading text, titles, the
/// text of fetched statuses).
pub fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some((c, used)) = decode_entity(after) {
            out.push(c);
            rest = &after[used..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(s: &str) -> Option<(char, usize)> {
    let semi = |n: usize| if s.as_bytes().get(n) == Some(&b';') { n + 1 } else { n };
    if let Some(num) = s.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(h) => (h.bytes().take_while(u8::is_ascii_hexdigit).count(), 16, 2),
            None => (num.bytes().take_while(u8::is_ascii_digit).count(), 10, 1),
        };
        if digits == 0 {
            return None;
        }
        let text = &s[skip..skip + digits];
        let code = u32::from_str_radix(text, radix).unwrap_or(0xFFFD);
        let c = if code == 0 { '\u{FFFD}' } else { char::from_u32(code).unwrap_or('\u{FFFD}') };
        return Some((c, semi(skip + digits)));
    }
    let n = s.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if s.as_bytes().get(n) != Some(&b';') {
        return None;
    }
    let name = &s[..n];
    if name == "apos" {
        return Some(('\'', n + 1));
    }
    name2codepoint(name).map(|c| (c, n + 1))
}

/// The toc extension's `slugify` with separator `-`.
pub(super) fn slugify(value: &str) -> String {
    let ascii: String = if value.is_ascii() {
        value.to_string()
    } else {
        value.nfkd().filter(char::is_ascii).collect()
    };
    let kept: String = ascii
        .chars()
        .filter(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || is_py_space(c))
        .collect();
    let lowered = py_strip(&kept).to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_sep = false;
    for c in lowered.chars() {
        if c == '-' || is_py_space(c) {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c);
            in_sep = false;
        }
    }
    out
}

/// The toc extension's `unique`: `id`, `id_1`, `id_2`, …
pub(super) fn unique(asked: String, ids: &mut Ids) -> String {
    let mut id = ids.resume.get(&asked).cloned().unwrap_or_else(|| asked.clone());
    while id.is_empty() || ids.taken.contains(&id) {
        // IDCOUNT_RE = `^(.*)_([0-9]+)$`
        let counted = id.rfind('_').and_then(|u| {
            let digits = &id[u + 1..];
            let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            all_digits.then(|| (id[..u].to_string(), digits.parse::<u64>().unwrap_or(0)))
        });
        id = match counted {
            Some((base, n)) => format!("{base}_{}", n + 1),
            None => format!("{id}_1"),
        };
    }
    ids.taken.insert(id.clone());
    ids.resume.insert(asked, id.clone());
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from Python-Markdown 3.7's `markdown.extensions.toc.slugify` / `unique`.
    #[test]
    fn slugify_like_toc() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("Project/Tooling Updates"), "projecttooling-updates");
        assert_eq!(slugify("Ünïcode — dash"), "unicode-dash");
        assert_eq!(slugify("  a  -- b_c "), "a-b_c");
        assert_eq!(slugify("日本"), "");
    }

    #[test]
    fn unique_appends_counters() {
        let mut ids = Ids::default();
        assert_eq!(unique("a".into(), &mut ids), "a");
        assert_eq!(unique("a".into(), &mut ids), "a_1");
        assert_eq!(unique("a".into(), &mut ids), "a_2");
        assert_eq!(unique("a_1".into(), &mut ids), "a_3");
        assert_eq!(unique(String::new(), &mut ids), "_1");
        assert_eq!(unique("a".into(), &mut ids), "a_4");
        assert_eq!(unique("a_1".into(), &mut ids), "a_5");
        assert_eq!(unique("a_2".into(), &mut ids), "a_6");
    }

    #[test]
    fn strip_tags_and_unescape() {
        assert_eq!(strip_tags("<code>x</code> <!-- c --> and\n <b>y</b>"), "x and y");
        assert_eq!(html_unescape("a &amp; b &lt;c&gt; &#x41;&#66; &eacute;"), "a & b <c> AB é");
    }
}
