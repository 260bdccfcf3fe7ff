//! reStructuredText articles (the archive has one), rendered as docutils would.
//!
//! Pelican reads `.rst` files with docutils 0.23 and publishes the `body` part of its `html4css1`
//! writer (`RstReader._get_publisher`: `initial_header_level` 2). The archive holds exactly one
//! such article, `state-of-rust-0-11-0.rst` (2014), so this is not a general docutils port: it
//! covers what that article uses and a little around it, byte for byte with docutils:
//!
//! * the document title (a lone top-level section is promoted to the title, and a lone
//!   subsection to the subtitle, which the body leaves out) and the docinfo field list after it
//!   (`:date:`, `:category:`, `:slug:` …), which is metadata, not body;
//! * sections, any adornment style, with docutils' ids (`make_id`, `-1` suffixes on clashes)
//!   as `<div class="section" id="…">` and `<h2>`…`<h6>`;
//! * paragraphs, bullet lists and arabic enumerated lists (compact `class="simple"` lists when
//!   every item is a single paragraph), literal blocks after `::`, block quotes, comments,
//!   transitions;
//! * inline emphasis, strong emphasis, inline literals (`<tt class="docutils literal">`),
//!   interpreted text (`<cite>`), named references `` `text`_ `` / `word_` to `.. _text: url`
//!   targets or section titles (case- and whitespace-insensitive), embedded URIs
//!   `` `text <url>`_ `` / `__`, standalone URIs and e-mail addresses, backslash escapes.
//!
//! Anything else degrades without failing: directives, substitutions, footnotes and other
//! explicit markup become escaped paragraphs of their source text; a field list outside the
//! docinfo position becomes an escaped paragraph; a definition list comes out as a paragraph
//! and a block quote; an unresolved reference is plain text (docutils reports an error there,
//! which stops Pelican). Named references only see `.. _name: url` targets and section
//! titles, not names defined by embedded URIs elsewhere.

mod inline;
mod parse;
mod write;

use std::collections::HashSet;

use inline::{Target, Targets, encode, normalize_name, plain_text, render_inline};
use parse::*;
use unicode_normalization::UnicodeNormalization;
use write::*;

/// A reStructuredText document's identity and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RstDocument {
    /// The document title, from its first section heading, as HTML (docutils' `title` part,
    /// which Pelican uses; `&` is `&amp;`).
    pub title: Option<String>,
    /// The docinfo field list that follows the title (`:date:`, `:slug:` …), keys lowercased,
    /// values as plain text, with the 1-based line each field starts on.
    pub fields: Vec<(String, String, usize)>,
    /// The body as HTML.
    pub html: String,
}

/// Parses a reStructuredText document.
pub fn render_rst(text: &str) -> RstDocument {
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .map(|(i, l)| Line {
            no: i + 1,
            text: super::text::expand_tabs(l, 8).trim_end().to_string(),
        })
        .collect();
    let mut parser = Parser::default();
    let flat = parser.parse_blocks(&lines, true);
    let mut body = nest_sections(flat);

    let title = promote_section(&mut body);
    if title.is_some() {
        // A lone subsection becomes the subtitle, which is not part of the body.
        promote_section(&mut body);
    }
    let mut fields = Vec::new();
    if let Some(i) = first_visible(&body)
        && let Block::Fields(_) = &body[i]
        && let Block::Fields(docinfo) = body.remove(i)
    {
        fields = docinfo
            .into_iter()
            .map(|(key, value, line)| (key.to_lowercase(), plain_text(&value), line))
            .collect();
    }

    let mut writer = Writer { targets: &parser.targets, out: String::new() };
    let title = title.map(|t| {
        let mut html = String::new();
        render_inline(&t, &parser.targets, &mut html);
        html
    });
    writer.blocks(&body, Context::default());
    RstDocument { title, fields, html: writer.out }
}

