//! Inline reStructuredText markup (emphasis, literals, hyperlink references, standalone URIs)
//! written as docutils' `html4css1` writer writes it.

use std::collections::HashMap;

use crate::render::budget;

/// Where a hyperlink reference name points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// An external target, `.. _name: url`.
    External(String),
    /// A section title (an implicit target): the section's id.
    Internal(String),
}

/// Hyperlink targets by normalized reference name.
pub(super) type Targets = HashMap<String, Target>;

/// Docutils' `fully_normalize_name`: lowercase, whitespace runs collapsed to one space.
pub(super) fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The HTML writer's `encode`: `&`, `<`, `>`, `"` and (against address harvesters) `@`.
pub(super) fn encode(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("&#64;"),
            _ => out.push(c),
        }
    }
}

/// Removes backslash escapes: `\x` is `x`; an escaped space or newline disappears.
pub(super) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(' ' | '\n') | None => {}
                Some(escaped) => out.push(escaped),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The plain text of inline markup, as docutils' `astext()` gives it (for titles and fields).
pub(super) fn plain_text(src: &str) -> String {
    let mut out = String::new();
    for piece in tokenize(src) {
        match piece {
            Piece::Text(t) => out.push_str(&unescape(t)),
            Piece::Literal(t) => out.push_str(t),
            Piece::Emphasis(t) | Piece::Strong(t) | Piece::Interpreted(t) => {
                out.push_str(&unescape(t))
            }
            Piece::Reference { text, .. } => out.push_str(&reference_text(text).0),
            Piece::Uri(t) => out.push_str(t),
        }
    }
    out
}

/// Renders inline markup to HTML.
pub(super) fn render_inline(src: &str, targets: &Targets, out: &mut String) {
    for piece in tokenize(src) {
        match piece {
            Piece::Text(t) => encode(&unescape(t), out),
            Piece::Literal(t) => render_literal(t, out),
            Piece::Emphasis(t) => wrap("em", &unescape(t), out),
            Piece::Strong(t) => wrap("strong", &unescape(t), out),
            Piece::Interpreted(t) => wrap("cite", &unescape(t), out),
            Piece::Reference { text, anonymous } => {
                let (label, embedded) = reference_text(text);
                let target = match embedded {
                    Some(url) => Some(Target::External(url)),
                    None if anonymous => None,
                    None => resolve(&normalize_name(&label), targets),
                };
                match target {
                    Some(Target::External(url)) => link("external", &url, &label, out),
                    Some(Target::Internal(id)) => link("internal", &format!("#{id}"), &label, out),
                    // Docutils reports an error here (and Pelican stops); keep the words.
                    None => encode(&label, out),
                }
            }
            Piece::Uri(uri) => {
                let href = if uri.contains("://") || uri.starts_with("mailto:") {
                    uri.to_string()
                } else {
                    format!("mailto:{uri}")
                };
                link("external", &href, uri, out);
            }
        }
    }
}

/// Follows indirect targets (`.. _a: b_`) a few steps.
fn resolve(name: &str, targets: &Targets) -> Option<Target> {
    let mut target = targets.get(name)?.clone();
    for _ in 0..8 {
        match &target {
            Target::External(url) if url.ends_with('_') && !url.ends_with("\\_") => {
                let alias = normalize_name(url.trim_end_matches('_').trim_matches('`'));
                target = targets.get(&alias)?.clone();
            }
            _ => return Some(target),
        }
    }
    None
}

fn wrap(tag: &str, text: &str, out: &mut String) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    encode(text, out);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn link(kind: &str, href: &str, text: &str, out: &mut String) {
    out.push_str("<a class=\"reference ");
    out.push_str(kind);
    out.push_str("\" href=\"");
    encode(href, out);
    out.push_str("\">");
    encode(text, out);
    out.push_str("</a>");
}

