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

use std::collections::HashSet;

use inline::{Target, Targets, encode, normalize_name, plain_text, render_inline};
use unicode_normalization::UnicodeNormalization;

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

/// The block parser; collects targets and hands out ids in document order.
#[derive(Default)]
struct Parser {
    targets: Targets,
    ids: HashSet<String>,
}

impl Parser {
    /// Parses a run of lines (dedented to column 0) into blocks. Headings only count at the
    /// top level.
    fn parse_blocks(&mut self, lines: &[Line], top: bool) -> Vec<Block> {
        let mut blocks = Vec::new();
        let mut literal_next = false;
        let mut i = 0;
        while i < lines.len() {
            let text = lines[i].text.as_str();
            if text.is_empty() {
                i += 1;
                continue;
            }
            if indent_of(text) > 0 {
                let end = indented_end(lines, i);
                let inner = dedent(&lines[i..end]);
                if literal_next {
                    let body: Vec<&str> = inner.iter().map(|l| l.text.as_str()).collect();
                    blocks.push(Block::Literal(body.join("\n")));
                } else {
                    blocks.push(Block::Quote(self.parse_blocks(&inner, false)));
                }
                literal_next = false;
                i = end;
                continue;
            }
            literal_next = false;
            if top && let Some((heading, next)) = self.heading_at(lines, i) {
                blocks.push(heading);
                i = next;
                continue;
            }
            if is_adornment(text)
                && text.len() >= 4
                && lines.get(i + 1).is_none_or(|l| l.text.is_empty())
            {
                blocks.push(Block::Transition);
                i += 1;
                continue;
            }
            if text == ".." || text.starts_with(".. ") {
                let end = indented_end(lines, i + 1);
                blocks.push(self.explicit_markup(&lines[i..end]));
                i = end;
                continue;
            }
            if bullet_width(text).is_some() {
                let bullet = text.chars().next();
                let (items, end) = self.list_items(lines, i, |t| {
                    bullet_width(t).filter(|_| t.chars().next() == bullet)
                });
                blocks.push(Block::Bullets(items));
                i = end;
                continue;
            }
            if let Some(enumerator) = enumerator_at(text)
                && lines.get(i + 1).is_none_or(|l| {
                    l.text.is_empty() || indent_of(&l.text) > 0 || enumerator_at(&l.text).is_some()
                })
            {
                let (items, end) = self.list_items(lines, i, |t| {
                    enumerator_at(t).filter(|e| e.format == enumerator.format).map(|e| e.width)
                });
                blocks.push(Block::Enumerated { start: enumerator.value.unwrap_or(1), items });
                i = end;
                continue;
            }
            if field_at(text).is_some() {
                let (fields, end) = field_list(lines, i);
                // Outside the docinfo position, the writer shows it as text.
                blocks.push(Block::Fields(fields));
                i = end;
                continue;
            }
            // A paragraph: up to a blank or indented line.
            let end = lines[i..]
                .iter()
                .position(|l| l.text.is_empty() || indent_of(&l.text) > 0)
                .map_or(lines.len(), |p| i + p);
            let mut para: String =
                lines[i..end].iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n");
            if let Some(stripped) = para.strip_suffix("::") {
                literal_next = true;
                para = if stripped.is_empty() {
                    String::new()
                } else if let Some(before) = stripped.strip_suffix(char::is_whitespace) {
                    before.trim_end().to_string()
                } else {
                    format!("{stripped}:")
                };
            }
            if !para.is_empty() {
                blocks.push(Block::Paragraph(para));
            }
            i = end;
        }
        blocks
    }

