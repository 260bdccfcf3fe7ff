//! The module map holds by itself: dependencies run one way, down the pipeline
//! `main → cmd → (cli) → config → daemon → {feeds, announce, notify} → {archive, state} → render`,
//! with the leaf helpers (`report`, `secret`, `bounded`, `failpoint`, `parallel`) below everything.
//! A module imports only modules below it, never one above or beside it, and nothing below
//! `cmd` knows clap. README's "Layout" section draws the same map.

use std::path::{Path, PathBuf};

/// Each top-level module and its depth in the pipeline: a module may use only modules of a
/// greater depth.
const DEPTH: [(&str, u8); 16] = [
    ("main", 0),
    ("cmd", 1),
    ("cli", 2),
    ("config", 3),
    ("daemon", 4),
    ("feeds", 5),
    ("announce", 5),
    ("notify", 5),
    ("archive", 6),
    ("state", 6),
    ("render", 7),
    ("report", 8),
    ("secret", 8),
    ("bounded", 9),
    ("failpoint", 8),
    ("parallel", 8),
];

/// Modules that may know the command line.
const CLI: [&str; 3] = ["main", "cmd", "cli"];

fn depth(module: &str) -> Option<u8> {
    DEPTH.iter().find(|(m, _)| *m == module).map(|(_, d)| *d)
}

/// The code of `text` without comments (line comments and doc comments; a `//` inside a
/// string cuts the line short, which can only hide a path, never invent one).
fn code(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules `text` names through `crate::`, in `use` items (grouped ones too:
/// `use crate::{a, b::c}`) and in paths.
fn crate_modules(text: &str) -> Vec<String> {
    let code = code(text);
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `mycrate::`, not `crate::`
        }
        let ident = |c: &char| c.is_alphanumeric() || *c == '_';
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}, e}`: the first segment of each top-level item.
            let (mut nesting, mut item, mut items) = (0, String::new(), Vec::new());
            for c in group.chars() {
                match c {
                    '}' if nesting == 0 => break,
                    ',' if nesting == 0 => items.push(std::mem::take(&mut item)),
                    '{' => nesting += 1,
                    '}' => nesting -= 1,
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            for item in items {
                let name: String =
                    item.trim_start_matches([',', ' ', '\n']).chars().take_while(ident).collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(ident).collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// The top-level module a file under `src/` belongs to.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every rule broken by the file `relative` (in module `module`) with contents `text`.
fn violations(relative: &Path, text: &str) -> Vec<String> {
    let module = module_of(relative);
    let Some(own) = depth(&module) else {
        return vec![format!("{}: module {module:?} has no place in the map", relative.display())];
    };
    let mut out = Vec::new();
    for used in crate_modules(text) {
        if used == module {
            continue;
        }
        match depth(&used) {
            Some(d) if d > own => {}
            Some(_) => out.push(format!(
                "{}: {module} uses crate::{used}, which is not below it",
                relative.display()
            )),
            None => out.push(format!("{}: uses crate::{used}, not in the map", relative.display())),
        }
    }
    let code = code(text);
    if !CLI.contains(&module.as_str()) && (code.contains("clap::") || code.contains("use clap")) {
        out.push(format!("{}: {module} is below cmd and must not know clap", relative.display()));
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn dependencies_run_down_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "src/ was read ({} files)", files.len());
    let mut broken = std::collections::BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        if relative == Path::new("lib.rs") {
            continue; // declares the modules
        }
        broken.extend(violations(relative, &std::fs::read_to_string(file).unwrap()));
    }
    let broken: Vec<String> = broken.into_iter().collect();
    assert!(broken.is_empty(), "imports against the module map:\n{}", broken.join("\n"));
}

#[test]
fn the_check_sees_each_kind_of_upward_import() {
    let file = Path::new("archive/article.rs");
    let found = |text: &str| violations(file, text);
    assert_eq!(
        found("use crate::render::markdown;\nuse crate::parallel::map;\n"),
        Vec::<String>::new()
    );
    assert_eq!(found("use crate::state::outbox::post_hash;").len(), 1, "beside it");
    assert_eq!(found("use crate::{render, config::Config};").len(), 1, "grouped");
    assert_eq!(found("use crate::{\n    daemon::{a, b},\n    feeds,\n};").len(), 2, "nested");
    assert_eq!(found("let x = crate::daemon::run();").len(), 1, "in a path");
    assert_eq!(found("// see crate::daemon::run\n/// [`crate::cmd`]").len(), 0, "comments");
    assert_eq!(found("#[derive(clap::ValueEnum)]").len(), 1, "clap");
    assert_eq!(violations(Path::new("cli.rs"), "#[derive(clap::Parser)]"), Vec::<String>::new());
    assert_eq!(violations(Path::new("cmd/run.rs"), "use crate::daemon;"), Vec::<String>::new());
}

/// Small files that hold one thing each: no source file over 600 lines, in `src/` or here.
#[test]
fn no_source_file_is_over_600_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 600)
                .then(|| format!("{}: {lines} lines", f.strip_prefix(root).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}
