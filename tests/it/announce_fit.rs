//! Posts fit every platform limit, facets sit on the right bytes, the issue URL is intact —
//! for arbitrary titles and highlights (emoji, ZWJ sequences, combining marks, CJK, RTL, very
//! long words and URLs).

use herald::announce::compose::{
    Composer, DEFAULT_BLUESKY_TEMPLATE, DEFAULT_MASTODON_TEMPLATE, IssueFields, PlatformSettings,
};
use herald::announce::highlights::{Highlight, HighlightKind};
use herald::announce::{FacetKind, Limits, Platform, Post};
use proptest::prelude::*;
use unicode_segmentation::UnicodeSegmentation;

fn composer(platform: Platform, limits: Limits) -> Composer {
    let template = match platform {
        Platform::Bluesky => DEFAULT_BLUESKY_TEMPLATE,
        Platform::Mastodon => DEFAULT_MASTODON_TEMPLATE,
    };
    Composer::new(PlatformSettings {
        platform,
        template: template.into(),
        limits,
        langs: vec!["en".into()],
        card_image: None,
    })
    .unwrap()
}

fn highlight(text: &str) -> Highlight {
    Highlight {
        kind: HighlightKind::Community,
        text: text.into(),
        url: Some("https://example.com/a".into()),
        line: 1,
    }
}

fn issue(title: &str, url: &str) -> IssueFields {
    IssueFields {
        title: title.into(),
        number: Some(665),
        url: url.into(),
        date: "2026-08-19".into(),
    }
}

/// Every facet's byte range slices exactly what it names.
fn assert_facets_exact(post: &Post) {
    for f in &post.facets {
        let slice = post.text.get(f.byte_start..f.byte_end).expect("facet on char boundaries");
        match &f.kind {
            FacetKind::Link(uri) => assert_eq!(slice, uri),
            FacetKind::Tag(tag) => assert_eq!(slice, format!("#{tag}")),
        }
    }
}

fn assert_post_ok(post: &Post, limits: Limits, url: &str) {
    assert!(
        limits.fits(&post.text),
        "over the limit: {} graphemes, {} bytes",
        limits.count(&post.text),
        post.text.len()
    );
    assert!(post.graphemes <= post.limit);
    assert_facets_exact(post);
    let start = post.text.find(url).expect("issue URL present");
    assert!(
        post.facets
            .iter()
            .any(|f| f.byte_start == start && f.kind == FacetKind::Link(url.to_string())),
        "issue URL has a link facet"
    );
}

/// Text pieces that stress counting: emoji, ZWJ families, flags, combining marks, CJK, RTL,
/// long words, URLs, hashtags.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z]{1,12}",
        Just("🦀".to_string()),
        Just("👨‍👩‍👧‍👦".to_string()),
        Just("🇺🇦".to_string()),
        Just("e\u{301}\u{302}".to_string()),
        "[\u{4e00}-\u{4e80}]{1,6}",
        "[\u{05d0}-\u{05ea}]{1,8}",
        "[\u{0627}-\u{064a}]{1,8}",
        "[a-z]{40,120}",
        "https://[a-z]{3,10}\\.example/[a-z0-9/_-]{0,150}",
        "#[a-z]{1,10}",
        Just("#665".to_string()),
        Just("C#".to_string()),
    ]
}

fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 1..max_pieces).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fitted_posts_are_within_every_limit(
        title in text(12),
        highlights in proptest::collection::vec(text(25), 0..8),
        path in "[a-z0-9-]{1,60}",
        max_characters in 150usize..600,
    ) {
        let url = format!("https://this-week-in-rust.org/blog/2026/08/19/{path}/");
        let hs: Vec<Highlight> = highlights.iter().map(|t| highlight(t)).collect();
        for (platform, limits) in [
            (Platform::Bluesky, Limits::BLUESKY),
            (Platform::Mastodon, Limits::mastodon(max_characters, 23)),
        ] {
            let post = composer(platform, limits).compose(&issue(&title, &url), &hs).unwrap();
            assert_post_ok(&post, limits, &url);
            prop_assert!(post.highlights_kept <= hs.len());
        }
    }
}

