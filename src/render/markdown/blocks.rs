//! The block parser: Python-Markdown's `BlockParser` and the block processors of blockprocessors.py
//! plus the `tables` extension, in their priority order.
//!
//! Text arrives split at blank lines ("blocks"); each processor tests the first block and, when
//! it accepts it, pops it, adds elements to the tree and may push remainders back.

use std::collections::{HashMap, VecDeque};

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

/// Which tags `ListIndentProcessor` (or def_list's variant) treats as lists and items.
#[derive(Clone, Copy)]
struct ListKinds {
    def: bool,
}

impl ListKinds {
    fn new(def: bool) -> Self {
        ListKinds { def }
    }

    fn list(self, tag: &str) -> bool {
        matches!(tag, "ul" | "ol") || (self.def && tag == "dl")
    }

    fn item(self, tag: &str) -> bool {
        tag == "li" || (self.def && tag == "dd")
    }
}

struct DefMatch {
    start: usize,
    end: usize,
    /// `(.*?)`: the definition's first line.
    text: (usize, usize),
}

/// `DefListProcessor.RE` (`(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)`) searched in the block.
fn find_deflist(block: &str) -> Option<DefMatch> {
    if !block.contains(':') {
        return None;
    }
    let b = block.as_bytes();
    let mut start = 0;
    for line in split_lines(block) {
        let lead = line.bytes().take(4).take_while(|&c| c == b' ').count();
        let lb = line.as_bytes();
        if lead <= 3 && lb.get(lead) == Some(&b':') {
            let spaces = lb[lead + 1..].iter().take(3).take_while(|&&c| c == b' ').count();
            if spaces > 0 {
                let text = (start + lead + 1 + spaces, start + line.len());
                let line_end = start + line.len();
                let end = if line_end < b.len() { line_end + 1 } else { line_end };
                let m_start = if start == 0 { 0 } else { start - 1 };
                return Some(DefMatch { start: m_start, end, text });
            }
        }
        start += line.len() + 1;
    }
    None
}

struct HashHeader {
    start: usize,
    end: usize,
    level: usize,
    header: (usize, usize),
}

/// `HashHeaderProcessor.RE`:
/// `(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\])*?)#*(?:\n|$)` searched in the block.
fn find_hash_header(block: &str) -> Option<HashHeader> {
    if !block.contains('#') {
        return None;
    }
    let b = block.as_bytes();
    let mut line = 0;
    loop {
        if b.get(line) == Some(&b'#')
            && let Some(m) = hash_header_at(block, line)
        {
            return Some(m);
        }
        line = b[line..].iter().position(|&c| c == b'\n')? + line + 1;
    }
}

fn hash_header_at(block: &str, line: usize) -> Option<HashHeader> {
    let b = block.as_bytes();
    let hashes = b[line..].iter().take_while(|&&c| c == b'#').count();
    let level = hashes.min(6);
    let hstart = line + level;
    let mut q = hstart;
    loop {
        let r = q + b[q..].iter().take_while(|&&c| c == b'#').count();
        // `$` also matches before a final newline; `\n` covers that case.
        if r == b.len() || b[r] == b'\n' {
            let end = if r < b.len() { r + 1 } else { r };
            let start = if line == 0 { 0 } else { line - 1 };
            return Some(HashHeader { start, end, level, header: (hstart, q) });
        }
        if b[q] == b'\\' {
            // `\\.`: a backslash needs a following character other than a newline.
            let c = block[q + 1..].chars().next()?;
            if c == '\n' {
                return None;
            }
            q += 1 + c.len_utf8();
        } else {
            q += block[q..].chars().next().map_or(1, char::len_utf8);
        }
    }
}

/// `SetextHeaderProcessor.RE`: the second line is all `=`/`-` (then spaces).
fn is_setext(block: &str) -> bool {
    let mut lines = block.split('\n');
    lines.next();
    let Some(second) = lines.next() else { return false };
    let marks = second.bytes().take_while(|&c| c == b'=' || c == b'-').count();
    marks > 0 && second[marks..].bytes().all(|c| c == b' ')
}

fn run_setext(parent: &mut Element, block: &str, blocks: &mut VecDeque<String>) {
    let lines: Vec<&str> = block.split('\n').collect();
    let level = if lines[1].starts_with('=') { 1 } else { 2 };
    parent.children.push(Element::with_text(HEADINGS[level - 1], py_strip(lines[0])));
    if lines.len() > 2 {
        blocks.push_front(lines[2..].join("\n"));
    }
}

/// `HRProcessor.SEARCH_RE`: (line start, line end) of the first horizontal rule line.
fn find_hr(block: &str) -> Option<(usize, usize)> {
    if !block.contains(['-', '_', '*']) {
        return None;
    }
    let mut start = 0;
    for line in split_lines(block) {
        if is_hr(line) {
            return Some((start, start + line.len()));
        }
        start += line.len() + 1;
    }
    None
}

