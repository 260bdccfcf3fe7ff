//! Where each inline pattern matches: the dispatch of [`Pattern`]s to their matchers, and the
//! matchers of the simple ones (code spans, autolinks, raw HTML, entities).

use super::emphasis::{build_em, em_match};
use super::links::Brackets;
use super::*;

impl Inline<'_> {
    /// The first match of pattern `pi` at or after `from` that its handler accepts.
    pub(super) fn find(
        &mut self,
        pi: Pattern,
        data: &str,
        from: usize,
    ) -> Option<(Found, usize, usize)> {
        let b = data.as_bytes();
        match pi {
            Pattern::Backtick => backtick(data, from),
            Pattern::Escape => {
                let p = find_byte(data, b'\\', from)?;
                let c = next_char(data, p + 1)?;
                let end = p + 1 + c.len_utf8();
                if ESCAPED_CHARS.contains(c) {
                    Some((Found::Text(format!("{STX}{}{ETX}", c as u32)), p, end))
                } else {
                    Some((Found::Skip, p, end))
                }
            }
            Pattern::Footnote => {
                // `\[\^([^\]]*)\]`; an unknown label is skipped.
                let mut p = from;
                loop {
                    let s = find_bytes(b, b"[^", p)?;
                    let close = find_byte(data, b']', s + 2)?;
                    p = close + 1;
                    if let Some(sup) = self.footnotes.reference(&data[s + 2..close]) {
                        return Some((Found::Node(sup), s, close + 1));
                    }
                }
            }
            Pattern::Reference | Pattern::Link | Pattern::ShortReference => {
                let mut p = from;
                let mut brackets = Brackets::default();
                loop {
                    let s = find_byte(data, b'[', p)?;
                    p = s + 1;
                    if prev_char(data, s) == Some('!') {
                        continue;
                    }
                    if let Some((found, e)) = self.link_like(pi, data, s + 1, &mut brackets) {
                        return Some((found, s, e));
                    }
                }
            }
            Pattern::ImageLink | Pattern::ImageReference | Pattern::ShortImageRef => {
                let mut p = from;
                let mut brackets = Brackets::default();
                loop {
                    let s = find_bytes(b, b"![", p)?;
                    p = s + 2;
                    if let Some((found, e)) = self.link_like(pi, data, s + 2, &mut brackets) {
                        return Some((found, s, e));
                    }
                }
            }
            Pattern::Autolink => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'<', p)?;
                    p = s + 1;
                    if let Some(e) = autolink_at(b, s) {
                        let url = &data[s + 1..e - 1];
                        let mut a = Element::new("a");
                        a.set("href", self.unescape(url));
                        a.text = url.to_string();
                        a.atomic = true;
                        return Some((Found::Node(a), s, e));
                    }
                }
            }
            Pattern::Automail => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'<', p)?;
                    p = s + 1;
                    if let Some(e) = automail_at(data, s) {
                        let el = self.automail(&data[s + 1..e - 1]);
                        return Some((Found::Node(el), s, e));
                    }
                }
            }
            Pattern::Linebreak => {
                let s = find_bytes(b, b"  \n", from)?;
                Some((Found::Node(Element::new("br")), s, s + 3))
            }
            Pattern::Html => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'<', p)?;
                    p = s + 1;
                    if let Some(e) = html_at(b, s) {
                        let raw = self.unescape_html(&data[s..e]);
                        let ph = store(self.html, raw);
                        return Some((Found::Text(ph), s, e));
                    }
                }
            }
            Pattern::Entity => {
                let mut p = from;
                loop {
                    let s = find_byte(data, b'&', p)?;
                    p = s + 1;
                    if let Some(e) = entity_at(b, s) {
                        let raw = self.unescape_html(&data[s..e]);
                        let ph = store(self.html, raw);
                        return Some((Found::Text(ph), s, e));
                    }
                }
            }
            Pattern::NotStrong => {
                let mut p = from;
                loop {
                    let s = p + b.get(p..)?.iter().position(|&c| c == b'*' || c == b'_')?;
                    p = s + 1;
                    let ok_before = s == 0 || prev_char(data, s).is_some_and(is_py_space);
                    if !ok_before {
                        continue;
                    }
                    let run = b[s..].iter().take_while(|&&c| c == b[s]).count();
                    if run <= 3 && next_char(data, s + run).is_none_or(is_py_space) {
                        return Some((Found::Text(data[s..s + run].to_string()), s, s + run));
                    }
                }
            }
            Pattern::EmStrong | Pattern::EmStrong2 => {
                let ch = if pi == Pattern::EmStrong { b'*' } else { b'_' };
                let mut p = from;
                loop {
                    let s = find_byte(data, ch, p)?;
                    p = s + 1;
                    for index in 0..5 {
                        if let Some(m) = em_match(data, s, ch, index) {
                            let el = build_em(data, &m, ch, index);
                            return Some((Found::Node(el), s, m.end));
                        }
                    }
                }
            }
        }
    }
}

