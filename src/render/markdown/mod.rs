//! Markdown to HTML as Python-Markdown 3.7 renders it for Pelican with TWiR's extensions
//! (`extra`, `toc(anchorlink=True)`, `codehilite(css_class="highlight")`, `meta`; html5 output).
//!
//! This is a port of Python-Markdown's pipeline rather than a CommonMark renderer, because the
//! archive depends on its quirks (a list right after a paragraph line stays text, `<K, V>` is raw
//! HTML, `\<` is no escape, emphasis inside words, …):
//!
//! 1. preprocessors: whitespace normalization, fenced code ([`fenced`]), raw HTML blocks
//!    ([`html_block`]);
//! 2. the block parser ([`blocks`]);
//! 3. tree processors: code highlighting, inline patterns ([`inline`]), prettify, heading ids
//!    ([`toc`]), unescaping;
//! 4. serialization ([`tree`]) and the raw-HTML / `&` postprocessors.
//!
//! Not ported, because the archive does not use them: footnotes, definition lists,
//! abbreviations and `markdown="1"` in HTML blocks. Pygments' token markup inside
//! code blocks is not reproduced either (the text is).

mod attr_list;
mod blocks;
mod entities;
mod fenced;
mod html_block;
mod inline;
mod toc;
mod tree;

use self::blocks::BlockParser;
use self::inline::{AMP_SUBSTITUTE, Inline, unescape_stx};
use self::tree::{Element, escape_cdata, is_block_level, py_strip, serialize};

/// Renders a Markdown article body (header already removed) to HTML.
pub fn render_markdown(body: &str) -> String {
    if py_strip(body).is_empty() {
        return String::new();
    }
    let source = normalize_whitespace(body);
    let mut stash: Vec<String> = Vec::new();
    let source = fenced::replace_fenced(source, &mut stash);
    let source = html_block::extract(&source, &mut stash);

    let mut root = Element::new("div");
    let mut parser = BlockParser::new();
    parser.parse_chunk(&mut root, &source);

    highlight_code_blocks(&mut root, &mut stash);
    let mut inline = Inline::new(&mut stash, &parser.references);
    inline.run(&mut root);
    let escapes_used = inline.escapes_used;
    tree::prettify(&mut root);
    attr_list::apply(&mut root);
    toc::add_ids(&mut root, &stash);
    if escapes_used {
        unescape_tree(&mut root);
    }

    let mut out = String::with_capacity(body.len() * 2);
    escape_cdata(&root.text, &mut out);
    for c in &root.children {
        serialize(c, &mut out);
    }
    let out = postprocess(py_strip(&out), &stash);
    py_strip(&out).to_string()
}

/// `NormalizeWhitespace`.
fn normalize_whitespace(body: &str) -> String {
    let b = body.as_bytes();
    // A line of spaces after a newline: "\n" + spaces + ("\n" or the end).
    let blank_spaces = memchr::memchr_iter(b'\n', b).any(|i| {
        let rest = &b[i + 1..];
        let n = rest.iter().take_while(|&&c| c == b' ').count();
        n > 0 && rest.get(n).is_none_or(|&c| c == b'\n')
    });
    let clean = tree::find_any(b, 0, b"\x02\x03\r\t").is_none() && !blank_spaces;
    if clean {
        let mut s = String::with_capacity(body.len() + 2);
        s.push_str(body);
        s.push_str("\n\n");
        return s;
    }
    let mut s = body.replace(['\u{2}', '\u{3}'], "");
    if s.contains('\r') {
        s = s.replace("\r\n", "\n").replace('\r', "\n");
    }
    s.push_str("\n\n");
    if s.contains('\t') {
        s = expand_tabs(&s);
    }
    // re.sub(r'(?<=\n) +\n', '\n', source)
    let mut out = String::with_capacity(s.len());
    let mut first = true;
    for line in s.split('\n') {
        if !first {
            out.push('\n');
        }
        if first || !line.bytes().all(|b| b == b' ') {
            out.push_str(line);
        }
        first = false;
    }
    out
}

/// `str.expandtabs(4)`.
fn expand_tabs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut col = 0;
    for c in s.chars() {
        match c {
            '\t' => {
                let n = 4 - col % 4;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// codehilite's `HiliteTreeprocessor`: `<pre><code>` becomes a stashed highlighted block.
fn highlight_code_blocks(el: &mut Element, stash: &mut Vec<String>) {
    for c in &mut el.children {
        if c.tag == "pre" && c.children.len() == 1 && c.children[0].tag == "code" {
            let text = &c.children[0].text;
            if text.is_empty() {
                continue;
            }
            let src = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
            let ph = html_block::store(stash, fenced::hilite(&src, true));
            *c = Element::with_text("p", ph);
        } else {
            highlight_code_blocks(c, stash);
        }
    }
}

/// `UnescapeTreeprocessor`.
fn unescape_tree(el: &mut Element) {
    if el.tag != "code" && tree::has_byte(&el.text, 2) {
        el.text = unescape_stx(&el.text);
    }
    if tree::has_byte(&el.tail, 2) {
        el.tail = unescape_stx(&el.tail);
    }
    for (_, v) in &mut el.attrs {
        if tree::has_byte(v, 2) {
            *v = unescape_stx(v);
        }
    }
    for c in &mut el.children {
        unescape_tree(c);
    }
}

/// The postprocessors: `RawHtmlPostprocessor` (stashed HTML back in place, without the `<p>`
/// around block-level HTML) and `AndSubstitutePostprocessor`.
fn postprocess(text: &str, stash: &[String]) -> String {
    let mut text = text.to_string();
    // The original repeats while anything changes, as stashed HTML can hold placeholders.
    for _ in 0..32 {
        match replace_placeholders(&text, stash) {
            Some(replaced) => text = replaced,
            None => break,
        }
    }
    if tree::has_byte(&text, 2) { text.replace(AMP_SUBSTITUTE, "&") } else { text }
}

const HTML_PREFIX: &str = "\u{2}wzxhzdk:";

/// One pass of `<p>PH</p>|PH` substitution; `None` when nothing changed.
fn replace_placeholders(text: &str, stash: &[String]) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    let mut changed = false;
    while let Some(i) = tree::find_any(b, from, b"\x02") {
        from = i + 1;
        let Some(rest) = text[i..].strip_prefix(HTML_PREFIX) else { continue };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !rest[digits..].starts_with('\u{3}') {
            continue;
        }
        let end = i + HTML_PREFIX.len() + digits + 1;
        let Some(html) = rest[..digits].parse::<usize>().ok().and_then(|k| stash.get(k)) else {
            continue;
        };
        let wrapped =
            i >= copied + 3 && text[..i].ends_with("<p>") && text[end..].starts_with("</p>");
        if wrapped {
            out.push_str(&text[copied..i - 3]);
            if is_block_html(html) {
                out.push_str(html);
            } else {
                out.push_str("<p>");
                out.push_str(html);
                out.push_str("</p>");
            }
            copied = end + 4;
        } else {
            out.push_str(&text[copied..i]);
            out.push_str(html);
            copied = end;
        }
        from = copied;
        changed = true;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// `RawHtmlPostprocessor.isblocklevel`.
fn is_block_html(html: &str) -> bool {
    let Some(rest) = html.strip_prefix('<') else { return false };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name_len = rest.find([' ', '>']).unwrap_or(rest.len());
    let name = &rest[..name_len];
    match name.chars().next() {
        None => false,
        Some('!' | '?' | '@' | '%') => true,
        Some(_) => is_block_level(name),
    }
}
