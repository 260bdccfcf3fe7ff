//! The draft guard: what placeholder text an issue still carries, and what that means for
//! its announcement. Every finding is reported at once, each with its line.
//!
//! Where a placeholder is decides what it does:
//!
//! - In text a post is made from — the title, or the block an extracted highlight comes from
//!   (its text or link) — it **holds** the issue: the post would carry it.
//! - Anywhere else (TWiR's footer `[Discuss on r/rust](REDDIT_LINK_HERE)`, filled in minutes
//!   after publishing, or never: 10 published issues keep it) it only **delays** the
//!   announcement, by at most the grace period (`[announce] placeholder_grace`); then the
//!   issue is announced and the log names the placeholder left.
//! - Patterns in `placeholders_hold_anywhere` hold wherever they appear.
//! - Template comments (`<!-- COTW goes here -->`) hold when left unfilled in a section a
//!   configured highlight is drawn from; elsewhere they are ignored — TWiR's template leaves
//!   such comments in other sections for good (`<!-- CFPs go here … -->` is in 110 published
//!   issues).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::announce::highlights::{Heading, HighlightKind, Highlights, parse_blocks};
use crate::archive::Article;

/// What to do with an issue whose Crate of the Week section is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCrate {
    /// Announce it without that highlight.
    Skip,
    /// Hold it until the section is filled.
    Hold,
}

/// The guard's settings.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Placeholders: they hold in the text a post is made from, and delay elsewhere.
    pub placeholders: Vec<Regex>,
    /// Placeholders that hold wherever they appear.
    pub hold_anywhere: Vec<Regex>,
    /// How long a placeholder outside the post's text may delay an announcement.
    pub grace: std::time::Duration,
    /// Patterns that hold inside sections that feed a highlight in `highlights`.
    pub section_placeholders: Vec<Regex>,
    /// The highlight kinds in use (their sections are guarded).
    pub highlights: Vec<HighlightKind>,
    /// Policy for an empty Crate of the Week.
    pub empty_crate: EmptyCrate,
}

/// TWiR's defaults, compiled once per process: the configuration's defaults are made several
/// times at every start, and compiling the Unicode classes of a section placeholder takes a
/// good part of a millisecond.
static DEFAULT: LazyLock<GuardSettings> = LazyLock::new(|| GuardSettings {
    placeholders: DEFAULT_PLACEHOLDERS
        .iter()
        .map(|p| Regex::new(p).expect("valid default"))
        .collect(),
    hold_anywhere: Vec::new(),
    grace: DEFAULT_GRACE,
    section_placeholders: DEFAULT_SECTION_PLACEHOLDERS
        .iter()
        .map(|p| Regex::new(p).expect("valid default"))
        .collect(),
    highlights: HighlightKind::DEFAULT_ORDER.to_vec(),
    empty_crate: EmptyCrate::Skip,
});

impl Default for GuardSettings {
    /// TWiR's defaults.
    fn default() -> Self {
        DEFAULT.clone()
    }
}

impl GuardSettings {
    /// The default pattern written `source`, compiled, if there is one: a configuration that
    /// states the defaults does not compile them again.
    pub fn default_pattern(source: &str) -> Option<Regex> {
        let d = &*DEFAULT;
        d.placeholders.iter().chain(&d.section_placeholders).find(|r| r.as_str() == source).cloned()
    }
}

/// TWiR's placeholders.
pub const DEFAULT_PLACEHOLDERS: [&str; 2] = ["INSERT_LINK_HERE", "REDDIT_LINK_HERE"];
/// TWiR's grace for a placeholder outside the post's text: an hour. Editors add the Reddit
/// link within minutes when they add it at all.
pub const DEFAULT_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);
/// TWiR's template comments, held in highlight sections.
pub const DEFAULT_SECTION_PLACEHOLDERS: [&str; 1] =
    [r"<!--\s*[A-Za-z][\w ]*\s+go(es)?\s+here\s*-->"];

/// What a finding does to the announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Not announced until it is fixed.
    Hold,
    /// Announced after the grace period if it is not fixed by then.
    Delay,
}