/// `BACKTICK_RE` searched from `from`:
/// `(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)(`+)(.+?)(?<!`)\2(?!`))`.
///
/// The regex tries positions left to right. An escaped pair run (`\\` repeated) just before
/// a backtick wins at its own position; otherwise a backtick run opens with as many backticks
/// as possible and closes at the first later run of exactly that length. Runs are matched in
/// linear time (the regex itself backtracks cubically on long unmatched runs).
pub(super) fn backtick(data: &str, from: usize) -> Option<(Found, usize, usize)> {
    let b = data.as_bytes();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut p = from;
    while let Some(q) = find_any(b, p, b"`") {
        let len = b[q..].iter().take_while(|&&x| x == b'`').count();
        runs.push((q, len));
        p = q + len;
    }
    if runs.is_empty() {
        return None;
    }
    // For each run, right to left: the opening length and closing run the regex would pick.
    let mut nearest: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut answer: Vec<Option<(usize, usize, usize)>> = vec![None; runs.len()];
    for r in (0..runs.len()).rev() {
        let (start, len) = runs[r];
        let escaped = start > 0 && b[start - 1] == b'\\';
        // An escaped run can still open one backtick later, after the escaped one.
        let (open, k) = if escaped { (start + 1, len - 1) } else { (start, len) };
        answer[r] = (1..=k).rev().find_map(|kk| nearest.get(&kk).map(|&c| (open, kk, c)));
        nearest.insert(len, r);
    }
    for (r, &(start, _)) in runs.iter().enumerate() {
        // Alternative 1 at the start of a run of backslashes right before this run.
        let slashes = b[from.min(start)..start].iter().rev().take_while(|&&x| x == b'\\').count();
        let bs_start = start - slashes;
        let bs_free = bs_start == 0 || b[bs_start - 1] != b'\\';
        if slashes > 0 && slashes % 2 == 0 && bs_start >= from && bs_free {
            let esc = format!("{STX}92{ETX}");
            let text = data[bs_start..start].replace("\\\\", &esc);
            return Some((Found::Text(text), bs_start, start));
        }
        if let Some((open, kk, closer)) = answer[r] {
            let content = open + kk;
            let close_start = runs[closer].0;
            let mut code =
                Element::with_text("code", code_escape(py_strip(&data[content..close_start])));
            code.atomic = true;
            return Some((Found::Node(code), open, close_start + kk));
        }
    }
    None
}

/// `AUTOLINK_RE` at `s`: the end.
pub(super) fn autolink_at(b: &[u8], s: usize) -> Option<usize> {
    let mut p = s + 1;
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    if lower(p) == Some(b'f') {
        p += 1;
    } else if lower(p) == Some(b'h') && lower(p + 1) == Some(b't') {
        p += 2;
    } else {
        return None;
    }
    if lower(p) != Some(b't') || lower(p + 1) != Some(b'p') {
        return None;
    }
    p += 2;
    if lower(p) == Some(b's') {
        p += 1;
    }
    if !b[p.min(b.len())..].starts_with(b"://") {
        return None;
    }
    let q = b[p..].iter().position(|&c| c == b'<' || c == b'>')? + p;
    (b[q] == b'>').then_some(q + 1)
}

