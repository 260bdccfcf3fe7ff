//! An article's source text after its header, or the fact that it is not held.
//!
//! Two readers hold articles without their bodies, so that what they keep does not grow with
//! the archive's bytes: `herald feeds` reads headers only ([`super::heads`]), and the service's
//! scan cache ([`super::scan::ScanCache`]) lets each body go once the article's content hash
//! is taken. Both read a body again from its file when they need it: the service checks that
//! the file still holds the article it scanned ([`super::scan::read_body`]).
//!
//! A `Body` is a plain value: nothing in it changes after it is made.

use std::fmt;
use std::sync::Arc;

/// The text after an article's header, if it is held. Clones share the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Body(Option<Arc<str>>);

impl Body {
    /// A body held as text.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Body(Some(text.into()))
    }

    /// A body not held: the article was read for its header only, or its body was let go.
    pub(crate) fn not_held() -> Self {
        Body(None)
    }

    /// Whether the text is held.
    pub fn is_held(&self) -> bool {
        self.0.is_some()
    }

    /// The text.
    ///
    /// # Panics
    /// On a body not held: using the body of an article held without it is a bug (whoever
    /// holds articles so reads the bodies it needs in full first).
    pub fn text(&self) -> &str {
        self.0.as_deref().expect("the body of an article held without it was used")
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(text) => write!(f, "Body({} bytes)", text.len()),
            None => write!(f, "Body(not held)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Body;

    #[test]
    fn a_body_not_held_says_so_and_is_not_used() {
        let body = Body::new("Hello, *wörld* 🦀\n");
        assert!(body.is_held());
        assert_eq!(body.text(), "Hello, *wörld* 🦀\n");
        assert!(!Body::not_held().is_held());
        assert_ne!(Body::not_held(), body);
        let used = std::panic::catch_unwind(|| Body::not_held().text().len());
        assert!(used.is_err());
    }
}
