//! RSS 2.0 feeds with the `rss` crate, carrying Pelican's identity fields.
//!
//! Differences from feedgenerator's bytes that readers do not see: the description is CDATA
//! rather than escaped text, and `dc:creator`'s namespace is declared on the root element.
//! As for Atom, each `<item>` is serialized once ([`item_xml`]) and shared by the feeds.

use rss::extension::atom::{AtomExtension, Link, NAMESPACE as ATOM_NAMESPACE};
use rss::extension::dublincore::{DublinCoreExtensionBuilder, NAMESPACE as DC_NAMESPACE};
use rss::{CategoryBuilder, ChannelBuilder, GuidBuilder, ItemBuilder};

use super::{Entry, FeedSettings, FeedSpec, Rendered, rfc822};

/// One `<item>` element, serialized; `rendered` is its article's rendering.
pub fn item_xml(e: &Entry<'_>, rendered: &Rendered, settings: &FeedSettings) -> Vec<u8> {
    let a = e.article;
    let mut categories = vec![CategoryBuilder::default().name(a.category.clone()).build()];
    categories.extend(a.tags.iter().map(|t| CategoryBuilder::default().name(t.clone()).build()));
    let item = ItemBuilder::default()
        .title(Some(e.title.clone()))
        .link(Some(e.url.clone()))
        .description(Some(rendered.html.clone()))
        .dublin_core_ext(Some(
            DublinCoreExtensionBuilder::default().creators(vec![settings.author.clone()]).build(),
        ))
        .pub_date(Some(rfc822(&a.date)))
        .guid(Some(GuidBuilder::default().value(e.tag_uri.clone()).permalink(false).build()))
        .categories(categories)
        .build();
    // The crate serializes items only inside a channel: write a channel of one and cut the
    // item out. The channel's own fields are empty, so the first `<item>` is the item's
    // start, and its end is the last `</item>` (content is CDATA, but a `</item>` inside it
    // would come before the real one).
    let doc = ChannelBuilder::default().items(vec![item]).build().write_to(Vec::new());
    let doc = doc.expect("writing RSS into memory");
    let start = find(&doc, b"<item>").expect("an item");
    let end = rfind(&doc, b"</item>").expect("an item") + b"</item>".len();
    doc[start..end].to_vec()
}

/// How an RSS 2.0 feed document ends.
pub const TAIL: &[u8] = b"</channel></rss>\n";

/// An RSS 2.0 feed document up to its first item: its items ([`item_xml`]) follow, then
/// [`TAIL`].
pub fn head(spec: &FeedSpec<'_>, settings: &FeedSettings) -> Vec<u8> {
    let last_build = spec.entries.iter().map(|e| e.article.date).max();
    let hubs = &settings.files.websub_hubs;
    let mut namespaces = std::collections::BTreeMap::new();
    namespaces.insert("dc".to_string(), DC_NAMESPACE.to_string());
    // WebSub in RSS: `atom:link` names the feed itself (the topic) and the hubs. Pelican
    // writes neither; they are there only when hubs are configured.
    let atom_ext = (!hubs.is_empty()).then(|| {
        namespaces.insert("atom".to_string(), ATOM_NAMESPACE.to_string());
        let link = |href: String, rel: &str| {
            let mut l = Link::default();
            l.set_href(href);
            l.set_rel(rel);
            l
        };
        let mut links = vec![link(format!("{}/{}", settings.site_url, spec.path), "self")];
        links.extend(hubs.iter().map(|h| link(h.clone(), "hub")));
        let mut ext = AtomExtension::default();
        ext.set_links(links);
        ext
    });
    let channel = ChannelBuilder::default()
        .title(spec.title.clone())
        .link(format!("{}/", settings.site_url))
        .description(String::new())
        .last_build_date(last_build.map(|d| rfc822(&d)))
        .namespaces(namespaces)
        .atom_ext(atom_ext)
        .build();
    // Writing into a Vec cannot fail; an error here would be a bug in the XML writer.
    let doc = channel.write_to(Vec::new()).expect("writing RSS into memory");
    let close = &TAIL[..TAIL.len() - 1];
    let head = doc.strip_suffix(close).expect("a channel ends with </channel></rss>");
    head.to_vec()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}
