//! Highlights of an issue for its announcement: Crate of the Week, Quote of the Week, the
//! merged-PR count, the Official items and the first items of the community sections.
//!
//! The body is parsed as Markdown (reference links resolved) into [`Block`]s that remember the
//! headings they sit under; each highlight is then picked from the blocks of its section.
//! Sections that are empty or hold only HTML comments or template text give no highlight.

use std::sync::LazyLock;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// The kinds of highlight, in TWiR's default rank order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HighlightKind {
    /// The crate of the week: name, link, one-line description.
    CrateOfTheWeek,
    /// The items of the "Official" community section.
    Official,
    /// The quote of the week and its author.
    QuoteOfTheWeek,
    /// "613 pull requests were merged in the last week".
    MergedPrs,
    /// The first item of each community section (other than Official).
    Community,
}

impl HighlightKind {
    /// The name used in the configuration and templates (`crate_of_the_week` …).
    pub fn name(self) -> &'static str {
        match self {
            Self::CrateOfTheWeek => "crate_of_the_week",
            Self::Official => "official",
            Self::QuoteOfTheWeek => "quote_of_the_week",
            Self::MergedPrs => "merged_prs",
            Self::Community => "community",
        }
    }

    /// TWiR's default selection and order.
    pub const DEFAULT_ORDER: [HighlightKind; 5] = [
        Self::CrateOfTheWeek,
        Self::Official,
        Self::QuoteOfTheWeek,
        Self::MergedPrs,
        Self::Community,
    ];
}

/// One highlight: the text a post shows and the link it points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Highlight {
    /// What kind of highlight this is.
    pub kind: HighlightKind,
    /// The text as a post shows it (e.g. `Crate of the Week: dashu, a pure Rust set of …`).
    pub text: String,
    /// The link (the crate, the quote's source, the article).
    pub url: Option<String>,
    /// The 1-based source line the highlight comes from (relative to the body).
    pub line: usize,
}

/// Everything extracted from one issue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Highlights {
    /// Crate of the Week, if the section names one.
    pub crate_of_the_week: Option<Highlight>,
    /// Quote of the Week, if there is one.
    pub quote_of_the_week: Option<Highlight>,
    /// The merged-PR count line.
    pub merged_prs: Option<Highlight>,
    /// The Official items, in order.
    pub official: Vec<Highlight>,
    /// The first item of each other community section, in order.
    pub community: Vec<Highlight>,
    /// Whether the issue has a Crate of the Week section at all (empty or not).
    pub has_crate_section: bool,
}

impl Highlights {
    /// The highlights in rank order: `order` names the kinds; Official and Community add up to
    /// `max_items_per_kind` items each.
    pub fn ranked(&self, order: &[HighlightKind], max_items_per_kind: usize) -> Vec<Highlight> {
        let mut out = Vec::new();
        for kind in order {
            match kind {
                HighlightKind::CrateOfTheWeek => out.extend(self.crate_of_the_week.clone()),
                HighlightKind::QuoteOfTheWeek => out.extend(self.quote_of_the_week.clone()),
                HighlightKind::MergedPrs => out.extend(self.merged_prs.clone()),
                HighlightKind::Official => {
                    out.extend(self.official.iter().take(max_items_per_kind).cloned())
                }
                HighlightKind::Community => {
                    out.extend(self.community.iter().take(max_items_per_kind).cloned())
                }
            }
        }
        out
    }
}

/// A paragraph, list item or quoted paragraph of the body, with the headings above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Titles of the enclosing headings, outermost first, with their levels.
    pub headings: Vec<(u8, String)>,
    /// What sort of block.
    pub kind: BlockKind,
    /// Its visible text, white space folded.
    pub text: String,
    /// Its links: (text, URL), in order.
    pub links: Vec<(String, String)>,
    /// The 1-based line it starts on (relative to the body).
    pub line: usize,
}

/// The sort of a [`Block`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A paragraph.
    Paragraph,
    /// A list item (its own text, not its nested items').
    Item,
    /// A paragraph inside a block quote.
    Quote,
}

