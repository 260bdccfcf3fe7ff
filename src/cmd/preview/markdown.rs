//! `herald preview --format markdown`: one GitHub-flavoured Markdown document made for a pull
//! request comment. For each file: whether the guard holds or delays the issue, every finding
//! with its line and what to change, then each platform's post as it will read (links as
//! links, tags, the length against the limit) and its link card.
//!
//! Everything taken from an article is escaped, so an article cannot change the comment's
//! layout, and cannot mention a GitHub user, link an issue of the repository or show an emoji
//! the post does not have (`@name`, `#123` and `:code:` are split by an empty HTML comment,
//! which GitHub drops when it renders; a backslash would not do, as GitHub finds them in the
//! rendered text).

use std::fmt::Write as _;

use crate::announce::view::{self, Piece};
use crate::announce::{Announcement, Effect, Finding, Inspection, Platform};
use crate::daemon::Settings;

/// The first line of every preview comment: the workflow finds its earlier comment by it.
pub const MARKER: &str = "<!-- herald-preview -->";

/// What was previewed of one file: the issue and its posts, or why the file cannot be read.
pub struct Previewed {
    /// The file as given.
    pub file: String,
    /// The issue, or what keeps herald from announcing it.
    pub result: Result<Issue, Failure>,
}

/// Why a file gets no preview.
pub enum Failure {
    /// It cannot be read as an article (why).
    Unreadable(String),
    /// It reads, but no post can be made of it (why).
    NoPost(String),
}

/// An issue and its posts.
pub struct Issue {
    /// Its title.
    pub title: String,
    /// Where it will be published.
    pub url: String,
    /// One per platform.
    pub announcements: Vec<Announcement>,
}

/// The whole comment.
pub fn document(previewed: &[Previewed], config: &Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "## What herald will post\n");
    let _ = writeln!(
        out,
        "Previewed by herald {} from this pull request's files: nothing is posted from here. \
         The service announces an issue once its file is in the archive and has settled.",
        env!("CARGO_PKG_VERSION")
    );
    if previewed.is_empty() {
        let _ = writeln!(out, "\nThis pull request changes no article.");
    }
    for p in previewed {
        let _ = writeln!(out, "\n---\n");
        match &p.result {
            Ok(issue) => write_issue(&mut out, &p.file, issue, config),
            Err(failure) => {
                let _ = writeln!(out, "### {}\n", code(&p.file));
                let (headline, why) = match failure {
                    Failure::Unreadable(e) => {
                        ("herald cannot read this file, so it would not announce it", e)
                    }
                    Failure::NoPost(e) => {
                        ("herald reads this file but cannot make a post of it", e)
                    }
                };
                let _ = writeln!(
                    out,
                    "> [!CAUTION]\n> **{headline}:** {}",
                    text(why).replace('\n', " ")
                );
            }
        }
    }
    out
}

fn write_issue(out: &mut String, file: &str, issue: &Issue, config: &Settings) {
    let _ = writeln!(out, "### {} — {}\n", text(&issue.title), code(file));
    let _ = writeln!(out, "Its address: <{}>\n", link_target(&issue.url));
    // The guard judges the issue, not a platform: every platform has the same findings.
    let guard = issue.announcements.first().map(|a| a.guard.clone()).unwrap_or_default();
    write_verdict(out, &guard, config);
    let instance = view::mastodon_instance(&config.accounts);
    for a in &issue.announcements {
        write_post(out, a, config, instance);
    }
}

fn write_verdict(out: &mut String, guard: &Inspection, config: &Settings) {
    let holds = guard.holds().count();
    let delays = guard.delays().count();
    let grace = humantime::format_duration(config.announce.guard.grace);
    let plural =
        |n: usize, one: &str, many: &str| if n == 1 { one.to_string() } else { many.to_string() };
    if holds > 0 {
        let _ = writeln!(out, "> [!CAUTION]");
        let _ = writeln!(
            out,
            "> **Held:** herald will not announce this issue until {} marked *holds* below {} fixed.",
            plural(holds, "the finding", &format!("the {holds} findings")),
            plural(holds, "is", "are")
        );
    } else if delays > 0 {
        let _ = writeln!(out, "> [!WARNING]");
        let _ = writeln!(
            out,
            "> **Delayed:** {} outside the post {} the announcement by up to {grace} after \
             publishing; then it goes out all the same.",
            plural(delays, "a placeholder", &format!("{delays} placeholders")),
            plural(delays, "delays", "delay")
        );
    } else {
        let _ = writeln!(out, "> [!NOTE]");
        let _ = writeln!(
            out,
            "> **Ready:** nothing holds or delays this issue; it is announced once published."
        );
    }
    if guard.findings.is_empty() {
        let _ = writeln!(out);
        return;
    }
    let _ = writeln!(out, "\n| Line | Found | Effect | What to change |");
    let _ = writeln!(out, "|---:|---|---|---|");
    for f in &guard.findings {
        write_finding(out, f);
    }
    let _ = writeln!(out);
}

