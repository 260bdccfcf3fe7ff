//! The status page (`/` where `[daemon] listen` is set): every issue with its state, its
//! reasons and links to its posts — the facts of `status --json` — and, for each issue not yet
//! announced, each platform's post as it will read: the text with its links and tags, the link
//! card with its image, the length against the limit.
//!
//! The page is plain HTML and CSS: no script, no form, nothing fetched from elsewhere; it
//! refreshes itself. Everything it shows is escaped (maud escapes every value), a link's
//! target is used only when it is `http(s)`, and it shows nothing of the configuration but
//! what the posts show: no secret can reach it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Settings;
use super::status::{Shown, StatusView, local, reasons, row_text, rows_of, shown, state_text};
use crate::announce::view::{self, Piece};
use crate::announce::{self, Announcement, Effect, Platform};
use crate::feeds::Entry;
use crate::state::IssueRecord;

/// How often the page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 30;

/// The posts an issue will get, or why they cannot be made.
pub type Posts = Result<Vec<Announcement>, String>;

/// Whether the page previews `issue`'s posts: it is in the archive and still to be announced.
fn previewed(issue: &IssueRecord, state: Shown) -> bool {
    issue.present
        && matches!(
            state,
            Shown::Waiting | Shown::Held | Shown::Delayed | Shown::Announcing | Shown::Failed
        )
}

/// A file's version: its size and modification time.
type Version = (u64, Option<SystemTime>);

/// The posts of the issues the page previews, made from their files and kept while a file is
/// unchanged (its size and modification time), so a page refresh renders nothing again.
#[derive(Default)]
pub struct Previews {
    made: Mutex<HashMap<String, (Version, Posts)>>,
}

impl Previews {
    /// The posts of each issue of `view` the page previews, by issue key.
    pub fn for_view(&self, view: &StatusView, config: &Settings) -> HashMap<String, Posts> {
        let mut out = HashMap::new();
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        let mut kept = HashMap::new();
        for issue in &view.issues {
            if !previewed(issue, shown(issue, &rows_of(view, issue))) {
                continue;
            }
            let path = Path::new(&issue.source);
            let version = std::fs::metadata(path).map(|m| (m.len(), m.modified().ok()));
            let posts = match (made.remove(&issue.source), &version) {
                (Some((seen, posts)), Ok(now)) if seen == *now => posts,
                _ => posts_of(path, config),
            };
            if let Ok(v) = version {
                kept.insert(issue.source.clone(), (v, posts.clone()));
            }
            out.insert(issue.key.clone(), posts);
        }
        *made = kept;
        out
    }
}

/// The posts the configured accounts' platforms would get for the article at `path`.
fn posts_of(path: &Path, config: &Settings) -> Posts {
    let article = crate::archive::scan::read_article(path, &config.parse)
        .map_err(|e| crate::report::describe(&e))?;
    let url = Entry::new(&article, &config.feeds).url;
    let mut platforms: Vec<Platform> = config.accounts.iter().map(|a| a.platform()).collect();
    platforms.sort_by_key(|p| p.name());
    platforms.dedup();
    announce::prepare(&article, &url, &config.announce, &platforms)
        .map_err(|e| crate::report::describe(&e))
}

/// The whole page.
pub fn render(view: &StatusView, posts: &HashMap<String, Posts>, config: &Settings) -> String {
    let site = &config.feeds.site_name;
    let tz = &view.timezone;
    let instance = view::mastodon_instance(&config.accounts);
    let (baseline, shown_issues): (Vec<_>, Vec<_>) = view
        .issues
        .iter()
        .map(|i| (i, shown(i, &rows_of(view, i))))
        .partition(|(_, s)| *s == Shown::Baseline);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECONDS);
                title { "herald · " (site) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "herald · " (site) }
                    (scans(view))
                    p.links {
                        a href="status.json" { "status.json" } " · "
                        a href="healthz" { "healthz" } " · "
                        a href="metrics" { "metrics" }
                    }
                }
                main {
                    @if !view.problems.is_empty() || !view.stuck().is_empty() || !view.failing_channels.is_empty() {
                        section.problems {
                            h2 { "Needs you" }
                            ul {
                                @for p in &view.problems { li { "archive: " (p) } }
                                @for (r, what) in view.stuck() { li { (r.account) ": " (what) } }
                                @for f in &view.failing_channels {
                                    li { "notifications to " (f.channel) " fail: " (f.unsent) " unsent after " (f.attempts) " attempts; last: " (f.last_error) }
                                }
                            }
                        }
                    }
                    @if shown_issues.is_empty() {
                        p { "No issue to announce yet: every issue the state knows was in the archive at the first start." }
                    }
                    @for (issue, state) in &shown_issues {
                        (issue_card(view, issue, *state, posts.get(&issue.key), config, instance))
                    }
                    @if !baseline.is_empty() {
                        details.baseline {
                            summary { (baseline.len()) " issues present at the first start (baseline, never announced)" }
                            ul {
                                @for (issue, _) in &baseline {
                                    li {
                                        (number(issue)) " " (link(&issue.key, &issue.title))
                                        @if let Some(d) = issue.date { " — " (tz.local(d).format("%Y-%m-%d").to_string()) }
                                    }
                                }
                            }
                        }
                    }
                }
                footer {
                    "herald " (env!("CARGO_PKG_VERSION")) " · shown at " (local(view.now, tz))
                    " · this page refreshes every " (REFRESH_SECONDS) " s and changes nothing"
                }
            }
        }
    };
    page.into_string()
}