/// One thing the guard found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found, as text for the operator.
    pub reason: String,
    /// The 1-based line of the file, where there is one.
    pub line: Option<usize>,
    /// What it does.
    pub effect: Effect,
    /// What the editor changes to settle it.
    pub fix: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Everything the guard found in an issue, in file order (the title first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Inspection {
    /// What holds the issue.
    pub fn holds(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.effect == Effect::Hold)
    }

    /// What only delays it.
    pub fn delays(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.effect == Effect::Delay)
    }

    /// Whether anything holds the issue.
    pub fn is_held(&self) -> bool {
        self.holds().next().is_some()
    }

    /// Whether anything delays it.
    pub fn is_delayed(&self) -> bool {
        self.delays().next().is_some()
    }

    /// The findings with `effect`, joined for one line of text.
    pub fn describe(&self, effect: Effect) -> String {
        let parts: Vec<String> =
            self.findings.iter().filter(|f| f.effect == effect).map(|f| f.to_string()).collect();
        parts.join("; ")
    }
}

/// Everything that holds or delays `article`, all at once.
pub fn inspect(article: &Article, highlights: &Highlights, settings: &GuardSettings) -> Inspection {
    let body = article.body();
    // Lines by binary search over where each starts: a file with 100,000 placeholders is
    // judged in linear time, not in 100,000 scans from its top.
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(body.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset);
    let file_line = |offset: usize| article.body_line + line_of(offset) - 1;
    let mut findings = Vec::new();
    for re in settings.hold_anywhere.iter().chain(&settings.placeholders) {
        if re.is_match(&article.title) {
            findings.push(Finding {
                reason: format!("placeholder `{}` in the title", re.as_str()),
                line: None,
                effect: Effect::Hold,
                fix: "write the issue's real title in its `Title:` header".into(),
            });
        }
    }
    let (blocks, headings) = parse_blocks(body);
    let mut block_lines: Vec<usize> = blocks.iter().map(|b| b.line).collect();
    block_lines.sort_unstable();
    let post_lines = highlight_lines(highlights);
    let post_texts: Vec<&str> = highlight_texts(highlights);
    // Whether a placeholder's text is in a highlight, asked once per distinct text.
    let mut in_texts: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    let mut held_at: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut body_findings: Vec<(usize, Finding)> = Vec::new();
    for (anywhere, re) in settings
        .hold_anywhere
        .iter()
        .map(|re| (true, re))
        .chain(settings.placeholders.iter().map(|re| (false, re)))
    {
        for m in re.find_iter(body) {
            let line = line_of(m.start());
            // The block the placeholder is in: the last one starting at or before its line.
            let before = block_lines.partition_point(|&l| l <= line);
            let block_line = before.checked_sub(1).map(|i| block_lines[i]);
            let in_text = *in_texts
                .entry(m.as_str())
                .or_insert_with(|| post_texts.iter().any(|t| t.contains(m.as_str())));
            let in_post = block_line.is_some_and(|l| post_lines.contains(&l)) || in_text;
            let replace = format!("replace `{}` with the link or text it stands for", m.as_str());
            let (effect, reason, fix) = if anywhere {
                (Effect::Hold, format!("placeholder `{}`", m.as_str()), replace)
            } else if in_post {
                (
                    Effect::Hold,
                    format!("placeholder `{}` in a highlight the post is made from", m.as_str()),
                    replace,
                )
            } else {
                (
                    Effect::Delay,
                    format!("placeholder `{}` (not in the post's text)", m.as_str()),
                    format!(
                        "{replace}; left in, it delays the announcement by {} after publishing, \
                         then the issue is announced all the same",
                        humantime::format_duration(settings.grace)
                    ),
                )
            };
            if held_at.contains(&m.start()) {
                continue; // matched by a hold-anywhere pattern already
            }
            if effect == Effect::Hold {
                held_at.insert(m.start());
            }
            body_findings.push((
                m.start(),
                Finding { reason, line: Some(file_line(m.start())), effect, fix },
            ));
        }
    }
    // Each heading's path (outermost first), made once.
    let paths: Vec<Vec<&str>> = {
        let mut stack: Vec<&Heading> = Vec::new();
        headings
            .iter()
            .map(|h| {
                while stack.last().is_some_and(|s| s.level >= h.level) {
                    stack.pop();
                }
                stack.push(h);
                stack.iter().map(|h| h.title.as_str()).collect()
            })
            .collect()
    };
    for re in &settings.section_placeholders {
        for m in re.find_iter(body) {
            let line = line_of(m.start());
            let Some(at) = headings.partition_point(|h| h.line <= line).checked_sub(1) else {
                continue;
            };
            let heading = &headings[at];
            let path = &paths[at];
            let Some(kind) = settings.highlights.iter().find(|k| feeds(**k, path)) else {
                continue;
            };
            // Filled in beside the comment (TWiR often leaves it there): not a draft.
            let end = headings.get(at + 1).map_or(usize::MAX, |h| h.line);
            if post_lines.iter().any(|l| (heading.line..end).contains(l)) {
                continue;
            }
            let reason = format!(
                "unfilled template comment `{}` in “{}” (the {} highlight comes from there)",
                m.as_str(),
                heading.title,
                kind.name()
            );
            let fix = format!(
                "fill in “{}” (the comment may stay beside what you write), or remove the comment if the section stays empty",
                heading.title
            );
            body_findings.push((
                m.start(),
                Finding { reason, line: Some(file_line(m.start())), effect: Effect::Hold, fix },
            ));
        }
    }
    body_findings.sort_by_key(|(at, _)| *at);
    findings.extend(capped(body_findings.into_iter().map(|(_, f)| f)));
    if settings.empty_crate == EmptyCrate::Hold
        && settings.highlights.contains(&HighlightKind::CrateOfTheWeek)
        && highlights.crate_of_the_week.is_none()
    {
        findings.push(Finding {
            reason: "the Crate of the Week section names no crate".into(),
            line: None,
            effect: Effect::Hold,
            fix: "name the week's crate in its section, or set `empty_crate_of_the_week = \"skip\"` in [announce] to announce without it".into(),
        });
    }
    Inspection { findings }
}

