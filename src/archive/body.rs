//! An article's source text, as text or deflated.
//!
//! The service keeps every parsed article between scans ([`super::scan::ScanCache`]), but
//! after the first cycle it needs the Markdown of only a few: the issues waiting to be
//! announced and the articles entering a feed for the first time. So the cache keeps each
//! body deflated (TWiR's archive: 12 MB of text → 4.8 MB) and a body is inflated on each use.
//! It stays in memory rather than being read again from disk, so using it cannot fail or see
//! a file that changed after the scan.
//!
//! A `Body` is a plain value: which form it is held in is not part of it (two bodies with
//! the same text are equal), and nothing in it changes after it is made.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The text after an article's header. Clones share the bytes.
#[derive(Clone)]
pub struct Body(Held);

#[derive(Clone)]
enum Held {
    Text(Arc<str>),
    /// Raw deflate of the UTF-8 text.
    Packed(Arc<[u8]>),
    /// Not read: the article was read for its header only (see [`super::heads`]), and its
    /// file is read in full before the body is used.
    Unread,
}

/// Fast deflate: the text is packed once and inflated rarely, so speed matters more than the
/// last few percent (level 1 is 2.49× on TWiR, level 6 2.73× at twice the time).
const LEVEL: u8 = 1;

impl Body {
    /// A body held as text.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Body(Held::Text(text.into()))
    }

    /// A body not read yet: an article read for its header only.
    pub(crate) fn unread() -> Self {
        Body(Held::Unread)
    }

    /// Whether the body was read (an article read for its header only has none).
    pub fn is_read(&self) -> bool {
        !matches!(self.0, Held::Unread)
    }

    /// The text (inflated now if the body is packed).
    ///
    /// # Panics
    /// On a body not read: reading an article for its header only and then using its body is
    /// a bug (whoever reads headers only reads the bodies it needs in full first).
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Held::Text(text) => Cow::Borrowed(text),
            Held::Packed(bytes) => Cow::Owned(inflate(bytes)),
            Held::Unread => panic!("the body of an article read for its header only was used"),
        }
    }

    /// The same body, deflated (a packed body is returned as it is).
    pub fn packed(&self) -> Self {
        match &self.0 {
            Held::Text(text) => {
                let packed = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), LEVEL);
                Body(Held::Packed(packed.into()))
            }
            Held::Packed(_) | Held::Unread => self.clone(),
        }
    }

    /// Whether the body is held deflated.
    pub fn is_packed(&self) -> bool {
        matches!(self.0, Held::Packed(_))
    }
}

fn inflate(bytes: &[u8]) -> String {
    // The bytes are our own deflate of a `str`: failing here is a bug, not bad input.
    let raw = miniz_oxide::inflate::decompress_to_vec(bytes).expect("a packed body inflates");
    String::from_utf8(raw).expect("a packed body is the UTF-8 it was packed from")
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Held::Text(a), Held::Text(b)) => a == b,
            (Held::Packed(a), Held::Packed(b)) if Arc::ptr_eq(a, b) => true,
            (Held::Unread, Held::Unread) => true,
            (Held::Unread, _) | (_, Held::Unread) => false,
            _ => self.text() == other.text(),
        }
    }
}

impl Eq for Body {}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Held::Text(text) => write!(f, "Body({} bytes)", text.len()),
            Held::Packed(bytes) => write!(f, "Body(packed, {} bytes)", bytes.len()),
            Held::Unread => write!(f, "Body(not read)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Body;

    #[test]
    fn a_packed_body_is_the_same_value() {
        let text = "Hello, *wörld* 🦀\n".repeat(200);
        let body = Body::new(text.as_str());
        let packed = body.packed();
        assert!(packed.is_packed() && !body.is_packed());
        assert_eq!(packed, body);
        assert_eq!(packed.text(), text);
        assert!(packed.packed().is_packed());
        assert_ne!(Body::new("other").packed(), packed);
    }

    #[test]
    fn an_empty_body_packs() {
        let body = Body::new("").packed();
        assert!(body.is_packed());
        assert_eq!(body.text(), "");
    }
}
