//! Reading a whole archive directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::article::{
    Article, ArticleFormat, ParseError, ParseErrorKind, ParseSettings, parse_article,
};

/// The result of scanning an archive: the articles that parsed, and a report for each that
/// did not. Articles are sorted newest first (Pelican's `reversed-date`).
#[derive(Debug, Default)]
pub struct Scan {
    /// Parsed articles, newest first.
    pub articles: Vec<Article>,
    /// Files that look like articles but could not be read.
    pub errors: Vec<ParseError>,
    /// Articles their editors have not published (`Status: draft` or `hidden`), left out.
    pub unpublished: Vec<ParseError>,
}

impl Scan {
    /// Files `error` kept out: a fault to report, or an article not published.
    pub(crate) fn left_out(&mut self, error: ParseError) {
        left_out(&mut self.errors, &mut self.unpublished, error);
    }
}

/// Puts `error` with the `errors` or, an article not published, with the `unpublished`.
fn left_out(errors: &mut Vec<ParseError>, unpublished: &mut Vec<ParseError>, error: ParseError) {
    if error.is_unpublished() { unpublished.push(error) } else { errors.push(error) }
}

/// A failure to read the archive directory itself.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the archive directory {}: {source}", path.display())]
pub struct ScanError {
    /// The directory.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Whether a directory entry's name is an article file herald reads: `*.md`, `*.markdown` or
/// `*.rst`, not hidden and not an editor's temporary file (`.#x.md`, `x.md~`, `.x.md.swp`).
pub fn is_article_name(name: &str) -> bool {
    !name.starts_with('.')
        && !name.ends_with('~')
        && ArticleFormat::from_path(Path::new(name)).is_some()
}

/// The article files directly in `dir` (sub-directories such as `pages/` and `images/` are not
/// articles), sorted by name.
pub fn article_paths(dir: &Path) -> Result<Vec<PathBuf>, ScanError> {
    let entries =
        std::fs::read_dir(dir).map_err(|source| ScanError { path: dir.into(), source })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ScanError { path: dir.into(), source })?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_article_name(name) {
            continue;
        }
        // A directory named `x.md` is not an article; a symlink is followed when read.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        paths.push(entry.path());
    }
    paths.sort_by(|a, b| path_order(a, b));
    Ok(paths)
}

/// The order of [`article_paths`]: of the paths of one directory, that of their names, which is
/// `Path`'s own order, compared as bytes rather than component by component (sorting the
/// archive that way was a tenth of an unchanged cycle).
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    a.as_os_str().as_encoded_bytes().cmp(b.as_os_str().as_encoded_bytes())
}

/// Reads one article file; `path` names the file in any error.
pub fn read_article(path: &Path, settings: &ParseSettings) -> Result<Article, ParseError> {
    parse_article(path, &read_file(path)?, settings)
}

/// Reads an article file's bytes (refusing one over the size limit, or not a regular file);
/// `path` names the file in any error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ParseError> {
    let read = || {
        let (mut file, meta) = open_article(path)?;
        let limit = super::article::MAX_ARTICLE_BYTES;
        // Sized once from the file's length (plus the byte that tells a file grown meanwhile).
        let mut bytes =
            Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(limit).min(limit) + 1);
        read_rest(&mut file, &mut bytes)?;
        Ok(bytes)
    };
    read().map_err(|kind| ParseError::new(path, None, kind))
}

/// Opens an article file for reading, with its metadata, refusing one that is not a regular
/// file (a pipe, a socket, a device).
pub(crate) fn open_article(
    path: &Path,
) -> Result<(std::fs::File, std::fs::Metadata), ParseErrorKind> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that a FIFO named like an article is refused below instead of
    // blocking the open until a writer comes; regular files ignore the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ParseErrorKind::Io)?;
    let meta = file.metadata().map_err(ParseErrorKind::Io)?;
    if !meta.is_file() {
        return Err(ParseErrorKind::NotAFile);
    }
    Ok((file, meta))
}

