//! The archive's one reStructuredText article against Pelican's rendering of it.

use std::fs;
use std::path::PathBuf;

use herald::render::render_rst;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

#[test]
fn state_of_rust_matches_pelican_byte_for_byte() {
    let source = fs::read_to_string(shared().join("twir/content/state-of-rust-0-11-0.rst"))
        .expect("reading the rst article");
    let golden = fs::read_to_string(shared().join("golden/content/state-of-rust-0.11.0.html"))
        .expect("reading the golden content");
    let doc = render_rst(&source);
    assert_eq!(doc.title.as_deref(), Some("State of Rust 0.11.0"));
    assert_eq!(
        doc.fields,
        vec![
            ("date".to_string(), "2014-07-15 15:40".to_string(), 4),
            ("category".to_string(), "Rust".to_string(), 5),
            ("slug".to_string(), "state-of-rust-0.11.0".to_string(), 6),
        ]
    );
    for (i, (ours, theirs)) in doc.html.lines().zip(golden.lines()).enumerate() {
        assert_eq!(ours, theirs, "line {}", i + 1);
    }
    assert_eq!(doc.html, golden);
}
