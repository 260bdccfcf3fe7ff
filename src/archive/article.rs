//! One article file → [`Article`]: Pelican's metadata rules, dates and slug.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveTime};

use super::body::Body;
use super::date::{filename_date, parse_date};
pub use super::hash::ContentHash;
use super::hash::{LazyHash, content_hash};
use super::header::{Field, split_header};
use super::slug::{slugify, striptags};
use super::zone::Zone;
use crate::render::{self, budget::Bounded};

/// Articles larger than this are refused: the largest TWiR issue is about 60 KB, so a file of
/// megabytes is a mistake (a log or a binary saved with the wrong name), not an article.
pub const MAX_ARTICLE_BYTES: usize = 4 * 1024 * 1024;

/// What the parser needs from the site configuration.
#[derive(Debug, Clone)]
pub struct ParseSettings {
    /// The zone that naive `Date:` values are local times in.
    pub timezone: Zone,
    /// The category of an article without a `Category:` header.
    pub default_category: String,
    /// Whether an article its editor has not published (`Status: draft` or `hidden`) is read,
    /// as for a file named to be previewed, or refused with [`ParseErrorKind::NotPublished`],
    /// as the archive's scan refuses it.
    pub drafts: bool,
}

impl Default for ParseSettings {
    fn default() -> Self {
        Self {
            timezone: Zone::named("America/New_York").expect("bundled"),
            default_category: "misc".into(),
            drafts: false,
        }
    }
}

/// The source format of an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArticleFormat {
    /// `.md` / `.markdown`, rendered like Python-Markdown.
    Markdown,
    /// `.rst`, rendered like docutils.
    Rst,
}

impl ArticleFormat {
    /// The format a file name's extension names, if it is an article at all.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "md" | "markdown" => Some(Self::Markdown),
            "rst" => Some(Self::Rst),
            _ => None,
        }
    }
}

/// One published article: what its file says, read by Pelican's rules. A plain value: what is
/// derived from it and kept between uses (its rendering) is kept beside it, by the feeds'
/// renderings. It may be held without its body (see [`super::body`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// The file, as given to [`parse_article`] (usually relative to the archive).
    pub source: PathBuf,
    /// Source format.
    pub format: ArticleFormat,
    /// The title as written in the header (may contain HTML).
    pub title: String,
    /// The URL slug: `Slug:` if given, else Pelican's slugify of the title.
    pub slug: String,
    /// Publication time: the `Date:` header as local time in the site's zone.
    pub date: DateTime<FixedOffset>,
    /// Category name (`Category:` or the site default).
    pub category: String,
    /// Tag names in header order.
    pub tags: Vec<String>,
    /// The `Number:` header, when it is a whole number (Pelican ignores it; announcements use it).
    pub number: Option<u32>,
    /// The source after the header; see [`body`](Self::body).
    body: Body,
    /// The 1-based line of the source the body starts on.
    pub body_line: usize,
    /// The `Summary:` header's Markdown, if the article has one.
    pub summary_source: Option<String>,
    /// See [`content_hash`](Self::content_hash); computed on first use (`herald feeds` never
    /// needs it).
    content_hash: LazyHash,
}

impl Article {
    /// The title as a feed shows it: tags stripped, entities unescaped.
    pub fn plain_title(&self) -> String {
        striptags(&self.title)
    }

    /// The source after the header. Panics on an article held without it ([`Self::has_body`]).
    pub fn body(&self) -> &str {
        self.body.text()
    }

    /// Whether the body is held: not for an article read for its header only
    /// ([`parse_article_header`]) or kept without it ([`Self::without_body`]).
    pub fn has_body(&self) -> bool {
        self.body.is_held()
    }

    /// The same article without its body (its content hash taken first, and kept), for one
    /// who keeps articles between scans: its body is read again from the file when needed
    /// ([`super::scan::read_body`]).
    pub(crate) fn without_body(&self) -> Self {
        if self.has_body() {
            self.content_hash();
        }
        Self { body: Body::not_held(), ..self.clone() }
    }