/// A heading with its level, title and the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1–6.
    pub level: u8,
    /// Its text.
    pub title: String,
    /// Its line (relative to the body).
    pub line: usize,
}

/// Splits a Markdown body into blocks under their headings.
pub fn parse_blocks(body: &str) -> (Vec<Block>, Vec<Heading>) {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(body.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset);

    let mut blocks = Vec::new();
    let mut headings_out = Vec::new();
    let mut headings: Vec<(u8, String)> = Vec::new();
    let mut heading: Option<(u8, String, usize)> = None;
    // Open blocks, innermost last.
    let mut open: Vec<OpenBlock> = Vec::new();
    let mut quote_depth = 0;
    let mut link: Option<(String, usize)> = None;

    let options = Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES;
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((heading_level(level), String::new(), line_of(range.start)))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, title, line)) = heading.take() {
                    let title = fold(&title);
                    while headings.last().is_some_and(|(l, _)| *l >= level) {
                        headings.pop();
                    }
                    headings.push((level, title.clone()));
                    headings_out.push(Heading { level, title, line });
                }
            }
            Event::Start(Tag::BlockQuote(_)) => quote_depth += 1,
            Event::End(TagEnd::BlockQuote(_)) => quote_depth -= 1,
            Event::Start(Tag::Item) => {
                open.push(OpenBlock::new(BlockKind::Item, line_of(range.start)))
            }
            // A paragraph inside a list item belongs to the item.
            Event::Start(Tag::Paragraph) if !in_item(&open) => {
                let kind = if quote_depth > 0 { BlockKind::Quote } else { BlockKind::Paragraph };
                open.push(OpenBlock::new(kind, line_of(range.start)));
            }
            Event::End(TagEnd::Item) => close(&mut open, &mut blocks, &headings),
            Event::End(TagEnd::Paragraph) if !in_item(&open) => {
                close(&mut open, &mut blocks, &headings)
            }
            Event::Start(Tag::List(_)) => {
                // Text after a nested list is not the item's own.
                if let Some(b) = open.last_mut() {
                    b.nested = true;
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                let at = heading
                    .as_ref()
                    .map(|h| h.1.len())
                    .or_else(|| open.last().map(|b| b.text.len()));
                link = at.map(|at| (dest_url.to_string(), at));
            }
            Event::End(TagEnd::Link) => {
                if let (Some((url, at)), Some(b), None) = (link.take(), open.last_mut(), &heading) {
                    let text = fold(b.text.get(at..).unwrap_or_default());
                    b.links.push((text, url));
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.1.push_str(&t);
                } else if let Some(b) = open.last_mut().filter(|b| !b.nested) {
                    b.text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(b) = open.last_mut().filter(|b| !b.nested) {
                    b.text.push(' ');
                }
            }
            _ => {}
        }
    }
    (blocks, headings_out)
}

fn heading_level(level: HeadingLevel) -> u8 {
    level as u8
}

/// A block being read.
struct OpenBlock {
    kind: BlockKind,
    text: String,
    links: Vec<(String, String)>,
    line: usize,
    /// A nested list has started: later text is not this block's own.
    nested: bool,
}

impl OpenBlock {
    fn new(kind: BlockKind, line: usize) -> Self {
        Self { kind, text: String::new(), links: Vec::new(), line, nested: false }
    }
}

fn in_item(open: &[OpenBlock]) -> bool {
    open.last().is_some_and(|b| b.kind == BlockKind::Item)
}

fn close(open: &mut Vec<OpenBlock>, blocks: &mut Vec<Block>, headings: &[(u8, String)]) {
    let Some(b) = open.pop() else { return };
    let text = fold(&b.text);
    if !text.is_empty() {
        blocks.push(Block {
            headings: headings.to_vec(),
            kind: b.kind,
            text,
            links: b.links,
            line: b.line,
        });
    }
}

/// Folds runs of white space into single spaces and trims.
fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn title_is(block: &Block, re: &Regex) -> bool {
    block.headings.iter().any(|(_, t)| re.is_match(t))
}

