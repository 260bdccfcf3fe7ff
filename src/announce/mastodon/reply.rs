//! Reading Mastodon replies leniently: a created status, an instance's status limits, the
//! `Link` header of a paged list, and whether a status links to a given URL. Only the few
//! fields herald needs are read, so servers that differ elsewhere (GoToSocial, forks) still work.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::announce::fit::Limits;
use crate::announce::send::Posted;

/// Mastodon's reserved length of a URL when a server does not say
/// (<https://docs.joinmastodon.org/entities/Instance/#characters_reserved_per_url>).
pub(super) const DEFAULT_CHARS_PER_URL: usize = 23;

/// The `Posted` of a status entity (<https://docs.joinmastodon.org/entities/Status/>): its `id`,
/// and its web `url` (or its ActivityPub `uri` where `url` is null). `None` if there is no id.
pub(super) fn posted_from_status(status: &Value) -> Option<Posted> {
    let id = match status.get("id")? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let url = ["url", "uri"]
        .iter()
        .find_map(|key| status.get(*key).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(str::to_string);
    Some(Posted { id, cid: None, url })
}

/// The status limits in an instance entity (v2, or v1 which nests them the same way):
/// `configuration.statuses.max_characters` and `characters_reserved_per_url`
/// (<https://docs.joinmastodon.org/entities/Instance/#statuses>). `None` without a usable
/// `max_characters`; a missing per-URL length falls back to the given limits' (or 23).
pub(super) fn limits_from_instance(instance: &Value, fallback: &Limits) -> Option<Limits> {
    let statuses = instance.pointer("/configuration/statuses")?;
    let max_characters = positive(statuses.get("max_characters")?)?;
    let per_url = statuses
        .get("characters_reserved_per_url")
        .and_then(positive)
        .or(fallback.url_min_graphemes)
        .unwrap_or(DEFAULT_CHARS_PER_URL);
    Some(Limits::mastodon(max_characters, per_url))
}

/// A positive count, as a JSON number or a numeric string (some forks send strings).
fn positive(v: &Value) -> Option<usize> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    usize::try_from(n).ok().filter(|n| *n > 0)
}

/// The `rel="next"` target of a `Link` header (RFC 8288), as Mastodon sends on paged lists
/// (<https://docs.joinmastodon.org/api/guidelines/#pagination>):
/// `<https://m.example/api/v1/accounts/1/statuses?max_id=7>; rel="next", <…>; rel="prev"`.
pub(super) fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
        // `; rel="next", ` up to the next link: the separating comma is not part of a value.
        let params = after[end + 1..params_end].trim_end().trim_end_matches(',');
        let is_next = params.split(';').any(|param| {
            let Some((name, value)) = param.split_once('=') else { return false };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next && !target.trim().is_empty() {
            return Some(target.trim().to_string());
        }
        rest = &after[params_end..];
    }
    None
}

static HREF_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\shref\s*=\s*(?:"([^"]*)"|'([^']*)')"#).unwrap());
static BREAK_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<\s*(?:br|/?p|/?li|/?blockquote)\b[^>]*>").unwrap());
static TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").unwrap());
static URL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)https?://[^\s<>"']+"#).unwrap());

/// Whether a status links to `needle` (a URL): in an `href` of its HTML `content`, in the
/// visible text of `content` (Mastodon splits a link's text into `invisible`/`ellipsis` spans,
/// <https://docs.joinmastodon.org/spec/microformats/#status>, so tags are removed before
/// reading it), in its plain `text` (sent by some servers), or as its preview card's `url`.
/// URLs are compared whole (after HTML unescaping, ignoring the scheme, the host's case and a
/// trailing slash), so issue `…-66/` never matches a status about `…-665/`.
pub(super) fn status_links_to(status: &Value, needle: &str) -> bool {
    let Some(wanted) = normalize_url(needle) else { return false };
    let matches = |candidate: &str| normalize_url(candidate).is_some_and(|c| c == wanted);
    let str_field = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);

    if let Some(content) = str_field(status, "content") {
        let in_href = HREF_RE.captures_iter(&content).any(|c| {
            c.get(1).or_else(|| c.get(2)).is_some_and(|m| matches(&unescape_html(m.as_str())))
        });
        if in_href || text_links_to(&html_to_text(&content), &matches) {
            return true;
        }
    }
    if str_field(status, "text").is_some_and(|text| text_links_to(&text, &matches)) {
        return true;
    }
    status.get("card").and_then(|card| str_field(card, "url")).is_some_and(|url| matches(&url))
}

/// Whether a status says exactly `text` (herald's composed post), as the server returns it:
/// its plain `text` where the server sends one, else its HTML `content` read back as text
/// (paragraphs and line breaks as new lines, tags removed, so a shortened link's spans join
/// up again, entities decoded). Runs of white space compare equal, and nothing else is
/// forgiven: a person's status that quotes the link, replies to the announcement or adds a
/// word is not herald's.
pub(super) fn status_says(status: &Value, text: &str) -> bool {
    let wanted = squeeze(text);
    if wanted.is_empty() {
        return false;
    }
    let field = |key: &str| status.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    field("text").is_some_and(|t| squeeze(t) == wanted)
        || field("content").is_some_and(|c| squeeze(&content_text(c)) == wanted)
}

