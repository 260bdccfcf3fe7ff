//! An article's source text, kept deflated while nobody uses it.
//!
//! The service keeps every parsed article between scans, but after the first cycle it needs
//! the Markdown of only a few: the issues waiting to be announced and the articles entering a
//! feed. The rest is deflated (TWiR's archive: 12 MB of text → 4.8 MB) and inflated again on
//! use. It stays in memory rather than being read again from disk, so using it cannot fail
//! or see a file that changed after the scan.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// The text after an article's header. Clones share it, and its state: a cached article and
/// the copy a scan hands out are the same body.
#[derive(Clone)]
pub struct Body(Arc<Mutex<State>>);

struct State {
    held: Held,
    /// Set by [`Body::text`], cleared by [`Body::pack_if_unused`].
    used: bool,
}

enum Held {
    Text(Arc<str>),
    /// Raw deflate of the UTF-8 text.
    Packed(Box<[u8]>),
}

/// Fast deflate: the text is packed once and inflated rarely, so speed matters more than the
/// last few percent (level 1 is 2.49× on TWiR, level 6 2.73× at twice the time).
const LEVEL: u8 = 1;

impl Body {
    /// A body held as text, not yet used.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Body(Arc::new(Mutex::new(State { held: Held::Text(text.into()), used: false })))
    }

    /// The text, inflated if it was packed. Marks the body used.
    pub fn text(&self) -> Arc<str> {
        let mut state = self.lock();
        state.used = true;
        let text = match &state.held {
            Held::Text(text) => return text.clone(),
            Held::Packed(bytes) => inflate(bytes),
        };
        state.held = Held::Text(text.clone());
        text
    }

    /// Packs the text if nobody asked for it since the last call; clears the mark either way.
    pub fn pack_if_unused(&self) {
        let mut state = self.lock();
        let used = std::mem::replace(&mut state.used, false);
        if let (false, Held::Text(text)) = (used, &state.held) {
            let packed = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), LEVEL);
            state.held = Held::Packed(packed.into_boxed_slice());
        }
    }

    /// Whether the text is packed (for tests and diagnostics).
    pub fn is_packed(&self) -> bool {
        matches!(self.lock().held, Held::Packed(_))
    }

    /// The text without marking it used (equality is not a use).
    fn peek(&self) -> Arc<str> {
        match &self.lock().held {
            Held::Text(text) => text.clone(),
            Held::Packed(bytes) => inflate(bytes),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is whole after any panic (each assignment is a single move).
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn inflate(bytes: &[u8]) -> Arc<str> {
    // The bytes are our own deflate of a `str`: failing here is a bug, not bad input.
    let raw = miniz_oxide::inflate::decompress_to_vec(bytes).expect("a packed body inflates");
    String::from_utf8(raw).expect("a packed body is the UTF-8 it was packed from").into()
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.peek() == other.peek()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        match &state.held {
            Held::Text(text) => write!(f, "Body({} bytes)", text.len()),
            Held::Packed(bytes) => write!(f, "Body(packed, {} bytes)", bytes.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Body;

    #[test]
    fn an_unused_body_is_packed_and_comes_back_the_same() {
        let text = "Hello, *wörld* 🦀\n".repeat(200);
        let body = Body::new(text.as_str());
        let shared = body.clone();
        body.text();
        body.pack_if_unused(); // used since the last look: kept as text
        assert!(!body.is_packed());
        body.pack_if_unused(); // not used since: packed, for every clone
        assert!(shared.is_packed());
        assert_eq!(body, Body::new(text.as_str())); // comparing does not unpack
        assert!(body.is_packed());
        assert_eq!(&*shared.text(), text);
        assert!(!body.is_packed());
    }

    #[test]
    fn an_empty_body_packs() {
        let body = Body::new("");
        body.pack_if_unused();
        assert!(body.is_packed());
        assert_eq!(&*body.text(), "");
    }
}
