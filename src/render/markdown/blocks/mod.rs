//! The block parser: Python-Markdown's `BlockParser` and the block processors of blockprocessors.py
//! plus the `tables` extension, in their priority order.
//!
//! Text arrives split at blank lines ("blocks"); each processor tests the first block and, when
//! it accepts it, pops it, adds elements to the tree and may push remainders back.

mod matchers;
mod tables;

use matchers::*;
use std::collections::{HashMap, VecDeque};
use tables::*;

use super::abbr::{self, Abbreviations};
use super::footnotes::{self, Footnotes};
use super::tree::{Element, is_py_space, py_strip, split_lines};

const TAB: usize = 4;
const HEADINGS: [&str; 6] = ["h1", "h2", "h3", "h4", "h5", "h6"];
/// Python-Markdown stops treating `>` as a blockquote near the interpreter's recursion limit;
/// this bounds the nesting depth the same way (and keeps the native stack safe).
const MAX_DEPTH: usize = 60;

/// Link reference definitions: lowercased id → (url, title).
pub(super) type References = HashMap<String, (String, Option<String>)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Detabbed,
    List,
    LooseList,
    Blockquote,
}

pub(super) struct BlockParser {
    state: Vec<State>,
    pub references: References,
    pub footnotes: Footnotes,
    pub abbrs: Abbreviations,
    depth: usize,
}

impl BlockParser {
    pub fn new() -> Self {
        BlockParser {
            state: Vec::new(),
            references: HashMap::new(),
            footnotes: Footnotes::default(),
            abbrs: Abbreviations::new(),
            depth: 0,
        }
    }

    fn isstate(&self, s: State) -> bool {
        self.state.last() == Some(&s)
    }

    pub fn parse_chunk(&mut self, parent: &mut Element, text: &str) {
        // text.split("\n\n")
        let b = text.as_bytes();
        let mut blocks = VecDeque::new();
        let mut start = 0;
        let mut p = 0;
        while let Some(i) = super::tree::find_any(b, p, b"\n") {
            if b.get(i + 1) == Some(&b'\n') {
                blocks.push_back(text[start..i].to_string());
                start = i + 2;
                p = i + 2;
            } else {
                p = i + 1;
            }
        }
        blocks.push_back(text[start..].to_string());
        self.parse_blocks(parent, blocks);
    }

    fn parse_one(&mut self, parent: &mut Element, block: String) {
        // `VecDeque::new` does not allocate until a remainder is pushed back.
        let mut blocks = VecDeque::new();
        self.depth += 1;
        self.dispatch(parent, block, &mut blocks);
        while let Some(block) = blocks.pop_front() {
            self.dispatch(parent, block, &mut blocks);
        }
        self.depth -= 1;
    }

    fn parse_blocks(&mut self, parent: &mut Element, mut blocks: VecDeque<String>) {
        self.depth += 1;
        while let Some(block) = blocks.pop_front() {
            self.dispatch(parent, block, &mut blocks);
        }
        self.depth -= 1;
    }

    /// Runs the first processor whose test accepts `block`.
    fn dispatch(&mut self, parent: &mut Element, block: String, blocks: &mut VecDeque<String>) {
        if block.is_empty() || block.starts_with('\n') {
            return self.run_empty(parent, block, blocks);
        }
        if self.depth > 2 * MAX_DEPTH {
            // Python would hit its recursion limit; keep the text instead.
            return self.run_paragraph(parent, block);
        }
        // The processors look at the whole block, and one that splits a line off copies the
        // rest: a block of n headings costs n times its length. Past the article's work
        // budget, the rest of the block is a paragraph.
        if !crate::render::budget::charge(block.len()) {
            return self.run_paragraph(parent, block);
        }
        let indented = block.starts_with("    ");
        if indented && !self.isstate(State::Detabbed) {
            // ListIndentProcessor, then def_list's DefListIndentProcessor.
            for def in [false, true] {
                let kinds = ListKinds::new(def);
                if kinds.item(parent.tag) || parent.last_tag().is_some_and(|t| kinds.list(t)) {
                    return self.run_list_indent(parent, block, def);
                }
            }
        }
        if indented {
            return self.run_code(parent, block, blocks);
        }
        // A one-line block (most list items) can only be a heading, rule, list, quote or
        // reference when its first characters say so; skip the other searches.
        let multi = super::tree::find_any(block.as_bytes(), 0, b"\n").is_some();
        let lead = block.bytes().take_while(|&c| c == b' ').count();
        let first = if lead <= 3 { block.as_bytes().get(lead).copied() } else { None };
        if multi && let Some(sep) = table_test(&block) {
            return run_table(parent, &block, &sep);
        }
        if (multi || block.starts_with('#'))
            && let Some(m) = find_hash_header(&block)
        {
            return self.run_hash_header(parent, &block, m, blocks);
        }
        if multi && is_setext(&block) {
            return run_setext(parent, &block, blocks);
        }
        if (multi || matches!(first, Some(b'-' | b'_' | b'*')))
            && let Some((start, end)) = find_hr(&block)
        {
            return self.run_hr(parent, &block, start, end, blocks);
        }
        if olist_re(&block) {
            return self.run_list(parent, &block, "ol");
        }
        if ulist_re(&block) {
            return self.run_list(parent, &block, "ul");
        }
        if (multi || first == Some(b':'))
            && let Some(m) = find_deflist(&block)
        {
            match self.run_deflist(parent, block, m, blocks) {
                None => return,
                // Not a definition after all: the remaining processors get the block.
                Some(block) => {
                    return self.dispatch_after_deflist(parent, block, blocks, multi, first);
                }
            }
        }
        self.dispatch_after_deflist(parent, block, blocks, multi, first)
    }

