//! herald's feeds against Pelican's golden output for the real TWiR archive
//! (`../shared/golden`, see its README).

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;
use herald::archive::{self, ParseSettings};
use herald::feeds::{Entry, FeedSettings, rfc822};

/// Every one of the 668 articles: identity fields equal `identities.tsv`, in the same order.
#[test]
fn every_article_identity_matches_pelican() {
    let scan = archive::scan(&twir_content(), &ParseSettings::default()).unwrap();
    assert!(scan.errors.is_empty(), "unexpected errors: {:?}", scan.errors);
    let tsv = std::fs::read_to_string(shared().join("golden/identities.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = tsv.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 668);
    assert_eq!(scan.articles.len(), rows.len());
    let settings = FeedSettings::default();
    for (article, row) in scan.articles.iter().zip(&rows) {
        let e = Entry::new(article, &settings);
        let file = article.source.file_name().unwrap().to_str().unwrap();
        let ours = [
            file.to_string(),
            e.title.clone(),
            article.slug.clone(),
            e.url.clone(),
            e.tag_uri.clone(),
            article.date.to_rfc3339(),
            rfc822(&article.date),
            article.category.clone(),
            article.tags.join(","),
        ];
        assert_eq!(ours.to_vec(), *row, "identity of {file}");
    }
}

/// `herald feeds` over the real archive gives what Pelican gives, checked by feeddiff.py.
#[test]
fn feeds_match_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = write_config(tmp.path(), &twir_content(), &out, "");
    let run = herald(&["--config", config.to_str().unwrap(), "feeds"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (ok, report) = feeddiff(&[&shared().join("golden/feeds"), &out]);
    assert!(ok, "feeddiff failed:\n{report}");
    assert_eq!(summary_field(&report, "identity_ok"), summary_field(&report, "entries"));
}

/// With WebSub hubs, each feed names them beside its self link, and nothing else changes:
/// every entry's identity is still Pelican's, and feedparser reads the hub and self links.
#[test]
fn feeds_with_websub_hubs_keep_pelican_s_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let hub = "https://hub.example/websub";
    let extra = format!("websub_hubs = [\"{hub}\"]\n");
    let config = write_config(tmp.path(), &twir_content(), &out, &extra);
    let run = herald(&["--config", config.to_str().unwrap(), "feeds"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (ok, report) = feeddiff(&[&shared().join("golden/feeds"), &out]);
    assert!(!ok, "the hub link is a difference feeddiff sees:\n{report}");
    assert_eq!(
        summary_field(&report, "identity_ok"),
        summary_field(&report, "entries"),
        "{report}"
    );
    for line in report.lines().filter(|l| !l.starts_with("SUMMARY")) {
        // The only difference: the feed's links gained the hub.
        let (golden, ours) = line.split_once(" vs ours ").expect(line);
        assert!(golden.contains(": feed links: golden "), "{line}");
        let golden = golden.split(": feed links: golden ").nth(1).unwrap();
        let without_hub = ours.replace(&format!("('hub', '{hub}'), "), "");
        assert_eq!(golden, without_hub, "{line}");
    }
    let check = std::process::Command::new("python3")
        .args([
            "-c",
            "import feedparser, sys\n\
             for f in sys.argv[2:]:\n\
             \x20   d = feedparser.parse(f)\n\
             \x20   assert not d.bozo, (f, d.bozo_exception)\n\
             \x20   links = {l.rel: l.href for l in d.feed.links}\n\
             \x20   assert links.get('hub') == sys.argv[1], (f, links)\n\
             \x20   assert links.get('self', '').endswith(f.split('/out/')[1]), (f, links)\n\
             \x20   assert d.entries and all(e.id.startswith('tag:this-week-in-rust.org,') for e in d.entries), f\n\
             print('ok')",
            hub,
        ])
        .args(["atom.xml", "rss.xml", "feeds/all-en.atom.xml", "categories/misc/rss.xml"].map(|f| out.join(f)))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "feedparser (pip install feedparser; .ci/run does): {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Publishing the issue-666 draft gives Pelican's feeds after that publication.
#[test]
fn publishing_the_next_issue_matches_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    copy_articles(&twir_content(), &content);
    let draft = "2026-08-26-this-week-in-rust.md";
    std::fs::copy(shared().join("twir/draft").join(draft), content.join(draft)).unwrap();
    let out = tmp.path().join("out");
    let config = write_config(tmp.path(), &content, &out, "");
    let run = herald(&["--config", config.to_str().unwrap(), "feeds"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (ok, report) = feeddiff(&[&shared().join("golden/feeds-plus-draft-666"), &out]);
    assert!(ok, "feeddiff failed:\n{report}");
}

/// With every article in the feed, the ids, links, titles, dates and categories of all 668
/// entries equal those of Pelican's all-items feeds (read back with the same crates).
#[test]
fn all_items_feeds_identity_matches_golden() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = write_config(tmp.path(), &twir_content(), &out, "");
    let run = herald(&["--config", config.to_str().unwrap(), "feeds", "--max-items", "all"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let golden_atom = atom_syndication::Feed::read_from(
        &xz(&shared().join("golden/feeds-all-items/atom.xml.xz"))[..],
    )
    .unwrap();
    let ours_atom =
        atom_syndication::Feed::read_from(&std::fs::read(out.join("atom.xml")).unwrap()[..])
            .unwrap();
    assert_eq!(golden_atom.entries().len(), 668);
    assert_eq!(ours_atom.entries().len(), 668);
    assert_eq!(ours_atom.updated(), golden_atom.updated());
    for (g, o) in golden_atom.entries().iter().zip(ours_atom.entries()) {
        assert_eq!(o.id(), g.id());
        assert_eq!(o.title().value, g.title().value, "{}", g.id());
        assert_eq!(o.links()[0].href(), g.links()[0].href(), "{}", g.id());
        // Compare the texts, not the parsed instants: the offset must match too.
        assert_eq!(o.published().map(|d| d.to_rfc3339()), g.published().map(|d| d.to_rfc3339()));
        assert_eq!(o.updated().to_rfc3339(), g.updated().to_rfc3339());
        let terms = |e: &atom_syndication::Entry| {
            e.categories().iter().map(|c| c.term().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(terms(o), terms(g), "{}", g.id());
        let names = |e: &atom_syndication::Entry| {
            e.authors().iter().map(|a| a.name().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(o), names(g));
    }

    let golden_rss =
        rss::Channel::read_from(&xz(&shared().join("golden/feeds-all-items/rss.xml.xz"))[..])
            .unwrap();
    let ours_rss =
        rss::Channel::read_from(&std::fs::read(out.join("rss.xml")).unwrap()[..]).unwrap();
    assert_eq!(ours_rss.items().len(), 668);
    assert_eq!(ours_rss.last_build_date(), golden_rss.last_build_date());
    for (g, o) in golden_rss.items().iter().zip(ours_rss.items()) {
        assert_eq!(o.guid(), g.guid());
        assert_eq!(o.title(), g.title());
        assert_eq!(o.link(), g.link());
        assert_eq!(o.pub_date(), g.pub_date(), "{:?}", g.guid());
        let cats =
            |i: &rss::Item| i.categories().iter().map(|c| c.name().to_string()).collect::<Vec<_>>();
        assert_eq!(cats(o), cats(g));
        let creators = |i: &rss::Item| i.dublin_core_ext().map(|d| d.creators().to_vec());
        assert_eq!(creators(o), creators(g));
    }
}

/// Rendered article HTML: at least 99% of the 668 articles normalized-equal to Pelican's
/// (visible text, link targets, image sources and heading ids); README lists the others.
#[test]
fn rendered_content_matches_pelican_for_99_percent() {
    let scan = archive::scan(&twir_content(), &ParseSettings::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut by_slug = HashMap::new();
    for a in &scan.articles {
        std::fs::write(tmp.path().join(format!("{}.html", a.slug)), a.render_html().value).unwrap();
        by_slug.insert(a.slug.clone(), a);
    }
    let (_, report) =
        feeddiff(&[Path::new("--content"), &shared().join("golden/content"), tmp.path()]);
    let equal =
        summary_field(&report, "content_byte") + summary_field(&report, "content_normalized");
    let total = summary_field(&report, "entries");
    assert_eq!(total, 668);
    assert!(equal * 100 >= total * 99, "only {equal} of {total} equal:\n{report}");
}

/// What a post links to is what the published issue links to: highlights are read with a
/// CommonMark parser (it keeps source lines, which the guard names), the page is rendered by
/// Python-Markdown, and where the two differ (../shared/notes/rendering.md) a post must not
/// quote a link the page does not have. Checked against Pelican's own HTML of all 668 issues.
#[test]
fn every_highlight_links_to_a_link_of_the_published_page() {
    use herald::announce::highlights::extract_highlights;
    let scan = archive::scan(&twir_content(), &ParseSettings::default()).unwrap();
    let (mut links, mut strays) = (0, Vec::new());
    for a in &scan.articles {
        let h = extract_highlights(a.body());
        let page =
            std::fs::read_to_string(shared().join(format!("golden/content/{}.html", a.slug)))
                .unwrap();
        let quoted = [&h.crate_of_the_week, &h.quote_of_the_week, &h.merged_prs]
            .into_iter()
            .flatten()
            .chain(&h.official)
            .chain(&h.community);
        for url in quoted.filter_map(|h| h.url.as_ref()) {
            links += 1;
            if !page.contains(&format!("href=\"{}\"", url.replace('&', "&amp;"))) {
                strays.push(format!("{}: {url}", a.source.display()));
            }
        }
    }
    assert!(links > 3000, "only {links} highlight links in the archive");
    assert!(strays.is_empty(), "links the published page does not have:\n{}", strays.join("\n"));
}

/// Decompresses an `.xz` file with Python's standard library (no xz binary needed).
fn xz(path: &Path) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `herald feeds` over the fixture archive `tests/fixtures/{name}/content`, compared with the
/// feeds Pelican wrote from it (`expected/`): what herald said on stderr, and how many entries
/// are identical in identity.
fn fixture_against_pelican(name: &str, feed_settings: &str) -> (String, usize) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = write_config(tmp.path(), &root.join("content"), &out, feed_settings);
    let run = herald(&["--config", config.to_str().unwrap(), "feeds"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (ok, report) = feeddiff(&[&root.join("expected"), &out]);
    assert!(ok, "feeddiff failed:\n{report}");
    (String::from_utf8_lossy(&run.stderr).into_owned(), summary_field(&report, "identity_ok"))
}

/// The edge-case archive (tests/fixtures/edge): every identity equals what Pelican wrote.
#[test]
fn edge_case_archive_matches_pelican() {
    assert_eq!(fixture_against_pelican("edge", "max_items = \"all\"").1, 70);
}

/// The `Status:` archive (tests/fixtures/status): drafts and hidden articles are left out as
/// Pelican leaves them out, an unknown status is an error naming the line, and the feeds are
/// what Pelican wrote.
#[test]
fn drafts_and_hidden_articles_are_left_out_as_pelican_leaves_them_out() {
    let (said, identical) = fixture_against_pelican("status", "");
    assert!(
        said.contains("2026-04-29-this-week-in-rust.md:4: `Status: publish` is not a status"),
        "{said}"
    );
    assert_eq!(said.matches("note: ").count(), 2, "{said}");
    assert_eq!(identical, 28);
}
