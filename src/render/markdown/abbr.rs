//! Abbreviations: the `abbr` extension of `extra`. `*[HTML]: Hyper Text Markup Language`
//! definitions are taken out of the flow; after inline patterns, every whole-word occurrence
//! in the tree's text (code spans and link texts included) becomes `<abbr title="…">`.

use std::collections::VecDeque;

use super::tree::{Element, py_strip};

/// Abbreviation → title, in definition order (a `dict`).
pub(super) type Abbreviations = Vec<(String, String)>;

/// `AbbrBlockprocessor.run`: `false` (block untouched) when no definition is found.
/// `RE = ^[*]\[(?P<abbr>[^\\]*?)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$` (MULTILINE).
pub(super) fn run_definition(
    block: &str,
    blocks: &mut VecDeque<String>,
    abbrs: &mut Abbreviations,
) -> bool {
    let Some((start, (a0, a1), (t0, end))) = find_definition(block) else { return false };
    let abbr = py_strip(&block[a0..a1]);
    let title = py_strip(&block[t0..end]);
    if title.is_empty() || abbr.is_empty() {
        return false;
    }
    if title == "''" || title == "\"\"" {
        abbrs.retain(|(k, _)| k != abbr);
    } else {
        match abbrs.iter_mut().find(|(k, _)| k == abbr) {
            Some(slot) => slot.1 = title.to_string(),
            None => abbrs.push((abbr.to_string(), title.to_string())),
        }
    }
    let after = &block[end..];
    if !py_strip(after).is_empty() {
        blocks.push_front(after.trim_start_matches('\n').to_string());
    }
    let before = &block[..start];
    if !py_strip(before).is_empty() {
        blocks.push_front(before.trim_end_matches('\n').to_string());
    }
    true
}

/// The first match of the definition pattern: (start, abbr span, (title start, end)).
#[allow(clippy::type_complexity)]
fn find_definition(block: &str) -> Option<(usize, (usize, usize), (usize, usize))> {
    let b = block.as_bytes();
    memchr::memmem::find(b, b"*[")?;
    let mut line = 0;
    loop {
        if b[line..].starts_with(b"*[") {
            let a0 = line + 2;
            // The lazy `[^\\]*?` ends at the first `]` followed by `[ ]?:`.
            let mut p = a0;
            while let Some(&c) = b.get(p) {
                if c == b'\\' {
                    break;
                }
                if c == b']' {
                    let mut q = p + 1;
                    if b.get(q) == Some(&b' ') {
                        q += 1;
                    }
                    if b.get(q) == Some(&b':') {
                        let mut t = q + 1;
                        while b.get(t) == Some(&b' ') {
                            t += 1;
                        }
                        if b.get(t) == Some(&b'\n') {
                            t += 1;
                        }
                        while b.get(t) == Some(&b' ') {
                            t += 1;
                        }
                        let end = memchr::memchr(b'\n', &b[t..]).map_or(b.len(), |n| n + t);
                        return Some((line, (a0, p), (t, end)));
                    }
                }
                p += 1;
            }
        }
        line += memchr::memchr(b'\n', &b[line..])? + 1;
    }
}

/// `AbbrTreeprocessor.run`.
pub(super) fn apply(root: &mut Element, abbrs: &Abbreviations) {
    if abbrs.is_empty() {
        return;
    }
    // Longest first (a stable sort, as Python's), tried in that order at each position.
    let mut sorted: Vec<&(String, String)> = abbrs.iter().collect();
    sorted.sort_by_key(|(k, _)| std::cmp::Reverse(k.chars().count()));
    iter_element(root, &sorted);
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `\b` at `p`.
fn boundary(s: &str, p: usize) -> bool {
    let before = s[..p].chars().next_back().is_some_and(is_word);
    let after = s[p..].chars().next().is_some_and(is_word);
    before != after
}

/// `RE.finditer(text)`: (start, end, title) of each match.
fn find_all<'a>(text: &str, abbrs: &[&'a (String, String)]) -> Vec<(usize, usize, &'a str)> {
    let mut out = Vec::new();
    let mut p = 0;
    while p <= text.len() {
        let hit = boundary(text, p)
            .then(|| {
                abbrs
                    .iter()
                    .find(|(k, _)| text[p..].starts_with(k.as_str()) && boundary(text, p + k.len()))
            })
            .flatten();
        match hit {
            Some((k, title)) if !k.is_empty() => {
                out.push((p, p + k.len(), title.as_str()));
                p += k.len();
            }
            _ => match text[p..].chars().next() {
                Some(c) => p += c.len_utf8(),
                None => break,
            },
        }
    }
    out
}

fn abbr_element(text: &str, title: &str, tail: &str) -> Element {
    let mut el = Element::with_text("abbr", text);
    el.atomic = true;
    el.set("title", title);
    el.tail = tail.to_string();
    el
}

/// `iter_element`: children last first, then the element's text, then its tail (which adds
/// `abbr` siblings after it in `parent`).
fn iter_element(el: &mut Element, abbrs: &[&(String, String)]) {
    let mut i = el.children.len();
    while i > 0 {
        i -= 1;
        iter_element(&mut el.children[i], abbrs);
        let tail = &el.children[i].tail;
        if tail.is_empty() {
            continue;
        }
        let found = find_all(tail, abbrs);
        if found.is_empty() {
            continue;
        }
        let tail = std::mem::take(&mut el.children[i].tail);
        let mut rest = tail.as_str();
        for &(s, e, title) in found.iter().rev() {
            let abbr = abbr_element(&tail[s..e], title, &rest[e..]);
            el.children.insert(i + 1, abbr);
            rest = &tail[..s];
        }
        el.children[i].tail = rest.to_string();
    }
    if !el.text.is_empty() {
        let found = find_all(&el.text, abbrs);
        if !found.is_empty() {
            let text = std::mem::take(&mut el.text);
            let mut rest = text.as_str();
            for &(s, e, title) in found.iter().rev() {
                el.children.insert(0, abbr_element(&text[s..e], title, &rest[e..]));
                rest = &text[..s];
            }
            el.text = rest.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    //! Expected HTML is Python-Markdown 3.7's output with Pelican's TWiR configuration
    //! (`extra`, `codehilite(css_class="highlight")`, `toc(anchorlink=True)`, `meta`, html5).

    use super::super::render_markdown;

    #[test]
    fn longest_first_whole_words_and_removal() {
        assert_eq!(
            render_markdown(
                "Para with HTML and HTML5 and HTML-ish.\n*[HTML]: first\n*[HTML5]: second\n*[a]b]: weird\n\nsee a]b and HTML5 *HTML*\n\n*[HTML]: \"\"\n\nHTML gone?\n"
            ),
            "<p>Para with HTML and <abbr title=\"second\">HTML5</abbr> and HTML-ish.</p>\n<p>see <abbr title=\"weird\">a]b</abbr> and <abbr title=\"second\">HTML5</abbr> <em>HTML</em></p>\n<p>HTML gone?</p>"
        );
    }

    #[test]
    fn word_boundaries_around_punctuation_and_code_blocks() {
        assert_eq!(
            render_markdown(
                "*[C++]: plus\n*[.NET]: dot\n*[ab]:\n\nC++ and .NET and x.NET and ab\n\n    HTML code\n\n*[HTML]: redef\n"
            ),
            "<p>*[ab]:</p>\n<p>C++ and .NET and x<abbr title=\"dot\">.NET</abbr> and ab</p>\n<div class=\"highlight\"><pre><span></span><code>HTML code\n</code></pre></div>"
        );
    }
}