    /// The processors after def_list's: blockquote, footnote, abbreviation, reference,
    /// paragraph.
    fn dispatch_after_deflist(
        &mut self,
        parent: &mut Element,
        block: String,
        blocks: &mut VecDeque<String>,
        multi: bool,
        first: Option<u8>,
    ) {
        if self.depth < MAX_DEPTH
            && (multi || first == Some(b'>'))
            && let Some(start) = find_blockquote(&block)
        {
            return self.run_blockquote(parent, &block, start);
        }
        if (multi || first == Some(b'['))
            && let Some(m) = footnotes::find_definition(&block)
        {
            return footnotes::run_definition(&block, &m, blocks, &mut self.footnotes);
        }
        if (multi || block.starts_with("*["))
            && abbr::run_definition(&block, blocks, &mut self.abbrs)
        {
            return;
        }
        if (multi || first == Some(b'['))
            && let Some(m) = find_reference(&block)
        {
            let id = py_strip(&block[m.id.0..m.id.1]).to_lowercase();
            let url = block[m.url.0..m.url.1].trim_start_matches('<').trim_end_matches('>');
            let title = m.title.map(|(a, b)| block[a..b].to_string()).filter(|t| !t.is_empty());
            self.references.insert(id, (url.to_string(), title));
            let after = &block[m.end..];
            if !py_strip(after).is_empty() {
                blocks.push_front(after.trim_start_matches('\n').to_string());
            }
            let before = &block[..m.start];
            if !py_strip(before).is_empty() {
                blocks.push_front(before.trim_end_matches('\n').to_string());
            }
            return;
        }
        self.run_paragraph(parent, block);
    }