    /// A section title at `i`, underlined or over- and underlined: the heading and the line
    /// after it.
    fn heading_at(&mut self, lines: &[Line], i: usize) -> Option<(Block, usize)> {
        let text = lines[i].text.as_str();
        let next = lines.get(i + 1).map(|l| l.text.as_str());
        let (style, title, end) = if is_adornment(text)
            && let Some(title) = next
            && !title.is_empty()
            && lines.get(i + 2).is_some_and(|l| l.text == text)
        {
            ((adornment_char(text)?, true), title.trim(), i + 3)
        } else if let Some(under) = next
            && is_adornment(under)
            && (under.chars().count() >= text.chars().count() || under.len() >= 4)
        {
            ((adornment_char(under)?, false), text.trim(), i + 2)
        } else {
            return None;
        };
        let id = self.new_id(&make_id(&plain_text(title)));
        // The title is also an implicit target; explicit targets win.
        self.targets
            .entry(normalize_name(&plain_text(title)))
            .or_insert_with(|| Target::Internal(id.clone()));
        Some((Block::Heading { style, title: title.to_string(), id }, end))
    }

    /// Reserves an id like `document.set_id` does: `make_id(name)`, or `name-1`, `name-2` …
    /// when it is taken, or `section-1` … when it is empty.
    fn new_id(&mut self, base: &str) -> String {
        let prefix = if base.is_empty() { "section".to_string() } else { base.to_string() };
        if !base.is_empty() && self.ids.insert(base.to_string()) {
            return base.to_string();
        }
        let mut n = 1;
        loop {
            let id = format!("{prefix}-{n}");
            if self.ids.insert(id.clone()) {
                return id;
            }
            n += 1;
        }
    }

    /// `.. something`: a hyperlink target, a comment, or unsupported markup.
    fn explicit_markup(&mut self, lines: &[Line]) -> Block {
        let first = lines[0].text.get(2..).unwrap_or("").trim_start();
        let rest = dedent(&lines[1..]);
        let rest: Vec<&str> = rest.iter().map(|l| l.text.as_str()).collect();
        let source = || {
            let all: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
            Block::Unknown(all.join("\n").trim_end().to_string())
        };
        if let Some(target) = first.strip_prefix('_') {
            let Some((name, url)) = split_target(target) else {
                return source();
            };
            let url: String = std::iter::once(url)
                .chain(rest.iter().copied())
                .flat_map(str::split_whitespace)
                .collect();
            if name != "_" && !url.is_empty() {
                let name = normalize_name(&inline::unescape(name));
                self.new_id(&make_id(&name));
                // A later duplicate is an error in docutils; keep the first.
                if !matches!(self.targets.get(&name), Some(Target::External(_))) {
                    self.targets.insert(name, Target::External(url));
                }
            }
            return Block::Target;
        }
        let is_directive = first.split_once("::").is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "-_:.+".contains(c))
        });
        if is_directive || first.starts_with('[') || first.starts_with('|') {
            return source();
        }
        let mut comment = vec![first];
        comment.extend(rest);
        let comment = comment.join("\n");
        Block::Comment(comment.trim_matches('\n').to_string())
    }

    /// A list's items from `i` on, for as long as lines start with a marker `marker` accepts
    /// (returning the marker's width).
    fn list_items(
        &mut self,
        lines: &[Line],
        mut i: usize,
        marker: impl Fn(&str) -> Option<usize>,
    ) -> (Vec<Vec<Block>>, usize) {
        let mut items = Vec::new();
        while let Some(width) = lines.get(i).and_then(|l| marker(&l.text)) {
            let end = indented_end(lines, i + 1);
            let first = Line { no: lines[i].no, text: lines[i].text[width..].to_string() };
            let mut item = vec![first];
            item.extend(dedent(&lines[i + 1..end]));
            items.push(self.parse_blocks(&item, false));
            i = end;
            while lines.get(i).is_some_and(|l| l.text.is_empty()) {
                i += 1;
            }
        }
        (items, i)
    }
}

/// Splits a target's `name: url` (the name may be backquoted and may escape colons).
fn split_target(target: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = target.strip_prefix('`') {
        let close = quoted.find("`:")?;
        return Some((&quoted[..close], &quoted[close + 2..]));
    }
    let bytes = target.as_bytes();
    let colon = (0..bytes.len()).find(|&p| {
        bytes[p] == b':'
            && (p == 0 || bytes[p - 1] != b'\\')
            && bytes.get(p + 1).is_none_or(|c| c.is_ascii_whitespace())
    })?;
    Some((&target[..colon], &target[colon + 1..]))
}

