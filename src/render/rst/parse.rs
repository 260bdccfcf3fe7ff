//! The block parser: lines into [`Block`]s (sections, paragraphs, lists, literal blocks,
//! tables, targets, field lists), with the targets collected and ids handed out in document
//! order.

use super::*;

/// The block parser; collects targets and hands out ids in document order.
#[derive(Default)]
pub(super) struct Parser {
    pub(super) targets: Targets,
    pub(super) ids: HashSet<String>,
}

impl Parser {
    /// Parses a run of lines (dedented to column 0) into blocks. Headings only count at the
    /// top level.
    pub(super) fn parse_blocks(&mut self, lines: &[Line], top: bool) -> Vec<Block> {
        let mut blocks = Vec::new();
        let mut literal_next = false;
        let mut i = 0;
        while i < lines.len() {
            let text = lines[i].text.as_str();
            if text.is_empty() {
                i += 1;
                continue;
            }
            if indent_of(text) > 0 {
                let end = indented_end(lines, i);
                let inner = dedent(&lines[i..end]);
                if literal_next {
                    let body: Vec<&str> = inner.iter().map(|l| l.text.as_str()).collect();
                    blocks.push(Block::Literal(body.join("\n")));
                } else {
                    blocks.push(Block::Quote(self.parse_blocks(&inner, false)));
                }
                literal_next = false;
                i = end;
                continue;
            }
            literal_next = false;
            if top && let Some((heading, next)) = self.heading_at(lines, i) {
                blocks.push(heading);
                i = next;
                continue;
            }
            if is_adornment(text)
                && text.len() >= 4
                && lines.get(i + 1).is_none_or(|l| l.text.is_empty())
            {
                blocks.push(Block::Transition);
                i += 1;
                continue;
            }
            if text == ".." || text.starts_with(".. ") {
                let end = indented_end(lines, i + 1);
                blocks.push(self.explicit_markup(&lines[i..end]));
                i = end;
                continue;
            }
            if bullet_width(text).is_some() {
                let bullet = text.chars().next();
                let (items, end) = self.list_items(lines, i, |t| {
                    bullet_width(t).filter(|_| t.chars().next() == bullet)
                });
                blocks.push(Block::Bullets(items));
                i = end;
                continue;
            }
            if let Some(enumerator) = enumerator_at(text)
                && lines.get(i + 1).is_none_or(|l| {
                    l.text.is_empty() || indent_of(&l.text) > 0 || enumerator_at(&l.text).is_some()
                })
            {
                let (items, end) = self.list_items(lines, i, |t| {
                    enumerator_at(t).filter(|e| e.format == enumerator.format).map(|e| e.width)
                });
                blocks.push(Block::Enumerated { start: enumerator.value.unwrap_or(1), items });
                i = end;
                continue;
            }
            if field_at(text).is_some() {
                let (fields, end) = field_list(lines, i);
                // Outside the docinfo position, the writer shows it as text.
                blocks.push(Block::Fields(fields));
                i = end;
                continue;
            }
            // A paragraph: up to a blank or indented line.
            let end = lines[i..]
                .iter()
                .position(|l| l.text.is_empty() || indent_of(&l.text) > 0)
                .map_or(lines.len(), |p| i + p);
            let mut para: String =
                lines[i..end].iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n");
            if let Some(stripped) = para.strip_suffix("::") {
                literal_next = true;
                para = if stripped.is_empty() {
                    String::new()
                } else if let Some(before) = stripped.strip_suffix(char::is_whitespace) {
                    before.trim_end().to_string()
                } else {
                    format!("{stripped}:")
                };
            }
            if !para.is_empty() {
                blocks.push(Block::Paragraph(para));
            }
            i = end;
        }
        blocks
    }

    /// A section title at `i`, underlined or over- and underlined: the heading and the line
    /// after it.
    pub(super) fn heading_at(&mut self, lines: &[Line], i: usize) -> Option<(Block, usize)> {
        let text = lines[i].text.as_str();
        let next = lines.get(i + 1).map(|l| l.text.as_str());
        let (style, title, end) = if is_adornment(text)
            && let Some(title) = next
            && !title.is_empty()
            && lines.get(i + 2).is_some_and(|l| l.text == text)
        {
            ((adornment_char(text)?, true), title.trim(), i + 3)
        } else if let Some(under) = next
            && is_adornment(under)
            && (under.chars().count() >= text.chars().count() || under.len() >= 4)
        {
            ((adornment_char(under)?, false), text.trim(), i + 2)
        } else {
            return None;
        };
        let id = self.new_id(&make_id(&plain_text(title)));
        // The title is also an implicit target; explicit targets win.
        self.targets
            .entry(normalize_name(&plain_text(title)))
            .or_insert_with(|| Target::Internal(id.clone()));
        Some((Block::Heading { style, title: title.to_string(), id }, end))
    }