/// `html4css1`'s `visit_literal`: `<tt>`, runs of spaces kept with `&nbsp;`, and words that a
/// browser might wrap inside (`--an-option`) protected by `<span class="pre">`.
fn render_literal(text: &str, out: &mut String) {
    out.push_str("<tt class=\"docutils literal\">");
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if c == ' ' {
            rest.len() - rest.trim_start_matches(' ').len()
        } else if c == '\n' {
            1
        } else {
            rest.find([' ', '\n']).unwrap_or(rest.len())
        };
        let (token, tail) = rest.split_at(len);
        rest = tail;
        if c == '\n' || token == " " {
            out.push_str(token);
        } else if c == ' ' {
            for _ in 1..token.len() {
                out.push_str("&nbsp;");
            }
            out.push(' ');
        } else if has_word_wrap_point(token) {
            out.push_str("<span class=\"pre\">");
            encode(token, out);
            out.push_str("</span>");
        } else {
            encode(token, out);
        }
    }
    out.push_str("</tt>");
}

/// `in_word_wrap_point`, `.+\W\W.+|[-?].+`, searched in a token without spaces.
fn has_word_wrap_point(token: &str) -> bool {
    let chars: Vec<char> = token.chars().collect();
    let non_word = |c: char| !(c.is_alphanumeric() || c == '_');
    let inner_pair =
        (1..chars.len().saturating_sub(2)).any(|i| non_word(chars[i]) && non_word(chars[i + 1]));
    let dash = chars.iter().take(chars.len().saturating_sub(1)).any(|&c| c == '-' || c == '?');
    inner_pair || dash
}

/// A reference's link text and embedded URI: `` `text <url>`_ ``.
fn reference_text(text: &str) -> (String, Option<String>) {
    if let Some(body) = text.strip_suffix('>')
        && let Some(open) = body.rfind('<')
        && (open == 0 || body[..open].ends_with(char::is_whitespace))
        && !body[..open].ends_with("\\")
    {
        let url: String = body[open + 1..].split_whitespace().collect();
        let label = unescape(body[..open].trim_end());
        let label = if label.is_empty() { url.clone() } else { label };
        return (label, Some(url));
    }
    (unescape(text), None)
}