fn is_hr(line: &str) -> bool {
    let b = line.as_bytes();
    let lead = b.iter().take_while(|&&c| c == b' ').count();
    if lead > 3 {
        return false;
    }
    let rest = &b[lead..];
    let Some(&ch) = rest.first() else { return false };
    if !matches!(ch, b'-' | b'_' | b'*') {
        return false;
    }
    let body_end = rest.iter().rposition(|&c| c == ch).map_or(0, |p| p + 1);
    if rest[body_end..].iter().any(|&c| c != b' ') {
        return false;
    }
    let mut count = 0;
    let mut gap = 0;
    for &c in &rest[..body_end] {
        if c == ch {
            count += 1;
            gap = 0;
        } else if c == b' ' {
            gap += 1;
            if gap > 2 {
                return false;
            }
        } else {
            return false;
        }
    }
    count >= 3
}

/// `OListProcessor.RE`: `^[ ]{0,3}\d+\.[ ]+`.
fn olist_re(block: &str) -> bool {
    let b = block.as_bytes();
    let lead = b.iter().take(4).take_while(|&&c| c == b' ').count();
    if lead > 3 {
        return false;
    }
    let digits = b[lead..].iter().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && b.get(lead + digits) == Some(&b'.') && b.get(lead + digits + 1) == Some(&b' ')
}

/// `UListProcessor.RE`: `^[ ]{0,3}[*+-][ ]+`.
fn ulist_re(block: &str) -> bool {
    let b = block.as_bytes();
    let lead = b.iter().take(4).take_while(|&&c| c == b' ').count();
    lead <= 3 && matches!(b.get(lead), Some(b'*' | b'+' | b'-')) && b.get(lead + 1) == Some(&b' ')
}

/// `CHILD_RE` (`^[ ]{0,3}((\d+\.)|[*+-])[ ]+(.*)`): the item text.
fn child_re(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    let lead = b.iter().take(4).take_while(|&&c| c == b' ').count();
    if lead > 3 {
        return None;
    }
    let digits = b[lead..].iter().take_while(|c| c.is_ascii_digit()).count();
    let marker_end = if digits > 0 {
        if b.get(lead + digits) != Some(&b'.') {
            return None;
        }
        lead + digits + 1
    } else if matches!(b.get(lead), Some(b'*' | b'+' | b'-')) {
        lead + 1
    } else {
        return None;
    };
    let spaces = b[marker_end..].iter().take_while(|&&c| c == b' ').count();
    (spaces > 0).then(|| &line[marker_end + spaces..])
}

/// `INDENT_RE` (`^[ ]{4,7}((\d+\.)|[*+-])[ ]+.*`).
fn indent_re(line: &str) -> bool {
    let lead = line.bytes().take_while(|&c| c == b' ').count();
    (4..=7).contains(&lead) && child_re(&line[lead..]).is_some()
}

/// `OListProcessor.get_items`.
fn get_items(block: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in split_lines(block) {
        if let Some(text) = child_re(line) {
            items.push(text.to_string());
        } else if indent_re(line) {
            match items.last_mut() {
                Some(last) if last.starts_with("    ") => {
                    last.push('\n');
                    last.push_str(line);
                }
                _ => items.push(line.to_string()),
            }
        } else if let Some(last) = items.last_mut() {
            last.push('\n');
            last.push_str(line);
        } else {
            items.push(line.to_string());
        }
    }
    items
}

/// `BlockQuoteProcessor.RE` (`(^|\n)[ ]{0,3}>[ ]?(.*)`) searched: the match start.
fn find_blockquote(block: &str) -> Option<usize> {
    if !block.contains('>') {
        return None;
    }
    let mut start = 0;
    for line in split_lines(block) {
        let lead = line.bytes().take(4).take_while(|&c| c == b' ').count();
        if lead <= 3 && line.as_bytes().get(lead) == Some(&b'>') {
            return Some(if start == 0 { 0 } else { start - 1 });
        }
        start += line.len() + 1;
    }
    None
}

/// `BlockQuoteProcessor.clean`.
fn clean_quote_line(line: &str) -> &str {
    if py_strip(line) == ">" {
        return "";
    }
    let lead = line.bytes().take(4).take_while(|&c| c == b' ').count();
    if lead <= 3 && line.as_bytes().get(lead) == Some(&b'>') {
        let rest = &line[lead + 1..];
        return rest.strip_prefix(' ').unwrap_or(rest);
    }
    line
}

struct RefMatch {
    start: usize,
    end: usize,
    id: (usize, usize),
    url: (usize, usize),
    title: Option<(usize, usize)>,
}