    /// Reserves an id like `document.set_id` does: `make_id(name)`, or `name-1`, `name-2` …
    /// when it is taken, or `section-1` … when it is empty.
    pub(super) fn new_id(&mut self, base: &str) -> String {
        let prefix = if base.is_empty() { "section".to_string() } else { base.to_string() };
        if !base.is_empty() && self.ids.insert(base.to_string()) {
            return base.to_string();
        }
        let mut n = 1;
        loop {
            let id = format!("{prefix}-{n}");
            if self.ids.insert(id.clone()) {
                return id;
            }
            n += 1;
        }
    }

    /// `.. something`: a hyperlink target, a comment, or unsupported markup.
    pub(super) fn explicit_markup(&mut self, lines: &[Line]) -> Block {
        let first = lines[0].text.get(2..).unwrap_or("").trim_start();
        let rest = dedent(&lines[1..]);
        let rest: Vec<&str> = rest.iter().map(|l| l.text.as_str()).collect();
        let source = || {
            let all: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
            Block::Unknown(all.join("\n").trim_end().to_string())
        };
        if let Some(target) = first.strip_prefix('_') {
            let Some((name, url)) = split_target(target) else {
                return source();
            };
            let url: String = std::iter::once(url)
                .chain(rest.iter().copied())
                .flat_map(str::split_whitespace)
                .collect();
            if name != "_" && !url.is_empty() {
                let name = normalize_name(&inline::unescape(name));
                self.new_id(&make_id(&name));
                // A later duplicate is an error in docutils; keep the first.
                if !matches!(self.targets.get(&name), Some(Target::External(_))) {
                    self.targets.insert(name, Target::External(url));
                }
            }
            return Block::Target;
        }
        let is_directive = first.split_once("::").is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "-_:.+".contains(c))
        });
        if is_directive || first.starts_with('[') || first.starts_with('|') {
            return source();
        }
        let mut comment = vec![first];
        comment.extend(rest);
        let comment = comment.join("\n");
        Block::Comment(comment.trim_matches('\n').to_string())
    }

    /// A list's items from `i` on, for as long as lines start with a marker `marker` accepts
    /// (returning the marker's width).
    pub(super) fn list_items(
        &mut self,
        lines: &[Line],
        mut i: usize,
        marker: impl Fn(&str) -> Option<usize>,
    ) -> (Vec<Vec<Block>>, usize) {
        let mut items = Vec::new();
        while let Some(width) = lines.get(i).and_then(|l| marker(&l.text)) {
            let end = indented_end(lines, i + 1);
            let first = Line { no: lines[i].no, text: lines[i].text[width..].to_string() };
            let mut item = vec![first];
            item.extend(dedent(&lines[i + 1..end]));
            items.push(self.parse_blocks(&item, false));
            i = end;
            while lines.get(i).is_some_and(|l| l.text.is_empty()) {
                i += 1;
            }
        }
        (items, i)
    }
}

/// Splits a target's `name: url` (the name may be backquoted and may escape colons).
pub(super) fn split_target(target: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = target.strip_prefix('`') {
        let close = quoted.find("`:")?;
        return Some((&quoted[..close], &quoted[close + 2..]));
    }
    let bytes = target.as_bytes();
    let colon = (0..bytes.len()).find(|&p| {
        bytes[p] == b':'
            && (p == 0 || bytes[p - 1] != b'\\')
            && bytes.get(p + 1).is_none_or(|c| c.is_ascii_whitespace())
    })?;
    Some((&target[..colon], &target[colon + 1..]))
}

/// The width of a bullet marker and its spaces (`* `), if `text` starts a bullet item.
pub(super) fn bullet_width(text: &str) -> Option<usize> {
    let c = text.chars().next()?;
    if !matches!(c, '*' | '+' | '-' | '•' | '‣' | '⁃') {
        return None;
    }
    let after = &text[c.len_utf8()..];
    if after.is_empty() {
        return Some(c.len_utf8());
    }
    let spaces = after.len() - after.trim_start_matches(' ').len();
    (spaces > 0).then_some(c.len_utf8() + spaces)
}

/// An enumerated list item's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Enumerator {
    /// `.`, `)` or `()` (as `'('`).
    format: char,
    /// The number, `None` for `#`.
    value: Option<u64>,
    /// Marker width, with its spaces.
    width: usize,
}