/// `AUTOMAIL_RE` (`<([^<> !]+@[^@<> ]+)>`) at `s`: the end.
pub(super) fn automail_at(data: &str, s: usize) -> Option<usize> {
    let b = data.as_bytes();
    let q = b[s + 1..].iter().position(|&c| c == b'<' || c == b'>' || c == b' ')? + s + 1;
    if b[q] != b'>' {
        return None;
    }
    let inner = &b[s + 1..q];
    let at = inner.iter().rposition(|&c| c == b'@')?;
    let ok = at > 0 && at + 1 < inner.len() && !inner[..at].contains(&b'!');
    ok.then_some(q + 1)
}

/// `HTML_RE` at `s`: the end.
pub(super) fn html_at(b: &[u8], s: usize) -> Option<usize> {
    let mut p = s + 1;
    if b[p.min(b.len())..].starts_with(b"!--") {
        let body = s + 4;
        let close = find_bytes(b, b"-->", body)?;
        let open = find_bytes(b, b"<!--", body);
        return match open {
            Some(o) if o < close => None,
            _ => Some(close + 3),
        };
    }
    if b.get(p) == Some(&b'/') {
        p += 1;
    }
    if !b.get(p).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let q = b[p..].iter().position(|&c| matches!(c, b'<' | b'>' | b'@' | b' '))? + p;
    match b[q] {
        b'>' => Some(q + 1),
        b' ' => {
            let r = b[q..].iter().position(|&c| c == b'<' || c == b'>')? + q;
            (b[r] == b'>').then_some(r + 1)
        }
        _ => None,
    }
}

/// `ENTITY_RE` at `s`: the end.
pub(super) fn entity_at(b: &[u8], s: usize) -> Option<usize> {
    let p = s + 1;
    let end = if b.get(p) == Some(&b'#') {
        let d = b[p + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if d > 0 {
            p + 1 + d
        } else if b.get(p + 1) == Some(&b'x') {
            let h = b[p + 2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if h == 0 {
                return None;
            }
            p + 2 + h
        } else {
            return None;
        }
    } else {
        let n = b[p..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        if n == 0 {
            return None;
        }
        p + n
    };
    (b.get(end) == Some(&b';')).then_some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autolinks_and_mail_autolinks() {
        assert_eq!(autolink_at(b"<https://a.b/c> x", 0), Some(15));
        assert_eq!(autolink_at(b"<HTTP://a.b>", 0), Some(12));
        assert_eq!(autolink_at(b"<ftp://a.b>", 0), Some(11), "[Ff]|[Hh][Tt], then [Tt][Pp]");
        assert_eq!(autolink_at(b"<gopher://a.b>", 0), None);
        assert_eq!(automail_at("<a@b.c>", 0), Some(7));
        assert_eq!(automail_at("<a b@c>", 0), None);
    }

    #[test]
    fn entities_and_raw_html() {
        assert_eq!(entity_at(b"&amp; x", 0), Some(5));
        assert_eq!(entity_at(b"&#x41;", 0), Some(6));
        assert_eq!(entity_at(b"&#65;", 0), Some(5));
        assert_eq!(entity_at(b"& x;", 0), None);
        assert_eq!(html_at(b"<span class=\"x\">", 0), Some(16));
        assert_eq!(html_at(b"</span>", 0), Some(7));
        assert_eq!(html_at(b"<!-- c -->", 0), Some(10));
        assert_eq!(html_at(b"<a@b>", 0), None, "an address is not a tag");
    }

    #[test]
    fn a_code_span_closes_at_a_run_of_its_own_length() {
        let (_, s, e) = backtick("a ``x ` y`` b", 0).unwrap();
        assert_eq!((s, e), (2, 11));
        // Two backticks never closed: the regex backtracks to one, and "`x" is the code.
        let (_, s, e) = backtick("a ``x` b", 0).unwrap();
        assert_eq!((s, e), (2, 6));
    }

    #[test]
    fn patterns_run_in_python_markdowns_order() {
        let mut order = vec![Pattern::Backtick];
        while let Some(next) = order.last().unwrap().next() {
            order.push(next);
        }
        assert_eq!(order, Pattern::ALL);
        assert!(Pattern::Escape < Pattern::Link && Pattern::Html < Pattern::EmStrong);
        assert_eq!(Pattern::EmStrong2.next(), None);
    }
}
