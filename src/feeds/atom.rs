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

/// Stands for the content while the crate serializes an entry; [`entry_xml`] puts the content
/// in its place, escaped as the crate escapes text. The crate escapes character by character,
/// and the content is most of a feed's bytes (a third of `--max-items all`'s time went there).
const CONTENT_MARK: &str = "herald-content";

/// One `<entry>` element, serialized; `rendered` is its article's rendering.
pub fn entry_xml(e: &Entry<'_>, rendered: &Rendered, settings: &FeedSettings) -> Vec<u8> {
    let out = entry_xml_with(e, rendered, settings, CONTENT_MARK.into());
    // The content is the entry's last element (the crate writes it after the summary).
    let mark = format!(">{CONTENT_MARK}</content>");
    let at = out.windows(mark.len()).rposition(|w| w == mark.as_bytes()).expect("the mark") + 1;
    let mut entry = Vec::with_capacity(out.len() + rendered.html.len() + rendered.html.len() / 8);
    entry.extend_from_slice(&out[..at]);
    escape_into(&mut entry, &rendered.html);
    entry.extend_from_slice(&out[at + CONTENT_MARK.len()..]);
    entry
}

/// Appends `text` escaped as XML text, as `quick_xml::escape::escape` does (the five
/// characters `<`, `>`, `&`, `'`, `"`).
fn escape_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let entity: &[u8] = match b {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'&' => b"&amp;",
            b'\'' => b"&apos;",
            b'"' => b"&quot;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(entity);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// One `<entry>` element as the crate serializes it, with `content` as its content.
fn entry_xml_with(
    e: &Entry<'_>,
    rendered: &Rendered,
    settings: &FeedSettings,
    content: String,
) -> Vec<u8> {
    let a = e.article;
    let mut categories = vec![CategoryBuilder::default().term(a.category.clone()).build()];
    categories.extend(a.tags.iter().map(|t| CategoryBuilder::default().term(t.clone()).build()));
    let content: Content =
        ContentBuilder::default().value(Some(content)).content_type(Some("html".into())).build();
    // Pelican leaves the summary out when it would repeat the content.
    let Rendered { html, summary } = rendered;
    let summary = (summary != html).then(|| Text::html(summary.as_str()));
    let entry = EntryBuilder::default()
        .title(Text::plain(e.title.clone()))
        .links(vec![LinkBuilder::default().href(e.url.clone()).rel("alternate").build()])
        .published(Some(super::as_written(&a.date)))
        .updated(super::as_written(&a.date))
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
        .updated(updated.map(|d| super::as_written(&d)).unwrap_or_default())
        .build();
    let config = WriteConfig { write_document_declaration: false, indent_size: None };
    let doc = feed.write_with_config(Vec::new(), config).expect("writing Atom into memory");
    let head = doc.strip_suffix(TAIL).expect("a feed ends with </feed>");
    [DECLARATION.as_bytes(), head].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The entry with its content put in place is the crate's own serialization, byte for
        /// byte, whatever the content and the summary hold (the mark itself included).
        #[test]
        fn an_entry_is_what_the_crate_writes(
            html in "([<>&'\"a-z é🦀\n]|herald-content|</content>){0,40}",
            summary in "([<>&'\"a-z]|herald-content|</content>){0,12}",
        ) {
            let text = "Title: T <b>&</b>\nDate: 2026-01-07\nTags: a&b, \"q\"\n\nx\n";
            let article = crate::archive::parse_article(
                std::path::Path::new("t.md"),
                text.as_bytes(),
                &Default::default(),
            )
            .unwrap();
            let settings = FeedSettings::default();
            let entry = crate::feeds::Entry::new(&article, &settings);
            let rendered = Rendered { html: html.clone(), summary };
            let ours = entry_xml(&entry, &rendered, &settings);
            let crates = entry_xml_with(&entry, &rendered, &settings, html);
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(crates).unwrap());
        }
    }
}
