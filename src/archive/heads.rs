//! Reading an archive for a reader that needs the bodies of a few articles only: `herald
//! feeds` renders the handful of articles its feeds hold, not the whole archive.
//!
//! [`scan_heads`] reads each file up to the end of its header (its first blank line): an
//! article whose header [`super::scan`] refuses is refused here with the same error.
//! [`read_bodies`] then reads in full the articles the caller names, until every one it needs
//! has its body; a file broken past its header (a NUL byte, bad UTF-8) is found then, when it
//! matters to the caller, and by every full read (`herald check`, the service).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::article::{
    ArticleFormat, ContentHash, MAX_ARTICLE_BYTES, ParseError, ParseErrorKind, ParseSettings,
    parse_article_header,
};
use super::scan::{
    Scan, ScanError, Stamp, open_article, read_article, read_rest, scan_with, sort_newest_first,
};

/// Like [`super::scan`], each article read for its header only.
pub fn scan_heads(dir: &Path, settings: &ParseSettings) -> Result<Scan, ScanError> {
    Ok(scan_heads_with(dir, settings, &HashMap::new())?.scan)
}

/// What [`scan_heads_with`] found.
#[derive(Debug)]
pub struct HeadScan {
    /// The articles, each read for its header only.
    pub scan: Scan,
    /// The beginnings read from the files now, of those whose stamps can be trusted, to keep.
    pub fresh: KnownHeads,
    /// How many files were read now (the others' beginnings were known).
    pub read: usize,
}

/// The beginnings of files as read before (what [`scan_heads`] reads of each), by file.
pub type KnownHeads = HashMap<PathBuf, Head>;

/// The beginning of a file as read before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The stamp of the file it was read from ([`Stamp::key`]).
    pub stamp: String,
    /// What was read: through the header's end.
    pub bytes: Vec<u8>,
    /// The article's content hash, if the file was read in full with that stamp.
    pub hash: Option<ContentHash>,
}

