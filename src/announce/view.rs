//! A post as its readers will see it, for the previews (`herald preview --format markdown`,
//! the status page): the text cut into plain text, links and tags with where each leads, and
//! how its length is counted against which limit. Pure: nothing is asked of a server, so a
//! preview works without an account or a secret.

use super::compose::{FacetKind, Post};
use super::{AnnounceSettings, Platform};

/// A piece of a post's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Plain text.
    Text(&'a str),
    /// A link: the text shown and where it leads.
    Link(&'a str, &'a str),
    /// A hashtag: the text shown (`#rustlang`) and its page, where one is known (Mastodon's
    /// tag pages live on the reader's instance: known only when an account names it).
    Tag(&'a str, Option<String>),
}

/// `post`'s text in pieces. `mastodon_instance` is the instance whose tag pages Mastodon
/// tags link to.
pub fn pieces<'a>(post: &'a Post, mastodon_instance: Option<&str>) -> Vec<Piece<'a>> {
    post.segments()
        .into_iter()
        .map(|(text, kind)| match kind {
            None => Piece::Text(text),
            Some(FacetKind::Link(uri)) => Piece::Link(text, uri),
            Some(FacetKind::Tag(tag)) => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(tag.as_bytes()).collect();
                let page = match post.platform {
                    Platform::Bluesky => Some(format!("https://bsky.app/hashtag/{encoded}")),
                    Platform::Mastodon => mastodon_instance
                        .map(|i| format!("{}/tags/{encoded}", i.trim_end_matches('/'))),
                };
                Piece::Tag(text, page)
            }
        })
        .collect()
}

/// How `post`'s length is measured, and where its limit comes from, in a sentence.
pub fn length_note(post: &Post, settings: &AnnounceSettings) -> String {
    match post.platform {
        Platform::Bluesky => format!(
            "Bluesky allows {} characters (grapheme clusters) and {} bytes; a link counts in full",
            post.limit,
            settings.bluesky.limits.max_bytes.unwrap_or(3000)
        ),
        Platform::Mastodon => format!(
            "{} characters is the configured limit (`[announce.mastodon] max_characters`, \
             Mastodon's documented default); when posting, herald asks the instance for its own. \
             A link counts as {} characters, or in full when longer (as GoToSocial counts it)",
            post.limit,
            settings.mastodon.limits.url_min_graphemes.unwrap_or(23)
        ),
    }
}

/// The first configured Mastodon account's instance, whose tag pages previews link to.
pub fn mastodon_instance(accounts: &[super::Account]) -> Option<&str> {
    accounts.iter().find_map(|a| match a {
        super::Account::Mastodon { instance, .. } => Some(instance.as_str()),
        _ => None,
    })
}

/// How many highlights made it in, in words.
pub fn highlights_fit(p: &Post) -> String {
    match (p.highlights_kept, p.highlights_total) {
        (_, 0) => "no highlight could be drawn from the issue".into(),
        (1, 1) => "its one highlight fits".into(),
        (k, t) if k == t => format!("all {t} highlights fit"),
        (k, t) => format!("{k} of {t} highlights fit (the lowest ranked are left out)"),
    }
}

/// A message's parts, in order, each with whether it is code: the `` `quoted` `` parts of
/// the guard's findings and of errors are. A backtick left unpaired, or a pair around
/// nothing, stays in the text.
pub fn quoted_parts(s: &str) -> Vec<(std::borrow::Cow<'_, str>, bool)> {
    let parts: Vec<&str> = s.split('`').collect();
    // An odd number of backticks leaves the last one unpaired.
    let paired = parts.len() % 2 == 1;
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let quoted = i % 2 == 1;
        if quoted && (paired || i + 1 < parts.len()) && !part.is_empty() {
            out.push((std::borrow::Cow::Borrowed(*part), true));
        } else if quoted {
            let ticks = if part.is_empty() && paired { "``" } else { "`" };
            out.push((std::borrow::Cow::Owned(format!("{ticks}{part}")), false));
        } else {
            out.push((std::borrow::Cow::Borrowed(*part), false));
        }
    }
    out
}

