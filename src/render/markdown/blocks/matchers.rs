//! The block processors' tests: Python-Markdown's regular expressions of blockprocessors.py
//! (and the def_list extension's), matched by hand, each returning what the processor reads
//! from its match.

use super::*;

/// Which tags `ListIndentProcessor` (or def_list's variant) treats as lists and items.
#[derive(Clone, Copy)]
pub(super) struct ListKinds {
    pub(super) def: bool,
}

impl ListKinds {
    pub(super) fn new(def: bool) -> Self {
        ListKinds { def }
    }

    pub(super) fn list(self, tag: &str) -> bool {
        matches!(tag, "ul" | "ol") || (self.def && tag == "dl")
    }

    pub(super) fn item(self, tag: &str) -> bool {
        tag == "li" || (self.def && tag == "dd")
    }
}

pub(super) struct DefMatch {
    pub(super) start: usize,
    pub(super) end: usize,
    /// `(.*?)`: the definition's first line.
    pub(super) text: (usize, usize),
}

/// `DefListProcessor.RE` (`(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)`) searched in the block.
pub(super) fn find_deflist(block: &str) -> Option<DefMatch> {
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

pub(super) struct HashHeader {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) level: usize,
    pub(super) header: (usize, usize),
}

/// `HashHeaderProcessor.RE`:
/// `(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\])*?)#*(?:\n|$)` searched in the block.
pub(super) fn find_hash_header(block: &str) -> Option<HashHeader> {
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

pub(super) fn hash_header_at(block: &str, line: usize) -> Option<HashHeader> {
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
pub(super) fn is_setext(block: &str) -> bool {
    let mut lines = block.split('\n');
    lines.next();
    let Some(second) = lines.next() else { return false };
    let marks = second.bytes().take_while(|&c| c == b'=' || c == b'-').count();
    marks > 0 && second[marks..].bytes().all(|c| c == b' ')
}

pub(super) fn run_setext(parent: &mut Element, block: &str, blocks: &mut VecDeque<String>) {
    // The first two lines, and the rest as it is (`lines[2:]` joined again).
    let mut lines = block.splitn(3, '\n');
    let (title, marks) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let level = if marks.starts_with('=') { 1 } else { 2 };
    parent.children.push(Element::with_text(HEADINGS[level - 1], py_strip(title)));
    if let Some(rest) = lines.next() {
        blocks.push_front(rest.to_string());
    }
}

/// `HRProcessor.SEARCH_RE`: (line start, line end) of the first horizontal rule line.
pub(super) fn find_hr(block: &str) -> Option<(usize, usize)> {
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

pub(super) fn is_hr(line: &str) -> bool {
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
pub(super) fn olist_re(block: &str) -> bool {
    let b = block.as_bytes();
    let lead = b.iter().take(4).take_while(|&&c| c == b' ').count();
    if lead > 3 {
        return false;
    }
    let digits = b[lead..].iter().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && b.get(lead + digits) == Some(&b'.') && b.get(lead + digits + 1) == Some(&b' ')
}

/// `UListProcessor.RE`: `^[ ]{0,3}[*+-][ ]+`.
pub(super) fn ulist_re(block: &str) -> bool {
    let b = block.as_bytes();
    let lead = b.iter().take(4).take_while(|&&c| c == b' ').count();
    lead <= 3 && matches!(b.get(lead), Some(b'*' | b'+' | b'-')) && b.get(lead + 1) == Some(&b' ')
}

/// `CHILD_RE` (`^[ ]{0,3}((\d+\.)|[*+-])[ ]+(.*)`): the item text.
pub(super) fn child_re(line: &str) -> Option<&str> {
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
pub(super) fn indent_re(line: &str) -> bool {
    let lead = line.bytes().take_while(|&c| c == b' ').count();
    (4..=7).contains(&lead) && child_re(&line[lead..]).is_some()
}

/// `OListProcessor.get_items`.
pub(super) fn get_items(block: &str) -> Vec<String> {
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
pub(super) fn find_blockquote(block: &str) -> Option<usize> {
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
pub(super) fn clean_quote_line(line: &str) -> &str {
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

pub(super) struct RefMatch {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) id: (usize, usize),
    pub(super) url: (usize, usize),
    pub(super) title: Option<(usize, usize)>,
}

/// `ReferenceProcessor.RE` searched in the block (MULTILINE):
/// `^[ ]{0,3}\[([^\[\]]*)\]:[ ]*\n?[ ]*([^\s]+)[ ]*(?:\n[ ]*)?((["'])(.*)\4[ ]*|\((.*)\)[ ]*)?$`
pub(super) fn find_reference(block: &str) -> Option<RefMatch> {
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

pub(super) fn is_eol(b: &[u8], p: usize) -> bool {
    p == b.len() || b[p] == b'\n'
}

pub(super) fn skip_spaces(b: &[u8], mut p: usize) -> usize {
    while b.get(p) == Some(&b' ') {
        p += 1;
    }
    p
}

pub(super) fn reference_at(block: &str, line: usize) -> Option<RefMatch> {
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
pub(super) fn ref_tail(block: &str, p: usize) -> Option<(Option<(usize, usize)>, usize)> {
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
pub(super) fn ref_title(block: &str, p: usize) -> Option<(Option<(usize, usize)>, usize)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    // The offsets below are what Python's `re` gives for the same pattern and text.

    #[test]
    fn hash_headers_and_setext_headers() {
        let h = find_hash_header("intro\n## Title ##\nmore").unwrap();
        assert_eq!((h.start, h.end, h.level, h.header), (5, 18, 2, (8, 15)));
        assert!(find_hash_header("no header").is_none());
        assert!(is_setext("Title\n====="));
        assert!(!is_setext("Title\n= x"));
    }

    #[test]
    fn rules_lists_and_quotes() {
        assert_eq!(find_hr("a\n* * *\nb"), Some((2, 7)));
        assert_eq!(find_hr("a\n* *\nb"), None, "three marks at least");
        assert!(olist_re("1. a") && !olist_re("1 a"));
        assert!(ulist_re("   - a") && !ulist_re("    - a"));
        assert_eq!(child_re("2. text"), Some("text"));
        assert!(indent_re("    - nested") && !indent_re("  - shallow"));
        assert_eq!(find_blockquote("a\n> q"), Some(1));
        assert_eq!(clean_quote_line("> quoted"), "quoted");
        assert_eq!(clean_quote_line(" >"), "");
    }

    #[test]
    fn references_and_definitions() {
        let r = find_reference("x\n[id]: http://x \"T\"").unwrap();
        assert_eq!(
            (r.start, r.end, r.id, r.url, r.title),
            (2, 20, (3, 5), (8, 16), Some((18, 19)))
        );
        assert!(find_reference("[id] no colon").is_none());
        let d = find_deflist("Term\n: def").unwrap();
        assert_eq!((d.start, d.end, d.text), (4, 10, (7, 10)));
    }
}
