//! Links and images: `[text](url "title")`, `[text][id]`, `[id]`, their image forms, and the
//! e-mail autolink's obfuscation (Python-Markdown's `LinkInlineProcessor` and
//! `ReferenceInlineProcessor` families, `AutomailInlineProcessor`).

use super::*;

impl Inline<'_> {
    /// The handlers of the link, image and reference patterns; `index` is just after the
    /// opening `[` (or `![`). Returns `None` when the handler rejects the match.
    pub(super) fn link_like(
        &mut self,
        pi: Pattern,
        data: &str,
        index: usize,
        brackets: &mut Brackets,
    ) -> Option<(Found, usize)> {
        let text_start = index;
        let (text_end, index) = brackets.get_text(data.as_bytes(), index)?;
        let text = &data[text_start..text_end];
        match pi {
            Pattern::Link | Pattern::ImageLink => {
                let (href, title, end) = self.get_link(data, index)?;
                let el = if pi == Pattern::Link {
                    let mut a = Element::with_text("a", text);
                    a.set("href", href);
                    if let Some(t) = title {
                        a.set("title", t);
                    }
                    a
                } else {
                    let mut img = Element::new("img");
                    img.set("src", href);
                    if let Some(t) = title {
                        img.set("title", t);
                    }
                    img.set("alt", self.unescape(text));
                    img
                };
                Some((Found::Node(el), end))
            }
            _ => {
                let (id, end) = if pi == Pattern::Reference || pi == Pattern::ImageReference {
                    // RE_LINK = `\s?\[([^\]]*)\]`
                    let b = data.as_bytes();
                    let mut p = index;
                    if let Some(c) = next_char(data, p)
                        && is_py_space(c)
                    {
                        p += c.len_utf8();
                    }
                    if b.get(p) != Some(&b'[') {
                        return None;
                    }
                    let close = find_byte(data, b']', p + 1)?;
                    let id = data[p + 1..close].to_lowercase();
                    let id = if id.is_empty() { text.to_lowercase() } else { id };
                    (id, close + 1)
                } else {
                    (text.to_lowercase(), index)
                };
                let id = collapse_ws(&id);
                let Some((href, title)) = self.refs.get(&id) else {
                    return Some((Found::Skip, end));
                };
                let el = if pi == Pattern::Reference || pi == Pattern::ShortReference {
                    let mut a = Element::new("a");
                    a.set("href", href.clone());
                    if let Some(t) = title.as_ref().filter(|t| !t.is_empty()) {
                        a.set("title", t.clone());
                    }
                    a.text = text.to_string();
                    a
                } else {
                    let mut img = Element::new("img");
                    img.set("src", href.clone());
                    if let Some(t) = title.as_ref().filter(|t| !t.is_empty()) {
                        img.set("title", t.clone());
                    }
                    img.set("alt", self.unescape(text));
                    img
                };
                Some((Found::Node(el), end))
            }
        }
    }

    /// `LinkInlineProcessor.getLink`: (href, title, end).
    pub(super) fn get_link(
        &self,
        data: &str,
        index: usize,
    ) -> Option<(String, Option<String>, usize)> {
        let b = data.as_bytes();
        if b.get(index) != Some(&b'(') {
            return None;
        }
        let skip_ws = |mut p: usize| {
            while let Some(c) = next_char(data, p).filter(|&c| is_py_space(c)) {
                p += c.len_utf8();
            }
            p
        };
        let p = skip_ws(index + 1);
        // `(<[^<>]*>)\s*(?:('[^']*'|"[^"]*")\s*)?\)`
        if b.get(p) == Some(&b'<')
            && let Some(q) = b[p + 1..].iter().position(|&c| c == b'<' || c == b'>')
            && b[p + 1 + q] == b'>'
        {
            let gt = p + 1 + q;
            let r = skip_ws(gt + 1);
            let mut title = None;
            let mut close = None;
            if let Some(&qc @ (b'\'' | b'"')) = b.get(r)
                && let Some(qe) = find_byte(data, qc, r + 1)
            {
                let r2 = skip_ws(qe + 1);
                if b.get(r2) == Some(&b')') {
                    title = Some(&data[r + 1..qe]);
                    close = Some(r2);
                }
            }
            if close.is_none() && b.get(r) == Some(&b')') {
                close = Some(r);
            }
            if let Some(c) = close {
                let href = py_strip(&data[p + 1..gt]).to_string();
                let href = py_strip(&self.unescape(&href)).to_string();
                let title = title.map(|t| self.clean_title(t));
                return Some((href, title, c + 1));
            }
        }
        let start_index = p;
        // Common case: no quote or parenthesis before the closing `)`; the loop below would
        // end there with the same result.
        if let Some(close) = find_any(b, p, b"()'\"")
            && b[close] == b')'
        {
            let href = py_strip(&self.unescape(&data[start_index..close])).to_string();
            return Some((href, None, close + 1));
        }
        let mut index = p as isize;
        let mut bracket_count: i64 = 1;
        let mut backtrack_count: i64 = 1;
        let mut last_bracket: isize = -1;
        let mut quote: Option<char> = None;
        let mut start_quote: isize = -1;
        let mut exit_quote: isize = -1;
        let mut ignore_matches = false;
        let mut alt_quote: Option<char> = None;
        let mut start_alt_quote: isize = -1;
        let mut exit_alt_quote: isize = -1;
        let mut last: Option<char> = None;
        let mut href: &str = "";
        let mut title: Option<&str> = None;
        for c in data[start_index..].chars() {
            match c {
                '(' => {
                    if !ignore_matches {
                        bracket_count += 1;
                    } else if backtrack_count > 0 {
                        backtrack_count -= 1;
                    }
                }
                ')' => {
                    if (exit_quote != -1 && quote == last)
                        || (exit_alt_quote != -1 && alt_quote == last)
                    {
                        bracket_count = 0;
                    } else if !ignore_matches {
                        bracket_count -= 1;
                    } else if backtrack_count > 0 {
                        backtrack_count -= 1;
                        if backtrack_count == 0 {
                            last_bracket = index + 1;
                        }
                    }
                }
                '\'' | '"' => {
                    if quote.is_none() {
                        ignore_matches = true;
                        backtrack_count = bracket_count;
                        bracket_count = 1;
                        start_quote = index + 1;
                        quote = Some(c);
                    } else if Some(c) != quote && alt_quote.is_none() {
                        start_alt_quote = index + 1;
                        alt_quote = Some(c);
                    } else if Some(c) == quote {
                        exit_quote = index + 1;
                    } else if alt_quote.is_some() && Some(c) == alt_quote {
                        exit_alt_quote = index + 1;
                    }
                }
                _ => {}
            }
            index += c.len_utf8() as isize;
            if bracket_count == 0 {
                let idx = index as usize;
                if exit_quote >= 0 && quote == last {
                    href = &data[start_index..start_quote as usize - 1];
                    title = Some(&data[start_quote as usize..exit_quote as usize - 1]);
                } else if exit_alt_quote >= 0 && alt_quote == last {
                    href = &data[start_index..start_alt_quote as usize - 1];
                    title = Some(&data[start_alt_quote as usize..exit_alt_quote as usize - 1]);
                } else {
                    href = &data[start_index..idx - 1];
                }
                break;
            }
            if c != ' ' {
                last = Some(c);
            }
        }
        crate::render::budget::charge(index as usize - start_index);
        let mut end = index as usize;
        if bracket_count != 0 && backtrack_count == 0 {
            if last_bracket < 0 {
                // Python slices with -2 and resumes at -1 here: the text up to the
                // second-to-last character, and the last character stays.
                let mut starts = data.char_indices().rev().map(|(i, _)| i);
                let last_start = starts.next().unwrap_or(0);
                let second_last = starts.next().unwrap_or(0);
                href = data.get(start_index..second_last).unwrap_or("");
                end = last_start;
            } else {
                href = &data[start_index..last_bracket as usize - 1];
                end = last_bracket as usize;
            }
            bracket_count = 0;
        }
        if bracket_count != 0 {
            return None;
        }
        let title = title.map(|t| self.clean_title(t));
        let href = py_strip(&self.unescape(href)).to_string();
        Some((href, title, end))
    }

    pub(super) fn clean_title(&self, t: &str) -> String {
        let t = self.unescape(py_strip(t));
        let t = dequote(&t);
        t.chars().map(|c| if is_py_space(c) { ' ' } else { c }).collect()
    }

    /// `AutomailInlineProcessor.handleMatch`.
    pub(super) fn automail(&self, group: &str) -> Element {
        let email = self.unescape(group);
        let email = email.strip_prefix("mailto:").unwrap_or(&email);
        let mut text = String::new();
        for c in email.chars() {
            text.push_str(AMP_SUBSTITUTE);
            match codepoint2name(c) {
                Some(name) => text.push_str(name),
                None => {
                    text.push('#');
                    text.push_str(&(c as u32).to_string());
                }
            }
            text.push(';');
        }
        let mut href = String::new();
        for c in "mailto:".chars().chain(email.chars()) {
            href.push_str(AMP_SUBSTITUTE);
            href.push('#');
            href.push_str(&(c as u32).to_string());
            href.push(';');
        }
        let mut a = Element::with_text("a", text);
        a.atomic = true;
        a.set("href", href);
        a
    }
}

