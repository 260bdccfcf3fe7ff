//! Atom 1.0 feeds with `atom_syndication`, carrying Pelican's identity fields.
//!
//! Element order and `<link …/>` self-closing differ from feedgenerator's bytes; XML readers do
//! not see the difference. What they key on (ids, links, titles, dates, authors, categories)
//! is identical.

use atom_syndication::{
    CategoryBuilder, Content, ContentBuilder, EntryBuilder, FeedBuilder, LinkBuilder,
    PersonBuilder, Text, WriteConfig,
};

use super::{FeedSettings, FeedSpec};

/// feedgenerator's declaration (with `encoding`); the crate's own would omit it.
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// Builds one Atom feed document.
pub fn build_atom(spec: &FeedSpec<'_>, settings: &FeedSettings) -> Vec<u8> {
    let site_root = format!("{}/", settings.site_url);
    let entries = spec.entries.iter().map(|e| {
        let a = e.article;
        let mut categories = vec![CategoryBuilder::default().term(a.category.clone()).build()];
        categories
            .extend(a.tags.iter().map(|t| CategoryBuilder::default().term(t.clone()).build()));
        let content: Content = ContentBuilder::default()
            .value(Some(a.html().to_string()))
            .content_type(Some("html".into()))
            .build();
        // Pelican leaves the summary out when it would repeat the content.
        let summary = (a.summary() != a.html()).then(|| Text::html(a.summary()));
        EntryBuilder::default()
            .title(Text::plain(e.title.clone()))
            .links(vec![LinkBuilder::default().href(e.url.clone()).rel("alternate").build()])
            .published(Some(a.date))
            .updated(a.date)
            .authors(vec![PersonBuilder::default().name(settings.author.clone()).build()])
            .id(e.tag_uri.clone())
            .summary(summary)
            .content(Some(content))
            .categories(categories)
            .build()
    });
    let updated = spec.entries.iter().map(|e| e.article.date).max();
    let feed = FeedBuilder::default()
        .title(Text::plain(spec.title.clone()))
        .links(vec![
            LinkBuilder::default().href(site_root.clone()).rel("alternate").build(),
            LinkBuilder::default().href(format!("{site_root}{}", spec.path)).rel("self").build(),
        ])
        .id(site_root)
        .updated(updated.unwrap_or_default())
        .entries(entries.collect::<Vec<_>>())
        .build();
    let mut out = DECLARATION.as_bytes().to_vec();
    let config = WriteConfig { write_document_declaration: false, indent_size: None };
    // Writing into a Vec cannot fail; an error here would be a bug in the XML writer.
    feed.write_with_config(&mut out, config).expect("writing Atom into memory");
    out
}