/// Reads the rest of `file` onto `bytes`, refusing (without reading it all) a file over the
/// article size limit.
pub(crate) fn read_rest(
    file: &mut std::fs::File,
    bytes: &mut Vec<u8>,
) -> Result<(), ParseErrorKind> {
    use std::io::Read;
    let limit = super::article::MAX_ARTICLE_BYTES;
    file.take(limit as u64 + 1).read_to_end(bytes).map_err(ParseErrorKind::Io)?;
    if bytes.len() > limit {
        let size = file.metadata().map_or(bytes.len() as u64, |m| m.len());
        return Err(ParseErrorKind::TooLarge { size, limit });
    }
    Ok(())
}

/// Why [`read_body`] gave no body.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The file no longer holds the article that was read from it.
    #[error("{}: changed since it was read (it is read again at the next scan)", .0.display())]
    Changed(PathBuf),
    /// The file can no longer be read as an article.
    #[error("{0} (since it was read)")]
    Unreadable(ParseError),
}

/// `article` with its body: as it is if it has one, else read again from its file, if the
/// file still holds that article (the same header and, if it was taken, the same content
/// hash). A file changed since it was read is not mixed with what was read of it before.
pub fn read_body(article: &Article, settings: &ParseSettings) -> Result<Article, BodyError> {
    if article.has_body() {
        return Ok(article.clone());
    }
    let fresh = read_article(&article.source, settings).map_err(BodyError::Unreadable)?;
    let same_hash = article.hash_taken().is_none_or(|hash| hash == fresh.content_hash());
    if !same_hash || fresh.without_body() != *article {
        return Err(BodyError::Changed(article.source.clone()));
    }
    Ok(fresh)
}

/// Scans `dir`: every article file is parsed; the bad ones are reported in [`Scan::errors`].
pub fn scan(dir: &Path, settings: &ParseSettings) -> Result<Scan, ScanError> {
    scan_with(dir, |path| read_article(path, settings))
}

/// Scans `dir`, reading each article file with `read` (on every core).
pub(crate) fn scan_with(
    dir: &Path,
    read: impl Fn(&Path) -> Result<Article, ParseError> + Sync,
) -> Result<Scan, ScanError> {
    let mut out = Scan::default();
    let paths = article_paths(dir)?;
    for result in crate::parallel::map(&paths, |path| read(path)) {
        match result {
            Ok(article) => out.articles.push(article),
            Err(e) => out.left_out(e),
        }
    }
    sort_newest_first(&mut out.articles);
    Ok(out)
}

/// Articles parsed in earlier scans, by file, each kept without its body (see
/// [`super::body`]): what the cache holds does not grow with the archive's bytes. A file whose
/// [`Stamp`] is unchanged, or failing that whose bytes are, is not parsed again: the scan
/// hands out the kept article.
#[derive(Debug, Default)]
pub struct ScanCache {
    /// One per file of the last list, in the order of their paths.
    entries: Vec<CacheEntry>,
    /// The last scan's articles, newest first, without their bodies: handed out again while
    /// nothing changes.
    last: Option<Arc<[Article]>>,
    /// Files parsed in the last scan (the others came from the cache).
    pub parsed_last: usize,
    /// Files read in the last scan (parsed, or found to hold the same bytes as before).
    pub read_last: usize,
}

impl ScanCache {
    /// The articles the cache holds with their bodies (none: see [`ScanCache`]).
    #[cfg(test)]
    pub(crate) fn bodies_held(&self) -> usize {
        self.last.iter().flat_map(|l| l.iter()).filter(|a| a.has_body()).count()
    }
}

/// [`Scan`] as [`scan_cached`] hands it out: the articles (newest first) shared with the
/// cache, the same list (`Arc::ptr_eq`) for as long as the archive is as the scan before found
/// it: the same files, none parsed again (each stamp unchanged, or the same bytes).
#[derive(Debug)]
pub struct CachedScan {
    /// Parsed articles, newest first, without their bodies ([`read_body`] reads one).
    pub articles: Arc<[Article]>,
    /// Files that look like articles but could not be read.
    pub errors: Vec<ParseError>,
    /// Articles their editors have not published (`Status: draft` or `hidden`), left out.
    /// (Read again at each scan, as the files that cannot be read are: there are few.)
    pub unpublished: Vec<ParseError>,
}

