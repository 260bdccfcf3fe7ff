//! JSON Feed 1.1 (<https://www.jsonfeed.org/version/1.1/>), off by default.
//!
//! It carries the same identity as the Atom and RSS feeds: `id` is the tag URI, `url` the
//! article's link, dates RFC 3339 with the local offset.

use serde_json::{Value, json};

use super::{FeedSettings, FeedSpec, Rendered};
use crate::archive::slug::striptags;

/// Builds the JSON Feed document; `rendered(i)` is the rendering of entry `i`'s article.
pub fn build_json_feed<'r>(
    spec: &FeedSpec<'_>,
    settings: &FeedSettings,
    rendered: impl Fn(usize) -> &'r Rendered,
) -> Vec<u8> {
    let items: Vec<Value> = spec
        .entries
        .iter()
        .map(|e| {
            let (a, r) = (e.article, rendered(e.index));
            let mut tags = vec![a.category.clone()];
            tags.extend(a.tags.iter().cloned());
            json!({
                "id": e.tag_uri,
                "url": e.url,
                "title": e.title,
                "content_html": r.html,
                "summary": striptags(&r.summary),
                "date_published": a.date.to_rfc3339(),
                "authors": [{ "name": settings.author }],
                "tags": tags,
                "language": settings.lang,
            })
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": format!("{}/", settings.site_url),
        "feed_url": format!("{}/{}", settings.site_url, spec.path),
        "language": settings.lang,
        "authors": [{ "name": settings.author }],
        "items": items,
    });
    let hubs = &settings.files.websub_hubs;
    if !hubs.is_empty() {
        let hubs: Vec<Value> = hubs.iter().map(|h| json!({"type": "WebSub", "url": h})).collect();
        feed["hubs"] = Value::Array(hubs);
    }
    // Serializing a `Value` into memory cannot fail.
    let mut out = serde_json::to_vec_pretty(&feed).expect("serializing JSON Feed");
    out.push(b'\n');
    out
}
