//! Markdown to HTML as Python-Markdown 3.7 renders it for Pelican with TWiR's extensions
//! (`extra`, `toc(anchorlink=True)`, `codehilite(css_class="highlight")`, `meta`; html5 output).
//!
//! This is a port of Python-Markdown's pipeline rather than a CommonMark renderer, because the
//! archive depends on its quirks (a list right after a paragraph line stays text, `<K, V>` is raw
//! HTML, `\<` is no escape, emphasis inside words, …):
//!
//! 1. preprocessors: whitespace normalization, fenced code (`fenced`), raw HTML blocks
//!    (`html_block`);
//! 2. the block parser (`blocks`, with footnote definitions from `footnotes`);
//! 3. tree processors: the footnotes div, code highlighting, inline patterns (`inline`),
//!    footnote back links, prettify, attribute lists (`attr_list`), abbreviations (`abbr`),
//!    heading ids (`toc`), unescaping;
//! 4. serialization (`tree`) and the raw-HTML / footnote / `&` postprocessors.
//!
//! Not ported, because the archive does not use it: `markdown="1"` in HTML blocks. Pygments' token markup inside
//! code blocks is not reproduced either (the text is), so the 7 archive articles with
//! highlighted code match Pelican's output in text but not byte for byte.

mod abbr;
mod attr_list;
mod blocks;
mod fenced;
mod footnotes;
mod html_block;
mod inline;
mod toc;
mod tree;