/// `ReferenceProcessor.RE` searched in the block (MULTILINE):
/// `^[ ]{0,3}\[([^\[\]]*)\]:[ ]*\n?[ ]*([^\s]+)[ ]*(?:\n[ ]*)?((["'])(.*)\4[ ]*|\((.*)\)[ ]*)?$`
fn find_reference(block: &str) -> Option<RefMatch> {
    // A definition needs `]:` somewhere.
    memchr::memmem::find(block.as_bytes(), b"]:")?;
    let b = block.as_bytes();
    let mut line = 0;
    loop {
        if let Some(m) = reference_at(block, line) {
            return Some(m);
        }
        line = b.get(line..)?.iter().position(|&c| c == b'\n')? + line + 1;
    }
}

fn is_eol(b: &[u8], p: usize) -> bool {
    p == b.len() || b[p] == b'\n'
}

fn skip_spaces(b: &[u8], mut p: usize) -> usize {
    while b.get(p) == Some(&b' ') {
        p += 1;
    }
    p
}

fn reference_at(block: &str, line: usize) -> Option<RefMatch> {
    let b = block.as_bytes();
    let lead = b[line..].iter().take(4).take_while(|&&c| c == b' ').count();
    if lead > 3 {
        return None;
    }
    let mut p = line + lead;
    if b.get(p) != Some(&b'[') {
        return None;
    }
    let id_start = p + 1;
    let id_len = b[id_start..].iter().take_while(|&&c| c != b'[' && c != b']').count();
    let id_end = id_start + id_len;
    if b.get(id_end) != Some(&b']') || b.get(id_end + 1) != Some(&b':') {
        return None;
    }
    p = skip_spaces(b, id_end + 2);
    if b.get(p) == Some(&b'\n') {
        p += 1;
    }
    p = skip_spaces(b, p);
    let url_start = p;
    let url_max = block[p..].find(is_py_space).map_or(block.len(), |n| n + p);
    if url_max == url_start {
        return None;
    }
    // Greedy URL first, then shorter ones (backtracking).
    let mut url_end = url_max;
    loop {
        if let Some((title, end)) = ref_tail(block, url_end) {
            return Some(RefMatch {
                start: line,
                end,
                id: (id_start, id_end),
                url: (url_start, url_end),
                title,
            });
        }
        // step back one character
        url_end = block[..url_end].char_indices().next_back().map_or(url_start, |(i, _)| i);
        if url_end <= url_start {
            return None;
        }
    }
}

/// `[ ]*(?:\n[ ]*)?(title)?$` after the URL: (title span, match end).
#[allow(clippy::type_complexity)]
fn ref_tail(block: &str, p: usize) -> Option<(Option<(usize, usize)>, usize)> {
    let b = block.as_bytes();
    let q1 = skip_spaces(b, p);
    if b.get(q1) == Some(&b'\n') {
        let q2 = skip_spaces(b, q1 + 1);
        if let Some((t, e)) = ref_title(block, q2) {
            return Some((t, e));
        }
        if is_eol(b, q2) {
            return Some((None, q2));
        }
    }
    if let Some((t, e)) = ref_title(block, q1) {
        return Some((t, e));
    }
    is_eol(b, q1).then_some((None, q1))
}

/// `((["'])(.*)\4[ ]*|\((.*)\)[ ]*)$` at `p`.
#[allow(clippy::type_complexity)]
fn ref_title(block: &str, p: usize) -> Option<(Option<(usize, usize)>, usize)> {
    let b = block.as_bytes();
    let open = *b.get(p)?;
    let close = match open {
        b'"' | b'\'' => open,
        b'(' => b')',
        _ => return None,
    };
    let eol = b[p..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| n + p);
    let last = b[p + 1..eol].iter().rposition(|&c| c == close)? + p + 1;
    if b[last + 1..eol].iter().all(|&c| c == b' ') {
        Some((Some((p + 1, last)), eol))
    } else {
        None
    }
}

// ---- tables ----

/// `TableProcessor.test`: the separator row's cells when the block is a table.
fn table_test(block: &str) -> Option<Vec<String>> {
    // Without a pipe in the header row there is a single cell and no border: not a table.
    if !block.split('\n').next().is_some_and(|h| h.contains('|')) {
        return None;
    }
    let rows: Vec<&str> = block.split('\n').map(|r| r.trim_matches(' ')).collect();
    if rows.len() < 2 {
        return None;
    }
    let header0 = rows[0];
    let border = header0.starts_with('|') || ends_with_border(header0);
    let row = split_row(header0, border);
    let row0_len = row.len();
    let mut is_table = row0_len > 1;
    if !is_table && row0_len == 1 && border {
        for r in &rows[1..] {
            is_table = r.starts_with('|') || ends_with_border(r);
            if !is_table {
                break;
            }
        }
    }
    if !is_table {
        return None;
    }
    let sep = split_row(rows[1], border);
    let ok = sep.len() == row0_len && sep.iter().all(|c| c.chars().all(|ch| "|:- ".contains(ch)));
    ok.then_some(sep)
}