/// The width of a bullet marker and its spaces (`* `), if `text` starts a bullet item.
fn bullet_width(text: &str) -> Option<usize> {
    let c = text.chars().next()?;
    if !matches!(c, '*' | '+' | '-' | '•' | '‣' | '⁃') {
        return None;
    }
    let after = &text[c.len_utf8()..];
    if after.is_empty() {
        return Some(c.len_utf8());
    }
    let spaces = after.len() - after.trim_start_matches(' ').len();
    (spaces > 0).then_some(c.len_utf8() + spaces)
}

/// An enumerated list item's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Enumerator {
    /// `.`, `)` or `()` (as `'('`).
    format: char,
    /// The number, `None` for `#`.
    value: Option<u64>,
    /// Marker width, with its spaces.
    width: usize,
}

/// An arabic (or `#`) enumerator at the start of `text`: `1.`, `1)`, `(1)`.
fn enumerator_at(text: &str) -> Option<Enumerator> {
    let (inner, parens) = match text.strip_prefix('(') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    let (value, len) = if digits > 0 {
        (Some(inner[..digits].parse().ok()?), digits)
    } else if inner.starts_with('#') {
        (None, 1)
    } else {
        return None;
    };
    let format = match (inner[len..].chars().next()?, parens) {
        ('.', false) => '.',
        (')', false) => ')',
        (')', true) => '(',
        _ => return None,
    };
    let marker = usize::from(parens) + len + 1;
    let after = &text[marker..];
    let spaces = after.len() - after.trim_start_matches(' ').len();
    if !after.is_empty() && spaces == 0 {
        return None;
    }
    Some(Enumerator { format, value, width: marker + spaces })
}

/// `:name: value` at the start of `text`: the name and the value's first line.
fn field_at(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(':')?;
    let bytes = rest.as_bytes();
    let colon = (1..bytes.len()).find(|&p| {
        bytes[p] == b':' && bytes[p - 1] != b'\\' && bytes.get(p + 1).is_none_or(|&c| c == b' ')
    })?;
    let name = &rest[..colon];
    if name.starts_with(' ') || name.ends_with(' ') {
        return None;
    }
    Some((name, rest[colon + 1..].trim()))
}

/// A field list from `i` on: fields (name, value source, line) and the line after it.
fn field_list(lines: &[Line], mut i: usize) -> (Vec<(String, String, usize)>, usize) {
    let mut fields = Vec::new();
    while let Some((name, first)) = lines.get(i).and_then(|l| field_at(&l.text)) {
        let end = indented_end(lines, i + 1);
        let mut value = vec![first.to_string()];
        value.extend(dedent(&lines[i + 1..end]).into_iter().map(|l| l.text));
        let value = value.join("\n").trim().to_string();
        fields.push((name.to_string(), value, lines[i].no));
        i = end;
        while lines.get(i).is_some_and(|l| l.text.is_empty()) {
            i += 1;
        }
    }
    (fields, i)
}

/// Whether `text` is a section adornment: one repeated punctuation character.
fn is_adornment(text: &str) -> bool {
    text.len() >= 2 && adornment_char(text).is_some()
}

fn adornment_char(text: &str) -> Option<char> {
    let c = text.chars().next()?;
    (c.is_ascii_punctuation() && text.chars().all(|d| d == c)).then_some(c)
}

