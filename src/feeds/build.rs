//! Building the feed files: each written front to back as its entries are produced.

use super::{
    Article, FeedKind, FeedSettings, Rendered, Renderings, atom, entries, json, plan_feeds, rss,
    write,
};

/// How many entries are rendered and serialized at once (on every core) before they are
/// written to the feeds that hold them.
const CHUNK: usize = 32;

/// Produces every configured feed file for `articles` into a writer `open` gives for its
/// path, in [`plan_feeds`]' order, and returns them.
///
/// The entries are taken newest first, a chunk at a time: each is rendered (unless kept in
/// `renderings`) and serialized once, and its XML goes to every feed that holds it, in turn.
/// Every feed lists its entries newest first, so each file is written front to back.
pub(super) fn produce<W: std::io::Write>(
    articles: &[Article],
    settings: &FeedSettings,
    renderings: &mut Renderings,
    mut open: impl FnMut(&str) -> Result<W, write::WriteError>,
) -> Result<Vec<(String, W)>, write::WriteError> {
    let entries = entries(articles, settings);
    let plan = plan_feeds(&entries, settings);
    let mut in_atom = vec![false; entries.len()];
    let mut in_rss = vec![false; entries.len()];
    let mut in_json = vec![false; entries.len()];
    for (kind, spec) in &plan {
        let held = match kind {
            FeedKind::Atom => &mut in_atom,
            FeedKind::Rss => &mut in_rss,
            FeedKind::Json => &mut in_json,
        };
        for e in &spec.entries {
            held[e.index] = true;
        }
    }
    let fail = |path: &str| {
        let path = settings.files.output.join(path);
        move |source| write::WriteError { path, source }
    };
    let mut files = Vec::with_capacity(plan.len());
    for (kind, spec) in &plan {
        let mut out = open(&spec.path)?;
        let head = match kind {
            FeedKind::Atom => atom::head(spec, settings),
            FeedKind::Rss => rss::head(spec, settings),
            FeedKind::Json => Vec::new(),
        };
        out.write_all(&head).map_err(fail(&spec.path))?;
        files.push((spec.path.clone(), out));
    }
    // The renderings the JSON Feed is made from at the end (none unless it is on).
    let mut for_json: Vec<Option<std::sync::Arc<Rendered>>> = vec![None; entries.len()];
    // Per feed, how many of its entries were written.
    let mut written = vec![0; plan.len()];
    let needed: Vec<usize> =
        (0..entries.len()).filter(|&i| in_atom[i] || in_rss[i] || in_json[i]).collect();
    renderings.begin(&settings.summary);
    for chunk in needed.chunks(CHUNK) {
        let chunk_articles: Vec<&Article> = chunk.iter().map(|&i| entries[i].article).collect();
        let rendered = renderings.get(&chunk_articles).map_err(|e| write::WriteError {
            // No file was replaced: they are replaced once all are produced.
            path: settings.files.output.clone(),
            source: std::io::Error::other(format!("feeds not built: {e}; run again")),
        })?;
        let positions: Vec<usize> = (0..chunk.len()).collect();
        let xml = crate::parallel::map(&positions, |&p| {
            let (i, r) = (chunk[p], &rendered[p]);
            let e = &entries[i];
            let atom = if in_atom[i] { atom::entry_xml(e, r, settings) } else { Vec::new() };
            let rss = if in_rss[i] { rss::item_xml(e, r, settings) } else { Vec::new() };
            (atom, rss)
        });
        for ((&i, r), (atom, rss)) in chunk.iter().zip(rendered).zip(xml) {
            for (k, (kind, spec)) in plan.iter().enumerate() {
                if spec.entries.get(written[k]).is_none_or(|e| e.index != i) {
                    continue;
                }
                written[k] += 1;
                let bytes = match kind {
                    FeedKind::Atom => &atom,
                    FeedKind::Rss => &rss,
                    FeedKind::Json => {
                        for_json[i] = Some(r.clone());
                        continue;
                    }
                };
                files[k].1.write_all(bytes).map_err(fail(&spec.path))?;
            }
        }
    }
    renderings.end();
    for ((kind, spec), (path, out)) in plan.iter().zip(&mut files) {
        let tail = match kind {
            FeedKind::Atom => atom::TAIL.to_vec(),
            FeedKind::Rss => rss::TAIL.to_vec(),
            FeedKind::Json => json::build_json_feed(spec, settings, |i| {
                for_json[i].as_deref().expect("every entry of the JSON Feed is rendered")
            }),
        };
        out.write_all(&tail).map_err(fail(path))?;
    }
    Ok(files)
}