    /// `DefListProcessor.run`. Gives the block back when it is not a definition.
    fn run_deflist(
        &mut self,
        parent: &mut Element,
        raw: String,
        m: DefMatch,
        blocks: &mut VecDeque<String>,
    ) -> Option<String> {
        let mut terms: Vec<String> = raw[..m.start]
            .split('\n')
            .map(|t| py_strip(t).to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let block = &raw[m.end..];
        let no_indent = {
            let lead = block.bytes().take(4).take_while(|&c| c == b' ').count();
            lead <= 3 && block.as_bytes().get(lead).is_some_and(|&c| c != b' ' && c != b':')
        };
        let (d, rest) = if no_indent { (block.to_string(), String::new()) } else { detab(block) };
        let first_line = &raw[m.text.0..m.text.1];
        let d = if d.is_empty() { first_line.to_string() } else { format!("{first_line}\n{d}") };
        if terms.is_empty() && parent.children.is_empty() {
            return Some(raw);
        }
        let mut state = State::List;
        if terms.is_empty() && parent.last_tag() == Some("p") {
            state = State::LooseList;
            if let Some(p) = parent.children.pop() {
                terms = p.text.split('\n').map(str::to_string).collect();
            }
        }
        if parent.last_tag() == Some("dl") {
            if let Some(dl) = parent.children.last()
                && terms.is_empty()
                && dl.children.last().is_some_and(|dd| dd.tag == "dd" && !dd.children.is_empty())
            {
                state = State::LooseList;
            }
        } else {
            parent.children.push(Element::new("dl"));
        }
        let dl = parent.children.last_mut()?;
        for term in terms {
            dl.children.push(Element::with_text("dt", term));
        }
        dl.children.push(Element::new("dd"));
        self.state.push(state);
        if let Some(dd) = dl.children.last_mut() {
            self.parse_one(dd, d);
        }
        self.state.pop();
        if !rest.is_empty() {
            blocks.push_front(rest);
        }
        None
    }

    fn run_empty(&mut self, parent: &mut Element, block: String, blocks: &mut VecDeque<String>) {
        let mut filler = "\n\n";
        if !block.is_empty() {
            filler = "\n";
            let rest = &block[1..];
            if !rest.is_empty() {
                blocks.push_front(rest.to_string());
            }
        }
        if let Some(code) = last_pre_code(parent) {
            code.text.push_str(filler);
        }
    }

    /// `ListIndentProcessor.run`, or with `def` the def_list extension's
    /// `DefListIndentProcessor` (which also knows `dl` and `dd`).
    fn run_list_indent(&mut self, parent: &mut Element, block: String, def: bool) {
        let kinds = ListKinds::new(def);
        let (level, steps) = self.get_level(parent, &block, kinds);
        let block = loose_detab(&block, level);
        self.state.push(State::Detabbed);
        if kinds.item(parent.tag) {
            if parent.last_tag().is_some_and(|t| kinds.list(t)) {
                if let Some(last) = parent.children.last_mut() {
                    self.parse_one(last, block);
                }
            } else {
                self.parse_one(parent, block);
            }
        } else {
            let sibling = descend_last(parent, steps);
            if kinds.item(sibling.tag) {
                self.parse_one(sibling, block);
            } else if sibling.last_tag().is_some_and(|t| kinds.item(t)) {
                if let Some(li) = sibling.children.last_mut() {
                    if !li.text.is_empty() {
                        let p = Element::with_text("p", std::mem::take(&mut li.text));
                        li.children.insert(0, p);
                    }
                    self.parse_chunk(li, &block);
                }
            } else {
                sibling.children.push(Element::new(if def { "dd" } else { "li" }));
                if let Some(li) = sibling.children.last_mut() {
                    self.parse_one(li, block);
                }
            }
        }
        self.state.pop();
    }

    /// `ListIndentProcessor.get_level`: the nesting level of an indented block and how many
    /// "last child" steps down from `parent` its list (or item) is.
    fn get_level(&self, parent: &Element, block: &str, kinds: ListKinds) -> (usize, usize) {
        let spaces = block.bytes().take_while(|&b| b == b' ').count();
        let indent_level = spaces / TAB;
        let mut level = usize::from(self.isstate(State::List));
        let mut steps = 0;
        let mut cur = parent;
        while indent_level > level {
            match cur.children.last() {
                Some(child) if kinds.list(child.tag) || kinds.item(child.tag) => {
                    if kinds.list(child.tag) {
                        level += 1;
                    }
                    cur = child;
                    steps += 1;
                }
                _ => break,
            }
        }
        (level, steps)
    }

    fn run_code(&mut self, parent: &mut Element, block: String, blocks: &mut VecDeque<String>) {
        let (block, rest) = detab(&block);
        let body = code_escape(block.trim_end_matches(is_py_space));
        if let Some(code) = last_pre_code(parent) {
            code.text = format!("{}\n{}\n", code.text, body);
        } else {
            let mut pre = Element::new("pre");
            let mut code = Element::with_text("code", body + "\n");
            code.atomic = true;
            pre.children.push(code);
            parent.children.push(pre);
        }
        if !rest.is_empty() {
            blocks.push_front(rest);
        }
    }

    fn run_hash_header(
        &mut self,
        parent: &mut Element,
        block: &str,
        m: HashHeader,
        blocks: &mut VecDeque<String>,
    ) {
        let before = &block[..m.start];
        let after = &block[m.end..];
        if !before.is_empty() {
            self.parse_one(parent, before.to_string());
        }
        let mut h = Element::new(HEADINGS[m.level - 1]);
        h.text = py_strip(&block[m.header.0..m.header.1]).to_string();
        parent.children.push(h);
        if !after.is_empty() {
            let after = if self.isstate(State::LooseList) {
                loose_detab(after, 1)
            } else {
                after.to_string()
            };
            blocks.push_front(after);
        }
    }

    fn run_hr(
        &mut self,
        parent: &mut Element,
        block: &str,
        start: usize,
        end: usize,
        blocks: &mut VecDeque<String>,
    ) {
        let prelines = block[..start].trim_end_matches('\n');
        if !prelines.is_empty() {
            self.parse_one(parent, prelines.to_string());
        }
        parent.children.push(Element::new("hr"));
        let postlines = block[end..].trim_start_matches('\n');
        if !postlines.is_empty() {
            blocks.push_front(postlines.to_string());
        }
    }

    fn run_list(&mut self, parent: &mut Element, block: &str, tag: &'static str) {
        let mut items: VecDeque<String> = get_items(block).into();
        let sibling_is_list = parent.last_tag().is_some_and(|t| t == "ol" || t == "ul");
        let lst: &mut Element = if sibling_is_list {
            let Some(lst) = parent.children.last_mut() else { return };
            if let Some(li) = lst.children.last_mut() {
                if !li.text.is_empty() {
                    let p = Element::with_text("p", std::mem::take(&mut li.text));
                    li.children.insert(0, p);
                }
                if let Some(lch) = li.children.last_mut()
                    && !lch.tail.is_empty()
                {
                    let text = lch.tail.trim_start_matches(is_py_space).to_string();
                    lch.tail.clear();
                    li.children.push(Element::with_text("p", text));
                }
            }
            lst.children.push(Element::new("li"));
            self.state.push(State::LooseList);
            if let (Some(first), Some(li)) = (items.pop_front(), lst.children.last_mut()) {
                self.parse_one(li, first);
            }
            self.state.pop();
            lst
        } else if parent.tag == "ol" || parent.tag == "ul" {
            parent
        } else {
            parent.children.push(Element::new(tag));
            match parent.children.last_mut() {
                Some(l) => l,
                None => return,
            }
        };
        self.state.push(State::List);
        for item in items {
            if item.starts_with("    ") && !lst.children.is_empty() {
                if let Some(li) = lst.children.last_mut() {
                    self.parse_one(li, item);
                }
            } else {
                lst.children.push(Element::new("li"));
                if let Some(li) = lst.children.last_mut() {
                    self.parse_one(li, item);
                }
            }
        }
        self.state.pop();
    }

    fn run_blockquote(&mut self, parent: &mut Element, block: &str, start: usize) {
        let before = &block[..start];
        self.parse_one(parent, before.to_string());
        let cleaned: Vec<&str> = block[start..].split('\n').map(clean_quote_line).collect();
        let text = cleaned.join("\n");
        if parent.last_tag() != Some("blockquote") {
            parent.children.push(Element::new("blockquote"));
        }
        self.state.push(State::Blockquote);
        if let Some(quote) = parent.children.last_mut() {
            self.parse_chunk(quote, &text);
        }
        self.state.pop();
    }

    fn run_paragraph(&mut self, parent: &mut Element, block: String) {
        if py_strip(&block).is_empty() {
            return;
        }
        if self.isstate(State::List) {
            if let Some(sibling) = parent.children.last_mut() {
                if sibling.tail.is_empty() {
                    sibling.tail = format!("\n{block}");
                } else {
                    sibling.tail.push('\n');
                    sibling.tail.push_str(&block);
                }
            } else if parent.text.is_empty() {
                parent.text = lstrip(block);
            } else {
                parent.text.push('\n');
                parent.text.push_str(&block);
            }
        } else {
            parent.children.push(Element::with_text("p", lstrip(block)));
        }
    }
}

/// `block.lstrip()`, reusing the string when there is nothing to strip.
fn lstrip(block: String) -> String {
    let trimmed = block.trim_start_matches(is_py_space);
    if trimmed.len() == block.len() { block } else { trimmed.to_string() }
}

fn descend_last(el: &mut Element, steps: usize) -> &mut Element {
    if steps == 0 || el.children.is_empty() {
        return el;
    }
    let last = el.children.len() - 1;
    descend_last(&mut el.children[last], steps - 1)
}

fn last_pre_code(parent: &mut Element) -> Option<&mut Element> {
    let pre = parent.children.last_mut().filter(|p| p.tag == "pre")?;
    pre.children.first_mut().filter(|c| c.tag == "code")
}

/// `util.code_escape`.
pub(super) fn code_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// `BlockProcessor.detab`: (dedented leading lines, the rest).
fn detab(text: &str) -> (String, String) {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut new = Vec::new();
    for line in &lines {
        if let Some(rest) = line.strip_prefix("    ") {
            new.push(rest);
        } else if py_strip(line).is_empty() {
            new.push("");
        } else {
            break;
        }
    }
    let rest = lines[new.len()..].join("\n");
    (new.join("\n"), rest)
}

/// `BlockProcessor.looseDetab`.
fn loose_detab(text: &str, level: usize) -> String {
    let prefix = " ".repeat(TAB * level);
    text.split('\n')
        .map(|l| l.strip_prefix(prefix.as_str()).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}
