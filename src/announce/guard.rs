//! The draft guard: an issue that still carries placeholder text is *held*, never posted.
//!
//! Two kinds of pattern: placeholders that hold wherever they appear (`REDDIT_LINK_HERE`), and
//! template comments (`<!-- COTW goes here -->`) that hold only in sections a configured
//! highlight is drawn from — TWiR's template leaves such comments in other sections for good
//! (`<!-- CFPs go here … -->` is in 110 published issues).

use regex::Regex;
use serde::Serialize;

use crate::archive::Article;
use crate::render::highlights::{Heading, HighlightKind, Highlights, parse_blocks};

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
    /// Patterns that hold wherever they appear.
    pub placeholders: Vec<Regex>,
    /// Patterns that hold inside sections that feed a highlight in `highlights`.
    pub section_placeholders: Vec<Regex>,
    /// The highlight kinds in use (their sections are guarded).
    pub highlights: Vec<HighlightKind>,
    /// Policy for an empty Crate of the Week.
    pub empty_crate: EmptyCrate,
}

impl Default for GuardSettings {
    /// TWiR's defaults.
    fn default() -> Self {
        Self {
            placeholders: DEFAULT_PLACEHOLDERS
                .iter()
                .map(|p| Regex::new(p).expect("valid default"))
                .collect(),
            section_placeholders: DEFAULT_SECTION_PLACEHOLDERS
                .iter()
                .map(|p| Regex::new(p).expect("valid default"))
                .collect(),
            highlights: HighlightKind::DEFAULT_ORDER.to_vec(),
            empty_crate: EmptyCrate::Skip,
        }
    }
}

/// TWiR's placeholders that hold anywhere.
pub const DEFAULT_PLACEHOLDERS: [&str; 2] = ["INSERT_LINK_HERE", "REDDIT_LINK_HERE"];
/// TWiR's template comments, held in highlight sections.
pub const DEFAULT_SECTION_PLACEHOLDERS: [&str; 1] =
    [r"<!--\s*[A-Za-z][\w ]*\s+go(es)?\s+here\s*-->"];

/// Why an issue is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// What was found, as text for the operator.
    pub reason: String,
    /// The 1-based line of the file, where there is one.
    pub line: Option<usize>,
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// The first reason to hold `article`, if any.
pub fn check_hold(
    article: &Article,
    highlights: &Highlights,
    settings: &GuardSettings,
) -> Option<Hold> {
    let body = &*article.body();
    let file_line = |offset: usize| article.body_line + body[..offset].matches('\n').count();
    for re in &settings.placeholders {
        if re.is_match(&article.title) {
            return Some(Hold {
                reason: format!("placeholder `{}` in the title", re.as_str()),
                line: None,
            });
        }
        if let Some(m) = re.find(body) {
            return Some(Hold {
                reason: format!("placeholder `{}`", m.as_str()),
                line: Some(file_line(m.start())),
            });
        }
    }
    if !settings.section_placeholders.is_empty() {
        let (_, headings) = parse_blocks(body);
        let found = highlight_lines(highlights);
        for re in &settings.section_placeholders {
            for m in re.find_iter(body) {
                let line = 1 + body[..m.start()].matches('\n').count();
                let Some(at) = headings.iter().rposition(|h| h.line <= line) else { continue };
                let heading = &headings[at];
                let path = heading_path(&headings[..=at]);
                let Some(kind) = settings.highlights.iter().find(|k| feeds(**k, &path)) else {
                    continue;
                };
                // Filled in beside the comment (TWiR often leaves it there): not a draft.
                let end = headings.get(at + 1).map_or(usize::MAX, |h| h.line);
                if found.iter().any(|l| (heading.line..end).contains(l)) {
                    continue;
                }
                return Some(Hold {
                    reason: format!(
                        "unfilled template comment `{}` in “{}” (the {} highlight comes from there)",
                        m.as_str(),
                        heading.title,
                        kind.name()
                    ),
                    line: Some(file_line(m.start())),
                });
            }
        }
    }
    if settings.empty_crate == EmptyCrate::Hold
        && settings.highlights.contains(&HighlightKind::CrateOfTheWeek)
        && highlights.crate_of_the_week.is_none()
    {
        return Some(Hold {
            reason: "the Crate of the Week section names no crate".into(),
            line: None,
        });
    }
    None
}

/// The body lines every extracted highlight comes from.
fn highlight_lines(h: &Highlights) -> Vec<usize> {
    let singles = [&h.crate_of_the_week, &h.quote_of_the_week, &h.merged_prs];
    singles.into_iter().flatten().chain(&h.official).chain(&h.community).map(|h| h.line).collect()
}

/// The titles of the headings enclosing the last of `headings` (outermost first).
fn heading_path(headings: &[Heading]) -> Vec<&str> {
    let mut stack: Vec<&Heading> = Vec::new();
    for h in headings {
        while stack.last().is_some_and(|s| s.level >= h.level) {
            stack.pop();
        }
        stack.push(h);
    }
    stack.iter().map(|h| h.title.as_str()).collect()
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
