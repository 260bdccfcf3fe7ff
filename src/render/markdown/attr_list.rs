//! The `attr_list` extension's tree processor: `{: #id .class key=value }` after a block's last
//! line, at the end of a heading or table cell, or right after an inline element.

use super::tree::{Element, has_byte, is_block_level};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `[ ]+{BASE}[ ]*$` (headings, `dt`, `td`, `th`).
    Header,
    /// `\n[ ]*{BASE}[ ]*$` (other block elements).
    Block,
}

/// `BASE_RE` (`\{\:?[ ]*([^\}\n ][^\n]*)[ ]*\}`) at `p`: (group 1, end).
fn base_at(s: &str, p: usize) -> Option<((usize, usize), usize)> {
    let b = s.as_bytes();
    if b.get(p) != Some(&b'{') {
        return None;
    }
    let mut q = p + 1;
    if b.get(q) == Some(&b':') {
        q += 1;
    }
    while b.get(q) == Some(&b' ') {
        q += 1;
    }
    if matches!(b.get(q), None | Some(b'}' | b'\n' | b' ')) {
        return None;
    }
    let line_end = b[q..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| n + q);
    let close = b[q + 1..line_end].iter().rposition(|&c| c == b'}')? + q + 1;
    Some(((q, close), close + 1))
}

/// `[ ]*$` at `p` (end of string, or before a final newline).
fn spaces_to_end(s: &str, p: usize) -> bool {
    let rest = s[p..].trim_start_matches(' ');
    rest.is_empty() || rest == "\n"
}

/// `HEADER_RE` or `BLOCK_RE` searched in `s`: (match start, group 1).
fn search(s: &str, kind: Kind) -> Option<(usize, (usize, usize))> {
    let b = s.as_bytes();
    let lead = if kind == Kind::Header { b' ' } else { b'\n' };
    let mut p = 0;
    while let Some(start) = b.get(p..)?.iter().position(|&c| c == lead).map(|n| n + p) {
        let mut q = start + 1;
        while b.get(q) == Some(&b' ') {
            q += 1;
        }
        if let Some((g, end)) = base_at(s, q)
            && spaces_to_end(s, end)
        {
            return Some((start, g));
        }
        p = start + 1;
    }
    None
}

/// `get_attrs_and_remainder`: the `re.Scanner` over the attribute list.
fn parse_attrs(s: &str) -> (Vec<(String, String)>, String) {
    let mut attrs = Vec::new();
    let b = s.as_bytes();
    let mut p = 0;
    let word_end = |from: usize| {
        b[from..]
            .iter()
            .position(|&c| c == b' ' || c == b'=' || c == b'}')
            .map_or(b.len(), |n| n + from)
    };
    while p < b.len() {
        if b[p] == b' ' {
            p += 1;
            continue;
        }
        let k_end = word_end(p);
        if k_end == p {
            break;
        }
        if b.get(k_end) == Some(&b'=') {
            let key = &s[p..k_end];
            let v = k_end + 1;
            if let Some(&q @ (b'"' | b'\'')) = b.get(v)
                && let Some(close) = b[v + 1..].iter().position(|&c| c == q || c == b'\n')
                && b[v + 1 + close] == q
            {
                let end = v + 1 + close + 1;
                let value = s[v..end].trim_matches(q as char);
                attrs.push((key.to_string(), value.to_string()));
                p = end;
                continue;
            }
            let v_end = word_end(v);
            if v_end > v {
                attrs.push((key.to_string(), s[v..v_end].to_string()));
                p = v_end;
                continue;
            }
        }
        let word = &s[p..k_end];
        attrs.push(if let Some(c) = word.strip_prefix('.') {
            (".".to_string(), c.to_string())
        } else if let Some(id) = word.strip_prefix('#') {
            ("id".to_string(), id.to_string())
        } else {
            (word.to_string(), word.to_string())
        });
        p = k_end;
    }
    let rest = &s[p..];
    let remainder = rest.find('}').map_or(String::new(), |i| rest[i..].to_string());
    (attrs, remainder)
}