/// At most this many findings of each effect are listed; the rest are counted in one more.
pub const MAX_FINDINGS: usize = 50;

/// `findings` (in file order) with at most [`MAX_FINDINGS`] of each effect, and for each
/// effect with more a last finding that counts the rest: a file with thousands of
/// placeholders is reported, stored and shown in bounded space.
fn capped(findings: impl Iterator<Item = Finding>) -> Vec<Finding> {
    /// Per effect: how many are listed, how many are left out, the first left out's line.
    struct Tally {
        effect: Effect,
        listed: usize,
        left: usize,
        from: Option<Option<usize>>,
    }
    let tally = |effect| Tally { effect, listed: 0, left: 0, from: None };
    let mut tallies = [tally(Effect::Hold), tally(Effect::Delay)];
    let mut out = Vec::new();
    for f in findings {
        let t = tallies.iter_mut().find(|t| t.effect == f.effect).expect("two effects");
        if t.listed < MAX_FINDINGS {
            t.listed += 1;
            out.push(f);
        } else {
            t.left += 1;
            t.from.get_or_insert(f.line);
        }
    }
    for t in tallies.into_iter().filter(|t| t.left > 0) {
        let fix = out.iter().rev().find(|f| f.effect == t.effect).map(|f| f.fix.clone());
        out.push(Finding {
            reason: format!("and {} more like these, from here on", t.left),
            line: t.from.flatten(),
            effect: t.effect,
            fix: fix.unwrap_or_default(),
        });
    }
    out
}

/// The text and links of every extracted highlight.
fn highlight_texts(h: &Highlights) -> Vec<&str> {
    let singles = [&h.crate_of_the_week, &h.quote_of_the_week, &h.merged_prs];
    singles
        .into_iter()
        .flatten()
        .chain(&h.official)
        .chain(&h.community)
        .flat_map(|h| std::iter::once(h.text.as_str()).chain(h.url.as_deref()))
        .collect()
}

/// The body lines every extracted highlight comes from.
fn highlight_lines(h: &Highlights) -> Vec<usize> {
    let singles = [&h.crate_of_the_week, &h.quote_of_the_week, &h.merged_prs];
    singles.into_iter().flatten().chain(&h.official).chain(&h.community).map(|h| h.line).collect()
}

/// Whether the section at heading path `path` (outermost first) feeds highlight `kind`.
fn feeds(kind: HighlightKind, path: &[&str]) -> bool {
    let lower: Vec<String> = path.iter().map(|t| t.to_lowercase()).collect();
    let innermost = lower.last().map_or("", String::as_str);
    let in_community = lower.iter().any(|t| {
        t.starts_with("updates from rust community")
            || t.starts_with("updates from the rust community")
    });
    match kind {
        HighlightKind::CrateOfTheWeek => innermost.starts_with("crate of the week"),
        HighlightKind::QuoteOfTheWeek => {
            innermost.starts_with("quote of the week")
                || innermost.starts_with("quotes of the week")
        }
        HighlightKind::MergedPrs => innermost.starts_with("updates from the rust project"),
        HighlightKind::Official => in_community && innermost.starts_with("official"),
        HighlightKind::Community => in_community,
    }
}