fn indent_of(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

/// The end of the indented block starting at `i`: the first non-blank line at column 0.
fn indented_end(lines: &[Line], i: usize) -> usize {
    let end = lines
        .get(i..)
        .unwrap_or_default()
        .iter()
        .position(|l| !l.text.is_empty() && indent_of(&l.text) == 0)
        .map_or(lines.len(), |p| i + p);
    // Trailing blank lines belong to what follows.
    let mut end = end.max(i);
    while end > i && lines[end - 1].text.is_empty() {
        end -= 1;
    }
    end
}

/// Removes the common indentation of `lines`.
fn dedent(lines: &[Line]) -> Vec<Line> {
    let indent =
        lines.iter().filter(|l| !l.text.is_empty()).map(|l| indent_of(&l.text)).min().unwrap_or(0);
    lines
        .iter()
        .map(|l| Line { no: l.no, text: l.text.get(indent..).unwrap_or("").to_string() })
        .collect()
}

/// Docutils' `make_id`: lowercase ASCII letters and digits joined by single hyphens, starting
/// with a letter. (Docutils also transliterates a few letters such as `ø` and `ß` first.)
fn make_id(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut translated = String::with_capacity(lower.len());
    for c in lower.chars() {
        match c {
            'ß' => translated.push_str("sz"),
            'æ' => translated.push_str("ae"),
            'œ' => translated.push_str("oe"),
            'ø' => translated.push('o'),
            'đ' => translated.push('d'),
            'ħ' => translated.push('h'),
            'ı' => translated.push('i'),
            'ł' => translated.push('l'),
            _ => translated.push(c),
        }
    }
    let ascii: String = translated.nfkd().filter(char::is_ascii).collect();
    let mut id = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_start_matches(|c: char| c == '-' || c.is_ascii_digit())
        .trim_end_matches('-')
        .to_string()
}

/// Where the writer is: inside a compact list, and how deep in sections.
#[derive(Debug, Clone, Copy)]
struct Context {
    /// `compact_simple`: paragraphs that open a list item lose their `<p>`.
    compact: bool,
    /// `compact_p`: a lone paragraph in a block quote loses its `<p>` (true outside lists).
    compact_p: bool,
    /// Whether the blocks being written sit directly in the document or a section, where
    /// paragraphs are never compact.
    in_flow: bool,
    /// Section depth; a section at depth 1 has an `<h2>`.
    depth: usize,
}

impl Default for Context {
    fn default() -> Self {
        Context { compact: false, compact_p: true, in_flow: true, depth: 0 }
    }
}

/// The `html4css1` writer, `body` part only.
struct Writer<'a> {
    targets: &'a Targets,
    out: String,
}