fn write_finding(out: &mut String, f: &Finding) {
    let line = f.line.map_or("—".to_string(), |l| l.to_string());
    let effect = match f.effect {
        Effect::Hold => "⛔ **holds**",
        Effect::Delay => "⏳ delays",
    };
    let _ = writeln!(
        out,
        "| {line} | {} | {effect} | {} |",
        inline(&f.reason, true),
        inline(&f.fix, true)
    );
}

fn write_post(out: &mut String, a: &Announcement, config: &Settings, instance: Option<&str>) {
    let p = &a.post;
    let name = match p.platform {
        Platform::Bluesky => "Bluesky",
        Platform::Mastodon => "Mastodon",
    };
    let _ = writeln!(out, "#### {name}\n");
    let mut quoted = String::new();
    for piece in view::pieces(p, instance) {
        match piece {
            Piece::Text(t) => quoted.push_str(&text(t)),
            Piece::Link(t, url) if is_web(url) => {
                // Inside a link GitHub makes no other link: the scheme stays whole.
                let shown = text(t).replace(":<!-- -->//", "://");
                let _ = write!(quoted, "[{shown}](<{}>)", link_target(url));
            }
            Piece::Link(t, _) => quoted.push_str(&text(t)),
            Piece::Tag(t, Some(page)) => {
                let _ = write!(quoted, "[{}](<{}>)", text(t), link_target(&page));
            }
            Piece::Tag(t, None) => {
                let _ = write!(quoted, "**{}**", text(t));
            }
        }
    }
    let lines: Vec<&str> = quoted.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        // A backslash at the end of a line is a hard break; none before a blank line.
        let next_blank = lines.get(i + 1).is_none_or(|l| l.trim().is_empty());
        let brk = if line.trim().is_empty() || next_blank { "" } else { "\\" };
        let _ = writeln!(out, "> {line}{brk}");
    }
    let over = if p.graphemes > p.limit { " — **over the limit**" } else { "" };
    let bytes = match p.platform {
        Platform::Bluesky => format!(" · {} bytes", p.text.len()),
        Platform::Mastodon => String::new(),
    };
    let _ = writeln!(
        out,
        "\n`{}` **{} / {}** characters{bytes}{over} · {}\\",
        view::bar(p.graphemes, p.limit, 20),
        p.graphemes,
        p.limit,
        view::highlights_fit(p)
    );
    let _ =
        writeln!(out, "<sub>{}</sub>\n", inline(&view::length_note(p, &config.announce), false));
    match (&p.embed, p.platform) {
        (Some(e), _) => {
            let description = if e.description.is_empty() {
                "*no description: no highlight could be drawn*".to_string()
            } else {
                text(&e.description)
            };
            let image = match &e.thumb {
                Some(t) => format!(
                    "image {} ({}, {}×{}, {} bytes)",
                    code(&t.source.display().to_string()),
                    t.mime,
                    t.dimensions.0,
                    t.dimensions.1,
                    t.bytes.len()
                ),
                None => "no image (`[announce] card_image` is not set)".to_string(),
            };
            let _ =
                writeln!(out, "**Link card:** **{}** — {description} — {image}\n", text(&e.title));
        }
        (None, Platform::Mastodon) => {
            let _ = writeln!(
                out,
                "**Link card:** made by the instance from the page's own metadata (herald sends none).\n"
            );
        }
        (None, Platform::Bluesky) => {
            let _ = writeln!(out, "**Link card:** none.\n");
        }
    }
}

