//! RSS 2.0 feeds with the `rss` crate, carrying Pelican's identity fields.
//!
//! Differences from feedgenerator's bytes that readers do not see: the description is CDATA
//! rather than escaped text, and `dc:creator`'s namespace is declared on the root element.

use rss::extension::dublincore::DublinCoreExtensionBuilder;
use rss::{CategoryBuilder, ChannelBuilder, GuidBuilder, ItemBuilder};

use super::{FeedSettings, FeedSpec, rfc822};

/// Builds one RSS 2.0 feed document.
pub fn build_rss(spec: &FeedSpec<'_>, settings: &FeedSettings) -> Vec<u8> {
    let items: Vec<rss::Item> = spec
        .entries
        .iter()
        .map(|e| {
            let a = e.article;
            let mut categories = vec![CategoryBuilder::default().name(a.category.clone()).build()];
            categories
                .extend(a.tags.iter().map(|t| CategoryBuilder::default().name(t.clone()).build()));
            ItemBuilder::default()
                .title(Some(e.title.clone()))
                .link(Some(e.url.clone()))
                .description(Some(a.html().to_string()))
                .dublin_core_ext(Some(
                    DublinCoreExtensionBuilder::default()
                        .creators(vec![settings.author.clone()])
                        .build(),
                ))
                .pub_date(Some(rfc822(&a.date)))
                .guid(Some(
                    GuidBuilder::default().value(e.tag_uri.clone()).permalink(false).build(),
                ))
                .categories(categories)
                .build()
        })
        .collect();
    let last_build = spec.entries.iter().map(|e| e.article.date).max();
    let channel = ChannelBuilder::default()
        .title(spec.title.clone())
        .link(format!("{}/", settings.site_url))
        .description(String::new())
        .last_build_date(last_build.map(|d| rfc822(&d)))
        .namespaces(
            [("dc".to_string(), rss::extension::dublincore::NAMESPACE.to_string())]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .items(items)
        .build();
    // Writing into a Vec cannot fail; an error here would be a bug in the XML writer.
    let mut out = channel.write_to(Vec::new()).expect("writing RSS into memory");
    out.push(b'\n');
    out
}