/// One source line, tabs expanded and trailing whitespace stripped (as docutils does).
#[derive(Debug, Clone)]
struct Line {
    /// 1-based line number in the source.
    no: usize,
    text: String,
}

/// Body elements, with headings still flat until [`nest_sections`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    /// A section title, before nesting.
    Heading { style: (char, bool), title: String, id: String },
    /// A section: title source, id, content.
    Section { title: String, id: String, children: Vec<Block> },
    /// A paragraph's inline source.
    Paragraph(String),
    /// A literal block's text.
    Literal(String),
    /// A block quote.
    Quote(Vec<Block>),
    /// A bullet list's items.
    Bullets(Vec<Vec<Block>>),
    /// An arabic enumerated list: first number and items.
    Enumerated { start: u64, items: Vec<Vec<Block>> },
    /// A field list: name, value source, line.
    Fields(Vec<(String, String, usize)>),
    /// A comment's text.
    Comment(String),
    /// A hyperlink target (invisible).
    Target,
    /// A transition, `----`.
    Transition,
    /// Unsupported markup, kept as text.
    Unknown(String),
}

impl Block {
    /// Docutils' `Invisible` elements, which neither count as content nor show up in the body.
    fn is_invisible(&self) -> bool {
        matches!(self, Block::Comment(_) | Block::Target)
    }
}

/// The index of the first element that is not a comment or a target.
fn first_visible(blocks: &[Block]) -> Option<usize> {
    blocks.iter().position(|b| !b.is_invisible())
}

/// Docutils' `DocTitle`: when the only element besides comments and targets is one section,
/// its title becomes the document's and its content the body.
fn promote_section(body: &mut Vec<Block>) -> Option<String> {
    let i = first_visible(body)?;
    if i + 1 != body.len() {
        return None;
    }
    match body.pop() {
        Some(Block::Section { title, children, .. }) => {
            body.extend(children);
            Some(title)
        }
        Some(other) => {
            body.push(other);
            None
        }
        None => None,
    }
}

/// Turns flat headings into nested sections; levels follow the order in which adornment
/// styles first appear.
fn nest_sections(flat: Vec<Block>) -> Vec<Block> {
    let mut styles: Vec<(char, bool)> = Vec::new();
    // Open sections: (title, id, children); the root is the body itself.
    let mut root = Vec::new();
    let mut stack: Vec<(String, String, Vec<Block>)> = Vec::new();
    for block in flat {
        let Block::Heading { style, title, id } = block else {
            match stack.last_mut() {
                Some((_, _, children)) => children.push(block),
                None => root.push(block),
            }
            continue;
        };
        let level = match styles.iter().position(|s| *s == style) {
            Some(level) => level,
            None => {
                styles.push(style);
                styles.len() - 1
            }
        };
        // A level deeper than the next one is an error in docutils; nest it one deeper.
        let level = level.min(stack.len());
        while stack.len() > level {
            close_section(&mut stack, &mut root);
        }
        stack.push((title, id, Vec::new()));
    }
    while !stack.is_empty() {
        close_section(&mut stack, &mut root);
    }
    root
}