pub(super) fn dequote(s: &str) -> &str {
    if (s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')) {
        s.get(1..s.len().saturating_sub(1)).unwrap_or("")
    } else {
        s
    }
}

/// `LinkInlineProcessor.getText`: the end of the bracketed text and the index after `]`.
/// How far [`Brackets::get_text`] scans by itself before it asks the table: past it, a text in
/// brackets is unusually long, or its `[` has no `]` (an editor's stray bracket, or thousands).
const DIRECT_SCAN: usize = 512;

/// The matching `]` of every `[` of one string, made on demand: a search for links over a
/// text of n unmatched `[` would otherwise scan to the end from each of them (n² steps).
/// Valid for one string only: made anew for each search (the string changes with each match).
#[derive(Default)]
pub(super) struct Brackets {
    /// For each byte position of a `[`, the position of its `]` (`u32::MAX`: none).
    closes: Option<Vec<u32>>,
}

impl Brackets {
    /// [`get_text`], the same answer in time linear in the string over all the calls of one
    /// search: a short scan first, then the table.
    pub(super) fn get_text(&mut self, b: &[u8], index: usize) -> Option<(usize, usize)> {
        let limit = (index + DIRECT_SCAN).min(b.len());
        if let Some(found) = get_text(&b[..limit], index) {
            return Some(found);
        }
        if limit == b.len() {
            return None;
        }
        let closes = self.closes.get_or_insert_with(|| matching(b));
        let close = *closes.get(index.checked_sub(1)?)?;
        (close != u32::MAX).then(|| (close as usize, close as usize + 1))
    }
}

