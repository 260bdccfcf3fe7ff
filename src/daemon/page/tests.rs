//! The status page on a state with every kind of issue: what it shows, escaped, and the
//! posts of the issues still to be announced.

use std::path::Path;

use super::*;
use crate::daemon::status::gather;
use crate::daemon::status::tests::every_kind;

fn config() -> Settings {
    Settings::for_tests()
}

#[test]
fn the_page_shows_every_issue_and_escapes_what_it_shows() {
    let (_dir, db) = every_kind();
    let mut view = gather(&db).unwrap();
    let hostile = view.issues.iter().position(|i| i.status.as_deref() == Some("held")).unwrap();
    view.issues[hostile].title = "<script>alert(1)</script> & \"q\"".into();
    view.issues[hostile].reasons =
        Some(serde_json::json!(["line 3: `<img src=x onerror=alert(1)>` here"]).to_string());
    if let Some(remote) = view.rows.iter_mut().find_map(|r| r.remote.as_mut()) {
        remote.url = Some("javascript:alert(1)".into());
    }
    let html = render(&view, &HashMap::new(), &config());

    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(!html.contains("<script") && !html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"), "{html}");
    assert!(html.contains("<code>&lt;img src=x onerror=alert(1)&gt;</code>"), "{html}");
    assert!(!html.contains("href=\"javascript:"), "{html}");
    // Every issue but the baseline ones has its card, with its state; the baseline is listed.
    for issue in &view.issues {
        let rows = rows_of(&view, issue);
        let state = shown(issue, &rows);
        let number = issue.number.unwrap();
        if state == Shown::Baseline {
            assert!(!html.contains(&format!("id=\"issue-{number}\"")), "{number}");
            continue;
        }
        let card =
            format!("<article class=\"issue {}\" id=\"issue-{number}\">", state_class(state));
        assert!(html.contains(&card), "{card} missing");
    }
    assert!(html.contains("issues present at the first start (baseline"), "{html}");
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
}

#[test]
fn an_issue_to_announce_shows_each_post_with_links_tags_length_and_card() {
    let (_dir, db) = every_kind();
    let view = gather(&db).unwrap();
    let config = config();
    let held = view.issues.iter().find(|i| i.status.as_deref() == Some("held")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/twir/2026-08-19-this-week-in-rust.md");
    let posts = posts_of(&fixture, &config);
    let mut all = HashMap::new();
    all.insert(held.key.clone(), posts);
    all.insert(
        view.issues.iter().find(|i| i.status.as_deref() == Some("delayed")).unwrap().key.clone(),
        Err("content/x.md: no `Title:` header".to_string()),
    );
    let html = render(&view, &all, &config);
    assert!(html.contains("<figure class=\"post bluesky\">"), "{html}");
    assert!(html.contains("<figure class=\"post mastodon\">"), "{html}");
    assert!(
        html.contains("<a href=\"https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/\" rel=\"noopener noreferrer\">https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/</a>"),
        "{html}"
    );
    assert!(html.contains("<a class=\"tag\" href=\"https://bsky.app/hashtag/rustlang\""), "{html}");
    assert!(
        html.contains("<meter min=\"0\" max=\"300\" high=\"270\" optimum=\"0\" value=\"286\">"),
        "{html}"
    );
    assert!(html.contains("<meter min=\"0\" max=\"500\""), "{html}");
    assert!(html.contains("Crate of the Week: tokio_with_wasm"), "{html}");
    assert!(
        html.contains("Its posts cannot be made: content/x.md: no <code>Title:</code> header"),
        "{html}"
    );
}

#[test]
fn previews_are_made_again_only_when_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.md");
    std::fs::write(&file, "Title: This Week in Rust 1\nNumber: 1\nDate: 2026-08-01\n\nHi.\n")
        .unwrap();
    let (_db_dir, db) = every_kind();
    let mut view = gather(&db).unwrap();
    let at = view.issues.iter().position(|i| i.status.as_deref() == Some("held")).unwrap();
    view.issues[at].source = file.display().to_string();
    let config = config();
    let previews = Previews::default();
    let title =
        |m: &HashMap<String, Posts>| m[&view.issues[at].key].as_ref().unwrap()[0].post.text.clone();
    let first = previews.for_view(&view, &config);
    assert!(title(&first).starts_with("This Week in Rust 1 is out"), "{}", title(&first));
    std::fs::write(
        &file,
        "Title: This Week in Rust 1 fixed\nNumber: 1\nDate: 2026-08-01\n\nHi there.\n",
    )
    .unwrap();
    let second = previews.for_view(&view, &config);
    assert!(title(&second).starts_with("This Week in Rust 1 fixed is out"), "{}", title(&second));
    // Only the previewed issues are kept.
    assert_eq!(previews.made.lock().unwrap().len(), 1);
}