    /// What makes the issue "changed" for the daemon's settle time: the SHA-256 (hex) of its
    /// title, date (RFC 3339) and body, each followed by a newline but the last. Panics on an
    /// article read for its header only (its body never was at hand).
    pub fn content_hash(&self) -> ContentHash {
        *self.content_hash.0.get_or_init(|| content_hash(&self.title, &self.date, self.body()))
    }

    /// The same article, with its content hash known (taken before from the same file).
    pub(crate) fn with_hash(self, hash: ContentHash) -> Self {
        let _ = self.content_hash.0.set(hash);
        self
    }

    /// The content hash, if it was taken.
    pub fn hash_taken(&self) -> Option<ContentHash> {
        self.content_hash.0.get().copied()
    }

    /// The body as HTML, rendered now: Markdown as Python-Markdown does, reStructuredText as
    /// docutils does, within the work budget of the body's size (see [`render::budget`]).
    pub fn render_html(&self) -> Bounded<String> {
        let body = self.body();
        render::budget::bounded(body.len(), || match self.format {
            ArticleFormat::Markdown => render::render_markdown(body),
            ArticleFormat::Rst => render::render_rst(body).html,
        })
    }
}

/// Why a file could not be read as an article.
#[derive(Debug, thiserror::Error)]
pub struct ParseError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line the problem is on, where there is one.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.kind),
            None => write!(f, "{}: {}", self.path.display(), self.kind),
        }
    }
}

/// The kinds of [`ParseError`].
#[derive(Debug, thiserror::Error)]
pub enum ParseErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// The name is an article's but the file is a pipe, socket or device (reading it could
    /// block the scan for ever).
    #[error("not a regular file")]
    NotAFile,
    /// The file is empty or only white space.
    #[error("the file is empty")]
    Empty,
    /// The file is over [`MAX_ARTICLE_BYTES`].
    #[error("the file is {size} bytes, over the {limit}-byte limit for an article")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// The file holds NUL bytes: it is binary, not text.
    #[error("the file is binary (NUL byte at offset {offset}), not an article")]
    Binary {
        /// Byte offset of the first NUL.
        offset: usize,
    },
    /// The file is not valid UTF-8.
    #[error("not valid UTF-8 (byte offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A required header is absent.
    #[error("no `{0}:` header (the header is the `Key: value` lines before the first blank line)")]
    Missing(&'static str),
    /// A header has an empty value where one is required.
    #[error("the `{0}:` header is empty")]
    EmptyField(&'static str),
    /// The `Date:` value is not a date.
    #[error("`Date: {value}` is not a date: expected YYYY-MM-DD, optionally with HH:MM[:SS]")]
    BadDate {
        /// The value as written.
        value: String,
    },
    /// `Status: draft` or `Status: hidden`: Pelican leaves the article out of its feeds; herald
    /// leaves it out of the feeds and the announcements. Not a fault: see
    /// [`ParseError::is_unpublished`].
    #[error(
        "`Status: {0}`: not published, so not in the feeds and not announced (no `Status:` line, \
         or `Status: published`, publishes it)"
    )]
    NotPublished(String),
    /// A `Status:` Pelican does not know: it skips the article.
    #[error("`Status: {value}` is not a status: expected published, draft or hidden")]
    BadStatus {
        /// The value as written.
        value: String,
    },
    /// The title gives an empty slug and there is no `Slug:` header.
    #[error("the title {title:?} gives an empty slug; add a `Slug:` header")]
    EmptySlug {
        /// The title.
        title: String,
    },
}

impl ParseError {
    pub(crate) fn new(path: &Path, line: Option<usize>, kind: ParseErrorKind) -> Self {
        Self { path: path.to_path_buf(), line, kind }
    }

    /// Whether the file is an article its editor has not published (`Status: draft` or
    /// `hidden`): left out as the others that cannot be read are, but not a fault to report.
    pub fn is_unpublished(&self) -> bool {
        matches!(self.kind, ParseErrorKind::NotPublished(_))
    }
}

/// The 1-based line number of byte `offset` in `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Decodes and normalizes an article file the way Pelican and Python-Markdown do before
/// parsing: BOM dropped, `\r\n` and `\r` → `\n`, tabs expanded to 4-column stops, lines of only
/// spaces emptied.
pub fn decode_source(path: &Path, bytes: &[u8]) -> Result<String, ParseError> {
    check_source(path, bytes).map(normalize_whitespace)
}

