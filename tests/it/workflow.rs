//! The pull-request workflows in contrib/github, their scripts run for real: the comment
//! step against a stand-in `gh` that records what it is asked (GitHub's API is not here),
//! the preview step on a git repository of real issues with herald built here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// The `run: |` script of the step named `step` in workflow `file`, dedented.
fn script(file: &str, step: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/github").join(file),
    )
    .unwrap();
    let at = text.find(&format!("- name: {step}")).unwrap_or_else(|| panic!("no step {step:?}"));
    let rest = &text[at..];
    let run = rest.find("run: |\n").expect("a run block") + "run: |\n".len();
    let mut lines = Vec::new();
    let mut indent = None;
    for line in rest[run..].lines() {
        let spaces = line.len() - line.trim_start().len();
        if !line.trim().is_empty() {
            let i = *indent.get_or_insert(spaces);
            if spaces < i {
                break;
            }
        }
        lines.push(line.get(indent.unwrap_or(0)..).unwrap_or(""));
    }
    lines.join("\n") + "\n"
}

/// A stand-in `gh` in `dir`: `api repos/R/pulls/N` prints `head` (the pull request's head),
/// the comment listing prints `existing` (the ids its `--jq` would select), a PATCH or POST
/// is recorded in `dir/calls` with the body copied to `dir/posted.md`.
fn stub_gh(dir: &Path, head: &str, existing: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        format!(
            "#!/usr/bin/env bash\n\
             calls={calls:?}\n\
             args=\"$*\"\n\
             case \"$args\" in\n\
               *--method\\ PATCH*|*--method\\ POST*)\n\
                 echo \"$args\" | sed 's/ -F body=@body.md//' >> \"$calls\"\n\
                 cp body.md {posted:?} ;;\n\
               *pulls/*) echo {head:?} ;;\n\
               *comments*) printf '%b' {existing:?} ;;\n\
               *) echo \"unexpected: $args\" >&2; exit 2 ;;\n\
             esac\n",
            calls = dir.join("calls"),
            posted = dir.join("posted.md"),
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&gh).status().unwrap();
    bin
}

/// Runs the comment step in `dir` (holding `preview/`), with the event's head `event_head`.
fn comment(dir: &Path, bin: &Path, event_head: &str) -> std::process::Output {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    Command::new("bash")
        .arg("-c")
        .arg(script("herald-preview-comment.yml", "Post or update the comment"))
        .current_dir(dir)
        .env("PATH", path)
        .env("GH_TOKEN", "t")
        .env("REPO", "rust-lang/this-week-in-rust")
        .env("HEAD_SHA", event_head)
        .output()
        .unwrap()
}

fn artifact(dir: &Path, number: &str, preview: &str) {
    std::fs::create_dir_all(dir.join("preview")).unwrap();
    std::fs::write(dir.join("preview/pr-number"), number).unwrap();
    std::fs::write(dir.join("preview/preview.md"), preview).unwrap();
}

fn calls(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("calls")).unwrap_or_default()
}

#[test]
fn the_comment_step_posts_then_updates_its_own_comment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    artifact(dir, "42\n", "<!-- herald-preview -->\n## What herald will post\n");
    let bin = stub_gh(dir, "abc123", "");
    let out = comment(dir, &bin, "abc123");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        calls(dir),
        "api --method POST repos/rust-lang/this-week-in-rust/issues/42/comments\n"
    );
    let posted = std::fs::read_to_string(dir.join("posted.md")).unwrap();
    assert!(posted.starts_with("<!-- herald-preview -->\n## What herald will post"), "{posted}");

    std::fs::remove_file(dir.join("calls")).unwrap();
    let bin = stub_gh(dir, "abc123", "1234567\n");
    let out = comment(dir, &bin, "abc123");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        calls(dir),
        "api --method PATCH repos/rust-lang/this-week-in-rust/issues/comments/1234567\n"
    );
}

#[test]
fn the_comment_step_trusts_nothing_in_the_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A number that is not one: refused, nothing asked of GitHub.
    artifact(dir, "42; touch pwned", "x");
    let bin = stub_gh(dir, "abc123", "");
    let out = comment(dir, &bin, "abc123");
    assert!(!out.status.success());
    assert!(!dir.join("pwned").exists() && calls(dir).is_empty());
    // The pull request moved on since the preview: its newer run comments, not this one.
    artifact(dir, "42", "<!-- herald-preview -->\nold");
    let out = comment(dir, &bin, "0ld0ld");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(calls(dir).is_empty(), "{}", calls(dir));
    // A preview without the marker gets it (so the next run finds the comment), and one over
    // GitHub's limit is cut short, saying so.
    artifact(dir, "42", &"a line of the preview\n".repeat(4000));
    let out = comment(dir, &bin, "abc123");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let posted = std::fs::read_to_string(dir.join("posted.md")).unwrap();
    assert!(posted.starts_with("<!-- herald-preview -->\n"), "{}", &posted[..100]);
    assert!(posted.len() < 65_536 && posted.contains("cut short"), "{}", posted.len());
}

#[test]
fn the_preview_step_previews_the_articles_a_pull_request_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let site = work.join("site");
    std::fs::create_dir_all(site.join("content")).unwrap();
    std::fs::create_dir_all(site.join("draft")).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.email=e@x", "-c", "user.name=e"])
            .args(args)
            .current_dir(&site)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    std::fs::copy(
        fixture_archive().join("2026-08-19-this-week-in-rust.md"),
        site.join("content/2026-08-19-this-week-in-rust.md"),
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    let base = git(&["rev-parse", "HEAD"]).trim().to_string();
    std::fs::copy(
        shared().join("twir/draft/2026-08-26-this-week-in-rust.md"),
        site.join("draft/2026-08-26 this week.md"),
    )
    .unwrap();
    std::fs::write(site.join("draft/notes.txt"), "not an article").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "the next issue"]);
    // What the workflow's checkout of herald would hold: the binary and the bundled config.
    let herald_dir = work.join("herald");
    std::fs::create_dir_all(herald_dir.join("target/release")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_herald"), herald_dir.join("target/release/herald")).unwrap();
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        herald_dir.join("config"),
    )
    .unwrap();
    let summary = work.join("summary.md");
    let out = Command::new("bash")
        .arg("-c")
        .arg(script("herald-preview.yml", "Preview the changed articles"))
        .current_dir(&site)
        .env("GITHUB_WORKSPACE", work)
        .env("RUNNER_TEMP", work.join("tmp"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("BASE_SHA", &base)
        .env("PR_NUMBER", "42")
        .env("HERALD_SITE_CONFIG", "")
        .env("HERALD_SERVICE_USER", "root")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let preview = std::fs::read_to_string(work.join("tmp/preview/preview.md")).unwrap();
    assert!(preview.starts_with("<!-- herald-preview -->"), "{preview}");
    // Only the changed article, by its name with a space; not the unchanged issue, not notes.
    assert_eq!(preview.matches("\n### ").count(), 1, "{preview}");
    assert!(
        preview.contains("### This Week in Rust 666 — `draft/2026-08-26 this week.md`"),
        "{preview}"
    );
    assert_eq!(std::fs::read_to_string(work.join("tmp/preview/pr-number")).unwrap(), "42\n");
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), preview);
}