#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    /// The file's stamp when it was read, if it can be trusted (see [`RACY`]).
    stamp: Option<Stamp>,
    /// The SHA-256 of the file's bytes.
    hash: [u8; 32],
    /// Where its article is in the last list (each article is held once, there).
    at: usize,
}

/// What says a file is unchanged without reading it. The change time (ctime) is set by the
/// kernel on every write and cannot be put back, as the modification time is by `cp -p`,
/// `rsync -a`, `tar x` and `touch -r`; a fix of the same length keeps the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    size: u64,
    mtime: SystemTime,
    ctime: SystemTime,
    inode: (u64, u64),
}

impl Stamp {
    /// The stamp of the file at `path` (following links), if it can be read.
    pub(crate) fn of_path(path: &Path) -> Option<Self> {
        std::fs::metadata(path).ok().as_ref().and_then(Self::of)
    }

    /// The stamp as text, to be kept with what was read of the file.
    pub(crate) fn key(&self) -> String {
        let nanos = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let (size, mtime, ctime) = (self.size, nanos(self.mtime), nanos(self.ctime));
        format!("{size}:{mtime}:{ctime}:{}:{}", self.inode.0, self.inode.1)
    }

    fn of(meta: &std::fs::Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let ctime = UNIX_EPOCH
            + Duration::new(
                u64::try_from(meta.ctime()).ok()?,
                u32::try_from(meta.ctime_nsec()).ok()?,
            );
        Some(Self {
            size: meta.len(),
            mtime: meta.modified().ok()?,
            ctime,
            inode: (meta.dev(), meta.ino()),
        })
    }

    /// The stamp, if it can stand for the content read at `read_at`: not when the file
    /// changed within [`RACY`] before, as a second change within the same tick of a coarse
    /// file system clock would leave the stamp as it is (git's "racily clean" files).
    pub(super) fn trusted(self, read_at: SystemTime) -> Option<Self> {
        let changed = self.ctime.max(self.mtime);
        read_at.duration_since(changed).is_ok_and(|age| age >= RACY).then_some(self)
    }
}

/// How long a file must have been unchanged when it is read for its stamp to be trusted:
/// some file systems keep times to 1 or 2 seconds.
const RACY: Duration = Duration::from_secs(2);