fn close_section(stack: &mut Vec<(String, String, Vec<Block>)>, root: &mut Vec<Block>) {
    if let Some((title, id, children)) = stack.pop() {
        let section = Block::Section { title, id, children };
        match stack.last_mut() {
            Some((_, _, parent)) => parent.push(section),
            None => root.push(section),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are docutils 0.23's html4css1 `body` part, as Pelican 4.7.1 gets it.

    const DOC: &str = "Doc Title\n=========\n\n:date: 2020-01-01\n:category: Rust\n\n\
        Intro with `an embedded <http://e.com/x>`_ link.\n\n\
        Section A\n---------\n\nParagraph ending in a literal::\n\n    fn main() {\n        \
        println!(\"<hi> & @\");\n    }\n\nExpanded ::\n\n  two\n\n\
        * item one\n\n  second para of item one\n* item two\n\n  - nested a\n  - nested b\n\n\
        1. first\n2. second\n\n#. auto\n\n\
        Sub Section\n~~~~~~~~~~~\n\n.. a comment here\n   more -- comment\n\n\
        Text with Zinc_ ref and `Sub Section`_.\n\n.. _Zinc: http://zinc.rs/\n\n\
        Section A\n---------\n\nDup title.\n\n    A quote.\n";

    #[test]
    fn title_fields_and_body() {
        let doc = render_rst(DOC);
        assert_eq!(doc.title.as_deref(), Some("Doc Title"));
        assert_eq!(
            doc.fields,
            vec![
                ("date".to_string(), "2020-01-01".to_string(), 4),
                ("category".to_string(), "Rust".to_string(), 5)
            ]
        );
        let expected = "<p>Intro with <a class=\"reference external\" href=\"http://e.com/x\">an \
            embedded</a> link.</p>\n\
            <div class=\"section\" id=\"section-a\">\n<h2>Section A</h2>\n\
            <p>Paragraph ending in a literal:</p>\n<pre class=\"literal-block\">\nfn main() {\n    \
            println!(&quot;&lt;hi&gt; &amp; &#64;&quot;);\n}\n</pre>\n\
            <p>Expanded</p>\n<pre class=\"literal-block\">\ntwo\n</pre>\n\
            <ul>\n<li><p class=\"first\">item one</p>\n<p>second para of item one</p>\n</li>\n\
            <li><p class=\"first\">item two</p>\n<ul class=\"simple\">\n<li>nested a</li>\n\
            <li>nested b</li>\n</ul>\n</li>\n</ul>\n\
            <ol class=\"arabic simple\">\n<li>first</li>\n<li>second</li>\n<li>auto</li>\n</ol>\n\
            <div class=\"section\" id=\"sub-section\">\n<h3>Sub Section</h3>\n\
            <!-- a comment here\nmore - - comment -->\n\
            <p>Text with <a class=\"reference external\" href=\"http://zinc.rs/\">Zinc</a> ref and \
            <a class=\"reference internal\" href=\"#sub-section\">Sub Section</a>.</p>\n</div>\n</div>\n\
            <div class=\"section\" id=\"section-a-1\">\n<h2>Section A</h2>\n<p>Dup title.</p>\n\
            <blockquote>\nA quote.</blockquote>\n</div>\n";
        assert_eq!(doc.html, expected);
    }

    #[test]
    fn make_id_like_docutils() {
        assert_eq!(
            make_id("Looking Forward (\"Is Rust ready yet?\")"),
            "looking-forward-is-rust-ready-yet"
        );
        assert_eq!(make_id("0.11 Straße"), "strasze");
        assert_eq!(make_id("État"), "etat");
    }

    #[test]
    fn unsupported_markup_becomes_escaped_text() {
        // Docutils would render an admonition here.
        let doc = render_rst("Text.\n\n.. note:: a <b>\n");
        assert_eq!(doc.html, "<p>Text.</p>\n<p>.. note:: a &lt;b&gt;</p>\n");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "([a-z ]|[\\-=*`_:.<>#()\n\t]|é|日|::|\n\n|  ){0,80}") {
            let _ = render_rst(&text);
        }
    }

    #[test]
    fn no_title_without_a_lone_section() {
        let doc = render_rst("Just text.\n\nA\n-\n\nB\n-\n");
        assert_eq!(doc.title, None);
        assert!(doc.html.starts_with("<p>Just text.</p>\n"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "",
            "\n\n",
            "::",
            "* ",
            "1.",
            ".. _",
            ".. _x:",
            ":a:",
            "=\n=\n=",
            "`x <",
            "``",
            "\\",
            "*•*",
            "é\n==",
            "(1) x\n(2)",
            "日a日",
        ] {
            let _ = render_rst(text);
        }
    }
}
