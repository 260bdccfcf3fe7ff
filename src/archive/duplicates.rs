//! Two article files that claim the same issue: the same URL (same title and date, so
//! Pelican writes one page over the other) or the same `Number:`. Neither can be announced
//! safely: which file is the issue? The service holds them (see `daemon::cycle`), `check`
//! and `announce` name both files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What two or more files share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shared {
    /// The same URL.
    Url(String),
    /// The same `Number:`.
    Number(u32),
}

/// Files that share a URL or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// What they share.
    pub shared: Shared,
    /// The files, sorted.
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for Duplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        match &self.shared {
            Shared::Url(url) => write!(
                f,
                "{} give the same URL {url} (same title and date); neither is announced until one is renamed or retitled",
                files.join(" and ")
            ),
            Shared::Number(n) => write!(
                f,
                "{} both say `Number: {n}`; an issue not yet announced among them is held until the numbers differ",
                files.join(" and ")
            ),
        }
    }
}

/// The duplicates among `(url, number, file)` of every article, URLs first.
pub fn find_duplicates<'a>(
    articles: impl IntoIterator<Item = (&'a str, Option<u32>, &'a Path)>,
) -> Vec<Duplicate> {
    let mut by: BTreeMap<Shared, Vec<PathBuf>> = BTreeMap::new();
    let mut urls_of_number: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for (url, number, file) in articles {
        by.entry(Shared::Url(url.to_string())).or_default().push(file.to_path_buf());
        if let Some(n) = number {
            urls_of_number.entry(n).or_default().push(url);
            by.entry(Shared::Number(n)).or_default().push(file.to_path_buf());
        }
    }
    by.into_iter()
        .filter(|(shared, files)| {
            files.len() > 1
                // Files sharing a number only because they share the URL are one duplicate.
                && match shared {
                    Shared::Number(n) => {
                        let mut urls = urls_of_number[n].clone();
                        urls.sort_unstable();
                        urls.dedup();
                        urls.len() > 1
                    }
                    Shared::Url(_) => true,
                }
        })
        .map(|(shared, mut files)| {
            files.sort();
            Duplicate { shared, files }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_url_and_same_number_are_found_once_each() {
        let a = Path::new("2026-01-07-a.md");
        let b = Path::new("2026-01-07-b.md");
        let c = Path::new("2026-01-14-c.md");
        let d = Path::new("2026-01-21-d.md");
        let found = find_duplicates([
            ("https://x/2026/01/07/twir-1/", Some(1), a),
            ("https://x/2026/01/07/twir-1/", Some(1), b),
            ("https://x/2026/01/14/twir-2/", Some(2), c),
            ("https://x/2026/01/21/twir-2b/", Some(2), d),
        ]);
        let url = Shared::Url("https://x/2026/01/07/twir-1/".into());
        assert_eq!(
            found,
            [
                Duplicate { shared: url, files: vec![a.into(), b.into()] },
                Duplicate { shared: Shared::Number(2), files: vec![c.into(), d.into()] },
            ]
        );
        let text = found[1].to_string();
        assert!(
            text.contains("2026-01-14-c.md and 2026-01-21-d.md both say `Number: 2`"),
            "{text}"
        );
        assert!(find_duplicates([("u", Some(1), a), ("v", None, b)]).is_empty());
    }
}