/// The name of the application that posted a status (`application.name`: shown to the
/// account's owner by Mastodon and GoToSocial), where the server says.
pub(super) fn status_application(status: &Value) -> Option<&str> {
    status.pointer("/application/name").and_then(Value::as_str).filter(|s| !s.is_empty())
}

static MENTION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[^\w@/.])@(\w+)@[\w.-]*\w").unwrap());

/// Text with every run of white space made one space, trimmed, and every mention reduced to
/// its user (`@dirkjan@hachyderm.io` → `@dirkjan`): servers show a mention's user only
/// (`@<span>dirkjan</span>`), with the domain in the link.
fn squeeze(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    MENTION_RE.replace_all(&text, "$1@$2").into_owned()
}

static PARA_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)</p>\s*<p[^>]*>|<br\s*/?>").unwrap());

/// The text of a status's HTML `content`, as its author wrote it: paragraph and line breaks
/// become new lines, other tags vanish, entities are decoded.
fn content_text(html: &str) -> String {
    let broken = PARA_RE.replace_all(html, "\n");
    unescape_html(&TAG_RE.replace_all(&broken, ""))
}

/// Whether any URL in plain `text` satisfies `matches`; trailing sentence punctuation is not
/// part of a URL.
fn text_links_to(text: &str, matches: &impl Fn(&str) -> bool) -> bool {
    URL_RE.find_iter(text).any(|m| {
        let url = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        matches(url)
    })
}

/// The text of an HTML fragment: block breaks become spaces, other tags vanish (so the spans
/// of a shortened link join up again), entities are decoded.
fn html_to_text(html: &str) -> String {
    let spaced = BREAK_RE.replace_all(html, " ");
    unescape_html(&TAG_RE.replace_all(&spaced, ""))
}

/// A URL reduced for comparison: no scheme, lowercase host, no trailing slash. `None` if it
/// is not an http(s) URL.
fn normalize_url(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return None;
    };
    let (host, path) = rest.find(['/', '?', '#']).map_or((rest, ""), |i| rest.split_at(i));
    if host.is_empty() {
        return None;
    }
    let path = path.trim_end_matches('/');
    Some(format!("{}{path}", host.to_ascii_lowercase()))
}