/// `used` of `limit` as a bar of `cells` cells (`▰▰▰▱▱`), full when over.
pub fn bar(used: usize, limit: usize, cells: usize) -> String {
    let filled = match limit {
        0 => cells,
        _ => (used * cells / limit).clamp(usize::from(used > 0), cells),
    };
    "▰".repeat(filled) + &"▱".repeat(cells - filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::compose::Facet;

    fn post(platform: Platform, text: &str, facets: Vec<Facet>) -> Post {
        Post {
            platform,
            text: text.into(),
            graphemes: text.chars().count(),
            limit: 300,
            facets,
            langs: vec![],
            embed: None,
            highlights_kept: 0,
            highlights_total: 0,
        }
    }

    #[test]
    fn pieces_follow_the_facets_and_tags_link_where_their_page_is_known() {
        let text = "Out: https://x.org/a/ now #rust ok";
        let facets = vec![
            Facet { byte_start: 26, byte_end: 31, kind: FacetKind::Tag("rust".into()) },
            Facet { byte_start: 5, byte_end: 21, kind: FacetKind::Link("https://x.org/a/".into()) },
        ];
        let bluesky = post(Platform::Bluesky, text, facets.clone());
        assert_eq!(
            pieces(&bluesky, None),
            vec![
                Piece::Text("Out: "),
                Piece::Link("https://x.org/a/", "https://x.org/a/"),
                Piece::Text(" now "),
                Piece::Tag("#rust", Some("https://bsky.app/hashtag/rust".into())),
                Piece::Text(" ok"),
            ]
        );
        let mastodon = post(Platform::Mastodon, text, facets);
        assert_eq!(pieces(&mastodon, None)[3], Piece::Tag("#rust", None));
        assert_eq!(
            pieces(&mastodon, Some("https://m.example/"))[3],
            Piece::Tag("#rust", Some("https://m.example/tags/rust".into()))
        );
    }

    #[test]
    fn a_facet_off_the_text_or_overlapping_is_shown_as_text() {
        let facets = vec![
            Facet { byte_start: 0, byte_end: 3, kind: FacetKind::Tag("abc".into()) },
            Facet { byte_start: 2, byte_end: 4, kind: FacetKind::Tag("x".into()) },
            Facet { byte_start: 5, byte_end: 99, kind: FacetKind::Tag("y".into()) },
        ];
        let p = post(Platform::Bluesky, "#ab cd", facets);
        let text: String = pieces(&p, None)
            .iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Link(t, _) | Piece::Tag(t, _) => *t,
            })
            .collect();
        assert_eq!(text, "#ab cd");
    }

    #[test]
    fn quoted_parts_are_code_and_stray_backticks_stay_text() {
        let parts = |s| -> Vec<(String, bool)> {
            quoted_parts(s).into_iter().map(|(t, c)| (t.into_owned(), c)).collect()
        };
        let t = |s: &str, code| (s.to_string(), code);
        assert_eq!(parts("a `b` c"), vec![t("a ", false), t("b", true), t(" c", false)]);
        assert_eq!(
            parts("a `b` c `d"),
            vec![t("a ", false), t("b", true), t(" c ", false), t("`d", false)]
        );
        assert_eq!(parts("x `` y"), vec![t("x ", false), t("``", false), t(" y", false)]);
    }

    #[test]
    fn the_bar_fills_in_proportion_and_stops_full() {
        assert_eq!(bar(0, 300, 5), "▱▱▱▱▱");
        assert_eq!(bar(150, 300, 4), "▰▰▱▱");
        assert_eq!(bar(1, 300, 4), "▰▱▱▱");
        assert_eq!(bar(299, 300, 4), "▰▰▰▱");
        assert_eq!(bar(301, 300, 4), "▰▰▰▰");
    }
}
