//! Announcement previews: golden snapshots for the 20 newest real issues and the next issue's
//! draft, and the draft guard.

use std::path::Path;

use crate::common::*;
use herald::announce::{self, Platform};
use herald::archive::{self, Article, ParseSettings};
use herald::cmd::preview::preview_json;
use herald::daemon::Settings;
use herald::feeds::Entry;

fn config(extra: &str) -> Settings {
    herald::config::parse(extra, Path::new(".")).unwrap()
}

fn previews(article: &Article, config: &Settings) -> String {
    let url = Entry::new(article, &config.feeds).url;
    let all = announce::prepare(
        article,
        &url,
        &config.announce,
        &[Platform::Bluesky, Platform::Mastodon],
    )
    .unwrap();
    let values: Vec<_> = all.iter().map(preview_json).collect();
    serde_json::to_string_pretty(&values).unwrap()
}

#[test]
fn previews_of_the_20_newest_issues() {
    let scan = archive::scan(&twir_content(), &ParseSettings::default()).unwrap();
    let config = config("");
    for article in scan.articles.iter().take(20) {
        let name = format!("issue-{}", article.number.expect("recent issues have a Number"));
        insta::assert_snapshot!(name, previews(article, &config));
    }
}

#[test]
fn preview_of_the_next_issue_draft() {
    let path = shared().join("twir/draft/2026-08-26-this-week-in-rust.md");
    let article = archive::scan::read_article(&path, &ParseSettings::default()).unwrap();
    let text = previews(&article, &config(""));
    // Issue #12: every reason at once, each with its line: the unfilled highlight sections
    // hold it, the placeholders outside the post's text only delay it.
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let held: Vec<&str> =
        v[0]["held"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    let delayed: Vec<&str> =
        v[0]["delayed"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    let lines: Vec<&str> = held.iter().map(|h| h.split(':').next().unwrap()).collect();
    assert_eq!(lines, ["line 58", "line 141", "line 340"], "{held:?}");
    assert_eq!(
        delayed,
        [
            "line 336: placeholder `INSERT_LINK_HERE` (not in the post's text)",
            "line 360: placeholder `REDDIT_LINK_HERE` (not in the post's text)"
        ]
    );
    insta::assert_snapshot!("draft-666", text);
}

fn article_with(body: &str) -> Article {
    let text = format!(
        "Title: This Week in Rust 700\nNumber: 700\nDate: 2027-03-03\nCategory: This Week in Rust\n\n{body}"
    );
    archive::parse_article(
        Path::new("2027-03-03-this-week-in-rust.md"),
        text.as_bytes(),
        &ParseSettings::default(),
    )
    .unwrap()
}

fn guard(article: &Article, config: &Settings) -> announce::Inspection {
    let a =
        announce::prepare(article, "https://x.example/", &config.announce, &[Platform::Bluesky])
            .unwrap();
    a[0].guard.clone()
}

/// What holds the issue, every reason joined; `None` when nothing holds it.
fn held(article: &Article, config: &Settings) -> Option<String> {
    let g = guard(article, config);
    g.is_held().then(|| g.describe(announce::Effect::Hold))
}

/// Issue #12: a placeholder outside the text a post is made from (TWiR's footer) only delays
/// the announcement; in the title or a highlight it holds; `placeholders_hold_anywhere` holds
/// anywhere. Every finding is named with its line.
#[test]
fn placeholders_hold_or_delay_by_where_they_are() {
    let footer = article_with("Hello.\n\n<small>[Discuss on r/rust](REDDIT_LINK_HERE)</small>\n");
    let g = guard(&footer, &config(""));
    assert_eq!(held(&footer, &config("")), None);
    assert_eq!(
        g.describe(announce::Effect::Delay),
        "line 8: placeholder `REDDIT_LINK_HERE` (not in the post's text)"
    );
    let strict = config("[announce]\nplaceholders_hold_anywhere = [\"REDDIT_LINK_HERE\"]\n");
    assert_eq!(held(&footer, &strict).as_deref(), Some("line 8: placeholder `REDDIT_LINK_HERE`"));

    let in_cotw = article_with(
        "## Crate of the Week\n\nThis week's crate is [foo](INSERT_LINK_HERE), a crate.\n",
    );
    assert_eq!(
        held(&in_cotw, &config("")).as_deref(),
        Some("line 8: placeholder `INSERT_LINK_HERE` in a highlight the post is made from")
    );
}

#[test]
fn template_comments_hold_only_in_highlight_sections() {
    let cotw = article_with("## Crate of the Week\n\n<!-- COTW goes here -->\n");
    let reason = held(&cotw, &config("")).unwrap();
    assert!(
        reason.starts_with(
            "line 8: unfilled template comment `<!-- COTW goes here -->` in “Crate of the Week”"
        ),
        "{reason}"
    );
    // TWiR leaves this one in the CFP section of published issues.
    let cfp = article_with(
        "## Call for Participation\n\n<!-- CFPs go here, use this format: * [x](y) -->\n",
    );
    assert_eq!(held(&cfp, &config("")), None);
    // Not held when the section's highlight is not in use.
    let only_prs = config("[announce]\nhighlights = [\"merged_prs\"]\n");
    assert_eq!(held(&cotw, &only_prs), None);
}

#[test]
fn an_empty_crate_of_the_week_is_skipped_or_held_as_configured() {
    let a = article_with(
        "## Crate of the Week\n\nThis week we have no crate.\n\n## Updates from the Rust Project\n\n400 pull requests were [merged in the last week][m]\n\n[m]: https://github.com/m\n",
    );
    assert_eq!(held(&a, &config("")), None);
    let url = "https://x.example/";
    let posts = announce::prepare(&a, url, &config("").announce, &[Platform::Mastodon]).unwrap();
    assert!(!posts[0].post.text.contains("Crate of the Week"));
    assert!(posts[0].post.text.contains("400 pull requests were merged"));
    let hold = config("[announce]\nempty_crate_of_the_week = \"hold\"\n");
    assert_eq!(held(&a, &hold).as_deref(), Some("the Crate of the Week section names no crate"));
}

#[test]
fn a_template_comment_beside_filled_in_content_does_not_hold() {
    // Issue 649 (2026-04-29) was published with its COTW, QOTW and project-update comments
    // still there, above the real content.
    let path = twir_content().join("2026-04-29-this-week-in-rust.md");
    let article = archive::scan::read_article(&path, &ParseSettings::default()).unwrap();
    assert_eq!(held(&article, &config("")), None);
    let filled = article_with(
        "## Crate of the Week\n\n<!-- COTW goes here -->\n\nThis week's crate is [x](https://x.example), a crate.\n",
    );
    assert_eq!(held(&filled, &config("")), None);
}

#[test]
fn preview_command_prints_one_json_document() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml");
    let run = herald(&["-c", config.to_str().unwrap(), "preview", "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // One document (before: one object per line, which no JSON parser reads whole).
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(doc["number"], 665);
    assert_eq!(doc["url"], "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/");
    assert!(doc["file"].as_str().unwrap().ends_with(".md"), "{doc}");
    let lines = doc["posts"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for (v, platform, limit) in [(&lines[0], "bluesky", 300), (&lines[1], "mastodon", 500)] {
        assert_eq!(v["platform"], platform);
        assert_eq!(v["limit"], limit);
        assert!(v["graphemes"].as_u64().unwrap() <= limit);
        assert!(
            v["text"]
                .as_str()
                .unwrap()
                .contains("https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/")
        );
        assert_eq!(v["held"], serde_json::json!([]));
        let facet = &v["facets"][0];
        assert_eq!(facet["type"], "link");
        assert!(facet["byteStart"].is_u64() && facet["byteEnd"].is_u64());
    }
    assert_eq!(
        lines[0]["embed"]["uri"],
        "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/"
    );
    let one = herald(&[
        "-c",
        config.to_str().unwrap(),
        "preview",
        "--issue",
        "604",
        "--platform",
        "mastodon",
    ]);
    let text = String::from_utf8(one.stdout).unwrap();
    assert!(text.starts_with("── mastodon ──") && text.contains("This Week in Rust 604"), "{text}");
    let missing = herald(&["-c", config.to_str().unwrap(), "preview", "--issue", "1"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no issue with `Number: 1`"));
}

/// `herald preview --format markdown` run from `dir` on `files`, with the bundled config.
fn markdown_preview(dir: &Path, files: &[&str]) -> String {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml");
    let mut cmd = herald_cmd();
    cmd.current_dir(dir).args(["-c", config.to_str().unwrap(), "preview", "--format", "markdown"]);
    for f in files {
        cmd.args(["--file", f]);
    }
    let run = cmd.output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn markdown_preview_of_the_666_draft_and_a_published_issue() {
    let twir = shared().join("twir");
    let draft = markdown_preview(&twir, &["draft/2026-08-26-this-week-in-rust.md"]);
    assert!(draft.starts_with("<!-- herald-preview -->\n"), "{draft}");
    assert!(draft.contains("**Held:** herald will not announce this issue until the 3 findings"));
    insta::assert_snapshot!("markdown-draft-666", draft);
    let published = markdown_preview(&twir, &["content/2025-05-28-this-week-in-rust.md"]);
    assert!(published.contains("> [!NOTE]\n> **Ready:**"), "{published}");
    insta::assert_snapshot!("markdown-issue-601", published);
}

#[test]
fn a_markdown_preview_keeps_its_layout_whatever_the_article_says() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "Title: Issue `x` | <script>alert(1)</script> @ferris #12\nNumber: 700\n\
        Date: 2026-09-02\nCategory: This Week in Rust\n\n\
        ## Crate of the Week\n\nThis week's crate is [a|b](https://x.org/) by @octocat, see #1 \
        and :tada: ![img](https://x.org/i.png) | cell\n\n## Call for Testing\n\n* [x](INSERT_LINK_HERE `|`)\n";
    std::fs::write(dir.path().join("hostile.md"), hostile).unwrap();
    std::fs::write(dir.path().join("broken.md"), "no header at all\n").unwrap();
    let doc = markdown_preview(dir.path(), &["hostile.md", "broken.md", "missing.md"]);
    // Escaped (`\<script`), it shows as text.
    assert!(!doc.replace("\\<", "").contains("<script"), "{doc}");
    assert!(!doc.contains("@ferris") && !doc.contains("@octocat"), "{doc}");
    assert!(!doc.contains("#12") && !doc.contains(":tada:"), "{doc}");
    // Every finding is one table row of four cells: no `|` from the article ends a cell.
    for row in doc.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Line")) {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 5, "{row}");
    }
    assert!(doc.contains("### `broken.md`") && doc.contains("### `missing.md`"), "{doc}");
    assert_eq!(
        doc.matches("**herald cannot read this file, so it would not announce it:**").count(),
        2,
        "{doc}"
    );
}

/// A file with thousands of placeholders is judged in bounded space: the first 50 of each
/// effect are listed, then one finding counts the rest with the line they start at.
#[test]
fn thousands_of_placeholders_are_listed_in_bounded_space() {
    let body = "Hello.\n\n".to_string() + &"REDDIT_LINK_HERE\n\n".repeat(3000);
    let article = article_with(&body);
    let g = guard(&article, &config(""));
    assert!(!g.is_held());
    let delays: Vec<String> = g.delays().map(|f| f.to_string()).collect();
    assert_eq!(delays.len(), 51, "{delays:?}");
    assert!(delays[0].starts_with("line 8: placeholder `REDDIT_LINK_HERE`"), "{}", delays[0]);
    assert_eq!(delays[50], "line 108: and 2950 more like these, from here on");
}