fn scans(view: &StatusView) -> Markup {
    let tz = &view.timezone;
    html! {
        p.scans {
            @match &view.last_scan {
                Some((t, None)) => { "Last scan " (local(*t, tz)) ": ok. " },
                Some((t, Some(e))) => { strong.bad { "Last cycle failed at " (local(*t, tz)) ": " (e) } " " },
                None => { "No scan yet. " },
            }
            @if view.overdue() {
                strong.bad { "The service runs but records no cycle since one was due: see its log (journalctl -u herald)." }
            } @else if let (Some(_), Some(t)) = (&view.service, view.next_scan) {
                "Next scan " (local(t, tz)) " at the latest."
            }
        }
    }
}

fn number(issue: &IssueRecord) -> String {
    issue.number.map_or("#?".into(), |n| format!("#{n}"))
}

/// A link where `url` is a web address, else the text alone.
fn link(url: &str, text: &str) -> Markup {
    html! {
        @if url.starts_with("https://") || url.starts_with("http://") {
            a href=(url) rel="noopener noreferrer" { (text) }
        } @else {
            (text)
        }
    }
}

fn state_class(state: Shown) -> &'static str {
    match state {
        Shown::Baseline => "baseline",
        Shown::Waiting => "waiting",
        Shown::Held => "held",
        Shown::Delayed => "delayed",
        Shown::TooOld => "too-old",
        Shown::Announcing => "announcing",
        Shown::Announced => "announced",
        Shown::Failed => "failed",
    }
}

fn issue_card(
    view: &StatusView,
    issue: &IssueRecord,
    state: Shown,
    posts: Option<&Posts>,
    config: &Settings,
    instance: Option<&str>,
) -> Markup {
    let tz = &view.timezone;
    let class = state_class(state);
    let stuck = view.stuck();
    html! {
        article class={ "issue " (class) } id={ "issue-" (issue.number.unwrap_or(0)) } {
            h2 {
                span class={ "badge " (class) } { (class.replace('-', " ")) }
                " " (number(issue)) " " (link(&issue.key, &issue.title))
            }
            p.meta {
                @if let Some(d) = issue.date { (tz.local(d).format("%Y-%m-%d").to_string()) " · " }
                "file " code { (issue.source) }
                @if !issue.present { " · no longer in the archive" }
            }
            p.what { (state_text(issue, state, tz)) }
            // The guard's findings show in the posts' table when there is one.
            @let tabled = matches!(posts, Some(Ok(a)) if a.first().is_some_and(|a| !a.guard.findings.is_empty()));
            @let reasons = if tabled { Vec::new() } else { reasons(issue) };
            @if !reasons.is_empty() {
                ul.reasons { @for r in &reasons { li { (quoted(r)) } } }
            }
            @let rows = rows_of(view, issue);
            @if !rows.is_empty() {
                ul.accounts {
                    @for r in &rows {
                        li {
                            strong { (r.account) } " (" (r.platform) "): "
                            @if let Some(url) = r.remote.as_ref().and_then(|p| p.url.as_deref()) {
                                (link(url, "the post")) " · "
                            }
                            @match stuck.iter().find(|(s, _)| s.id == r.id) {
                                Some((_, what)) => { (what) },
                                None => { (row_text(r, issue, tz)) },
                            }
                        }
                    }
                }
            }
            @match posts {
                Some(Ok(announcements)) => {
                    @if let Some(first) = announcements.first() { (findings(&first.guard)) }
                    div.posts {
                        @for a in announcements { (post(a, config, instance)) }
                    }
                },
                Some(Err(e)) => { p.bad { "Its posts cannot be made: " (quoted(e)) } },
                None => {},
            }
        }
    }
}

fn findings(guard: &announce::Inspection) -> Markup {
    html! {
        @if !guard.findings.is_empty() {
            table.findings {
                thead { tr { th { "Line" } th { "Found" } th { "Effect" } th { "What to change" } } }
                tbody {
                    @for f in &guard.findings {
                        tr {
                            td { (f.line.map_or("—".to_string(), |l| l.to_string())) }
                            td { (quoted(&f.reason)) }
                            @match f.effect {
                                Effect::Hold => { td.hold { "holds" } },
                                Effect::Delay => { td.delay { "delays" } },
                            }
                            td { (quoted(&f.fix)) }
                        }
                    }
                }
            }
        }
    }
}

