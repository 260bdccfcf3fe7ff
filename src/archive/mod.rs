//! The article archive: which files are articles, and what Pelican reads from each.
//!
//! [`parse_article`] is pure (path and bytes in, [`Article`] or [`ParseError`] out);
//! [`scan`] walks a directory and parses every article file in it, reporting each bad one
//! without stopping.

pub mod article;
pub mod body;
pub mod date;
pub mod duplicates;
mod hash;
pub mod header;
pub mod heads;
pub mod scan;
pub mod slug;
pub mod zone;

pub use article::{Article, ArticleFormat, ParseError, ParseSettings, parse_article};
pub use scan::{Scan, ScanError, scan};
pub use slug::slugify;

/// What a reader says when `dir` holds no published article (the feeds are then left as they
/// were): how many files could not be read and how many are drafts.
pub fn nothing_published(dir: &std::path::Path, errors: usize, unpublished: usize) -> String {
    format!(
        "no published article in {} ({errors} could not be read, {unpublished} not published); \
         feeds left as they were",
        dir.display()
    )
}