/// `RE_END_BORDER` (`(?<!\\)(?:\\\\)*\|$`): ends with `|` after an even run of backslashes.
fn ends_with_border(row: &str) -> bool {
    end_border_len(row).is_some()
}

fn end_border_len(row: &str) -> Option<usize> {
    let body = row.strip_suffix('|')?;
    let n = body.bytes().rev().take_while(|&c| c == b'\\').count();
    (n % 2 == 0).then_some(n + 1)
}

fn split_row(row: &str, border: bool) -> Vec<String> {
    let mut row = row;
    if border {
        row = row.strip_prefix('|').unwrap_or(row);
        if let Some(n) = end_border_len(row) {
            row = &row[..row.len() - n];
        }
    }
    split_cells(row)
}

/// `TableProcessor._split`: split at pipes outside code spans.
fn split_cells(row: &str) -> Vec<String> {
    let b = row.as_bytes();
    let mut pipes = Vec::new();
    let mut tics: Vec<usize> = Vec::new();
    let mut tic_points: Vec<(usize, usize, usize)> = Vec::new();
    let mut p = 0;
    while p < b.len() {
        if b[p] == b'\\' && b.get(p + 1) == Some(&b'\\') {
            p += 2;
        } else if b[p] == b'\\' && b.get(p + 1) == Some(&b'`') {
            let n = b[p + 1..].iter().take_while(|&&c| c == b'`').count();
            tics.push(n);
            tic_points.push((p, p + n, 1));
            p += 1 + n;
        } else if b[p] == b'`' {
            let n = b[p..].iter().take_while(|&&c| c == b'`').count();
            tics.push(n);
            tic_points.push((p, p + n - 1, 0));
            p += n;
        } else if b[p] == b'\\' && b.get(p + 1) == Some(&b'|') {
            p += 2;
        } else if b[p] == b'|' {
            pipes.push(p);
            p += 1;
        } else {
            p += 1;
        }
    }
    let mut regions = Vec::new();
    let mut pos = 0;
    while pos < tics.len() {
        let size = tics[pos] as isize - tic_points[pos].2 as isize;
        if size > 0
            && let Some(idx) = tics[pos + 1..].iter().position(|&t| t as isize == size)
        {
            let index = idx + 1;
            regions.push((tic_points[pos].0, tic_points[pos + index].1));
            pos += index + 1;
        } else {
            pos += 1;
        }
    }
    let mut cells = Vec::new();
    let mut start = 0;
    for &pipe in &pipes {
        let mut throw_out = false;
        for &(a, z) in &regions {
            if pipe < a {
                break;
            } else if a <= pipe && pipe <= z {
                throw_out = true;
                break;
            }
        }
        if !throw_out {
            cells.push(row[start..pipe].to_string());
            start = pipe + 1;
        }
    }
    cells.push(row[start..].to_string());
    cells
}

fn run_table(parent: &mut Element, block: &str, sep: &[String]) {
    let lines: Vec<&str> = block.split('\n').collect();
    let header = lines[0].trim_matches(' ');
    let border = header.starts_with('|') || ends_with_border(header);
    let align: Vec<Option<&str>> = sep
        .iter()
        .map(|c| {
            let c = c.trim_matches(' ');
            match (c.starts_with(':'), c.ends_with(':')) {
                (true, true) => Some("center"),
                (true, false) => Some("left"),
                (false, true) => Some("right"),
                _ => None,
            }
        })
        .collect();
    let mut table = Element::new("table");
    let mut thead = Element::new("thead");
    build_row(header, &mut thead, "th", &align, border);
    let mut tbody = Element::new("tbody");
    if lines.len() < 3 {
        let mut tr = Element::new("tr");
        for _ in &align {
            tr.children.push(Element::new("td"));
        }
        tbody.children.push(tr);
    } else {
        for row in &lines[2..] {
            build_row(row.trim_matches(' '), &mut tbody, "td", &align, border);
        }
    }
    table.children.push(thead);
    table.children.push(tbody);
    parent.children.push(table);
}

fn build_row(
    row: &str,
    parent: &mut Element,
    tag: &'static str,
    align: &[Option<&str>],
    border: bool,
) {
    let mut tr = Element::new("tr");
    let cells = split_row(row, border);
    for (i, a) in align.iter().enumerate() {
        let mut c = Element::new(tag);
        c.text = cells.get(i).map_or("", |s| s.trim_matches(' ')).to_string();
        if let Some(a) = a {
            c.set("style", format!("text-align: {a};"));
        }
        tr.children.push(c);
    }
    parent.children.push(tr);
}
