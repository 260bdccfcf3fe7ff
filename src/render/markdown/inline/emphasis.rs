//! Emphasis: Python-Markdown's `AsteriskProcessor` and `UnderscoreProcessor` (`*em*`,
//! `**strong**`, `***both***` and their underscore forms, with the nesting rules of
//! `EmStrongItem`), matched by hand where Python uses look-around and back-references.

use super::*;

/// One match of an emphasis pattern: where it ends and its groups (byte ranges).
pub(super) struct EmMatch {
    /// The end of the whole match.
    pub(super) end: usize,
    /// The emphasized text (group 2).
    g2: (usize, usize),
    /// The inner text of a nested form (group 3), if the pattern has one.
    g3: Option<(usize, usize)>,
}

pub(super) fn word_before(data: &str, p: usize) -> bool {
    prev_char(data, p).is_some_and(is_word)
}

pub(super) fn word_at(data: &str, p: usize) -> bool {
    next_char(data, p).is_some_and(is_word)
}

/// The emphasis/strong pattern `index` of the asterisk (`ch == b'*'`) or underscore processor,
/// matched at `s` (Python's `pattern.match(data, s)`).
pub(super) fn em_match(data: &str, s: usize, ch: u8, index: usize) -> Option<EmMatch> {
    let b = data.as_bytes();
    let at = |p: usize, n: usize| p + n <= b.len() && b[p..p + n].iter().all(|&c| c == ch);
    // These scans run from every `*` and `_` to the end of the text when nothing closes: each
    // position looked at is charged to the article's work budget (a few steps each).
    let scan = |from: usize, pred: &dyn Fn(usize) -> bool| -> Option<usize> {
        let found = (from..b.len()).find(|&p| pred(p));
        budget::charge(4 * found.map_or(b.len().saturating_sub(from), |p| p - from) + 8);
        found
    };
    let find_run = |from: usize, n: usize| scan(from, &|p| at(p, n));
    let not_ch = |p: usize| b.get(p) != Some(&ch);
    match index {
        // `(c)\1{2}(.+?)\1(.*?)\1{2}`
        0 => {
            if !at(s, 3) {
                return None;
            }
            let a = find_byte(data, ch, s + 4)?;
            let z = find_run(a + 1, 2)?;
            Some(EmMatch { end: z + 2, g2: (s + 3, a), g3: Some((a + 1, z)) })
        }
        // `(c)\1{2}(.+?)\1{2}(.*?)\1`
        1 => {
            if !at(s, 3) {
                return None;
            }
            let a = find_run(s + 4, 2)?;
            let z = find_byte(data, ch, a + 2)?;
            Some(EmMatch { end: z + 1, g2: (s + 3, a), g3: Some((a + 2, z)) })
        }
        2 if ch == b'*' => {
            // `(\*)\1(?!\1)([^*]+?)\1(?!\1)(.+?)\1{3}`
            if !at(s, 2) || !not_ch(s + 2) {
                return None;
            }
            let a = find_byte(data, ch, s + 2)?;
            if a < s + 3 || !not_ch(a + 1) {
                return None;
            }
            let z = find_run(a + 2, 3)?;
            Some(EmMatch { end: z + 3, g2: (s + 2, a), g3: Some((a + 1, z)) })
        }
        2 => {
            // `(?<!\w)(\_)\1(?!\1)(.+?)(?<!\w)\1(?!\1)(.+?)\1{3}(?!\w)`
            if word_before(data, s) || !at(s, 2) || !not_ch(s + 2) {
                return None;
            }
            let a = scan(s + 3, &|a| b[a] == ch && !word_before(data, a) && not_ch(a + 1))?;
            let z = scan(a + 2, &|z| at(z, 3) && !word_at(data, z + 3))?;
            Some(EmMatch { end: z + 3, g2: (s + 2, a), g3: Some((a + 1, z)) })
        }
        3 if ch == b'*' => {
            // `(\*{2})(.+?)\1`
            if !at(s, 2) {
                return None;
            }
            let a = find_run(s + 3, 2)?;
            Some(EmMatch { end: a + 2, g2: (s + 2, a), g3: None })
        }
        3 => {
            // `(?<!\w)(_{2})(?!_)(.+?)(?<!_)\1(?!\w)`
            if word_before(data, s) || !at(s, 2) || !not_ch(s + 2) {
                return None;
            }
            let a = scan(s + 3, &|a| at(a, 2) && b[a - 1] != ch && !word_at(data, a + 2))?;
            Some(EmMatch { end: a + 2, g2: (s + 2, a), g3: None })
        }
        4 if ch == b'*' => {
            // `(\*)([^\*]+)\1`
            if !at(s, 1) {
                return None;
            }
            let a = find_byte(data, ch, s + 1)?;
            (a > s + 1).then_some(EmMatch { end: a + 1, g2: (s + 1, a), g3: None })
        }
        4 => {
            // `(?<!\w)(_)(?!_)(.+?)(?<!_)\1(?!\w)`
            if word_before(data, s) || !at(s, 1) || !not_ch(s + 1) {
                return None;
            }
            let a = scan(s + 2, &|a| b[a] == ch && b[a - 1] != ch && !word_at(data, a + 1))?;
            Some(EmMatch { end: a + 1, g2: (s + 1, a), g3: None })
        }
        _ => None,
    }
}

