//! Secrets (app passwords, access tokens, session JWTs): read from a file or the environment,
//! never from the TOML, and never printed — their `Debug` and `Display` show `***`.

use std::fmt;
use std::path::Path;

/// The largest secret file herald reads: tokens and app passwords are tens of bytes; 64 KiB
/// leaves room for any credential and refuses a wrong path (a log, `/dev/zero`) at once.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// A secret string.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from a file (a systemd credential), trimming the trailing newline: a
    /// regular file of at most [`MAX_SECRET_BYTES`]. Errors name the file, never the content.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = crate::bounded::read_to_string(path, MAX_SECRET_BYTES)
            .map_err(|e| anyhow::anyhow!("reading secret file {e}"))?;
        let value = text.trim_end_matches(['\n', '\r']);
        anyhow::ensure!(!value.is_empty(), "secret file {} is empty", path.display());
        Ok(Self(value.to_string()))
    }

    /// Reads a secret from an environment variable. Errors name the variable.
    pub fn from_env(name: &str) -> anyhow::Result<Self> {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Self(v)),
            Ok(_) => anyhow::bail!("environment variable {name} is empty"),
            Err(_) => anyhow::bail!("environment variable {name} is not set"),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from. It is read when an account is used, not when the config is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file (for systemd's `LoadCredential=`: `/run/credentials/herald.service/NAME`).
    File(std::path::PathBuf),
    /// An environment variable.
    Env(String),
}

impl SecretSource {
    /// Reads the secret.
    pub fn read(&self) -> anyhow::Result<Secret> {
        match self {
            Self::File(path) => Secret::from_file(path),
            Self::Env(name) => Secret::from_env(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
    }

    #[test]
    fn file_errors_name_the_file_not_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(Secret::from_file(&path).unwrap().expose(), "abc");
        std::fs::write(&path, "\n").unwrap();
        assert!(Secret::from_file(&path).unwrap_err().to_string().contains("is empty"));
        let err = Secret::from_file(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        let err = Secret::from_file(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(err.contains("/dev/zero is not a regular file"), "{err}");
    }
}
