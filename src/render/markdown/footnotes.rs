//! Footnotes: the `footnotes` extension of `extra` with its default configuration.
//!
//! `[^label]: text` definitions (with indented continuation blocks) are taken out of the
//! flow by a block processor; `[^label]` references become `<sup>` links; a tree processor
//! appends the `<div class="footnote">` (before inline patterns run, so its content gets
//! them too); a second one adds a back link for every repeated reference; the
//! postprocessor turns the back link and `&#160;` placeholders into entities.

use std::collections::{HashMap, HashSet, VecDeque};

use super::blocks::BlockParser;
use super::tree::{Element, py_strip};

/// `FN_BACKLINK_TEXT`.
const BACKLINK_TEXT: &str = "\u{2}zz1337820767766393qq\u{3}";
/// `NBSP_PLACEHOLDER`.
const NBSP_PLACEHOLDER: &str = "\u{2}qq3936677670287331zz\u{3}";
/// The `PLACE_MARKER` setting: where the footnotes go instead of the end.
const PLACE_MARKER: &str = "///Footnotes Go Here///";

/// The footnotes of one document and the references seen so far.
#[derive(Debug, Default)]
pub(super) struct Footnotes {
    /// label → text in definition order; a redefinition keeps its place (an `OrderedDict`).
    notes: Vec<(String, String)>,
    index: HashMap<String, usize>,
    used_refs: HashSet<String>,
    found_refs: HashMap<String, usize>,
}

impl Footnotes {
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// `setFootnote`.
    fn set(&mut self, id: &str, text: String) {
        match self.index.get(id) {
            Some(&i) => self.notes[i].1 = text,
            None => {
                self.index.insert(id.to_string(), self.notes.len());
                self.notes.push((id.to_string(), text));
            }
        }
    }

    /// `FootnoteInlineProcessor.handleMatch`: the `<sup>` for a reference to `id`, or `None`
    /// when no such footnote is defined.
    pub fn reference(&mut self, id: &str) -> Option<Element> {
        let number = self.index.get(id)? + 1;
        let mut a = Element::with_text("a", number.to_string());
        a.set("href", format!("#fn:{id}"));
        a.set("class", "footnote-ref");
        let mut sup = Element::new("sup");
        sup.set("id", self.unique_ref(format!("fnref:{id}")));
        sup.children.push(a);
        Some(sup)
    }

    /// `unique_ref(reference, found=True)`: `fnref:x`, then `fnref2:x`, `fnref3:x`, …
    fn unique_ref(&mut self, original: String) -> String {
        let mut reference = original.clone();
        while self.used_refs.contains(&reference) {
            let (r, rest) = reference.split_once(':').unwrap_or((&reference, ""));
            // RE_REF_ID.match: `fnref` and digits at the start (anything after them is dropped).
            let next = match ref_id_prefix(r) {
                Some(n) => format!("fnref{}:{rest}", n + 1),
                None => format!("{r}2:{rest}"),
            };
            reference = next;
        }
        self.used_refs.insert(reference.clone());
        *self.found_refs.entry(original).or_insert(0) += 1;
        reference
    }
}

/// `RE_REF_ID.match(ref)` (`(fnref)(\d+)` at the start): the number.
fn ref_id_prefix(r: &str) -> Option<u64> {
    let digits = r.strip_prefix("fnref")?.bytes().take_while(u8::is_ascii_digit).count();
    r[5..5 + digits].parse().ok()
}

/// A match of `FootnoteBlockProcessor.RE`, `^[ ]{0,3}\[\^([^\]]*)\]:[ ]*(.*)$` (MULTILINE).
pub(super) struct DefMatch {
    start: usize,
    id: (usize, usize),
    text: (usize, usize),
    end: usize,
}

/// Searches `block` for a footnote definition.
pub(super) fn find_definition(block: &str) -> Option<DefMatch> {
    let b = block.as_bytes();
    memchr::memmem::find(b, b"[^")?;
    let mut line = 0;
    loop {
        if let Some(m) = definition_at(b, line) {
            return Some(m);
        }
        line += memchr::memchr(b'\n', &b[line..])? + 1;
    }
}

fn definition_at(b: &[u8], line: usize) -> Option<DefMatch> {
    let lead = b[line..].iter().take(4).take_while(|&&c| c == b' ').count();
    let open = line + lead;
    if lead > 3 || b.get(open..open + 2) != Some(b"[^") {
        return None;
    }
    let id_start = open + 2;
    let id_end = id_start + memchr::memchr(b']', &b[id_start..])?;
    if b.get(id_end + 1) != Some(&b':') {
        return None;
    }
    let text_start = id_end + 2 + b[id_end + 2..].iter().take_while(|&&c| c == b' ').count();
    let end = memchr::memchr(b'\n', &b[text_start..]).map_or(b.len(), |n| n + text_start);
    Some(DefMatch { start: line, id: (id_start, id_end), text: (text_start, end), end })
}