/// Like [`scan`], reusing what `cache` holds for unchanged files. Articles are handed out
/// without their bodies (each file is still read and parsed whole when it is new or changed,
/// so a file broken past its header is reported); a scan that finds nothing changed hands out the last list
/// itself, so that it costs a `stat` per file and nothing per article.
pub fn scan_cached(
    dir: &Path,
    settings: &ParseSettings,
    cache: &mut ScanCache,
) -> Result<CachedScan, ScanError> {
    use sha2::Digest;
    let paths = article_paths(dir)?;
    let last: &[Article] = cache.last.as_deref().unwrap_or(&[]);
    let path_of = |e: &CacheEntry| &last[e.at].source;
    // Each file's entry from the last scan, if it had one (both lists are in path order).
    let mut known: Vec<Option<&CacheEntry>> = Vec::with_capacity(paths.len());
    let mut old = cache.entries.iter().peekable();
    for path in &paths {
        while old.next_if(|e| path_order(path_of(e), path).is_lt()).is_some() {}
        known.push(old.next_if(|e| path_order(path_of(e), path).is_eq()));
    }
    let read = std::sync::atomic::AtomicUsize::new(0);
    // Per file: its entry now, and the article if it was parsed (not only found unchanged by
    // its stamp, or hashed to the same bytes as before).
    let results =
        crate::parallel::map(&paths.iter().zip(&known).collect::<Vec<_>>(), |&(path, known)| {
            let stamp = Stamp::of_path(path);
            let read_at = SystemTime::now();
            if let Some(e) = known
                && e.stamp.is_some()
                && e.stamp == stamp
            {
                return Ok((**e, None));
            }
            read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let bytes = read_file(path)?;
            let hash: [u8; 32] = sha2::Sha256::digest(&bytes).into();
            let stamp = stamp.and_then(|s| s.trusted(read_at));
            if let Some(e) = known.filter(|e| e.hash == hash) {
                return Ok((CacheEntry { stamp, hash, at: e.at }, None));
            }
            let article = parse_article(path, &bytes, settings)?.without_body();
            Ok((CacheEntry { stamp, hash, at: usize::MAX }, Some(article)))
        });
    // The same list if no file was parsed, none went and none became unreadable.
    let mut unchanged = cache.last.is_some();
    let mut entries = Vec::with_capacity(paths.len());
    let mut parsed = Vec::new();
    let (mut errors, mut unpublished) = (Vec::new(), Vec::new());
    for result in results {
        match result {
            Ok((entry, None)) => entries.push(entry),
            Ok((entry, Some(article))) => {
                unchanged = false;
                parsed.push((entries.len(), article));
                entries.push(entry);
            }
            Err(e) => left_out(&mut errors, &mut unpublished, e),
        }
    }
    cache.parsed_last = parsed.len();
    cache.read_last = read.into_inner();
    unchanged &= entries.len() == cache.entries.len();
    if let (true, Some(last)) = (unchanged, &cache.last) {
        // The same articles where they were; the entries may hold stamps trusted now.
        cache.entries = entries;
        return Ok(CachedScan { articles: last.clone(), errors, unpublished });
    }
    // The new list: the articles parsed now, the others as the last list holds them (made
    // again here, where the list is kept: the parsing threads' memory is then all free).
    let mut parsed = parsed.into_iter().peekable();
    let mut articles: Vec<(usize, Article)> = (0..entries.len())
        .map(|i| match parsed.next_if(|(at, _)| *at == i) {
            Some((_, article)) => (i, article.clone()),
            None => (i, last[entries[i].at].clone()),
        })
        .collect();
    articles.sort_by(|(_, a), (_, b)| newest_first(a, b));
    for (at, (i, _)) in articles.iter().enumerate() {
        entries[*i].at = at;
    }
    let articles: Arc<[Article]> = articles.into_iter().map(|(_, a)| a).collect();
    cache.entries = entries;
    cache.last = Some(articles.clone());
    Ok(CachedScan { articles, errors, unpublished })
}

/// Sorts articles newest first; equal dates fall back to the slug (as in Pelican), then the
/// title, then the file, so the order never depends on the directory listing.
pub fn sort_newest_first(articles: &mut [Article]) {
    articles.sort_by(newest_first);
}