/// For each position of `b`, the position of the `]` that closes the `[` there (nesting
/// counted), or `u32::MAX`: one pass with a stack.
fn matching(b: &[u8]) -> Vec<u32> {
    let mut closes = vec![u32::MAX; b.len()];
    let mut open = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'[' => open.push(i),
            b']' => {
                if let Some(o) = open.pop() {
                    closes[o] = i as u32;
                }
            }
            _ => {}
        }
    }
    closes
}

pub(super) fn get_text(b: &[u8], index: usize) -> Option<(usize, usize)> {
    let mut depth = 1;
    // A plain loop: brackets come close together where this scan is long, and a search call
    // per bracket would cost more than the bytes.
    let rest = b.get(index..)?;
    crate::render::budget::charge(rest.len().min(DIRECT_SCAN));
    for (i, &c) in rest.iter().enumerate() {
        match c {
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some((index + i, index + i + 1));
                }
            }
            b'[' => depth += 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_the_scan_s_answer() {
        let cases: Vec<String> = vec![
            "[a [b] c](u)".into(),
            "[".repeat(2000),
            format!("{}]{}", "[".repeat(700), "]".repeat(900)),
            format!("[x {} y](z) [q]", "[a]".repeat(400)),
            format!("]]{}[[{}]", "[a".repeat(300), "b]".repeat(299)),
        ];
        for text in &cases {
            let b = text.as_bytes();
            let mut brackets = Brackets::default();
            for (i, _) in b.iter().enumerate().filter(|(_, c)| **c == b'[') {
                assert_eq!(brackets.get_text(b, i + 1), get_text(b, i + 1), "at {i} of {text:.40}");
            }
        }
    }

    #[test]
    fn bracketed_text_nests() {
        let b = b"[a [b] c](u)";
        assert_eq!(get_text(b, 1), Some((8, 9)));
        assert_eq!(get_text(b"[never closed", 1), None);
    }

    #[test]
    fn quotes_come_off_titles_in_pairs() {
        assert_eq!(dequote("\"t\""), "t");
        assert_eq!(dequote("'t'"), "t");
        assert_eq!(dequote("\"t'"), "\"t'");
        assert_eq!(dequote("\""), "");
    }
}