/// A piece of inline text.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    /// Plain text, escapes still in.
    Text(&'a str),
    /// ``` ``literal`` ```: raw.
    Literal(&'a str),
    /// `*emphasis*`
    Emphasis(&'a str),
    /// `**strong**`
    Strong(&'a str),
    /// `` `interpreted` `` (the default role, title reference).
    Interpreted(&'a str),
    /// `` `phrase`_ ``, `word_`, `` `phrase`__ ``: the reference text, escapes still in.
    Reference { text: &'a str, anonymous: bool },
    /// A standalone URI or e-mail address.
    Uri(&'a str),
}

/// Characters that may precede an inline markup start-string (besides whitespace).
fn is_start_prefix(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | ':' | '/' | '\'' | '"' | '<' | '(' | '[' | '{')
        || (!c.is_ascii() && !c.is_alphanumeric())
}

/// Characters that may follow an inline markup end-string (besides whitespace).
fn is_end_suffix(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.'
                | ','
                | ':'
                | ';'
                | '!'
                | '?'
                | '\\'
                | '/'
                | '\''
                | '"'
                | ')'
                | ']'
                | '}'
                | '>'
        )
        || (!c.is_ascii() && !c.is_alphanumeric())
}

/// Splits inline text into pieces, following docutils' inline markup recognition rules: a
/// start-string follows whitespace or opening punctuation and precedes non-whitespace; an
/// end-string follows non-whitespace and precedes whitespace or closing punctuation; a
/// backslash disables both (except a literal's end).
fn tokenize(src: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let bytes = src.as_bytes();
    // Once the article's work budget is spent, the rest is text.
    while i < src.len() && !budget::spent() {
        let Some(c) = src[i..].chars().next() else { break };
        if c == '\\' {
            // Skip the escaped character.
            i += 1 + src[i + 1..].chars().next().map_or(0, char::len_utf8);
            continue;
        }
        let prev = src[..i].chars().next_back();
        let starts_ok = prev.is_none_or(is_start_prefix);
        let found = if starts_ok { markup_at(src, i, prev) } else { None };
        let found = found.or_else(|| {
            if prev.is_none_or(|p| !p.is_alphanumeric() && p != '\\') {
                word_reference_at(src, i).or_else(|| uri_at(src, i))
            } else {
                None
            }
        });
        match found {
            Some((piece, end)) => {
                if text_start < i {
                    pieces.push(Piece::Text(&src[text_start..i]));
                }
                pieces.push(piece);
                i = end;
                text_start = end;
            }
            None => i += c.len_utf8(),
        }
    }
    if text_start < bytes.len() {
        pieces.push(Piece::Text(&src[text_start..]));
    }
    pieces
}

/// Markup with a start-string at `i` (already known to be allowed there).
fn markup_at<'a>(src: &'a str, i: usize, prev: Option<char>) -> Option<(Piece<'a>, usize)> {
    let rest = &src[i..];
    let (start, end_str) = if rest.starts_with("``") {
        ("``", "``")
    } else if rest.starts_with("**") {
        ("**", "**")
    } else if rest.starts_with('*') {
        ("*", "*")
    } else if rest.starts_with('`') {
        ("`", "`")
    } else {
        return None;
    };
    let content_start = i + start.len();
    let first = src[content_start..].chars().next()?;
    if first.is_whitespace() {
        return None;
    }
    // `"*"`, `(*)` and the like are not markup.
    if let Some(p) = prev
        && let Some(close) = matching_close(p)
        && first == close
    {
        return None;
    }
    let literal = start == "``";
    let mut j = content_start + first.len_utf8();
    while j < src.len() {
        let at = &src[j..];
        let Some(c) = at.chars().next() else { break };
        if c == '\\' && !literal {
            j += 1 + src[j + 1..].chars().next().map_or(0, char::len_utf8);
            continue;
        }
        if at.starts_with(end_str) {
            let before = src[..j].chars().next_back();
            let after_end = j + end_str.len();
            if before.is_some_and(|b| !b.is_whitespace()) {
                let content = &src[content_start..j];
                if start == "`" {
                    // `text`_ , `text`__ or plain interpreted text.
                    let tail = &src[after_end..];
                    let (anonymous, skip) = if tail.starts_with("__") {
                        (true, 2)
                    } else if tail.starts_with('_') {
                        (false, 1)
                    } else {
                        (false, 0)
                    };
                    let end = after_end + skip;
                    if src[end..].chars().next().is_none_or(is_end_suffix) {
                        let piece = if skip == 0 {
                            Piece::Interpreted(content)
                        } else {
                            Piece::Reference { text: content, anonymous }
                        };
                        return Some((piece, end));
                    }
                } else if src[after_end..].chars().next().is_none_or(is_end_suffix)
                    && !(start == "*" && src[after_end..].starts_with('*'))
                {
                    let piece = match start {
                        "``" => Piece::Literal(content),
                        "**" => Piece::Strong(content),
                        _ => Piece::Emphasis(content),
                    };
                    return Some((piece, after_end));
                }
            }
        }
        j += c.len_utf8();
        budget::charge(1);
    }
    None
}

fn matching_close(open: char) -> Option<char> {
    match open {
        '\'' => Some('\''),
        '"' => Some('"'),
        '<' => Some('>'),
        '(' => Some(')'),
        '[' => Some(']'),
        '{' => Some('}'),
        _ => None,
    }
}

/// A simple reference name followed by `_` at `i`: `Zinc_`, `foo-bar_` (alphanumerics joined
/// by single `-._+:`).
fn word_reference_at(src: &str, i: usize) -> Option<(Piece<'_>, usize)> {
    let mut end = i;
    let mut last_was_alnum = false;
    for (off, c) in src[i..].char_indices() {
        if c.is_alphanumeric() {
            last_was_alnum = true;
        } else if last_was_alnum && matches!(c, '-' | '.' | '_' | '+' | ':') {
            // A joiner must be followed by an alphanumeric to stay in the name.
            let next = src[i + off + c.len_utf8()..].chars().next();
            if next.is_some_and(char::is_alphanumeric) {
                last_was_alnum = false;
            } else {
                end = i + off;
                break;
            }
        } else {
            end = i + off;
            break;
        }
        end = i + off + c.len_utf8();
    }
    budget::charge(end - i + 1);
    if end == i || !src[end..].starts_with('_') {
        return None;
    }
    let (anonymous, after) =
        if src[end..].starts_with("__") { (true, end + 2) } else { (false, end + 1) };
    if !src[after..].chars().next().is_none_or(is_end_suffix) {
        return None;
    }
    Some((Piece::Reference { text: &src[i..end], anonymous }, after))
}

/// A standalone URI (`http://…`, `https://…`, `ftp://…`, `mailto:…`) or e-mail address at `i`.
fn uri_at(src: &str, i: usize) -> Option<(Piece<'_>, usize)> {
    let rest = &src[i..];
    let is_scheme = ["http://", "https://", "ftp://", "mailto:"].iter().any(|scheme| {
        rest.len() > scheme.len()
            && rest.get(..scheme.len()).is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    });
    let run = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
        .unwrap_or(rest.len());
    budget::charge(2 * run + 8);
    // Trailing punctuation belongs to the sentence.
    let trimmed =
        rest[..run].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"', ']', '}']);
    if trimmed.contains('\\') {
        return None;
    }
    if is_scheme {
        let scheme_len = trimmed.find(':').map_or(0, |p| p + 1);
        if trimmed.len() <= scheme_len + 2 {
            return None;
        }
        return Some((Piece::Uri(trimmed), i + trimmed.len()));
    }
    // name@domain.tld
    let (local, domain) = trimmed.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
    (local_ok && domain_ok).then(|| (Piece::Uri(trimmed), i + trimmed.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(src: &str) -> String {
        let mut targets = Targets::new();
        targets.insert("zinc".into(), Target::External("http://zinc.rs/".into()));
        targets.insert("meeting minutes".into(), Target::External("https://m.org/".into()));
        let mut out = String::new();
        render_inline(src, &targets, &mut out);
        out
    }

    // Expected values are docutils 0.23's html4css1 output.

    #[test]
    fn emphasis_strong_literal() {
        assert_eq!(
            html("*a* **b** ``c``"),
            "<em>a</em> <strong>b</strong> <tt class=\"docutils literal\">c</tt>"
        );
        assert_eq!(
            html("``a  b--c`` and ``x - y``"),
            "<tt class=\"docutils literal\">a&nbsp; <span class=\"pre\">b--c</span></tt> and \
             <tt class=\"docutils literal\">x - y</tt>"
        );
        assert_eq!(
            html("``Gc<T>``, ``@``"),
            "<tt class=\"docutils literal\">Gc&lt;T&gt;</tt>, <tt class=\"docutils literal\">&#64;</tt>"
        );
    }

    #[test]
    fn not_markup() {
        assert_eq!(html("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(html("a \"*\" b"), "a &quot;*&quot; b");
        assert_eq!(html("\\*escaped\\*"), "*escaped*");
        assert_eq!(html("snake_case_name"), "snake_case_name");
    }

    #[test]
    fn references() {
        assert_eq!(
            html("The Zinc_ project"),
            "The <a class=\"reference external\" href=\"http://zinc.rs/\">Zinc</a> project"
        );
        assert_eq!(
            html("the `meeting\nminutes`_ now"),
            "the <a class=\"reference external\" href=\"https://m.org/\">meeting\nminutes</a> now"
        );
        assert_eq!(
            html("`an embedded <http://e.com/x>`_ and `anon <http://a.com>`__."),
            "<a class=\"reference external\" href=\"http://e.com/x\">an embedded</a> and \
             <a class=\"reference external\" href=\"http://a.com\">anon</a>."
        );
        assert_eq!(html("`unknown`_"), "unknown");
    }

    #[test]
    fn standalone_uris() {
        assert_eq!(
            html("see http://example.com/bare."),
            "see <a class=\"reference external\" href=\"http://example.com/bare\">http://example.com/bare</a>."
        );
        assert_eq!(
            html("mail me@example.com,"),
            "mail <a class=\"reference external\" href=\"mailto:me&#64;example.com\">me&#64;example.com</a>,"
        );
    }
}