#[test]
fn facets_after_multibyte_emoji_at_a_full_300_graphemes() {
    // A title of emoji (4 and 25 bytes per grapheme) in front: byte offsets, not graphemes or
    // UTF-16 units, must place the facets.
    let title = format!("👨‍👩‍👧‍👦🦀{}", "é".repeat(40));
    let url = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";
    let filler = highlight(&"ü".repeat(400));
    let post = composer(Platform::Bluesky, Limits::BLUESKY)
        .compose(&issue(&title, url), &[filler])
        .unwrap();
    assert_eq!(post.text.graphemes(true).count(), 300, "{}", post.text);
    assert_post_ok(&post, Limits::BLUESKY, url);
    let link = post.facets.iter().find(|f| matches!(f.kind, FacetKind::Link(_))).unwrap();
    // "👨‍👩‍👧‍👦" is 25 bytes, "🦀" 4, each "é" 2: the URL starts after them and " is out: ".
    assert_eq!(link.byte_start, 25 + 4 + 80 + " is out: ".len());
    assert_eq!(link.byte_end, link.byte_start + url.len());
    let tag = post.facets.iter().find(|f| matches!(f.kind, FacetKind::Tag(_))).unwrap();
    assert_eq!(&post.text[tag.byte_start..tag.byte_end], "#rustlang");
    assert_eq!(tag.byte_end, post.text.len());
}

#[test]
fn lowest_ranked_highlights_go_first_then_the_last_kept_is_shortened() {
    let url = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";
    let hs: Vec<Highlight> =
        ["first highlight", "second highlight", &"third ".repeat(40), "fourth"]
            .iter()
            .map(|t| highlight(t))
            .collect();
    let post = composer(Platform::Bluesky, Limits::BLUESKY)
        .compose(&issue("This Week in Rust 665", url), &hs)
        .unwrap();
    assert_eq!(post.highlights_kept, 3);
    assert!(post.text.contains("• first highlight\n• second highlight\n• third"));
    assert!(post.text.contains("…"));
    assert!(!post.text.contains("fourth"));
    assert_eq!(post.graphemes, 300);
}

#[test]
fn a_url_in_a_highlight_is_never_cut() {
    let url = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";
    let long_link = format!("see https://example.com/{}", "x".repeat(200));
    let post = composer(Platform::Bluesky, Limits::BLUESKY)
        .compose(&issue("T", url), &[highlight(&long_link)])
        .unwrap();
    assert!(!post.text.contains("https://example.com/x"), "{}", post.text);
    assert_post_ok(&post, Limits::BLUESKY, url);
}

#[test]
fn mastodon_counts_urls_at_least_23_and_in_full_when_longer() {
    let url = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/"; // 68 chars
    let limits = Limits::mastodon(200, 23);
    let hs: Vec<Highlight> = (0..10).map(|i| highlight(&format!("highlight number {i}"))).collect();
    let post = composer(Platform::Mastodon, limits)
        .compose(&issue("This Week in Rust 665", url), &hs)
        .unwrap();
    // The URL counts 68, not 23: a server counting URLs in full accepts the post too.
    assert_eq!(post.graphemes, post.text.graphemes(true).count());
    assert!(post.graphemes <= 200);
    assert!(post.highlights_kept < 10);
}

#[test]
fn a_template_too_long_for_the_limit_is_an_error_not_a_broken_post() {
    let c = Composer::new(PlatformSettings {
        platform: Platform::Mastodon,
        template: format!("{} {{{{ issue.url }}}}", "x".repeat(600)),
        limits: Limits::mastodon(500, 23),
        langs: vec![],
        card_image: None,
    })
    .unwrap();
    let err = c.compose(&issue("T", "https://x.example/"), &[]).unwrap_err();
    assert!(err.to_string().contains("over the limit of 500"), "{err}");
}
