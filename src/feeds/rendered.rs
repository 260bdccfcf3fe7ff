//! What a feed shows of an article's body, its HTML and summary, and [`Renderings`], which
//! keeps them between feed builds.

use std::collections::HashMap;
use std::sync::Arc;

use crate::archive::scan::BodyError;
use crate::archive::{Article, ArticleFormat};
use crate::render::{self, budget, budget::bounded};

/// How a summary is made for an article without a `Summary:` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummarySettings {
    /// Words in a generated summary (Pelican's SUMMARY_MAX_LENGTH).
    pub words: usize,
    /// Appended to a cut summary after a space (Pelican's SUMMARY_END_SUFFIX).
    pub suffix: String,
}

impl Default for SummarySettings {
    /// TWiR's (Pelican's defaults).
    fn default() -> Self {
        Self { words: 50, suffix: "…".into() }
    }
}

/// An article's body as HTML and its feed summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The body as HTML.
    pub html: String,
    /// The `Summary:` header rendered, or the first words of the HTML.
    pub summary: String,
}

impl Rendered {
    /// Renders `article` now. Markup past the point where the article's work budget ran out
    /// is shown as text, and said once (a rendering is kept while the article is unchanged).
    pub fn of(article: &Article, settings: &SummarySettings) -> Self {
        let html = article.render_html();
        let summary = match &article.summary_source {
            Some(md) => bounded(md.len(), || render::render_markdown(md)),
            None => bounded(html.value.len(), || {
                render::summarize(&html.value, settings.words, &settings.suffix)
            }),
        };
        if html.cut_short || summary.cut_short {
            tracing::warn!(
                "{}: the article's markup takes too long to render (over {} steps per byte: \
                 thousands of unclosed `[`, `(`, `<` or `<!--`?); the feeds show the part past \
                 that point as plain text. Close or escape (`\\[`) what is left open.",
                article.source.display(),
                budget::PER_BYTE
            );
        }
        Self { html: html.value, summary: summary.value }
    }
}

/// What a rendering is made from: the body (through the content hash), its format, the
/// `Summary:` header.
type Key = (crate::archive::article::ContentHash, ArticleFormat, Option<String>);

/// Reads again, in full, an article held without its body (as
/// [`crate::archive::scan::read_body`] does).
pub type Reread = Box<dyn Fn(&Article) -> Result<Article, BodyError> + Send + Sync>;

/// Renderings kept beyond the process: `herald feeds`' cache ([`super::cache`]).
pub trait RenderStore: Send {
    /// The rendering kept under `key` (see [`store_key`]), if any.
    fn get(&mut self, key: &[u8; 32]) -> Option<Rendered>;
    /// Keeps `rendered` under `key`.
    fn put(&mut self, key: &[u8; 32], rendered: &Rendered);
}