impl Writer<'_> {
    fn blocks(&mut self, blocks: &[Block], ctx: Context) {
        let leading = first_visible(blocks);
        let alone = blocks.iter().filter(|b| !b.is_invisible()).count() == 1;
        for (i, block) in blocks.iter().enumerate() {
            let compact =
                !ctx.in_flow && leading == Some(i) && (ctx.compact || (ctx.compact_p && alone));
            self.block(block, ctx, false, compact);
        }
    }

    /// Writes one block; `first` is the list item's `first` class, `compact` whether a
    /// paragraph loses its `<p>` (`should_be_compact_paragraph`).
    fn block(&mut self, block: &Block, ctx: Context, first: bool, compact: bool) {
        let class = if first { " class=\"first\"" } else { "" };
        match block {
            Block::Heading { title, .. } => {
                // Headings are nested before writing; keep the text if one is left over.
                self.paragraph(title, first, compact);
            }
            Block::Section { title, id, children } => {
                let depth = ctx.depth + 1;
                let level = (depth + 1).min(6);
                self.out.push_str("<div class=\"section\" id=\"");
                encode(id, &mut self.out);
                self.out.push_str(&format!("\">\n<h{level}>"));
                render_inline(title, self.targets, &mut self.out);
                self.out.push_str(&format!("</h{level}>\n"));
                self.blocks(children, Context { depth, in_flow: true, ..ctx });
                self.out.push_str("</div>\n");
            }
            Block::Paragraph(text) => self.paragraph(text, first, compact),
            Block::Literal(text) => {
                let classes = if first { "first literal-block" } else { "literal-block" };
                self.out.push_str(&format!("<pre class=\"{classes}\">\n"));
                encode(text, &mut self.out);
                self.out.push_str("\n</pre>\n");
            }
            Block::Quote(children) => {
                self.out.push_str(&format!("<blockquote{class}>\n"));
                self.blocks(children, Context { in_flow: false, ..ctx });
                self.out.push_str("</blockquote>\n");
            }
            Block::Bullets(items) => self.list("ul", &[], None, items, ctx, first),
            Block::Enumerated { start, items } => {
                self.list("ol", &["arabic"], (*start != 1).then_some(*start), items, ctx, first);
            }
            Block::Comment(text) => {
                self.out.push_str("<!-- ");
                // Docutils breaks up `--`, which may not appear in an HTML comment.
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    self.out.push(c);
                    if c == '-' && chars.peek() == Some(&'-') {
                        self.out.push(' ');
                    }
                }
                self.out.push_str(" -->\n");
            }
            Block::Target => {}
            Block::Transition => self.out.push_str("<hr class=\"docutils\" />\n"),
            Block::Fields(fields) => {
                let text: Vec<String> =
                    fields.iter().map(|(name, value, _)| format!(":{name}: {value}")).collect();
                self.unknown(&text.join("\n"), first);
            }
            Block::Unknown(text) => self.unknown(text, first),
        }
    }

    fn paragraph(&mut self, text: &str, first: bool, compact: bool) {
        if compact {
            render_inline(text, self.targets, &mut self.out);
            return;
        }
        self.out.push_str(if first { "<p class=\"first\">" } else { "<p>" });
        render_inline(text, self.targets, &mut self.out);
        self.out.push_str("</p>\n");
    }

    fn unknown(&mut self, text: &str, first: bool) {
        self.out.push_str(if first { "<p class=\"first\">" } else { "<p>" });
        encode(text, &mut self.out);
        self.out.push_str("</p>\n");
    }

    fn list(
        &mut self,
        tag: &str,
        classes: &[&str],
        start: Option<u64>,
        items: &[Vec<Block>],
        ctx: Context,
        first: bool,
    ) {
        let compact = items.iter().all(|item| is_simple_item(item));
        let mut all: Vec<&str> = Vec::new();
        if first {
            all.push("first");
        }
        all.extend(classes);
        if compact && !ctx.compact {
            all.push("simple");
        }
        self.out.push('<');
        self.out.push_str(tag);
        if !all.is_empty() {
            self.out.push_str(&format!(" class=\"{}\"", all.join(" ")));
        }
        // Docutils sorts attributes: `class` before `start`.
        if let Some(start) = start {
            self.out.push_str(&format!(" start=\"{start}\""));
        }
        self.out.push_str(">\n");
        let inner = Context { compact, compact_p: false, in_flow: false, ..ctx };
        for item in items {
            self.out.push_str("<li>");
            let leading = first_visible(item);
            for (i, block) in item.iter().enumerate() {
                self.block(block, inner, i == 0, compact && leading == Some(i));
            }
            self.out.push_str("</li>\n");
        }
        self.out.push_str(&format!("</{tag}>\n"));
    }
}

/// Docutils' `SimpleListChecker` for one item: at most one visible element, not counting a
/// list that follows a first paragraph; nested lists must be simple too.
fn is_simple_item(item: &[Block]) -> bool {
    let mut visible: Vec<&Block> = item.iter().filter(|b| !b.is_invisible()).collect();
    if visible.len() >= 2
        && matches!(visible[0], Block::Paragraph(_))
        && matches!(visible.last(), Some(Block::Bullets(_) | Block::Enumerated { .. }))
    {
        match visible.pop() {
            Some(Block::Bullets(items) | Block::Enumerated { items, .. }) => {
                if !items.iter().all(|i| is_simple_item(i)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    match visible.as_slice() {
        [] | [Block::Paragraph(_) | Block::Literal(_) | Block::Comment(_) | Block::Unknown(_)] => {
            true
        }
        [Block::Bullets(items) | Block::Enumerated { items, .. }] => {
            items.iter().all(|i| is_simple_item(i))
        }
        [Block::Quote(children)] => is_simple_item(children),
        _ => false,
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
