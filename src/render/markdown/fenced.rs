//! Code blocks: the fenced_code preprocessor and the HTML codehilite produces through Pygments.
//!
//! Pygments' token markup is not reproduced (feed readers see the same text without it); the
//! wrapper, the escaping and the newline handling are.

use super::html_block::store;

/// What `CodeHilite.hilite()` returns for `src` (already unescaped), without token spans.
pub(super) fn hilite(src: &str, shebang: bool) -> String {
    let mut src = src.trim_matches('\n');
    let header_removed;
    if shebang {
        let (first, rest) = src.split_once('\n').unwrap_or((src, ""));
        if is_mock_shebang(first) {
            header_removed = rest.trim_matches('\n');
            src = header_removed;
        }
    }
    let mut out = String::with_capacity(src.len() + 80);
    out.push_str("<div class=\"highlight\"><pre><span></span><code>");
    for c in src.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Pygments 2.21 escapes with `html.escape(quote=False)`.
            _ => out.push(c),
        }
    }
    out.push_str("\n</code></pre></div>\n");
    out
}

/// `CodeHilite._parseHeader`: a first line `:::lang` or `#!lang` names the language and is
/// removed, unless a "path" follows the marker (`(?:/\w+)*[/ ]`, which in practice means the
/// next character is `/` or a space).
fn is_mock_shebang(line: &str) -> bool {
    let rest = if let Some(r) = line.strip_prefix("#!") {
        r
    } else if line.starts_with("::") {
        line.trim_start_matches(':')
    } else {
        return false;
    };
    !(rest.starts_with('/') || rest.starts_with(' '))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `FencedBlockPreprocessor.run`: replaces each fenced block by a stashed, highlighted block.
pub(super) fn replace_fenced(text: String, stash: &mut Vec<String>) -> String {
    if !has_fence_start(text.as_bytes()) {
        return text;
    }
    let mut text = text;
    let mut index = 0;
    while let Some((start, end, code)) = find_fence(&text, index) {
        let html = hilite(&code, false);
        let ph = store(stash, html);
        text = format!("{}\n{}\n{}", &text[..start], ph, &text[end..]);
        index = start + 1 + ph.len();
    }
    text
}

/// Whether some line starts with three backticks or tildes.
fn has_fence_start(b: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = super::tree::find_any(b, from, b"`~") {
        let c = b[i];
        if (i == 0 || b[i - 1] == b'\n') && b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c) {
            return true;
        }
        from = i + 1;
    }
    false
}

/// Searches `FENCED_BLOCK_RE` from `from`: (start, end, code).
fn find_fence(text: &str, from: usize) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    let mut p = from;
    if p > 0 && b.get(p - 1) != Some(&b'\n') {
        p = b.get(p..)?.iter().position(|&c| c == b'\n')? + p + 1;
    }
    while p < b.len() {
        if (b[p] == b'`' || b[p] == b'~')
            && let Some(m) = fence_at(text, p)
        {
            return Some(m);
        }
        p = b[p..].iter().position(|&c| c == b'\n')? + p + 1;
    }
    None
}

fn fence_at(text: &str, p: usize) -> Option<(usize, usize, String)> {
    let b = text.as_bytes();
    let ch = b[p];
    let n = b[p..].iter().take_while(|&&c| c == ch).count();
    if n < 3 {
        return None;
    }
    let fence = &text[p..p + n];
    let line_end = b[p..].iter().position(|&c| c == b'\n').map(|x| x + p)?;
    let info = text[p + n..line_end].trim_start_matches(' ');
    if !valid_info(info) {
        return None;
    }
    let code_start = line_end + 1;
    let mut q = code_start;
    loop {
        // q is a line start (preceded by '\n')
        if text[q..].starts_with(fence) {
            let r = q + n;
            let after = b[r..].iter().take_while(|&&c| c == b' ').count() + r;
            if after == b.len() || b[after] == b'\n' {
                return Some((p, after, text[code_start..q].to_string()));
            }
        }
        q = b[q..].iter().position(|&c| c == b'\n')? + q + 1;
    }
}

/// The opening line after the fence and its spaces: `{attrs}` or `[.]lang [hl_lines="…"]`.
fn valid_info(info: &str) -> bool {
    if info.starts_with('{') {
        return info.ends_with('}');
    }
    if let Some(r) = info.strip_prefix("hl_lines=")
        && valid_hl_lines(r)
    {
        return true;
    }
    let rest = info.strip_prefix('.').unwrap_or(info);
    let lang_end = rest
        .find(|c: char| !(is_word(c) || matches!(c, '#' | '.' | '+' | '-')))
        .unwrap_or(rest.len());
    let rest = rest[lang_end..].trim_start_matches(' ');
    if rest.is_empty() {
        return true;
    }
    // hl_lines=(?P<quot>"|')(?P<hl_lines>.*?)(?P=quot)[ ]*
    rest.strip_prefix("hl_lines=").is_some_and(valid_hl_lines)
}

/// `(?P<quot>"|')(?P<hl_lines>.*?)(?P=quot)[ ]*` up to the end of the line.
fn valid_hl_lines(r: &str) -> bool {
    let Some(q) = r.chars().next().filter(|&c| c == '"' || c == '\'') else {
        return false;
    };
    let r = &r[1..];
    r.char_indices().any(|(i, c)| c == q && r[i + 1..].bytes().all(|b| b == b' '))
}
