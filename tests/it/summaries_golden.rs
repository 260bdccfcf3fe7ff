//! Summaries against Pelican's: every article's golden content, truncated to 50 words with `…`,
//! must equal the golden `<summary>` byte for byte.

use std::fs;
use std::path::PathBuf;

use herald::render::summarize;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden")
}

#[test]
fn every_golden_summary_matches_byte_for_byte() {
    let dir = golden_dir();
    let mut entries: Vec<_> = fs::read_dir(dir.join("content"))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join("content").display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "html"))
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 668, "golden articles");

    let mut mismatches = Vec::new();
    for content_path in &entries {
        let name = content_path.file_name().expect("file name");
        let summary_path = dir.join("summaries").join(name);
        let content = fs::read_to_string(content_path).expect("golden content");
        let expected = fs::read_to_string(&summary_path).expect("golden summary");
        let ours = summarize(&content, 50, "…");
        if ours != expected {
            mismatches.push(format!(
                "{}:\n  ours:   {:?}\n  pelican: {:?}",
                name.to_string_lossy(),
                ours.chars().rev().take(80).collect::<String>().chars().rev().collect::<String>(),
                expected
                    .chars()
                    .rev()
                    .take(80)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect::<String>(),
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} summaries differ:\n{}",
        mismatches.len(),
        entries.len(),
        mismatches.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}