fn is_web(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// `url` for `<…>` link destinations: what would end or break one is percent-encoded.
fn link_target(url: &str) -> String {
    url.replace('<', "%3C").replace('>', "%3E").replace(' ', "%20").replace('\n', "%0A")
}

/// `s` as a code span, whatever backticks it holds.
fn code(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", s.replace('\n', " "))
}

/// Text as it reads: every Markdown sign that could act escaped (those that act only at the
/// start of a line, there); mentions, issue and commit references, emoji codes, math and
/// bare links broken (GitHub finds those in the rendered text, so a backslash would not do:
/// an empty HTML comment splits them); direction overrides shown rather than obeyed.
pub fn text(s: &str) -> String {
    const BREAK: &str = "<!-- -->";
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    let mut chars = s.chars().peekable();
    // Only digits since the line began (`1.` there starts a list).
    let mut digits_only = true;
    // Hex digits in a row (seven make a commit reference).
    let mut hex_run = 0;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        hex_run = if c.is_ascii_hexdigit() { hex_run + 1 } else { 0 };
        if hex_run == 7 {
            out.push_str(BREAK);
            hex_run = 1;
        }
        match c {
            '@' => {
                out.push('@');
                out.push_str(BREAK);
            }
            '#' if next.is_some_and(|n| n.is_ascii_digit()) => {
                out.push('#');
                out.push_str(BREAK);
            }
            // `GH-5` would link issue 5.
            '-' if next.is_some_and(|n| n.is_ascii_digit()) && ends_with_word(&out, "gh") => {
                out.push_str(BREAK);
                out.push('-');
            }
            // `:tada:` and `:+1:` would be emoji; `ftp://x` a link the post does not have.
            ':' if next.is_some_and(|n| n.is_ascii_alphanumeric() || "+-_/".contains(n)) => {
                out.push(':');
                out.push_str(BREAK);
            }
            // `www.x.org` would be a link the post does not have.
            '.' if ends_with_word(&out, "www") => {
                out.push_str(BREAK);
                out.push('.');
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '!' if next == Some('[') => out.push_str("\\!"),
            // A list, a thematic break, a setext heading, an ordered list's number.
            '-' | '+' | '=' if digits_only && !out.ends_with(|d: char| d.is_ascii_digit()) => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if digits_only && out.ends_with(|d: char| d.is_ascii_digit()) => {
                out.push('\\');
                out.push(c);
            }
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("⟨U+{:04X}⟩", c as u32));
            }
            '\r' => {}
            _ => out.push(c),
        }
        if c == '\n' {
            digits_only = true;
        } else if !c.is_ascii_digit() {
            digits_only = false;
        }
    }
    out
}

/// Whether `out` ends with `word` (any case).
fn ends_with_word(out: &str, word: &str) -> bool {
    out.get(out.len().saturating_sub(word.len())..).is_some_and(|t| t.eq_ignore_ascii_case(word))
}

/// A message whose `` `quoted` `` parts are code (the guard's findings, an error): those
/// become code spans, the rest is [`text`]. In a table cell (`cell`) nothing may end the
/// row: `|` is escaped inside code spans too, and lines are joined.
fn inline(s: &str, cell: bool) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let mut out = String::new();
    for (part, is_code) in view::quoted_parts(&s) {
        if is_code {
            let span = code(&part);
            out.push_str(&if cell { span.replace('|', "\\|") } else { span });
        } else {
            out.push_str(&text(&part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_every_sign_and_breaks_mentions_and_references() {
        assert_eq!(text("a *b* [c](d) <e>"), r"a \*b\* \[c\](d) \<e\>");
        assert_eq!(text("@ferris #42 #rust"), "@<!-- -->ferris #<!-- -->42 \\#rust");
        assert_eq!(text("1. 2 | 3. x"), r"1\. 2 \| 3. x");
        assert_eq!(text("- a\n+ b\n===\n12) c-d"), "\\- a\n\\+ b\n\\===\n12\\) c-d");
        assert_eq!(
            text("Week: https://x :tada: :+1: ![i]"),
            r"Week: https:<!-- -->//x :<!-- -->tada: :<!-- -->+1: \!\[i\]"
        );
        assert_eq!(text("GH-5 www.x.org $x^2$"), r"GH<!-- -->-5 www<!-- -->.x.org \$x^2\$");
        assert_eq!(text("a5c3785ed8"), "a5c378<!-- -->5ed8");
        assert_eq!(text("evil\u{202E}x"), "evil⟨U+202E⟩x");
    }

    #[test]
    fn inline_makes_code_of_quoted_parts_and_survives_unpaired_backticks() {
        assert_eq!(inline("placeholder `X_Y` here", false), r"placeholder `X_Y` here");
        assert_eq!(inline("a `b|c` d", true), r"a `b\|c` d");
        assert_eq!(inline("a `b` c `d", false), r"a `b` c \`d");
        assert_eq!(inline("x `` y", false), r"x \`\` y");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }
}