fn post(a: &Announcement, config: &Settings, instance: Option<&str>) -> Markup {
    let p = &a.post;
    let over = p.graphemes > p.limit;
    html! {
        figure class={ "post " (p.platform.name()) } {
            figcaption { (match p.platform { Platform::Bluesky => "Bluesky", Platform::Mastodon => "Mastodon" }) }
            p.text {
                @for piece in view::pieces(p, instance) {
                    @match piece {
                        Piece::Text(t) => { (t) },
                        Piece::Link(t, url) => { (link(url, t)) },
                        Piece::Tag(t, Some(page)) => { a.tag href=(page) rel="noopener noreferrer" { (t) } },
                        Piece::Tag(t, None) => { span.tag { (t) } },
                    }
                }
            }
            div.length {
                meter min="0" max=(p.limit) high=(p.limit * 9 / 10) optimum="0" value=(p.graphemes.min(p.limit)) {
                    (p.graphemes) " of " (p.limit)
                }
                span class=(if over { "bad" } else { "" }) {
                    " " (p.graphemes) " / " (p.limit) " characters"
                    @if p.platform == Platform::Bluesky { " · " (p.text.len()) " bytes" }
                    @if over { " — over the limit" }
                }
                " · " (view::highlights_fit(p))
                small { (quoted(&view::length_note(p, &config.announce))) }
            }
            @match &p.embed {
                Some(e) => {
                    div.card {
                        @if e.thumb.is_some() { img src="card-image" alt="the card's image"; }
                        div {
                            strong { (e.title) }
                            p { (e.description) }
                            small { (crate::feeds::host_of(&e.uri).unwrap_or_default()) }
                        }
                    }
                },
                None => { p.note { "Link card: made by the instance from the page's own metadata." } },
            }
        }
    }
}

/// A message whose `` `quoted` `` parts are code (the guard's findings): those in `<code>`.
fn quoted(s: &str) -> Markup {
    html! {
        @for (part, is_code) in view::quoted_parts(s) {
            @if is_code { code { (part) } } @else { (part) }
        }
    }
}

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c1e21}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}
header h1{font-size:1.4rem;margin:1rem 0 .2rem}
.scans,.links,footer,.meta{color:#555;font-size:.9rem;margin:.2rem 0}
footer{margin:2rem auto}
.issue{background:#fff;border:1px solid #dde;border-left:6px solid #999;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.issue h2{font-size:1.1rem;margin:.2rem 0;overflow-wrap:anywhere}
.issue h2 a,.post .text,.card strong{unicode-bidi:isolate}
.badge{border-radius:3px;color:#fff;font-size:.75rem;padding:.1rem .4rem;text-transform:uppercase;vertical-align:middle;background:#777}
.held{border-left-color:#c62828}.badge.held{background:#c62828}
.failed{border-left-color:#8e0000}.badge.failed{background:#8e0000}
.delayed{border-left-color:#ef6c00}.badge.delayed{background:#ef6c00}
.waiting{border-left-color:#1565c0}.badge.waiting{background:#1565c0}
.announcing{border-left-color:#6a1b9a}.badge.announcing{background:#6a1b9a}
.announced{border-left-color:#2e7d32}.badge.announced{background:#2e7d32}
.too-old{border-left-color:#616161}
.bad{color:#b00020}
.problems{background:#fff3f3;border:1px solid #f2b8b5;border-radius:6px;padding:.4rem 1rem}
table.findings{border-collapse:collapse;font-size:.88rem;margin:.5rem 0;width:100%}
.findings th,.findings td{border-bottom:1px solid #eee;padding:.25rem .4rem;text-align:left;vertical-align:top}
td.hold{color:#c62828;font-weight:600}td.delay{color:#ef6c00}
.posts{display:flex;flex-wrap:wrap;gap:1rem}
.post{background:#fafbfc;border:1px solid #d8dde3;border-radius:10px;flex:1 1 22rem;margin:.5rem 0;padding:.6rem .8rem}
.post figcaption{font-weight:600;margin-bottom:.3rem}
.post.bluesky figcaption{color:#0a7aff}.post.mastodon figcaption{color:#563acc}
.post .text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0}
.post a{color:#0a5fcc}.tag{color:#0a5fcc}
.length{font-size:.85rem;color:#444}.length small{display:block;color:#777}
meter{width:100%;height:.8rem}
.card{border:1px solid #d8dde3;border-radius:8px;display:flex;flex-direction:column;margin-top:.5rem;overflow:hidden;background:#fff}
.card img{max-height:12rem;object-fit:cover;width:100%}
.card div{padding:.4rem .6rem}.card p{color:#555;font-size:.85rem;margin:.2rem 0}
.note{color:#666;font-size:.85rem}
details.baseline{margin:1rem 0}
code{font-size:.85em}
"#;

#[cfg(test)]
mod tests;
