//! The link card's thumbnail: a configured image, re-encoded until it is at most 1,000,000
//! bytes, the `app.bsky.embed.external` `thumb` limit
//! (<https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/external.json>).

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::SystemTime;

use image::ImageFormat;
use image::codecs::jpeg::JpegEncoder;
use serde::Serialize;

/// The lexicon's `maxSize` for `embed.external.thumb`.
pub const MAX_THUMB_BYTES: usize = 1_000_000;

/// The largest card image herald reads: a designer's PNG is a few MB; anything larger is a
/// wrong path, refused before it is read (a config error, said by `check` and at start).
pub const MAX_CARD_IMAGE_BYTES: u64 = 32 * 1024 * 1024;

/// A thumbnail ready to upload. Stored without its bytes (only their size): a stored post's
/// thumbnail is prepared again from `source` when it is sent ([`Thumb::load`]).
#[derive(Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Thumb {
    /// Where it came from.
    pub source: PathBuf,
    /// `image/png` or `image/jpeg`.
    pub mime: String,
    /// Width and height in pixels.
    pub dimensions: (u32, u32),
    /// The bytes to upload.
    #[serde(
        rename = "size",
        serialize_with = "serialize_len",
        deserialize_with = "deserialize_none"
    )]
    pub bytes: Vec<u8>,
}

fn deserialize_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d)?;
    Ok(Vec::new())
}

impl Thumb {
    /// The bytes to upload: these, or (for a thumbnail read back from the outbox) the image
    /// prepared again from its source.
    pub fn load(&self) -> Result<Vec<u8>, ThumbError> {
        if self.bytes.is_empty() {
            Ok(prepare_thumbnail(&self.source)?.bytes)
        } else {
            Ok(self.bytes.clone())
        }
    }
}

fn serialize_len<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(bytes.len() as u64)
}

impl std::fmt::Debug for Thumb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumb")
            .field("source", &self.source)
            .field("mime", &self.mime)
            .field("dimensions", &self.dimensions)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// Why a thumbnail could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The file could not be read (missing, not a regular file, over the cap).
    #[error("card image {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: crate::bounded::BoundedError,
    },
    /// The file is not a PNG or JPEG image that decodes.
    #[error("card image {}: not a PNG or JPEG image ({source})", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: image::ImageError,
    },
}

/// The thumbnail of the image at `path` (see [`prepare_uncached`]), prepared once in this
/// process for each version of the file (its size and modification time): composing a post
/// and sending it read and re-encode the image once. A replaced image is prepared again.
pub fn prepare_thumbnail(path: &Path) -> Result<Thumb, ThumbError> {
    type Prepared = HashMap<PathBuf, ((u64, Option<SystemTime>), Thumb)>;
    static PREPARED: LazyLock<Mutex<Prepared>> = LazyLock::new(Default::default);
    let Ok(meta) = std::fs::metadata(path) else { return prepare_uncached(path) };
    let version = (meta.len(), meta.modified().ok());
    if let Some((seen, thumb)) = PREPARED.lock().unwrap_or_else(|p| p.into_inner()).get(path)
        && *seen == version
    {
        return Ok(thumb.clone());
    }
    let thumb = prepare_uncached(path)?;
    PREPARED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path.to_path_buf(), (version, thumb.clone()));
    Ok(thumb)
}

/// Reads a PNG or JPEG image; one within the limit is used as it is, a larger one is
/// re-encoded as JPEG at falling quality and then at falling size until it fits.
pub fn prepare_uncached(path: &Path) -> Result<Thumb, ThumbError> {
    let bytes = crate::bounded::read(path, MAX_CARD_IMAGE_BYTES)
        .map_err(|source| ThumbError::Read { path: path.into(), source })?;
    let decode_err = |source| ThumbError::Decode { path: path.into(), source };
    let format = image::guess_format(&bytes).map_err(decode_err)?;
    let mime = match format {
        ImageFormat::Png => "image/png".to_string(),
        ImageFormat::Jpeg => "image/jpeg".to_string(),
        _ => {
            return Err(decode_err(image::ImageError::Unsupported(
                image::error::ImageFormatHint::Exact(format).into(),
            )));
        }
    };
    let img = image::load_from_memory_with_format(&bytes, format).map_err(decode_err)?;
    let dimensions = (img.width(), img.height());
    if bytes.len() <= MAX_THUMB_BYTES {
        return Ok(Thumb { source: path.into(), mime, dimensions, bytes });
    }
    let mut img = img.to_rgb8();
    loop {
        for quality in [85, 70, 55, 40] {
            let mut out = Vec::new();
            JpegEncoder::new_with_quality(Cursor::new(&mut out), quality)
                .encode_image(&img)
                .map_err(decode_err)?;
            if out.len() <= MAX_THUMB_BYTES {
                return Ok(Thumb {
                    source: path.into(),
                    mime: "image/jpeg".into(),
                    dimensions: img.dimensions(),
                    bytes: out,
                });
            }
        }
        let (w, h) = img.dimensions();
        img = image::imageops::resize(
            &img,
            (w * 3 / 4).max(1),
            (h * 3 / 4).max(1),
            image::imageops::FilterType::Triangle,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_image_is_reencoded_within_the_limit() {
        // Noise compresses badly: this PNG is far over 1 MB.
        let mut state = 12345u32;
        let img = image::RgbImage::from_fn(1400, 1000, |_, _| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let [a, b, c, _] = state.to_le_bytes();
            image::Rgb([a, b, c])
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        img.save(&path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > MAX_THUMB_BYTES as u64);
        let thumb = prepare_thumbnail(&path).unwrap();
        assert!(thumb.bytes.len() <= MAX_THUMB_BYTES);
        assert_eq!(thumb.mime, "image/jpeg");
        assert!(image::load_from_memory(&thumb.bytes).is_ok());
    }

    #[test]
    fn an_image_is_prepared_once_per_version_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.png");
        image::RgbImage::new(40, 20).save(&path).unwrap();
        let first = prepare_thumbnail(&path).unwrap();
        // The same size and time: not read again (the garbage is never decoded).
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, vec![0u8; first.bytes.len()]).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
        assert_eq!(prepare_thumbnail(&path).unwrap(), first);
        // A new version of the file is prepared again.
        let later = mtime + std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        assert!(matches!(prepare_thumbnail(&path), Err(ThumbError::Decode { .. })));
        image::RgbImage::new(30, 30).save(&path).unwrap();
        assert_eq!(prepare_thumbnail(&path).unwrap().dimensions, (30, 30));
    }

    #[test]
    fn a_small_image_is_used_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.png");
        image::RgbImage::new(40, 20).save(&path).unwrap();
        let thumb = prepare_thumbnail(&path).unwrap();
        assert_eq!(thumb.bytes, std::fs::read(&path).unwrap());
        assert_eq!((thumb.mime.as_str(), thumb.dimensions), ("image/png", (40, 20)));
        // Stored without bytes, loaded again from the source.
        let stored: Thumb = serde_json::from_str(&serde_json::to_string(&thumb).unwrap()).unwrap();
        assert!(stored.bytes.is_empty());
        assert_eq!(stored.load().unwrap(), thumb.bytes);
    }

    #[test]
    fn not_an_image_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        std::fs::write(&path, b"hello").unwrap();
        let err = prepare_thumbnail(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("card image {}: not a PNG or JPEG", path.display())),
            "{err}"
        );
    }
}