/// An arabic (or `#`) enumerator at the start of `text`: `1.`, `1)`, `(1)`.
pub(super) fn enumerator_at(text: &str) -> Option<Enumerator> {
    let (inner, parens) = match text.strip_prefix('(') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    let (value, len) = if digits > 0 {
        (Some(inner[..digits].parse().ok()?), digits)
    } else if inner.starts_with('#') {
        (None, 1)
    } else {
        return None;
    };
    let format = match (inner[len..].chars().next()?, parens) {
        ('.', false) => '.',
        (')', false) => ')',
        (')', true) => '(',
        _ => return None,
    };
    let marker = usize::from(parens) + len + 1;
    let after = &text[marker..];
    let spaces = after.len() - after.trim_start_matches(' ').len();
    if !after.is_empty() && spaces == 0 {
        return None;
    }
    Some(Enumerator { format, value, width: marker + spaces })
}

/// `:name: value` at the start of `text`: the name and the value's first line.
pub(super) fn field_at(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(':')?;
    let bytes = rest.as_bytes();
    let colon = (1..bytes.len()).find(|&p| {
        bytes[p] == b':' && bytes[p - 1] != b'\\' && bytes.get(p + 1).is_none_or(|&c| c == b' ')
    })?;
    let name = &rest[..colon];
    if name.starts_with(' ') || name.ends_with(' ') {
        return None;
    }
    Some((name, rest[colon + 1..].trim()))
}

/// A field list from `i` on: fields (name, value source, line) and the line after it.
pub(super) fn field_list(lines: &[Line], mut i: usize) -> (Vec<(String, String, usize)>, usize) {
    let mut fields = Vec::new();
    while let Some((name, first)) = lines.get(i).and_then(|l| field_at(&l.text)) {
        let end = indented_end(lines, i + 1);
        let mut value = vec![first.to_string()];
        value.extend(dedent(&lines[i + 1..end]).into_iter().map(|l| l.text));
        let value = value.join("\n").trim().to_string();
        fields.push((name.to_string(), value, lines[i].no));
        i = end;
        while lines.get(i).is_some_and(|l| l.text.is_empty()) {
            i += 1;
        }
    }
    (fields, i)
}

/// Whether `text` is a section adornment: one repeated punctuation character.
pub(super) fn is_adornment(text: &str) -> bool {
    text.len() >= 2 && adornment_char(text).is_some()
}

pub(super) fn adornment_char(text: &str) -> Option<char> {
    let c = text.chars().next()?;
    (c.is_ascii_punctuation() && text.chars().all(|d| d == c)).then_some(c)
}

pub(super) fn indent_of(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

/// The end of the indented block starting at `i`: the first non-blank line at column 0.
pub(super) fn indented_end(lines: &[Line], i: usize) -> usize {
    let end = lines
        .get(i..)
        .unwrap_or_default()
        .iter()
        .position(|l| !l.text.is_empty() && indent_of(&l.text) == 0)
        .map_or(lines.len(), |p| i + p);
    // Trailing blank lines belong to what follows.
    let mut end = end.max(i);
    while end > i && lines[end - 1].text.is_empty() {
        end -= 1;
    }
    end
}

/// Removes the common indentation of `lines`.
pub(super) fn dedent(lines: &[Line]) -> Vec<Line> {
    let indent =
        lines.iter().filter(|l| !l.text.is_empty()).map(|l| indent_of(&l.text)).min().unwrap_or(0);
    lines
        .iter()
        .map(|l| Line { no: l.no, text: l.text.get(indent..).unwrap_or("").to_string() })
        .collect()
}

/// Docutils' `make_id`: lowercase ASCII letters and digits joined by single hyphens, starting
/// with a letter. (Docutils also transliterates a few letters such as `ø` and `ß` first.)
pub(super) fn make_id(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut translated = String::with_capacity(lower.len());
    for c in lower.chars() {
        match c {
            'ß' => translated.push_str("sz"),
            'æ' => translated.push_str("ae"),
            'œ' => translated.push_str("oe"),
            'ø' => translated.push('o'),
            'đ' => translated.push('d'),
            'ħ' => translated.push('h'),
            'ı' => translated.push('i'),
            'ł' => translated.push('l'),
            _ => translated.push(c),
        }
    }
    let ascii: String = translated.nfkd().filter(char::is_ascii).collect();
    let mut id = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_start_matches(|c: char| c == '-' || c.is_ascii_digit())
        .trim_end_matches('-')
        .to_string()
}