/// `build_single` / `build_double` / `build_double2` of `AsteriskProcessor`.
pub(super) fn build_em(data: &str, m: &EmMatch, ch: u8, index: usize) -> Element {
    let g2 = &data[m.g2.0..m.g2.1];
    let g3 = m.g3.map(|(a, z)| &data[a..z]);
    match index {
        0 | 1 => {
            let (t1, t2) = if index == 0 { ("strong", "em") } else { ("em", "strong") };
            let mut el1 = Element::new(t1);
            let mut el2 = Element::new(t2);
            parse_sub_patterns(g2, &mut el2, false, ch, index);
            el1.children.push(el2);
            if let Some(g3) = g3 {
                parse_sub_patterns(g3, &mut el1, true, ch, index);
            }
            el1
        }
        2 => {
            let mut el1 = Element::new("strong");
            let mut el2 = Element::new("em");
            parse_sub_patterns(g2, &mut el1, false, ch, index);
            parse_sub_patterns(g3.unwrap_or(""), &mut el2, false, ch, index);
            el1.children.push(el2);
            el1
        }
        _ => {
            let mut el = Element::new(if index == 3 { "strong" } else { "em" });
            parse_sub_patterns(g2, &mut el, false, ch, index);
            el
        }
    }
}

/// `AsteriskProcessor.parse_sub_patterns`. `has_last` says the parent's last child is the
/// `last` element text should follow.
pub(super) fn parse_sub_patterns(
    data: &str,
    parent: &mut Element,
    has_last: bool,
    ch: u8,
    idx: usize,
) {
    let b = data.as_bytes();
    let mut offset = 0;
    let mut pos = 0;
    let mut has_last = has_last;
    let set_text = |parent: &mut Element, has_last: bool, text: &str| {
        if text.is_empty() {
            return;
        }
        match parent.children.last_mut() {
            Some(last) if has_last => last.tail = text.to_string(),
            _ => parent.text = text.to_string(),
        }
    };
    while pos < b.len() {
        if b[pos] == ch {
            let mut matched = false;
            for index in idx + 1..5 {
                if let Some(m) = em_match(data, pos, ch, index) {
                    set_text(parent, has_last, &data[offset..pos]);
                    let el = build_em(data, &m, ch, index);
                    parent.children.push(el);
                    has_last = true;
                    offset = m.end;
                    pos = m.end;
                    matched = true;
                }
            }
            if !matched {
                pos += 1;
            }
        } else {
            pos += 1;
        }
    }
    set_text(parent, has_last, &data[offset..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The element the first matching pattern of the asterisk or underscore processor builds.
    fn first(data: &str, ch: u8) -> Option<(String, usize)> {
        (0..5).find_map(|index| {
            let m = em_match(data, 0, ch, index)?;
            let mut html = String::new();
            serialize(&build_em(data, &m, ch, index), &mut html);
            Some((html, m.end))
        })
    }

    #[test]
    fn single_double_and_triple_emphasis() {
        assert_eq!(first("*a* b", b'*'), Some(("<em>a</em>".into(), 3)));
        assert_eq!(first("**a** b", b'*'), Some(("<strong>a</strong>".into(), 5)));
        assert_eq!(first("***a***", b'*'), Some(("<strong><em>a</em></strong>".into(), 7)));
        assert_eq!(first("__a__", b'_'), Some(("<strong>a</strong>".into(), 5)));
        assert_eq!(first("* a", b'*'), None);
    }

    #[test]
    fn underscores_inside_words_are_not_emphasis() {
        assert!(word_before("snake_case", 5));
        assert!(word_at("snake_case", 6));
        assert_eq!(first("_a_b", b'_'), None);
    }
}