/// `sanitize_name`: runs of characters not allowed in an XML name become `_`.
fn sanitize_name(name: &str) -> String {
    let ok = |c: char| {
        matches!(c,
            'A'..='Z' | '_' | 'a'..='z' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}'
            | '\u{f8}'..='\u{2ff}' | '\u{370}'..='\u{37d}' | '\u{37f}'..='\u{1fff}'
            | '\u{200c}'..='\u{200d}' | '\u{2070}'..='\u{218f}' | '\u{2c00}'..='\u{2fef}'
            | '\u{3001}'..='\u{d7ff}' | '\u{f900}'..='\u{fdcf}' | '\u{fdf0}'..='\u{fffd}'
            | ':' | '-' | '.' | '0'..='9' | '\u{b7}' | '\u{300}'..='\u{36f}'
            | '\u{203f}'..='\u{2040}')
    };
    let mut out = String::with_capacity(name.len());
    let mut in_bad = false;
    for c in name.chars() {
        if ok(c) {
            out.push(c);
            in_bad = false;
        } else if !in_bad {
            out.push('_');
            in_bad = true;
        }
    }
    out
}

/// `assign_attrs`: returns the remainder; with `strict`, nothing is assigned when there is one.
fn assign_attrs(el: &mut Element, attrs: &str, strict: bool) -> String {
    let (attrs, remainder) = parse_attrs(attrs);
    if strict && !remainder.is_empty() {
        return remainder;
    }
    for (k, v) in attrs {
        if k == "." {
            let class = match el.attrs.iter().find(|(key, _)| *key == "class") {
                Some((_, c)) if !c.is_empty() => format!("{c} {v}"),
                _ => v,
            };
            el.set("class", class);
        } else {
            el.set(sanitize_name(&k), v);
        }
    }
    remainder
}

fn is_header(tag: &str) -> bool {
    matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Which string of `el` a block-level rule looks at.
enum Target {
    Text,
    Tail(usize),
}

/// `AttrListTreeprocessor.run`.
pub(super) fn apply(el: &mut Element) {
    if is_block_level(el.tag) {
        let header = is_header(el.tag);
        let kind =
            if header || matches!(el.tag, "dt" | "td" | "th") { Kind::Header } else { Kind::Block };
        let target = if !el.children.is_empty() && el.tag == "li" {
            let pos = el.children.iter().position(|c| c.tag == "ul" || c.tag == "ol");
            match pos {
                None if el.children.last().is_some_and(|c| !c.tail.is_empty()) => {
                    Some(Target::Tail(el.children.len() - 1))
                }
                Some(p) if p > 0 && !el.children[p - 1].tail.is_empty() => {
                    Some(Target::Tail(p - 1))
                }
                _ if !el.text.is_empty() => Some(Target::Text),
                _ => None,
            }
        } else if el.children.last().is_some_and(|c| !c.tail.is_empty()) {
            Some(Target::Tail(el.children.len() - 1))
        } else if !el.text.is_empty() {
            Some(Target::Text)
        } else {
            None
        };
        let has_brace = |t: &Target| match t {
            Target::Text => has_byte(&el.text, b'{'),
            Target::Tail(i) => has_byte(&el.children[*i].tail, b'{'),
        };
        if let Some(target) = target.filter(has_brace) {
            let text = match target {
                Target::Text => el.text.clone(),
                Target::Tail(i) => el.children[i].tail.clone(),
            };
            if let Some((start, (a, z))) = search(&text, kind)
                && assign_attrs(el, &text[a..z], true).is_empty()
            {
                let mut cut = text[..start].to_string();
                if header && el.tag != "li" {
                    cut = cut.trim_end_matches('#').trim_end().to_string();
                }
                match target {
                    Target::Text => el.text = cut,
                    Target::Tail(i) => el.children[i].tail = cut,
                }
            }
        }
    } else if !el.tail.is_empty()
        && let Some(((a, z), end)) = base_at(&el.tail, 0)
    {
        let tail = std::mem::take(&mut el.tail);
        let remainder = assign_attrs(el, &tail[a..z], false);
        el.tail = format!("{}{}", &tail[end..], remainder);
    }
    for c in &mut el.children {
        apply(c);
    }
}
