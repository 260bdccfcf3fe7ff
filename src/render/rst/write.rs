//! The HTML writer: [`Block`]s into the HTML docutils' `html4css1` writer produces as Pelican
//! configures it.

use super::*;

/// Where the writer is: inside a compact list, and how deep in sections.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context {
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
pub(super) struct Writer<'a> {
    pub(super) targets: &'a Targets,
    pub(super) out: String,
}

impl Writer<'_> {
    pub(super) fn blocks(&mut self, blocks: &[Block], ctx: Context) {
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
    pub(super) fn block(&mut self, block: &Block, ctx: Context, first: bool, compact: bool) {
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

    pub(super) fn paragraph(&mut self, text: &str, first: bool, compact: bool) {
        if compact {
            render_inline(text, self.targets, &mut self.out);
            return;
        }
        self.out.push_str(if first { "<p class=\"first\">" } else { "<p>" });
        render_inline(text, self.targets, &mut self.out);
        self.out.push_str("</p>\n");
    }

    pub(super) fn unknown(&mut self, text: &str, first: bool) {
        self.out.push_str(if first { "<p class=\"first\">" } else { "<p>" });
        encode(text, &mut self.out);
        self.out.push_str("</p>\n");
    }

    pub(super) fn list(
        &mut self,
        tag: &str,
        classes: &[&str],
        start: Option<u64>,
        items: &[Vec<Block>],
        ctx: Context,
        first: bool,
    ) {
        // Each list walks the lists nested in it (as docutils does): depth times size. Past
        // the work budget, lists are written loose, which is valid and bounded.
        let compact = !crate::render::budget::spent() && items.iter().all(|i| is_simple_item(i));
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
pub(super) fn is_simple_item(item: &[Block]) -> bool {
    crate::render::budget::charge(8 + 8 * item.len());
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
