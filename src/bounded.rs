//! Reading a file named in the configuration, bounded: only a regular file (not a device such
//! as `/dev/zero`, a FIFO or a directory), and only up to a size cap, checked before and while
//! reading, so a wrong path can neither exhaust memory nor hang the process.

use std::io::Read;
use std::path::Path;

/// Why a bounded read failed. Its message names the file and the cap, never the content.
#[derive(Debug, thiserror::Error)]
pub enum BoundedError {
    /// Opening or reading failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file.
    #[error("{} is not a regular file (a device, a pipe or a directory); name a file", path.display())]
    NotAFile {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Larger than the cap.
    #[error("{} is larger than {} bytes, the most herald reads for it", path.display(), cap)]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// The cap.
        cap: u64,
    },
}

/// The bytes of the regular file at `path` (symbolic links followed), at most `cap` of them.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, BoundedError> {
    let io = |source| BoundedError::Io { path: path.into(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(BoundedError::NotAFile { path: path.into() });
    }
    if meta.len() > cap {
        return Err(BoundedError::TooLarge { path: path.into(), cap });
    }
    // The file may grow while it is read: never more than one byte past the cap.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(BoundedError::TooLarge { path: path.into(), cap });
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, cap: u64) -> Result<String, BoundedError> {
    let bytes = read(path, cap)?;
    String::from_utf8(bytes).map_err(|e| BoundedError::Io {
        path: path.into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_large_files_are_refused_before_they_are_read() {
        let err = read(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(matches!(err, BoundedError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("/dev/zero is not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        let err = read(&big, 1024).unwrap_err().to_string();
        assert!(err.contains("larger than 1024 bytes"), "{err}");
        assert_eq!(read(&big, 2048).unwrap().len(), 2048);
        assert!(matches!(read(dir.path(), 1024), Err(BoundedError::NotAFile { .. })));
    }
}