/// `FootnoteBlockProcessor.run` for a block in which `m` was found.
pub(super) fn run_definition(
    block: &str,
    m: &DefMatch,
    blocks: &mut VecDeque<String>,
    notes: &mut Footnotes,
) {
    let id = &block[m.id.0..m.id.1];
    let first = &block[m.text.0..m.text.1];
    let therest = block[m.end..].trim_start_matches('\n');
    let mut fn_blocks = Vec::new();
    if let Some(m2) = find_definition(therest) {
        // Content before the next definition continues this one, maybe lazily indented.
        let before = therest[..m2.start].trim_end_matches('\n');
        let joined = format!("{first}\n{}", detab(before));
        fn_blocks.push(joined.trim_start_matches('\n').to_string());
        blocks.push_front(therest[m2.start..].to_string());
    } else {
        let joined = format!("{first}\n{}", detab(therest));
        fn_blocks.push(joined.trim_matches('\n').to_string());
        detect_tabbed(blocks, &mut fn_blocks);
    }
    let footnote = fn_blocks.join("\n\n");
    notes.set(id, footnote.trim_end_matches(super::tree::is_py_space).to_string());
    let before = &block[..m.start];
    if !py_strip(before).is_empty() {
        blocks.push_front(before.trim_end_matches('\n').to_string());
    }
}

/// `detectTabbed`: the following indented blocks, dedented, up to the next definition.
fn detect_tabbed(blocks: &mut VecDeque<String>, fn_blocks: &mut Vec<String>) {
    while blocks.front().is_some_and(|b| b.starts_with("    ")) {
        let Some(block) = blocks.pop_front() else { break };
        if let Some(m) = find_definition(&block) {
            fn_blocks.push(detab(block[..m.start].trim_end_matches('\n')));
            blocks.push_front(block[m.start..].to_string());
            break;
        }
        fn_blocks.push(detab(&block));
    }
}

/// `FootnoteBlockProcessor.detab`: one level of indent off the lines that have it.
fn detab(block: &str) -> String {
    let lines: Vec<&str> = block.split('\n').map(|l| l.strip_prefix("    ").unwrap_or(l)).collect();
    lines.join("\n")
}

/// `FootnoteTreeprocessor.run`: parses the footnotes into `<div class="footnote">` and puts
/// it at the place marker or at the end of the document.
pub(super) fn attach(root: &mut Element, parser: &mut BlockParser) {
    if parser.footnotes.is_empty() {
        return;
    }
    let mut div = Element::new("div");
    div.set("class", "footnote");
    div.children.push(Element::new("hr"));
    let mut ol = Element::new("ol");
    let mut surrogate = Element::new("div");
    // Python raises when a footnote defines another one; here the new one is just added.
    let mut i = 0;
    while let Some((id, text)) = parser.footnotes.notes.get(i).cloned() {
        i += 1;
        let mut li = Element::new("li");
        li.set("id", format!("fn:{id}"));
        parser.parse_chunk(&mut surrogate, &text);
        li.children = std::mem::take(&mut surrogate.children);
        let mut backlink = Element::with_text("a", BACKLINK_TEXT);
        backlink.set("href", format!("#fnref:{id}"));
        backlink.set("class", "footnote-backref");
        backlink.set("title", format!("Jump back to footnote {i} in the text"));
        match li.children.last_mut() {
            Some(p) if p.tag == "p" => {
                p.text.push_str(NBSP_PLACEHOLDER);
                p.children.push(backlink);
            }
            Some(_) => {
                let mut p = Element::new("p");
                p.children.push(backlink);
                li.children.push(p);
            }
            None => {}
        }
        ol.children.push(li);
    }
    div.children.push(ol);
    let mut div = Some(div);
    if !place_at_marker(root, &mut div)
        && let Some(div) = div
    {
        root.children.push(div);
    }
}

/// `findFootnotesPlaceholder` and the replacement: an element whose text holds the marker
/// is replaced by the div; one whose tail holds it gets the div after it (and loses the tail).
fn place_at_marker(el: &mut Element, div: &mut Option<Element>) -> bool {
    for i in 0..el.children.len() {
        if el.children[i].text.contains(PLACE_MARKER) {
            if let Some(d) = div.take() {
                el.children[i] = d;
            }
            return true;
        }
        if el.children[i].tail.contains(PLACE_MARKER) {
            el.children[i].tail.clear();
            if let Some(d) = div.take() {
                el.children.insert(i + 1, d);
            }
            return true;
        }
        if place_at_marker(&mut el.children[i], div) {
            return true;
        }
    }
    false
}