/// [`scan_heads`], taking a file's beginning from `known` when it was read from the file as
/// its stamp says it is now.
pub fn scan_heads_with(
    dir: &Path,
    settings: &ParseSettings,
    known: &KnownHeads,
) -> Result<HeadScan, ScanError> {
    thread_local! {
        /// Each thread reads every file into one buffer: nothing of a file is kept but its
        /// header.
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let fresh = Mutex::new(KnownHeads::new());
    let read = std::sync::atomic::AtomicUsize::new(0);
    let scan = scan_with(dir, |path| {
        let stamp = Stamp::of_path(path);
        let key = stamp.as_ref().map(Stamp::key);
        if let Some(head) = known.get(path).filter(|h| Some(&h.stamp) == key.as_ref()) {
            let article = parse_article_header(path, &head.bytes, settings)?;
            return Ok(match head.hash {
                Some(hash) => article.with_hash(hash),
                None => article,
            });
        }
        let read_at = SystemTime::now();
        read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        BUFFER.with_borrow_mut(|bytes| {
            read_head(path, bytes).map_err(|kind| ParseError::new(path, None, kind))?;
            let article = parse_article_header(path, bytes, settings)?;
            // Kept under the stamp taken before the read, if it is old enough to stand for
            // what was read (as the scan cache keeps it): a write during the read gives the
            // file a later change time, so what was read is never taken under its new stamp.
            if let Some(stamp) = stamp.and_then(|s| s.trusted(read_at)) {
                let mut fresh = fresh.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let head = Head { stamp: stamp.key(), bytes: bytes.clone(), hash: None };
                fresh.insert(path.to_path_buf(), head);
            }
            Ok(article)
        })
    })?;
    let fresh = fresh.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(HeadScan { scan, fresh, read: read.into_inner() })
}

/// Reads the beginning of the file at `path` into `bytes`: through its first blank line after
/// some text (a header ends there at the latest), or all of it. A file that is too large or
/// not a regular file is refused as [`super::scan`] refuses it. A reStructuredText file (its
/// header is its whole document) is read in full, and so is one with a line end other than
/// `\n` in what was read (the header is then found as a full read finds it).
fn read_head(path: &Path, bytes: &mut Vec<u8>) -> Result<(), ParseErrorKind> {
    use std::io::Read;
    const CHUNK: usize = 8192;
    let (mut file, meta) = open_article(path)?;
    if meta.len() > MAX_ARTICLE_BYTES as u64 {
        return Err(ParseErrorKind::TooLarge { size: meta.len(), limit: MAX_ARTICLE_BYTES });
    }
    bytes.clear();
    if ArticleFormat::from_path(path) == Some(ArticleFormat::Rst) {
        return read_rest(&mut file, bytes);
    }
    let mut searched = 0; // lines before this offset hold no blank line after text
    let mut text_seen = false;
    loop {
        let start = bytes.len();
        bytes.resize(start + CHUNK, 0);
        let n = file.read(&mut bytes[start..]).map_err(ParseErrorKind::Io)?;
        bytes.truncate(start + n);
        if n == 0 || bytes.len() > MAX_ARTICLE_BYTES {
            return Ok(());
        }
        if memchr::memchr3(b'\r', 2, 3, &bytes[start..]).is_some() {
            return read_rest(&mut file, bytes);
        }
        let base = searched;
        for newline in memchr::memchr_iter(b'\n', &bytes[base..]) {
            let end = base + newline;
            if bytes[searched..end].iter().all(u8::is_ascii_whitespace) {
                if text_seen {
                    bytes.truncate(end + 1);
                    return Ok(());
                }
            } else {
                text_seen = true;
            }
            searched = end + 1;
        }
    }
}

/// Reads in full the articles of `scan` that `needed` names (indices into the list) and
/// that have no body yet, and asks again, until every article it names has its body. A file
/// that changed meanwhile is read as it is now (the list is sorted again); one that can no
/// longer be read leaves the list for [`Scan::errors`] (or, no longer published, for
/// [`Scan::unpublished`]).
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
        let read =
            crate::parallel::map(&unread, |&i| read_article(&scan.articles[i].source, settings));
        let mut gone = Vec::new();
        for (i, result) in unread.into_iter().zip(read) {
            match result {
                Ok(article) => scan.articles[i] = article,
                Err(e) => {
                    scan.left_out(e);
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
        // Each header is the full read's (a file broken past its header is not refused yet).
        assert!(heads.errors.len() <= full.errors.len());
        for article in &full.articles {
            let head = heads.articles.iter().find(|h| h.source == article.source).unwrap();
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
        assert!(heads.articles[0].has_body() && heads.articles[2].has_body());
        // Every body read: the full read, article for article and error for error.
        read_bodies(&mut heads, &settings, |articles| (0..articles.len()).collect());
        assert_eq!(heads.articles, full.articles);
        assert_eq!(heads.errors.len(), full.errors.len());
    }

    #[test]
    fn a_head_is_read_through_the_first_blank_line_after_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        let mut bytes = Vec::new();
        let long = format!("Title: A\nSummary: {}\n\nBody\n\nMore\n", "x".repeat(20_000));
        for (text, head) in [
            ("Title: A\nDate: 2026-01-01\n\nBody\n", "Title: A\nDate: 2026-01-01\n\n"),
            ("\n \nTitle: A\n  \nBody\n", "\n \nTitle: A\n  \n"),
            ("Title: A\nno blank line", "Title: A\nno blank line"),
            ("Title: A\r\n\r\nBody\r\n\nMore", "Title: A\r\n\r\nBody\r\n\nMore"),
            (long.as_str(), &long[..long.find("\n\n").unwrap() + 2]),
        ] {
            std::fs::write(&path, text).unwrap();
            read_head(&path, &mut bytes).unwrap();
            assert_eq!(String::from_utf8_lossy(&bytes), head);
        }
    }

    #[test]
    fn a_file_broken_past_its_header_is_found_when_its_body_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.md"), b"Title: One\nDate: 2026-01-01\n\nbad \xff byte\n")
            .unwrap();
        let settings = ParseSettings::default();
        let mut heads = scan_heads(dir.path(), &settings).unwrap();
        assert_eq!((heads.articles.len(), heads.errors.len()), (1, 0));
        read_bodies(&mut heads, &settings, |articles| (0..articles.len()).collect());
        assert_eq!((heads.articles.len(), heads.errors.len()), (0, 1));
        assert!(heads.errors[0].to_string().contains("UTF-8"), "{}", heads.errors[0]);
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
        assert_eq!(heads.articles[0].body(), "Hello 1.\n");
    }
}
