//! `herald preview`: show, per platform, the post an issue would get — text, length against
//! the limit, facets, link card — and whether the draft guard would hold it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::announce::{self, Announcement, FacetKind, Platform};
use crate::cli::{PreviewArgs, PreviewFormat};
use crate::feeds::Entry;

pub mod markdown;

/// Runs `herald preview`, writing to `out`.
pub fn run(
    config_path: &Path,
    args: &PreviewArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(config_path)?;
    let platforms = match args.platform {
        Some(p) => vec![p.into()],
        None => vec![Platform::Bluesky, Platform::Mastodon],
    };
    let format = if args.json { PreviewFormat::Json } else { args.format };
    let prepare = |article: crate::archive::Article| -> anyhow::Result<_> {
        let url = Entry::new(&article, &config.feeds).url;
        let announcements = announce::prepare(&article, &url, &config.announce, &platforms)?;
        Ok((article, url, announcements))
    };
    let files: Vec<Option<&Path>> = match args.file.as_slice() {
        [] => vec![None],
        files => files.iter().map(|f| Some(f.as_path())).collect(),
    };
    if format == PreviewFormat::Markdown {
        // Every file named gets its section, an unreadable one too: the comment is where its
        // editor learns that herald cannot read it. (The issue found by number or as the
        // newest is an error, as in the other formats.)
        let mut previewed = Vec::new();
        for &file in &files {
            let (name, result) = match super::select_article(&config, args.issue, file) {
                Err(e) if file.is_none() => return Err(e),
                Err(e) => (
                    file.map(|f| f.display().to_string()).unwrap_or_default(),
                    Err(markdown::Failure::Unreadable(crate::report::describe_any(&e))),
                ),
                Ok(article) => {
                    let name = file.unwrap_or(&article.source).display().to_string();
                    match prepare(article) {
                        Ok((article, url, announcements)) => {
                            (name, Ok(markdown::Issue { title: article.title, url, announcements }))
                        }
                        Err(e) if file.is_none() => return Err(e),
                        Err(e) => {
                            (name, Err(markdown::Failure::NoPost(crate::report::describe_any(&e))))
                        }
                    }
                }
            };
            previewed.push(markdown::Previewed { file: name, result });
        }
        out.write_all(markdown::document(&previewed, &config).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut documents = Vec::new();
    for file in files {
        let (article, url, announcements) =
            prepare(super::select_article(&config, args.issue, file)?)?;
        if format == PreviewFormat::Json {
            // One document, as `status --json` prints: the issue, then a post per platform.
            documents.push(serde_json::json!({
                "file": article.source.display().to_string(),
                "title": article.title,
                "number": article.number,
                "url": url,
                "posts": announcements.iter().map(preview_json).collect::<Vec<_>>(),
            }));
            continue;
        }
        for a in &announcements {
            write_human(out, a)?;
        }
    }
    if format == PreviewFormat::Json {
        let document = match documents.len() {
            1 => documents.pop().unwrap_or_default(),
            _ => serde_json::Value::Array(documents),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--json` form of one platform's post (`posts` of the document `--json` prints).
pub fn preview_json(a: &Announcement) -> serde_json::Value {
    let p = &a.post;
    serde_json::json!({
        "platform": p.platform,
        "text": p.text,
        "graphemes": p.graphemes,
        "bytes": p.text.len(),
        "limit": p.limit,
        "facets": p.facets,
        "langs": p.langs,
        "embed": p.embed,
        "highlights": { "kept": p.highlights_kept, "total": p.highlights_total },
        "held": a.guard.holds().map(|f| f.to_string()).collect::<Vec<_>>(),
        "delayed": a.guard.delays().map(|f| f.to_string()).collect::<Vec<_>>(),
        "findings": a.guard.findings,
    })
}

fn write_human(out: &mut impl Write, a: &Announcement) -> std::io::Result<()> {
    let p = &a.post;
    writeln!(
        out,
        "── {} ── {}/{} graphemes, {} bytes, {} of {} highlights",
        p.platform.name(),
        p.graphemes,
        p.limit,
        p.text.len(),
        p.highlights_kept,
        p.highlights_total
    )?;
    for line in p.text.lines() {
        writeln!(out, "│ {line}")?;
    }
    if !p.facets.is_empty() {
        writeln!(out, "facets:")?;
        for f in &p.facets {
            let (kind, value) = match &f.kind {
                FacetKind::Link(uri) => ("link", uri),
                FacetKind::Tag(tag) => ("tag", tag),
            };
            writeln!(
                out,
                "  bytes {}..{} {kind} {value:?} covers {:?}",
                f.byte_start,
                f.byte_end,
                &p.text[f.byte_start..f.byte_end]
            )?;
        }
    }
    if let Some(e) = &p.embed {
        writeln!(out, "card: {} — {}", e.title, e.uri)?;
        writeln!(out, "  description: {}", e.description)?;
        if let Some(t) = &e.thumb {
            writeln!(
                out,
                "  thumb: {} ({}, {}×{}, {} bytes)",
                t.source.display(),
                t.mime,
                t.dimensions.0,
                t.dimensions.1,
                t.bytes.len()
            )?;
        }
    }
    write_guard(out, &a.guard)?;
    writeln!(out)
}

/// The guard's findings, one line each: `held: …` (not announced until fixed) and `delayed: …`
/// (announced after the grace period all the same), or `held: no`.
pub fn write_guard(out: &mut impl Write, guard: &announce::Inspection) -> std::io::Result<()> {
    if guard.findings.is_empty() {
        return writeln!(out, "held: no");
    }
    for f in &guard.findings {
        match f.effect {
            announce::Effect::Hold => writeln!(out, "held: {f}")?,
            announce::Effect::Delay => {
                writeln!(out, "delayed: {f} — announced anyway once the grace period is over")?
            }
        }
    }
    Ok(())
}