/// The checks of [`decode_source`] (size, NUL bytes, UTF-8), giving the text without its BOM.
fn check_source<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    if bytes.len() > MAX_ARTICLE_BYTES {
        let kind = ParseErrorKind::TooLarge { size: bytes.len() as u64, limit: MAX_ARTICLE_BYTES };
        return Err(ParseError::new(path, None, kind));
    }
    if let Some(offset) = memchr::memchr(0, bytes) {
        return Err(ParseError::new(
            path,
            Some(line_of(bytes, offset)),
            ParseErrorKind::Binary { offset },
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        ParseError::new(path, Some(line_of(bytes, offset)), ParseErrorKind::NotUtf8 { offset })
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// [`parse_article`] without its body: the file is checked whole, as `parse_article` checks
/// it (so it fails where that fails), but only the header is read; the body is left unread
/// (see [`Article::has_body`]). For a reader that needs the bodies of a few articles only.
pub fn parse_article_header(
    path: &Path,
    bytes: &[u8],
    settings: &ParseSettings,
) -> Result<Article, ParseError> {
    let format = ArticleFormat::from_path(path).unwrap_or(ArticleFormat::Markdown);
    // reStructuredText's header is the document; a lone `\r` moves line ends: read in full.
    if format == ArticleFormat::Rst || memchr::memchr3(b'\r', 2, 3, bytes).is_some() {
        return parse_article(path, bytes, settings);
    }
    let text = check_source(path, bytes)?;
    if text.trim().is_empty() {
        return Err(ParseError::new(path, None, ParseErrorKind::Empty));
    }
    // The header ends at its first blank line at the latest; normalizing is line by line.
    let mut end = text.len();
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', text.as_bytes()) {
        if text[start..newline].trim().is_empty() {
            end = newline + 1;
            break;
        }
        start = newline + 1;
    }
    let head = normalize_whitespace(&text[..end]);
    let header = split_header(&head);
    let meta = RawMeta {
        fields: header.fields,
        title: None,
        body: "".into(),
        body_line: header.body_line,
    };
    Ok(Article { body: Body::not_held(), ..build_article(path, format, meta, settings)? })
}

/// Python-Markdown's `NormalizeWhitespace` (minus the trailing blank lines it appends): line
/// ends made `\n`, STX and ETX dropped, lines of spaces emptied, tabs expanded. The text is
/// copied in runs between the lines that change (most articles have none).
fn normalize_whitespace(text: &str) -> String {
    let owned;
    let text = if memchr::memchr3(b'\r', 2, 3, text.as_bytes()).is_some() {
        owned = text.replace("\r\n", "\n").replace('\r', "\n").replace(['\u{2}', '\u{3}'], "");
        owned.as_str()
    } else {
        text
    };
    let bytes = text.as_bytes();
    let tabs = memchr::memchr(b'\t', bytes).is_some();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // text[..copied] is in `out`
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
        let line = &text[start..end];
        let spaces = line.bytes().all(|b| b == b' ');
        let tabbed = tabs && memchr::memchr(b'\t', line.as_bytes()).is_some();
        if (spaces && !line.is_empty()) || tabbed {
            out.push_str(&text[copied..start]);
            if tabbed {
                out.push_str(&crate::render::text::expand_tabs(line, 4));
            }
            copied = end;
        }
        start = end + 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Parses one article. `path` is used for errors, the filename date fallback and the format.
pub fn parse_article(
    path: &Path,
    bytes: &[u8],
    settings: &ParseSettings,
) -> Result<Article, ParseError> {
    let format = ArticleFormat::from_path(path).unwrap_or(ArticleFormat::Markdown);
    let text = decode_source(path, bytes)?;
    if text.trim().is_empty() {
        return Err(ParseError::new(path, None, ParseErrorKind::Empty));
    }
    let meta = match format {
        ArticleFormat::Markdown => {
            let header = split_header(&text);
            let body = header.body.into();
            RawMeta { fields: header.fields, title: None, body, body_line: header.body_line }
        }
        ArticleFormat::Rst => {
            // The title and fields are part of the document tree, so it is rendered here
            // (and again, for its HTML, when a feed needs it: TWiR has one such article).
            let doc = render::budget::bounded(text.len(), || render::render_rst(&text)).value;
            let fields = doc
                .fields
                .into_iter()
                .map(|(key, value, line)| Field { key, values: vec![value], line })
                .collect();
            RawMeta { fields, title: doc.title, body: text.as_str().into(), body_line: 1 }
        }
    };
    build_article(path, format, meta, settings)
}

struct RawMeta {
    fields: Vec<Field>,
    title: Option<String>,
    /// Made once from the decoded text (no copy through a `String` on the way).
    body: std::sync::Arc<str>,
    body_line: usize,
}

fn build_article(
    path: &Path,
    format: ArticleFormat,
    meta: RawMeta,
    settings: &ParseSettings,
) -> Result<Article, ParseError> {
    let field = |key: &str| meta.fields.iter().find(|f| f.key == key);
    let err = |line, kind| ParseError::new(path, line, kind);

    // Pelican's statuses, in any case; first, as a draft need not have a title or date yet.
    // Pelican takes the first value (of a repeated key or a continued line) and, in Markdown,
    // discards an empty one: the article is then published.
    let status = field("status").map(|f| (f.values[0].trim(), f.line));
    if let Some((value, line)) =
        status.filter(|(v, _)| !v.is_empty() || format == ArticleFormat::Rst)
    {
        match value.to_lowercase().as_str() {
            "published" => {}
            "draft" | "hidden" if settings.drafts => {}
            status @ ("draft" | "hidden") => {
                return Err(err(Some(line), ParseErrorKind::NotPublished(status.to_string())));
            }
            _ => {
                let kind = ParseErrorKind::BadStatus { value: value.to_string() };
                return Err(err(Some(line), kind));
            }
        }
    }

    let title = match (field("title"), meta.title) {
        // A title continued on indented lines is joined with spaces.
        (Some(f), _) => (f.values.join(" "), Some(f.line)),
        (None, Some(t)) => (t, None),
        (None, None) => return Err(err(None, ParseErrorKind::Missing("Title"))),
    };
    let (title, title_line) = title;
    if title.trim().is_empty() {
        return Err(err(title_line, ParseErrorKind::EmptyField("Title")));
    }

    let date = match field("date") {
        Some(f) => {
            // Pelican reads `_` as a space and keeps only the first of repeated dates.
            let value = f.values[0].replace('_', " ");
            parse_date(&value, &settings.timezone).ok_or_else(|| {
                err(Some(f.line), ParseErrorKind::BadDate { value: f.values[0].clone() })
            })?
        }
        None => filename_date(path)
            .and_then(|d| settings.timezone.localize(d.and_time(NaiveTime::MIN)))
            .ok_or_else(|| err(None, ParseErrorKind::Missing("Date")))?,
    };

    let category = field("category")
        .map(|f| f.values[0].trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| settings.default_category.clone());

    let tags = field("tags").map(|f| metadata_list(&f.values[0])).unwrap_or_default();

    let slug = match field("slug").map(|f| f.values[0].trim()).filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => slugify(&title),
    };
    if slug.is_empty() {
        return Err(err(title_line, ParseErrorKind::EmptySlug { title }));
    }

    let number = field("number").and_then(|f| f.values[0].trim().parse().ok());

    let summary_source = field("summary").map(|f| f.values.join("\n"));

    Ok(Article {
        source: path.to_path_buf(),
        format,
        title,
        slug,
        date,
        category,
        tags,
        number,
        body: Body::new(meta.body),
        body_line: meta.body_line,
        summary_source,
        content_hash: LazyHash::default(),
    })
}

/// Pelican's `ensure_metadata_list`: split on `;` if there is one, else on `,`; trim; drop empties.
fn metadata_list(value: &str) -> Vec<String> {
    let sep = if value.contains(';') { ';' } else { ',' };
    value.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The normalization copying in runs is Python-Markdown's line by line.
        #[test]
        fn normalizing_in_runs_is_normalizing_line_by_line(raw in "[ a\t\r\n\u{2}\u{3}é]{0,40}") {
            let text = raw.replace("\r\n", "\n").replace('\r', "\n").replace(['\u{2}', '\u{3}'], "");
            let by_line: Vec<String> = text
                .split('\n')
                .map(|line| {
                    if line.bytes().all(|b| b == b' ') {
                        String::new()
                    } else {
                        crate::render::text::expand_tabs(line, 4).into_owned()
                    }
                })
                .collect();
            proptest::prop_assert_eq!(super::normalize_whitespace(&raw), by_line.join("\n"));
        }
    }

    #[test]
    fn the_content_hash_is_the_hash_of_title_date_and_body() {
        let text = "Title: This Week in Rust 665\nDate: 2026-08-19\n\nHello.\n";
        let settings = super::ParseSettings::default();
        let a =
            super::parse_article(std::path::Path::new("a.md"), text.as_bytes(), &settings).unwrap();
        // The hash stored by earlier versions: a change here would restart every settle time.
        let joined = format!("{}\n{}\n{}", a.title, a.date.to_rfc3339(), a.body());
        use sha2::Digest;
        let hex = hex::encode(sha2::Sha256::digest(joined.as_bytes()));
        assert_eq!(a.content_hash().to_string(), hex);
        let b = super::parse_article(
            std::path::Path::new("a.md"),
            text.replace("Hello.", "Hello!").as_bytes(),
            &settings,
        )
        .unwrap();
        assert_ne!(a.content_hash(), b.content_hash());
    }

    use super::*;

    #[test]
    fn tabs_and_line_ends_are_normalized() {
        assert_eq!(normalize_whitespace("a\tb\r\n  \r\n\tc"), "a   b\n\n    c");
        assert_eq!(normalize_whitespace("a\n   "), "a\n");
        assert_eq!(normalize_whitespace("  \n\n b \n"), "\n\n b \n");
    }

    #[test]
    fn the_status_header_is_pelicans() {
        let parse = |header: &str| {
            let text = format!("Title: This Week in Rust 1\n{header}\n\nHello.\n");
            parse_article(Path::new("a.md"), text.as_bytes(), &ParseSettings::default())
        };
        // An empty status is discarded, and a repeated or continued one is its first value
        // (found by an outside tester: Pelican publishes each of these).
        for published in [
            "Date: 2026-01-05\nStatus: published",
            "Date: 2026-01-05\nStatus: PUBLISHED ",
            "Date: 2026-01-05\nStatus:",
            "Date: 2026-01-05\nStatus:   ",
            "Date: 2026-01-05\nStatus: published\nStatus: draft",
            "Date: 2026-01-05\nStatus: published\n    draft",
            "Date: 2026-01-05\nStatus:\n    draft",
        ] {
            assert!(parse(published).is_ok(), "{published}");
        }
        for draft in ["Status: draft\nStatus: published", "Status: draft\n    published"] {
            let e = parse(draft).unwrap_err();
            assert!(matches!(&e.kind, ParseErrorKind::NotPublished(s) if s == "draft"), "{e}");
        }
        // Left out whatever else the header lacks: a draft may have no date yet.
        for (header, status) in
            [("Status: draft", "draft"), ("Date: 2026-01-05\nstatus: Hidden", "hidden")]
        {
            let e = parse(header).unwrap_err();
            assert!(e.is_unpublished(), "{header}: {e}");
            assert!(matches!(&e.kind, ParseErrorKind::NotPublished(s) if s == status), "{e}");
        }
        // A status Pelican does not know: it skips the article, with an error.
        for (header, line) in
            [("Date: 2026-01-05\nStatus: publish", 3), ("Status: x\nDate: 2026-01-05", 2)]
        {
            let e = parse(header).unwrap_err();
            assert!(!e.is_unpublished(), "{header}: {e}");
            assert_eq!(e.line, Some(line), "{e}");
            assert!(e.to_string().contains("published, draft or hidden"), "{e}");
        }
    }

    #[test]
    fn metadata_lists_split_like_pelican() {
        assert_eq!(metadata_list("a, b,,c"), ["a", "b", "c"]);
        assert_eq!(metadata_list("a, b; c"), ["a, b", "c"]);
    }
}
