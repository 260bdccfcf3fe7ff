//! Reading an archive for a reader that needs the bodies of a few articles only: `herald
//! feeds` renders the handful of articles its feeds hold, not the whole archive.
//!
//! [`scan_heads`] checks every file as [`super::scan`] does (an article it skips is skipped
//! here, with the same error) but reads only the headers; [`read_bodies`] then reads in full
//! the articles the caller names, until every one it needs has its body.

use std::path::Path;

use super::article::{ParseSettings, parse_article, parse_article_header};
use super::scan::{Scan, ScanError, article_paths, read_file, sort_newest_first};

/// Like [`super::scan`], each article read for its header only.
pub fn scan_heads(dir: &Path, settings: &ParseSettings) -> Result<Scan, ScanError> {
    let paths = article_paths(dir)?;
    let mut out = Scan::default();
    let results = crate::parallel::map(&paths, |path| {
        read_file(path).and_then(|bytes| parse_article_header(path, &bytes, settings))
    });
    for result in results {
        match result {
            Ok(article) => out.articles.push(article),
            Err(e) => out.errors.push(e),
        }
    }
    sort_newest_first(&mut out.articles);
    Ok(out)
}

/// Reads in full the articles of `scan` that `needed` names (indices into the list) and
/// that have no body yet, and asks again, until every article it names has its body. A file
/// that changed meanwhile is read as it is now (the list is sorted again); one that can no
/// longer be read leaves the list for [`Scan::errors`].
pub fn read_bodies(
    scan: &mut Scan,
    settings: &ParseSettings,
    needed: impl Fn(&[super::Article]) -> Vec<usize>,
) {
    loop {
        let unread: Vec<usize> =
            needed(&scan.articles).into_iter().filter(|&i| !scan.articles[i].has_body()).collect();
        if unread.is_empty() {
            return;
        }
        let read = crate::parallel::map(&unread, |&i| {
            let path = &scan.articles[i].source;
            read_file(path).and_then(|bytes| parse_article(path, &bytes, settings))
        });
        let mut gone = Vec::new();
        for (i, result) in unread.into_iter().zip(read) {
            match result {
                Ok(article) => scan.articles[i] = article,
                Err(e) => {
                    scan.errors.push(e);
                    gone.push(i);
                }
            }
        }
        for i in gone.into_iter().rev() {
            scan.articles.remove(i);
        }
        sort_newest_first(&mut scan.articles);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bodies_asked_for_are_read_and_they_are_the_full_parse() {
        let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twir");
        let settings = ParseSettings::default();
        let full = super::super::scan(&archive, &settings).unwrap();
        let mut heads = scan_heads(&archive, &settings).unwrap();
        assert_eq!(heads.articles.len(), full.articles.len());
        assert_eq!(heads.errors.len(), full.errors.len());
        for (head, article) in heads.articles.iter().zip(&full.articles) {
            assert_eq!(
                (&head.title, &head.slug, head.date),
                (&article.title, &article.slug, article.date)
            );
            assert_eq!(
                (head.number, &head.tags, head.body_line),
                (article.number, &article.tags, article.body_line)
            );
        }
        // Markdown articles are read for their header only; reStructuredText ones in full.
        assert!(heads.articles.iter().any(|a| !a.has_body()));
        read_bodies(&mut heads, &settings, |_| vec![0, 2]);
        assert_eq!(heads.articles[0], full.articles[0]);
        assert_eq!(heads.articles[2], full.articles[2]);
        assert!(!heads.articles[1].has_body() || heads.articles[1] == full.articles[1]);
    }

    #[test]
    fn a_file_that_cannot_be_read_in_full_leaves_the_list_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        for n in [1, 2] {
            let text = format!("Title: Issue {n}\nDate: 2026-01-0{n}\n\nHello {n}.\n");
            std::fs::write(dir.path().join(format!("{n}.md")), text).unwrap();
        }
        let settings = ParseSettings::default();
        let mut heads = scan_heads(dir.path(), &settings).unwrap();
        assert_eq!(heads.articles.len(), 2);
        // The newest is removed after its header was read.
        std::fs::remove_file(dir.path().join("2.md")).unwrap();
        read_bodies(&mut heads, &settings, |articles| (0..articles.len()).collect());
        assert_eq!(heads.articles.len(), 1);
        assert_eq!(heads.errors.len(), 1);
        assert_eq!(&*heads.articles[0].body(), "Hello 1.\n");
    }
}