/// Decodes the HTML character references Mastodon's sanitizer emits (`&amp;`, `&quot;`,
/// `&#39;` …); unknown ones are kept as they are.
fn unescape_html(s: &str) -> String {
    crate::render::markdown::html_unescape(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUE: &str = "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-665/";

    /// A status as mastodon.social renders one: the link's text is split into spans and
    /// shortened, and `&` in the query is escaped.
    fn mastodon_content(url: &str) -> String {
        let rest = url.trim_start_matches("https://");
        format!(
            "<p>This Week in Rust 665 is out!</p><p><a href=\"{href}\" rel=\"nofollow noopener\" \
             translate=\"no\" target=\"_blank\"><span class=\"invisible\">https://</span>\
             <span class=\"ellipsis\">{shown}</span><span class=\"invisible\">{hidden}</span>\
             </a></p>",
            href = url.replace('&', "&amp;"),
            shown = &rest[..rest.len().min(30)],
            hidden = rest[rest.len().min(30)..].replace('&', "&amp;"),
        )
    }

    #[test]
    fn a_status_is_herald_s_only_with_herald_s_exact_text() {
        let text = format!("This Week in Rust 665 is out!\n\n{ISSUE}");
        let status = json!({"id": "1", "content": mastodon_content(ISSUE)});
        assert!(status_says(&status, &text));
        assert!(status_says(&status, &text.replace("\n\n", "\n")), "white space runs");
        // A person's status with the same link, or a word more, is not herald's.
        assert!(!status_says(&status, &format!("Issue 665 goes out soon {ISSUE}")));
        assert!(!status_says(&status, &format!("{text} 🎉")));
        assert!(!status_says(&status, ""));
        let escaped =
            json!({"content": "<p>Tom &amp; Jerry &lt;3<br />https://x.example/?a=1&amp;b=2</p>"});
        assert!(status_says(&escaped, "Tom & Jerry <3\nhttps://x.example/?a=1&b=2"));
        // A plain `text` the server sends wins over reading the HTML.
        let plain = json!({"content": "<p>rendered</p>", "text": "as written"});
        assert!(status_says(&plain, "as written") && status_says(&plain, "rendered"));
        // A mention shown as its user only, the domain in the link (found by the outside
        // tester: herald did not know its own post and posted again).
        let mention = json!({"content": "<p>OxiSH by <span class=\"h-card\"><a href=\"https://hachyderm.io/@dirkjan\" class=\"u-url mention\">@<span>dirkjan</span></a></span> and mail@example.org</p>"});
        assert!(status_says(&mention, "OxiSH by @dirkjan@hachyderm.io and mail@example.org"));
        assert!(!status_says(&mention, "OxiSH by @someone@hachyderm.io and mail@example.org"));
        assert_eq!(status_application(&json!({"application": {"name": "herald"}})), Some("herald"));
        assert_eq!(status_application(&json!({"application": null})), None);
    }

    #[test]
    fn finds_the_url_in_an_href() {
        let status = json!({"id": "1", "content": mastodon_content(ISSUE)});
        assert!(status_links_to(&status, ISSUE));
        assert!(status_links_to(&status, ISSUE.trim_end_matches('/')));
        assert!(status_links_to(&status, &ISSUE.replace("https://", "http://")));
        assert!(status_links_to(
            &status,
            &ISSUE.replace("this-week-in-rust.org", "THIS-week-in-rust.org")
        ));
    }

    #[test]
    fn a_neighbouring_issue_does_not_match() {
        let status = json!({"id": "1", "content": mastodon_content(ISSUE)});
        assert!(!status_links_to(
            &status,
            "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-66/"
        ));
        assert!(!status_links_to(&status, "https://this-week-in-rust.org/blog/2026/08/19/"));
        assert!(!status_links_to(&status, "not a url"));
    }

    #[test]
    fn escaped_query_strings_match() {
        let url = "https://example.org/issue?n=665&utm=x";
        let status = json!({"id": "1", "content": mastodon_content(url)});
        assert!(status_links_to(&status, url));
    }

    #[test]
    fn visible_text_plain_text_and_card_match() {
        // A server that does not linkify: the URL is only in the text.
        let text_only = json!({"content": format!("<p>New issue:<br>{ISSUE}.</p>")});
        assert!(status_links_to(&text_only, ISSUE));
        let raw = json!({"content": "", "text": format!("New issue: {ISSUE}")});
        assert!(status_links_to(&raw, ISSUE));
        let card = json!({"content": "<p>hi</p>", "card": {"url": ISSUE, "title": "TWiR"}});
        assert!(status_links_to(&card, ISSUE));
        let none = json!({"content": "<p>hi</p>", "card": null, "text": null});
        assert!(!status_links_to(&none, ISSUE));
    }

    #[test]
    fn link_headers() {
        let mastodon = "<https://m.example/api/v1/accounts/1/statuses?max_id=7>; rel=\"next\", \
                        <https://m.example/api/v1/accounts/1/statuses?min_id=9>; rel=\"prev\"";
        assert_eq!(
            next_link(mastodon).as_deref(),
            Some("https://m.example/api/v1/accounts/1/statuses?max_id=7")
        );
        let prev_first = "<https://g.example/a?min_id=9>; rel=\"prev\", <https://g.example/a?max_id=1&limit=40>; rel=next";
        assert_eq!(next_link(prev_first).as_deref(), Some("https://g.example/a?max_id=1&limit=40"));
        assert_eq!(next_link("<https://g.example/a?min_id=9>; rel=\"prev\""), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage <unterminated"), None);
        assert_eq!(
            next_link("<https://x.example/b>; title=\"x\"; REL=\"last next\"").as_deref(),
            Some("https://x.example/b")
        );
    }

    #[test]
    fn limits_are_read_leniently() {
        let fallback = Limits::mastodon(500, 23);
        let gts = json!({"configuration": {"statuses": {"max_characters": 5000, "characters_reserved_per_url": 25}}});
        assert_eq!(limits_from_instance(&gts, &fallback), Some(Limits::mastodon(5000, 25)));
        let no_url = json!({"configuration": {"statuses": {"max_characters": "1000"}}});
        assert_eq!(limits_from_instance(&no_url, &fallback), Some(Limits::mastodon(1000, 23)));
        let zero = json!({"configuration": {"statuses": {"max_characters": 0}}});
        assert_eq!(limits_from_instance(&zero, &fallback), None);
        assert_eq!(limits_from_instance(&json!({"title": "x"}), &fallback), None);
        assert_eq!(limits_from_instance(&json!([1, 2]), &fallback), None);
    }

    #[test]
    fn posted_from_status_entities() {
        let s = json!({"id": "113", "url": "https://m.example/@herald/113", "uri": "https://m.example/users/herald/statuses/113"});
        assert_eq!(
            posted_from_status(&s),
            Some(Posted {
                id: "113".into(),
                cid: None,
                url: Some("https://m.example/@herald/113".into())
            })
        );
        let uri_only = json!({"id": 7, "url": null, "uri": "https://m.example/s/7"});
        assert_eq!(
            posted_from_status(&uri_only).unwrap().url.as_deref(),
            Some("https://m.example/s/7")
        );
        assert_eq!(posted_from_status(&json!({"error": "x"})), None);
        assert_eq!(posted_from_status(&json!({"id": ""})), None);
    }

    #[test]
    fn entities() {
        assert_eq!(unescape_html("a &amp; b &lt;c&gt; &#39;d&#x27; &quot;"), "a & b <c> 'd' \"");
        assert_eq!(unescape_html("AT&T &unknown; &"), "AT&T &unknown; &");
        assert_eq!(unescape_html("caf&#233;"), "café");
    }
}