/// `FootnotePostTreeprocessor.run`: a footnote referenced n times gets n back links.
pub(super) fn add_duplicate_backlinks(root: &mut Element, notes: &Footnotes) {
    if notes.found_refs.values().all(|&n| n < 2) {
        return;
    }
    visit_footnote_divs(root, notes);
}

fn visit_footnote_divs(el: &mut Element, notes: &Footnotes) {
    if el.tag == "div"
        && el.attrs.iter().any(|(k, v)| k == "class" && v == "footnote")
        && let Some(ol) = first_ol(el)
    {
        for li in &mut ol.children {
            let id = li.attrs.iter().find(|(k, _)| k == "id").map(|(_, v)| v.as_str());
            let Some((fn_, rest)) = id.and_then(|id| id.split_once(':')) else { continue };
            let count = notes.found_refs.get(&format!("{fn_}ref:{rest}")).copied();
            if let Some(count) = count.filter(|&n| n > 1) {
                add_duplicates(li, count);
            }
        }
    }
    for c in &mut el.children {
        visit_footnote_divs(c, notes);
    }
}

fn first_ol(el: &mut Element) -> Option<&mut Element> {
    for c in &mut el.children {
        if c.tag == "ol" {
            return Some(c);
        }
        if let Some(ol) = first_ol(c) {
            return Some(ol);
        }
    }
    None
}

fn first_backref(el: &Element) -> Option<&Element> {
    for c in &el.children {
        if c.tag == "a" && c.attrs.iter().any(|(k, v)| k == "class" && v == "footnote-backref") {
            return Some(c);
        }
        if let Some(a) = first_backref(c) {
            return Some(a);
        }
    }
    None
}

/// `add_duplicates`: copies of the back link pointing at `fnref2:`, `fnref3:`, …
fn add_duplicates(li: &mut Element, count: usize) {
    let Some(link) = first_backref(li) else { return };
    let href = link.attrs.iter().find(|(k, _)| k == "href").map_or("", |(_, v)| v.as_str());
    let Some((r, rest)) = href.split_once(':') else { return };
    let links: Vec<Element> = (2..=count)
        .map(|index| {
            let mut copy = link.clone();
            copy.set("href", format!("{r}{index}:{rest}"));
            copy
        })
        .collect();
    if let Some(last) = li.children.last_mut() {
        last.children.extend(links);
    }
}

/// `FootnotePostprocessor.run`.
pub(super) fn replace_placeholders(text: String) -> String {
    if !text.contains(BACKLINK_TEXT) && !text.contains(NBSP_PLACEHOLDER) {
        return text;
    }
    text.replace(BACKLINK_TEXT, "&#8617;").replace(NBSP_PLACEHOLDER, "&#160;")
}

#[cfg(test)]
mod tests {
    //! Expected HTML is Python-Markdown 3.7's output with Pelican's TWiR configuration
    //! (`extra`, `codehilite(css_class="highlight")`, `toc(anchorlink=True)`, `meta`, html5).

    use super::super::render_markdown;

    #[test]
    fn repeated_and_unknown_references() {
        assert_eq!(
            render_markdown(
                "Intro[^1] and again[^1] and [^nope].\n\n* x[^b]\n\npara\n\n* y[^b]\n\n[^1]: First note\n    lazy line\n\n    Second para.\n\n[^b]: B note `code`\n"
            ),
            "<p>Intro<sup id=\"fnref:1\"><a class=\"footnote-ref\" href=\"#fn:1\">1</a></sup> and again<sup id=\"fnref2:1\"><a class=\"footnote-ref\" href=\"#fn:1\">1</a></sup> and [^nope].</p>\n<ul>\n<li>x<sup id=\"fnref2:b\"><a class=\"footnote-ref\" href=\"#fn:b\">2</a></sup></li>\n</ul>\n<p>para</p>\n<ul>\n<li>y<sup id=\"fnref:b\"><a class=\"footnote-ref\" href=\"#fn:b\">2</a></sup></li>\n</ul>\n<div class=\"footnote\">\n<hr>\n<ol>\n<li id=\"fn:1\">\n<p>First note\nlazy line</p>\n<p>Second para.&#160;<a class=\"footnote-backref\" href=\"#fnref:1\" title=\"Jump back to footnote 1 in the text\">&#8617;</a><a class=\"footnote-backref\" href=\"#fnref2:1\" title=\"Jump back to footnote 1 in the text\">&#8617;</a></p>\n</li>\n<li id=\"fn:b\">\n<p>B note <code>code</code>&#160;<a class=\"footnote-backref\" href=\"#fnref:b\" title=\"Jump back to footnote 2 in the text\">&#8617;</a><a class=\"footnote-backref\" href=\"#fnref2:b\" title=\"Jump back to footnote 2 in the text\">&#8617;</a></p>\n</li>\n</ol>\n</div>"
        );
    }