use self::blocks::BlockParser;
use self::inline::{AMP_SUBSTITUTE, Inline, unescape_stx};
pub use self::toc::html_unescape;
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

    footnotes::attach(&mut root, &mut parser);
    highlight_code_blocks(&mut root, &mut stash);
    let mut inline = Inline::new(&mut stash, &parser.references, &mut parser.footnotes);
    inline.run(&mut root);
    let escapes_used = inline.escapes_used;
    footnotes::add_duplicate_backlinks(&mut root, &parser.footnotes);
    tree::prettify(&mut root);
    attr_list::apply(&mut root);
    abbr::apply(&mut root, &parser.abbrs);
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
        s = crate::render::text::expand_tabs(&s, 4).into_owned();
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
/// around block-level HTML), `FootnotePostprocessor` and `AndSubstitutePostprocessor`.
fn postprocess(text: &str, stash: &[String]) -> String {
    let mut text = text.to_string();
    // The original repeats while anything changes, as stashed HTML can hold placeholders.
    for _ in 0..32 {
        match replace_placeholders(&text, stash) {
            Some(replaced) => text = replaced,
            None => break,
        }
    }
    if !tree::has_byte(&text, 2) {
        return text;
    }
    footnotes::replace_placeholders(text).replace(AMP_SUBSTITUTE, "&")
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

#[cfg(test)]
mod tests {
    //! Expected HTML comes from Python-Markdown 3.7 run with Pelican's TWiR configuration
    //! (`extra`, `codehilite(css_class="highlight")`, `toc(anchorlink=True)`, `meta`, html5).

    use super::render_markdown;

    /// Pygments' token `<span>`s are not reproduced; compare code blocks without them.
    fn without_token_spans(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(i) = rest.find("<span class=\"") {
            out.push_str(&rest[..i]);
            let after = &rest[i..];
            let end = after.find('>').map_or(after.len(), |e| e + 1);
            rest = &after[end..];
        }
        out.push_str(rest);
        let mut cleaned = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find("</span>") {
            // keep the empty `<span></span>` Pygments puts first
            let keep = rest[..i].ends_with("<span>");
            cleaned.push_str(&rest[..i]);
            if keep {
                cleaned.push_str("</span>");
            }
            rest = &rest[i + "</span>".len()..];
        }
        cleaned.push_str(rest);
        cleaned
    }

    #[test]
    fn list_line_after_paragraph_stays_text() {
        assert_eq!(
            render_markdown("Approved this week:\n* No RFCs were approved"),
            "<p>Approved this week:\n* No RFCs were approved</p>"
        );
    }

    #[test]
    fn heading_line_after_paragraph_is_split_off() {
        assert_eq!(
            render_markdown("Some text\n#### Rust-Analyzer\nmore"),
            "<p>Some text</p>\n<h4 id=\"rust-analyzer\"><a class=\"toclink\" href=\"#rust-analyzer\">Rust-Analyzer</a></h4>\n<p>more</p>"
        );
    }

    #[test]
    fn type_parameters_are_inline_html() {
        assert_eq!(
            render_markdown("A HashMap<K, V, S> and `Vec<T>`"),
            "<p>A HashMap<K, V, S> and <code>Vec&lt;T&gt;</code></p>"
        );
    }

    #[test]
    fn backslash_before_lt_is_kept() {
        assert_eq!(render_markdown("From\\<array> and a\\*b\\*"), "<p>From\\<array> and a*b*</p>");
    }

    #[test]
    fn code_span_content_is_stripped() {
        assert_eq!(
            render_markdown("`` `x` `` and ` a `"),
            "<p><code>`x`</code> and <code>a</code></p>"
        );
    }

    #[test]
    fn asterisks_inside_words_make_emphasis() {
        assert_eq!(
            render_markdown("a*const ()* b and snake_case_name and _em_"),
            "<p>a<em>const ()</em> b and snake_case_name and <em>em</em></p>"
        );
    }

    #[test]
    fn strong_and_em_combinations() {
        assert_eq!(
            render_markdown("***both*** and **strong *nested* text** and __u__"),
            "<p><strong><em>both</em></strong> and <strong>strong <em>nested</em> text</strong> and <strong>u</strong></p>"
        );
    }

    #[test]
    fn indented_fence_in_list_is_not_code() {
        assert_eq!(
            render_markdown("* item\n\n    ```rust\n    let x = 1;\n    ```"),
            "<ul>\n<li>\n<p>item</p>\n<p><code>rust\nlet x = 1;</code></p>\n</li>\n</ul>"
        );
    }

    #[test]
    fn indented_code_block_is_highlighted() {
        assert_eq!(
            render_markdown("Text\n\n    let x = 1 < 2;\n    let y = 2;\n\nAfter"),
            "<p>Text</p>\n<div class=\"highlight\"><pre><span></span><code>let x = 1 &lt; 2;\nlet y = 2;\n</code></pre></div>\n\n<p>After</p>"
        );
    }

    #[test]
    fn fenced_code_block() {
        let expected = "<div class=\"highlight\"><pre><span></span><code><span class=\"k\">fn</span><span class=\"w\"> </span><span class=\"nf\">main</span><span class=\"p\">()</span><span class=\"w\"> </span><span class=\"p\">{</span><span class=\"w\"> </span><span class=\"fm\">println!</span><span class=\"p\">(</span><span class=\"s\">\"hi\"</span><span class=\"p\">);</span><span class=\"w\"> </span><span class=\"p\">}</span>\n</code></pre></div>\n\n<p>after</p>";
        assert_eq!(
            without_token_spans(&render_markdown(
                "```rust\nfn main() { println!(\"hi\"); }\n```\n\nafter"
            )),
            without_token_spans(expected)
        );
    }

    #[test]
    fn mailto_autolink_is_obfuscated() {
        assert_eq!(
            render_markdown("Mail <me@example.com> now"),
            "<p>Mail <a href=\"&#109;&#97;&#105;&#108;&#116;&#111;&#58;&#109;&#101;&#64;&#101;&#120;&#97;&#109;&#112;&#108;&#101;&#46;&#99;&#111;&#109;\">&#109;&#101;&#64;&#101;&#120;&#97;&#109;&#112;&#108;&#101;&#46;&#99;&#111;&#109;</a> now</p>"
        );
    }

    #[test]
    fn autolink() {
        assert_eq!(
            render_markdown("<https://example.com/a_b>"),
            "<p><a href=\"https://example.com/a_b\">https://example.com/a_b</a></p>"
        );
    }

    #[test]
    fn reference_links() {
        assert_eq!(
            render_markdown(
                "[Rust][r] and [r] and [missing]\n\n[r]: https://rust-lang.org \"Title\""
            ),
            "<p><a href=\"https://rust-lang.org\" title=\"Title\">Rust</a> and <a href=\"https://rust-lang.org\" title=\"Title\">r</a> and [missing]</p>"
        );
    }

    #[test]
    fn link_with_parentheses_and_title() {
        assert_eq!(
            render_markdown("[a](http://x.com/(b) \"t\") and [c](<d e>)"),
            "<p><a href=\"http://x.com/(b)\" title=\"t\">a</a> and <a href=\"d e\">c</a></p>"
        );
    }

    #[test]
    fn heading_ids_are_slugs_and_unique() {
        assert_eq!(
            render_markdown(
                "## Hello, World!\n\n## Hello, World!\n\n### Crate of the Week\n\n# Ünïcode — dash"
            ),
            "<h2 id=\"hello-world\"><a class=\"toclink\" href=\"#hello-world\">Hello, World!</a></h2>\n<h2 id=\"hello-world_1\"><a class=\"toclink\" href=\"#hello-world_1\">Hello, World!</a></h2>\n<h3 id=\"crate-of-the-week\"><a class=\"toclink\" href=\"#crate-of-the-week\">Crate of the Week</a></h3>\n<h1 id=\"unicode-dash\"><a class=\"toclink\" href=\"#unicode-dash\">Ünïcode — dash</a></h1>"
        );
    }

    #[test]
    fn heading_with_code_and_link() {
        assert_eq!(
            render_markdown("## `foo` and [bar](http://b)"),
            "<h2 id=\"foo-and-bar\"><a class=\"toclink\" href=\"#foo-and-bar\"><code>foo</code> and <a href=\"http://b\">bar</a></a></h2>"
        );
    }

    #[test]
    fn table_with_alignment() {
        assert_eq!(
            render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | `x|y` | 3 |"),
            "<table>\n<thead>\n<tr>\n<th style=\"text-align: left;\">a</th>\n<th style=\"text-align: center;\">b</th>\n<th style=\"text-align: right;\">c</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td style=\"text-align: left;\">1</td>\n<td style=\"text-align: center;\"><code>x|y</code></td>\n<td style=\"text-align: right;\">3</td>\n</tr>\n</tbody>\n</table>"
        );
    }

    #[test]
    fn comment_block_is_kept() {
        assert_eq!(
            render_markdown("Para\n\n<!-- more -->\n\nNext"),
            "<p>Para</p>\n<!-- more -->\n\n<p>Next</p>"
        );
    }

    #[test]
    fn raw_html_block() {
        assert_eq!(
            render_markdown("<div class=\"x\">\n*not md*\n</div>\n\nafter *md*"),
            "<div class=\"x\">\n*not md*\n</div>\n\n<p>after <em>md</em></p>"
        );
    }

    #[test]
    fn blockquote_with_list() {
        assert_eq!(
            render_markdown("> quote\n> * item\n\n> second"),
            "<blockquote>\n<p>quote\n* item</p>\n<p>second</p>\n</blockquote>"
        );
    }

    #[test]
    fn nested_lists_need_four_spaces() {
        assert_eq!(
            render_markdown("* a\n    * b\n  * c\n* d"),
            "<ul>\n<li>a<ul>\n<li>b</li>\n</ul>\n</li>\n<li>c</li>\n<li>d</li>\n</ul>"
        );
    }

    #[test]
    fn loose_list_gets_paragraphs() {
        assert_eq!(
            render_markdown("* a\n\n* b\n\n    more"),
            "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n<p>more</p>\n</li>\n</ul>"
        );
    }

    #[test]
    fn horizontal_rules() {
        assert_eq!(render_markdown("a\n\n---\n\n* * *\n\nb"), "<p>a</p>\n<hr>\n<hr>\n<p>b</p>");
    }

    #[test]
    fn setext_headings() {
        assert_eq!(
            render_markdown("Title\n=====\n\nSub\n---"),
            "<h1 id=\"title\"><a class=\"toclink\" href=\"#title\">Title</a></h1>\n<h2 id=\"sub\"><a class=\"toclink\" href=\"#sub\">Sub</a></h2>"
        );
    }

    #[test]
    fn line_break() {
        assert_eq!(render_markdown("a  \nb"), "<p>a<br>\nb</p>");
    }

    #[test]
    fn entities_and_ampersands() {
        assert_eq!(
            render_markdown("AT&T &amp; &copy; 5 < 6 > 4"),
            "<p>AT&amp;T &amp; &copy; 5 &lt; 6 &gt; 4</p>"
        );
    }

    #[test]
    fn attr_list_after_code_span() {
        assert_eq!(
            render_markdown("`Ipv`{4, 6}`Addr`s"),
            "<p><code 4_=\"4,\" 6>Ipv</code><code>Addr</code>s</p>"
        );
    }

    #[test]
    fn lone_asterisks_stay() {
        assert_eq!(render_markdown("a * b _ c ** d"), "<p>a * b _ c ** d</p>");
    }

    #[test]
    fn backslash_escapes() {
        assert_eq!(
            render_markdown("\\*not em\\* \\_x\\_ \\[y\\] \\'q\\'"),
            "<p>*not em* _x_ [y] \\'q\\'</p>"
        );
    }

    #[test]
    fn image() {
        assert_eq!(
            render_markdown("![alt *x*](http://img.png \"T\")"),
            "<p><img alt=\"alt *x*\" src=\"http://img.png\" title=\"T\"></p>"
        );
    }

    #[test]
    fn ordered_list_ignores_start() {
        assert_eq!(render_markdown("3. a\n4. b"), "<ol>\n<li>a</li>\n<li>b</li>\n</ol>");
    }

    #[test]
    fn mixed_list_markers_share_a_list() {
        assert_eq!(
            render_markdown("* a\n1. b\n- c"),
            "<ul>\n<li>a</li>\n<li>b</li>\n<li>c</li>\n</ul>"
        );
    }

    #[test]
    fn html_comment_inline() {
        assert_eq!(
            render_markdown("text <!-- hidden --> more"),
            "<p>text <!-- hidden --> more</p>"
        );
    }

    #[test]
    fn definition_lists() {
        assert_eq!(
            render_markdown(
                "Term\n: Definition\n: Another\n\nTerm 2\n\n: Loose def\n\n    indented more"
            ),
            "<dl>\n<dt>Term</dt>\n<dd>Definition</dd>\n<dd>Another</dd>\n<dt>Term 2</dt>\n<dd>\n<p>Loose def</p>\n<p>indented more</p>\n</dd>\n</dl>"
        );
        assert_eq!(
            render_markdown(": not a definition at the start"),
            "<p>: not a definition at the start</p>"
        );
    }

    #[test]
    fn blank_input_renders_nothing() {
        assert_eq!(render_markdown(""), "");
        assert_eq!(render_markdown("  \n\n "), "");
    }
}