/// The order of [`sort_newest_first`].
fn newest_first(a: &Article, b: &Article) -> std::cmp::Ordering {
    // Pelican sorts by slug (grouping translations), then by date, newest first, keeping
    // that order among equal dates.
    b.date
        .cmp(&a.date)
        .then_with(|| a.slug.cmp(&b.slug))
        .then_with(|| a.title.cmp(&b.title))
        .then_with(|| a.source.cmp(&b.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_of_one_date_are_in_the_order_of_their_slugs_as_in_pelican() {
        let settings = ParseSettings::default();
        let mut articles: Vec<Article> = ["B x", "a y", "Zed", "_under", "Émile"]
            .iter()
            .map(|title| {
                let text = format!("Title: {title}\nDate: 2026-02-01 10:00\n\nx\n");
                let path = Path::new("content").join(format!("{title}.md"));
                super::super::article::parse_article(&path, text.as_bytes(), &settings).unwrap()
            })
            .collect();
        sort_newest_first(&mut articles);
        let titles: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
        // Pelican 4.7.1's order for these.
        assert_eq!(titles, ["_under", "a y", "B x", "Émile", "Zed"]);
    }

    proptest::proptest! {
        /// Of the paths of one directory, the order of their bytes is `Path`'s.
        #[test]
        fn paths_in_one_directory_are_ordered_as_paths_are(
            a in "[a-zA-Z0-9 ._é-]{1,8}\\.md", b in "[a-zA-Z0-9 ._é-]{1,8}\\.md",
            dir in "(/|\\./)?([a-z.-]{1,4}/){0,2}[a-z]{1,3}/?"
        ) {
            let (a, b) = (Path::new(&dir).join(a), Path::new(&dir).join(b));
            proptest::prop_assert_eq!(path_order(&a, &b), a.cmp(&b));
        }
    }

    fn write(dir: &Path, name: &str, body: &str) {
        std::fs::write(dir.join(name), format!("Title: {name}\nDate: 2026-01-07\n\n{body}\n"))
            .unwrap();
    }

    #[test]
    fn the_cache_parses_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.md", "b.md", "c.md"] {
            write(dir.path(), n, "*hello*");
        }
        let settings = ParseSettings::default();
        let mut cache = ScanCache::default();
        let first = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!((first.articles.len(), cache.parsed_last), (3, 3));

        let second = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!(cache.parsed_last, 0);
        assert_eq!(second.articles, first.articles);
        assert!(Arc::ptr_eq(&second.articles, &first.articles));

        // New content: parsed again. Same content rewritten: not.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(dir.path(), "b.md", "*changed*");
        write(dir.path(), "c.md", "*hello*");
        let third = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!(cache.parsed_last, 1);
        let b = third.articles.iter().find(|a| a.source.ends_with("b.md")).unwrap();
        assert_eq!(read_body(b, &settings).unwrap().body(), "*changed*\n");

        // Removed files leave the cache; a bad file is reported each time.
        std::fs::remove_file(dir.path().join("a.md")).unwrap();
        std::fs::write(dir.path().join("d.md"), "no header").unwrap();
        let fourth = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!((fourth.articles.len(), fourth.errors.len(), cache.entries.len()), (2, 1, 2));
        assert!(!Arc::ptr_eq(&fourth.articles, &third.articles));
        assert_eq!(scan_cached(dir.path(), &settings, &mut cache).unwrap().errors.len(), 1);
    }

    #[test]
    fn a_scan_hands_out_the_same_list_while_nothing_changed() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.md", "b.md"] {
            write(dir.path(), n, "hello");
        }
        let settings = ParseSettings::default();
        let mut cache = ScanCache::default();
        // Whether each scan hands out the list the one before it did.
        let mut last: Option<Arc<[Article]>> = None;
        let mut same = |cache: &mut ScanCache| {
            let scan = scan_cached(dir.path(), &settings, cache).unwrap();
            let same = last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &scan.articles));
            last = Some(scan.articles.clone());
            (same, scan.articles.len())
        };
        assert!(!same(&mut cache).0);
        assert!(same(&mut cache).0, "nothing parsed, nothing gone");
        // A new file, a changed one, a file gone, a file made unreadable: each a change, once.
        write(dir.path(), "c.md", "new");
        assert!(!same(&mut cache).0);
        assert!(same(&mut cache).0);
        write(dir.path(), "c.md", "changed");
        assert!(!same(&mut cache).0);
        std::fs::remove_file(dir.path().join("c.md")).unwrap();
        assert!(!same(&mut cache).0);
        std::fs::write(dir.path().join("b.md"), "no header").unwrap();
        assert_eq!(same(&mut cache), (false, 1));
        assert!(same(&mut cache).0, "a file still unreadable is no change");
    }

    #[test]
    fn a_file_is_read_until_its_stamp_can_stand_for_it_and_then_no_more() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a.md", "b.md"] {
            write(dir.path(), n, "hello");
        }
        let settings = ParseSettings::default();
        let mut cache = ScanCache::default();
        let first = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!((cache.read_last, cache.parsed_last), (2, 2));
        // Changed less than a clock tick ago: read again (the same bytes, not parsed).
        scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!((cache.read_last, cache.parsed_last), (2, 0));
        std::thread::sleep(RACY + Duration::from_millis(100));
        // Read once more, now that their stamps can stand for them; then never again.
        scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!(cache.read_last, 2);
        let last = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!(cache.read_last, 0, "files read though their stamps stand for them");
        assert!(Arc::ptr_eq(&last.articles, &first.articles));
    }

    #[test]
    fn a_change_that_keeps_size_and_mtime_is_still_seen() {
        // `cp -p`, `rsync -a`, `tar x` and `touch -r` put an old mtime back; a same-length fix
        // (a number, a typo) keeps the size.
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "Release 2b welcome");
        let path = dir.path().join("a.md");
        let settings = ParseSettings::default();
        let mut cache = ScanCache::default();
        scan_cached(dir.path(), &settings, &mut cache).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        write(dir.path(), "a.md", "Release 2c welcome");
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
        let scan = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert_eq!(read_body(&scan.articles[0], &settings).unwrap().body(), "Release 2c welcome\n");
        assert_eq!(cache.parsed_last, 1);
    }

    #[test]
    fn a_stamp_stands_for_the_content_only_when_it_is_older_than_a_clock_tick() {
        let t = |s: u64| UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s);
        let stamp = Stamp { size: 10, mtime: t(0), ctime: t(0), inode: (1, 2) };
        assert_eq!(stamp.trusted(t(5)), Some(stamp));
        assert_eq!(stamp.trusted(t(1)), None, "changed a second before it was read");
        // An mtime put back (`touch -r`) leaves the ctime of the write: recent, not trusted.
        let put_back = Stamp { ctime: t(4), ..stamp };
        assert_eq!(put_back.trusted(t(5)), None);
        assert_ne!(put_back, stamp);
        // A clock that runs behind the file system's: never trusted.
        assert_eq!(Stamp { mtime: t(9), ..stamp }.trusted(t(5)), None);
    }

    #[test]
    fn a_pipe_named_like_an_article_is_reported_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "hello");
        let fifo = dir.path().join("b.md");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        let scan = scan(dir.path(), &ParseSettings::default()).unwrap();
        assert_eq!(scan.articles.len(), 1);
        assert_eq!(scan.errors.len(), 1);
        assert_eq!(scan.errors[0].to_string(), format!("{}: not a regular file", fifo.display()));
    }

    #[test]
    fn the_cache_keeps_no_body_and_reads_one_again_only_from_the_file_it_scanned() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "*hello*");
        write(dir.path(), "b.md", "*world*");
        let settings = ParseSettings::default();
        let mut cache = ScanCache::default();
        let first = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        // Parsed now, or kept: without bodies, and the same articles, hashes included.
        assert!(first.articles.iter().all(|a| !a.has_body() && a.hash_taken().is_some()));
        let second = scan_cached(dir.path(), &settings, &mut cache).unwrap();
        assert!(second.articles.iter().all(|a| !a.has_body()));
        assert_eq!(second.articles, first.articles);
        // A body read again is the full read's, hash and HTML included.
        let a = &second.articles[0];
        let full = read_article(&a.source, &settings).unwrap();
        let read = read_body(a, &settings).unwrap();
        assert_eq!((read.body(), read.content_hash()), ("*hello*\n", full.content_hash()));
        assert_eq!(read.render_html().value, "<p><em>hello</em></p>");
        assert_eq!(read, full);
        assert_eq!(read_body(&read, &settings).unwrap(), read, "a body held is used as it is");

        // The file changed since the scan: its body, its header, or gone. Never mixed.
        write(dir.path(), "a.md", "*hello again*");
        assert!(matches!(read_body(a, &settings), Err(BodyError::Changed(_))));
        std::fs::write(&a.source, "Title: renamed\nDate: 2026-01-07\n\n*hello*\n").unwrap();
        assert!(matches!(read_body(a, &settings), Err(BodyError::Changed(_))));
        std::fs::remove_file(&a.source).unwrap();
        let gone = read_body(a, &settings).unwrap_err();
        assert!(matches!(gone, BodyError::Unreadable(_)));
        assert!(gone.to_string().starts_with(&a.source.display().to_string()), "{gone}");
        // Put back as it was: the article it was.
        write(dir.path(), "a.md", "*hello*");
        assert_eq!(read_body(a, &settings).unwrap(), full);
    }
}