fn innermost_is(block: &Block, re: &Regex) -> bool {
    block.headings.last().is_some_and(|(_, t)| re.is_match(t))
}

static COTW_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^crate of the week").unwrap());
static QOTW_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^quotes? of the week").unwrap());
static PROJECT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^updates from the rust project").unwrap());
static COMMUNITY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^updates from (the )?rust community").unwrap());
static OFFICIAL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^official").unwrap());
static MERGED_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(\d[\d,]*) pull requests were merged").unwrap());
static COTW_LEAD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^this week'?s crate is\s*").unwrap());
static TAGS_PREFIX_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\[[^\]]*\]\s*)+").unwrap());

/// Extracts the highlights of an issue body.
pub fn extract_highlights(body: &str) -> Highlights {
    let (blocks, headings) = parse_blocks(body);
    let mut out = Highlights {
        has_crate_section: headings.iter().any(|h| COTW_RE.is_match(&h.title)),
        ..Highlights::default()
    };

    out.crate_of_the_week = blocks
        .iter()
        .filter(|b| innermost_is(b, &COTW_RE) && b.kind == BlockKind::Paragraph)
        .find(|b| COTW_LEAD_RE.is_match(&b.text) && !b.links.is_empty())
        .map(crate_of_the_week);

    let quote: Vec<&Block> =
        blocks.iter().filter(|b| innermost_is(b, &QOTW_RE) && b.kind == BlockKind::Quote).collect();
    if let Some(first) = quote.first() {
        let text = quote.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join(" ");
        let attribution = blocks
            .iter()
            .filter(|b| {
                innermost_is(b, &QOTW_RE) && b.kind == BlockKind::Paragraph && b.line > first.line
            })
            .find(|b| b.text.starts_with(['–', '—', '-']));
        let (author, url) = match attribution {
            Some(b) => (Some(author_of(&b.text)), b.links.first().map(|l| l.1.clone())),
            None => (None, None),
        };
        let text = match author {
            Some(a) if !a.is_empty() => format!("Quote of the Week: “{text}” — {a}"),
            _ => format!("Quote of the Week: “{text}”"),
        };
        out.quote_of_the_week =
            Some(Highlight { kind: HighlightKind::QuoteOfTheWeek, text, url, line: first.line });
    }

    out.merged_prs = blocks.iter().filter(|b| innermost_is(b, &PROJECT_RE)).find_map(|b| {
        let count = MERGED_RE.captures(&b.text)?[1].to_string();
        Some(Highlight {
            kind: HighlightKind::MergedPrs,
            text: format!("{count} pull requests were merged in the last week"),
            url: b.links.first().map(|l| l.1.clone()),
            line: b.line,
        })
    });

    let mut last_section: Option<&str> = None;
    for b in blocks.iter().filter(|b| b.kind == BlockKind::Item && title_is(b, &COMMUNITY_RE)) {
        let Some(link) = b.links.first().filter(|l| is_real_url(&l.1) && !l.0.is_empty()) else {
            continue;
        };
        let section = b.headings.last().map_or("", |h| h.1.as_str());
        if COMMUNITY_RE.is_match(section) {
            continue; // an item directly under the community heading is template text
        }
        let text = TAGS_PREFIX_RE.replace(&b.text, "").to_string();
        let tags = TAGS_PREFIX_RE.find(&b.text).map_or("", |m| m.as_str()).trim();
        let text = if tags.is_empty() { text } else { format!("{tags} {text}") };
        let h = Highlight {
            kind: HighlightKind::Community,
            text,
            url: Some(link.1.clone()),
            line: b.line,
        };
        if OFFICIAL_RE.is_match(section) {
            out.official.push(Highlight { kind: HighlightKind::Official, ..h });
        } else if last_section != Some(section) {
            last_section = Some(section);
            out.community.push(h);
        }
    }
    out
}