/// A rendering's key in a [`RenderStore`]: what it is made from, with the summary settings.
fn store_key(key: &Key, settings: &SummarySettings) -> [u8; 32] {
    use sha2::Digest;
    let (hash, format, summary) = key;
    let mut h = sha2::Sha256::new();
    h.update(hash.as_bytes());
    h.update([u8::from(*format == ArticleFormat::Rst)]);
    for part in [summary.as_deref(), Some(settings.suffix.as_str())] {
        // Each length first: no two different keys are fed the same bytes.
        let part = part.map_or(&[0xff][..], str::as_bytes);
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update((settings.words as u64).to_le_bytes());
    h.finalize().into()
}

/// Renderings kept from one feed build to the next, so that the daemon renders an article
/// when it enters the feeds or changes, not on every cycle. A rendering no build asked for
/// since the one before is let go (the article has left the feeds), so what is kept does not
/// grow with every issue ever published. A build asks for renderings a few at a time
/// ([`Self::begin`], [`Self::get`], [`Self::end`]).
#[derive(Default)]
pub struct Renderings {
    settings: SummarySettings,
    /// Where renderings outlive the process, if anywhere.
    store: Option<Box<dyn RenderStore>>,
    /// How an article held without its body, whose rendering is neither kept nor stored, is
    /// read again (without, it must be [prepared](Self::prepare)).
    reread: Option<Reread>,
    kept: HashMap<Key, Arc<Rendered>>,
    /// The renderings the build under way asked for (kept at its end).
    asked: HashMap<Key, Arc<Rendered>>,
    /// Keep nothing: a one-off build (`herald feeds`).
    one_off: bool,
    /// Articles rendered by the last build.
    rendered_last: usize,
}

impl std::fmt::Debug for Renderings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderings")
            .field("kept", &self.kept.len())
            .field("store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl Renderings {
    /// Renderings for one build that keeps none in memory: each is let go once its entries
    /// are written. Those in `store` are taken from it, and those made are put there; an
    /// article held without its body whose rendering is not there is read with `reread`.
    pub fn one_off(store: Option<Box<dyn RenderStore>>, reread: Option<Reread>) -> Self {
        Self { one_off: true, store, reread, ..Self::default() }
    }

    /// Articles rendered by the last build (not found kept or in the store).
    pub fn rendered_last(&self) -> usize {
        self.rendered_last
    }

    /// The rendering of each of `articles`, in order, in one build: kept ones as they are,
    /// the others rendered now on every core. Only these are kept for the next build.
    ///
    /// # Panics
    /// On an article not kept and held without its body: [`Self::prepare`] it first.
    pub fn render(
        &mut self,
        articles: &[&Article],
        settings: &SummarySettings,
    ) -> Result<Vec<Arc<Rendered>>, BodyError> {
        self.begin(settings);
        let out = self.get(articles);
        self.end();
        out
    }

    /// Starts a build under `settings`.
    pub fn begin(&mut self, settings: &SummarySettings) {
        self.use_settings(settings);
        self.asked.clear();
        self.rendered_last = 0;
    }

    /// The rendering of each of `articles`, in order, in the build under way: kept or stored
    /// ones as they are, the others rendered now on every core. An article held without its
    /// body is read again for it; one whose file changed since is the error.
    ///
    /// # Panics
    /// On an article not kept, held without its body, with no way to read it again:
    /// [`Self::prepare`] it first.
    pub fn get(&mut self, articles: &[&Article]) -> Result<Vec<Arc<Rendered>>, BodyError> {
        let keys: Vec<Key> = articles.iter().map(|a| key(a)).collect();
        let found = |k: &Key| self.asked.get(k).or_else(|| self.kept.get(k)).cloned();
        let mut out: Vec<Option<Arc<Rendered>>> = keys.iter().map(found).collect();
        let settings = &self.settings;
        if let Some(store) = &mut self.store {
            for (k, slot) in keys.iter().zip(&mut out).filter(|(_, slot)| slot.is_none()) {
                *slot = store.get(&store_key(k, settings)).map(Arc::new);
            }
        }
        let missing: Vec<usize> = (0..articles.len()).filter(|&i| out[i].is_none()).collect();
        let reread = &self.reread;
        let fresh = crate::parallel::map(&missing, |&i| match (articles[i], reread) {
            (a, Some(reread)) if !a.has_body() => Ok(Rendered::of(&reread(a)?, settings)),
            (a, _) => Ok(Rendered::of(a, settings)),
        });
        let fresh: Vec<Rendered> = fresh.into_iter().collect::<Result<_, BodyError>>()?;
        self.rendered_last += fresh.len();
        for (i, rendered) in missing.into_iter().zip(fresh) {
            if let Some(store) = &mut self.store {
                store.put(&store_key(&keys[i], settings), &rendered);
            }
            out[i] = Some(Arc::new(rendered));
        }
        let out: Vec<Arc<Rendered>> = out.into_iter().map(|r| r.expect("found or made")).collect();
        if !self.one_off {
            self.asked.extend(keys.into_iter().zip(out.iter().cloned()));
        }
        Ok(out)
    }

    /// Ends the build: what it asked for is kept, the rest let go.
    pub fn end(&mut self) {
        self.kept = std::mem::take(&mut self.asked);
    }

    /// Renders now, on every core, those of `articles` that are not kept, each as `read`
    /// gives it with its body (an article held without it is read again), and keeps them for
    /// the next [`Self::render`]. The first article that cannot be read is the error; the
    /// others are rendered all the same.
    pub fn prepare<E: Send>(
        &mut self,
        articles: &[&Article],
        settings: &SummarySettings,
        read: impl Fn(&Article) -> Result<Article, E> + Sync,
    ) -> Result<(), E> {
        self.use_settings(settings);
        let missing: Vec<&Article> =
            articles.iter().copied().filter(|a| !self.kept.contains_key(&key(a))).collect();
        let fresh = crate::parallel::map(&missing, |a| {
            read(a).map(|full| (key(&full), Rendered::of(&full, settings)))
        });
        let mut first_error = None;
        for result in fresh {
            match result {
                Ok((key, rendered)) => {
                    self.kept.insert(key, Arc::new(rendered));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// How many renderings are kept.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.kept.len()
    }

    /// Lets every rendering go if `settings` are not the ones they were made with.
    fn use_settings(&mut self, settings: &SummarySettings) {
        if *settings != self.settings {
            self.kept.clear();
            self.settings = settings.clone();
        }
    }
}

/// What an article's rendering is kept under.
fn key(a: &Article) -> Key {
    (a.content_hash(), a.format, a.summary_source.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ParseSettings, parse_article};

    fn article(name: &str, body: &str) -> Article {
        let text = format!("Title: {name}\nDate: 2026-01-07\n\n{body}\n");
        parse_article(std::path::Path::new(name), text.as_bytes(), &ParseSettings::default())
            .unwrap()
    }

    #[test]
    fn an_article_is_rendered_when_it_enters_or_changes_and_let_go_when_it_leaves() {
        let settings = SummarySettings::default();
        let mut renderings = Renderings::default();
        let (a, b) = (article("a.md", "*hello*"), article("b.md", "*world*"));
        let first = renderings.render(&[&a, &b], &settings).unwrap();
        assert_eq!(renderings.rendered_last, 2);
        assert_eq!(first[0].html, "<p><em>hello</em></p>");
        assert_eq!(*first[1], Rendered::of(&b, &settings));

        // Unchanged, and the same article held without its body: kept.
        let again = renderings.render(&[&a.without_body(), &b], &settings).unwrap();
        assert_eq!(renderings.rendered_last, 0);
        assert!(Arc::ptr_eq(&again[0], &first[0]));

        // Changed: rendered again.
        let b2 = article("b.md", "*changed*");
        assert_eq!(
            renderings.render(&[&a, &b2], &settings).unwrap()[1].html,
            "<p><em>changed</em></p>"
        );
        assert_eq!(renderings.rendered_last, 1);

        // Left out of a build: let go, and rendered again (the same) when it comes back.
        renderings.render(&[&b2], &settings).unwrap();
        assert_eq!(renderings.kept.len(), 1);
        assert_eq!(renderings.render(&[&a, &b2], &settings).unwrap()[0], first[0]);
        assert_eq!(renderings.rendered_last, 1);
    }

    #[test]
    fn an_article_held_without_its_body_is_rendered_as_read_then_kept() {
        let settings = SummarySettings::default();
        let mut renderings = Renderings::default();
        let (a, b) = (article("a.md", "*hello*"), article("b.md", "*world*"));
        let heads = [a.without_body(), b.without_body()];
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let read = |h: &Article| {
            reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if h.source == a.source { Ok(a.clone()) } else { Err(h.source.clone()) }
        };
        // b cannot be read: the error, a rendered all the same.
        let failed = renderings.prepare(&[&heads[0], &heads[1]], &settings, read);
        assert_eq!(failed, Err(b.source.clone()));
        renderings.prepare(&[&heads[1]], &settings, |_| Ok::<_, ()>(b.clone())).unwrap();
        let out = renderings.render(&[&heads[0], &heads[1]], &settings).unwrap();
        assert_eq!(renderings.rendered_last, 0);
        assert_eq!(
            (out[0].html.as_str(), out[1].html.as_str()),
            ("<p><em>hello</em></p>", "<p><em>world</em></p>")
        );
        // Kept: not read again.
        renderings.prepare(&[&heads[0], &heads[1]], &settings, read).unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 2);
        // One not prepared cannot be rendered.
        let c = article("c.md", "*c*").without_body();
        let unprepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            renderings.render(&[&c], &settings).unwrap();
        }));
        assert!(unprepared.is_err());
    }

    #[test]
    fn new_summary_settings_render_again() {
        let a = article("a.md", "one two three four");
        let mut renderings = Renderings::default();
        let long = renderings.render(&[&a], &SummarySettings::default()).unwrap();
        let short = SummarySettings { words: 2, suffix: "[…]".into() };
        let cut = renderings.render(&[&a], &short).unwrap();
        assert_eq!(
            (long[0].summary.as_str(), cut[0].summary.as_str()),
            ("<p>one two three four</p>", "<p>one two […]</p>")
        );
    }

    #[test]
    fn a_summary_header_is_rendered_as_markdown() {
        let text = "Title: T\nDate: 2026-01-07\nSummary: *short*\n\nThe whole body.\n";
        let a = parse_article(std::path::Path::new("t.md"), text.as_bytes(), &Default::default())
            .unwrap();
        let r = Rendered::of(&a, &SummarySettings::default());
        assert_eq!(
            (r.html.as_str(), r.summary.as_str()),
            ("<p>The whole body.</p>", "<p><em>short</em></p>")
        );
    }
}