    #[test]
    fn definition_after_paragraph_line_and_place_marker() {
        assert_eq!(
            render_markdown(
                "para\n[^a]: def after para\n\nuse[^a]\n\n///Footnotes Go Here///\n\nend\n"
            ),
            "<p>para</p>\n<p>use<sup id=\"fnref:a\"><a class=\"footnote-ref\" href=\"#fn:a\">1</a></sup></p>\n<div class=\"footnote\">\n<hr>\n<ol>\n<li id=\"fn:a\">\n<p>def after para&#160;<a class=\"footnote-backref\" href=\"#fnref:a\" title=\"Jump back to footnote 1 in the text\">&#8617;</a></p>\n</li>\n</ol>\n</div>\n<p>end</p>"
        );
    }

    #[test]
    fn footnote_ending_in_a_list_gets_its_own_backlink_paragraph() {
        assert_eq!(
            render_markdown("x[^a]\n\n[^a]: * list\n    * items\n\nafter[^a] [^a] [^a]\n"),
            "<p>x<sup id=\"fnref:a\"><a class=\"footnote-ref\" href=\"#fn:a\">1</a></sup></p>\n<p>after<sup id=\"fnref2:a\"><a class=\"footnote-ref\" href=\"#fn:a\">1</a></sup> <sup id=\"fnref3:a\"><a class=\"footnote-ref\" href=\"#fn:a\">1</a></sup> <sup id=\"fnref4:a\"><a class=\"footnote-ref\" href=\"#fn:a\">1</a></sup></p>\n<div class=\"footnote\">\n<hr>\n<ol>\n<li id=\"fn:a\">\n<ul>\n<li>list</li>\n<li>items</li>\n</ul>\n<p><a class=\"footnote-backref\" href=\"#fnref:a\" title=\"Jump back to footnote 1 in the text\">&#8617;</a><a class=\"footnote-backref\" href=\"#fnref2:a\" title=\"Jump back to footnote 1 in the text\">&#8617;</a><a class=\"footnote-backref\" href=\"#fnref3:a\" title=\"Jump back to footnote 1 in the text\">&#8617;</a><a class=\"footnote-backref\" href=\"#fnref4:a\" title=\"Jump back to footnote 1 in the text\">&#8617;</a></p>\n</li>\n</ol>\n</div>"
        );
    }

    #[test]
    fn numbered_in_definition_order() {
        assert_eq!(
            render_markdown("x [^a] and [^ spaced ]\n\n[^ spaced ]: sp\n   [^a]: lead three\n"),
            "<p>x <sup id=\"fnref:a\"><a class=\"footnote-ref\" href=\"#fn:a\">2</a></sup> and <sup id=\"fnref: spaced \"><a class=\"footnote-ref\" href=\"#fn: spaced \">1</a></sup></p>\n<div class=\"footnote\">\n<hr>\n<ol>\n<li id=\"fn: spaced \">\n<p>sp&#160;<a class=\"footnote-backref\" href=\"#fnref: spaced \" title=\"Jump back to footnote 1 in the text\">&#8617;</a></p>\n</li>\n<li id=\"fn:a\">\n<p>lead three&#160;<a class=\"footnote-backref\" href=\"#fnref:a\" title=\"Jump back to footnote 2 in the text\">&#8617;</a></p>\n</li>\n</ol>\n</div>"
        );
    }

    #[test]
    fn heading_id_ignores_footnote_reference() {
        assert_eq!(
            render_markdown("# Head[^x] tail\n\n[^x]: n\n"),
            "<h1 id=\"head-tail\"><a class=\"toclink\" href=\"#head-tail\">Head<sup id=\"fnref:x\"><a class=\"footnote-ref\" href=\"#fn:x\">1</a></sup> tail</a></h1>\n<div class=\"footnote\">\n<hr>\n<ol>\n<li id=\"fn:x\">\n<p>n&#160;<a class=\"footnote-backref\" href=\"#fnref:x\" title=\"Jump back to footnote 1 in the text\">&#8617;</a></p>\n</li>\n</ol>\n</div>"
        );
    }
}