fn crate_of_the_week(b: &Block) -> Highlight {
    let (name, url) = b.links[0].clone();
    let rest = COTW_LEAD_RE.replace(&b.text, "");
    let description = rest
        .strip_prefix(name.as_str())
        .unwrap_or(&rest)
        .trim_start_matches([',', ':', ';', '-', '–', '—', ' '])
        .trim_end_matches(['.', ' ', '!'])
        .to_string();
    let text = if description.is_empty() {
        format!("Crate of the Week: {name}")
    } else {
        format!("Crate of the Week: {name}, {description}")
    };
    Highlight { kind: HighlightKind::CrateOfTheWeek, text, url: Some(url), line: b.line }
}

/// "– Clar Fon on rust-zulip discussion …" → "Clar Fon".
fn author_of(attribution: &str) -> String {
    let s = attribution.trim_start_matches(['–', '—', '-', ' ']);
    let s = s.split(" on ").next().unwrap_or(s);
    let s = s.split(" in ").next().unwrap_or(s);
    s.trim_end_matches([',', '.', ' ']).to_string()
}

fn is_real_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && url.len() > "https://".len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = "\
Intro [Rust](https://www.rust-lang.org/).

## Updates from Rust Community

<!--
* [Title of the linked Page](https://example.com/my_article)
-->

### Official
* [Announcing Rust 1.99](https://blog.rust-lang.org/1.99)
* [Inside Rust: news](https://blog.rust-lang.org/inside)

### Newsletters

### Project/Tooling Updates
* [OxiSH: a modern SSH server](https://example.com/oxish)
* [rama v0.4.0](https://example.com/rama)

### Observations/Thoughts
* [video] [series] [State Machines](https://youtu.be/x)

## Crate of the Week

This week's crate is [dashu][d], a pure Rust set of libraries of arbitrary precision numbers.

[d]: https://crates.io/crates/dashu

## Updates from the Rust Project

613 pull requests were [merged in the last week][merged]

[merged]: https://github.com/search?q=merged

# Quote of the Week

> ass-bind
> is peak

– [Clar Fon on rust-zulip](https://zulip.example/1)
";

    #[test]
    fn extracts_each_kind() {
        let h = extract_highlights(ISSUE);
        let cotw = h.crate_of_the_week.unwrap();
        assert_eq!(
            cotw.text,
            "Crate of the Week: dashu, a pure Rust set of libraries of arbitrary precision numbers"
        );
        assert_eq!(cotw.url.as_deref(), Some("https://crates.io/crates/dashu"));
        let q = h.quote_of_the_week.unwrap();
        assert_eq!(q.text, "Quote of the Week: “ass-bind is peak” — Clar Fon");
        assert_eq!(q.url.as_deref(), Some("https://zulip.example/1"));
        let m = h.merged_prs.unwrap();
        assert_eq!(m.text, "613 pull requests were merged in the last week");
        assert_eq!(m.url.as_deref(), Some("https://github.com/search?q=merged"));
        assert_eq!(
            h.official.iter().map(|o| o.text.as_str()).collect::<Vec<_>>(),
            ["Announcing Rust 1.99", "Inside Rust: news"]
        );
        let community: Vec<_> = h.community.iter().map(|o| o.text.as_str()).collect();
        assert_eq!(community, ["OxiSH: a modern SSH server", "[video] [series] State Machines"]);
    }

    #[test]
    fn empty_and_comment_only_sections_give_nothing() {
        let body = "## Crate of the Week\n\n<!-- COTW goes here -->\n\n[Please vote][v]!\n\n[v]: https://x.example\n\n# Quote of the Week\n\n<!-- QOTW goes here -->\n";
        let h = extract_highlights(body);
        assert!(h.crate_of_the_week.is_none());
        assert!(h.has_crate_section);
        assert!(h.quote_of_the_week.is_none());
        assert!(h.ranked(&HighlightKind::DEFAULT_ORDER, 2).is_empty());
    }

    #[test]
    fn ranking_follows_the_configured_order() {
        let h = extract_highlights(ISSUE);
        let kinds: Vec<_> = h
            .ranked(&[HighlightKind::MergedPrs, HighlightKind::Official], 1)
            .iter()
            .map(|h| h.kind)
            .collect();
        assert_eq!(kinds, [HighlightKind::MergedPrs, HighlightKind::Official]);
    }
}
