//! Atom 1.0 feeds with `atom_syndication`, carrying Pelican's identity fields.
//!
//! Element order and `<link …/>` self-closing differ from feedgenerator's bytes; XML readers do
//! not see the difference. What they key on (ids, links, titles, dates, authors, categories)
//! is identical.
//!
//! TWiR's feeds share their entries (the site, author, language and main category feeds hold
//! the same articles), so each entry is serialized once ([`entry_xml`]) and every feed is its
//! [`head`], those fragments and its [`TAIL`].

use atom_syndication::{
    CategoryBuilder, Content, ContentBuilder, EntryBuilder, FeedBuilder, LinkBuilder,
    PersonBuilder, Text, WriteConfig,
};

use super::{Entry, FeedSettings, FeedSpec, Rendered};

/// feedgenerator's declaration (with `encoding`); the crate's own would omit it.
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
/// A standalone entry declares the namespace; inside a feed it inherits the feed's.
const STANDALONE_ENTRY: &[u8] = b"<entry xmlns=\"http://www.w3.org/2005/Atom\">";

/// One `<entry>` element, serialized; `rendered` is its article's rendering.
pub fn entry_xml(e: &Entry<'_>, rendered: &Rendered, settings: &FeedSettings) -> Vec<u8> {
    let a = e.article;
    let mut categories = vec![CategoryBuilder::default().term(a.category.clone()).build()];
    categories.extend(a.tags.iter().map(|t| CategoryBuilder::default().term(t.clone()).build()));
    let content: Content = ContentBuilder::default()
        .value(Some(rendered.html.clone()))
        .content_type(Some("html".into()))
        .build();
    // Pelican leaves the summary out when it would repeat the content.
    let Rendered { html, summary } = rendered;
    let summary = (summary != html).then(|| Text::html(summary.as_str()));
    let entry = EntryBuilder::default()
        .title(Text::plain(e.title.clone()))
        .links(vec![LinkBuilder::default().href(e.url.clone()).rel("alternate").build()])
        .published(Some(a.date))
        .updated(a.date)
        .authors(vec![PersonBuilder::default().name(settings.author.clone()).build()])
        .id(e.tag_uri.clone())
        .summary(summary)
        .content(Some(content))
        .categories(categories)
        .build();
    let config = WriteConfig { write_document_declaration: false, indent_size: None };
    // Writing into a Vec cannot fail; an error here would be a bug in the XML writer.
    let mut out = entry.write_with_config(Vec::new(), config).expect("writing Atom into memory");
    if out.starts_with(STANDALONE_ENTRY) {
        out.splice(..STANDALONE_ENTRY.len(), b"<entry>".iter().copied());
    }
    out
}

/// How an Atom feed document ends.
pub const TAIL: &[u8] = b"</feed>";

/// An Atom feed document up to its first entry: its entries ([`entry_xml`]) follow, then
/// [`TAIL`].
pub fn head(spec: &FeedSpec<'_>, settings: &FeedSettings) -> Vec<u8> {
    let site_root = format!("{}/", settings.site_url);
    let updated = spec.entries.iter().map(|e| e.article.date).max();
    let mut links = vec![
        LinkBuilder::default().href(site_root.clone()).rel("alternate").build(),
        LinkBuilder::default().href(format!("{site_root}{}", spec.path)).rel("self").build(),
    ];
    // WebSub: where subscribers find the hubs (the self link above is the topic).
    links.extend(
        settings
            .files
            .websub_hubs
            .iter()
            .map(|h| LinkBuilder::default().href(h.clone()).rel("hub").build()),
    );
    let feed = FeedBuilder::default()
        .title(Text::plain(spec.title.clone()))
        .links(links)
        .id(site_root)
        .updated(updated.unwrap_or_default())
        .build();
    let config = WriteConfig { write_document_declaration: false, indent_size: None };
    let doc = feed.write_with_config(Vec::new(), config).expect("writing Atom into memory");
    let head = doc.strip_suffix(TAIL).expect("a feed ends with </feed>");
    [DECLARATION.as_bytes(), head].concat()
}
