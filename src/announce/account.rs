//! The accounts herald posts to, as the configuration names them.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::Platform;
use super::mastodon::Visibility;
use crate::secret::SecretSource;

/// A configured account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// A Bluesky account.
    Bluesky {
        /// Its name.
        name: String,
        /// PDS / entryway URL.
        service: String,
        /// Handle or DID.
        identifier: String,
        /// The app password's source.
        password: SecretSource,
    },
    /// A Mastodon account.
    Mastodon {
        /// Its name.
        name: String,
        /// Instance URL.
        instance: String,
        /// The token's source.
        token: SecretSource,
        /// Status visibility.
        visibility: Visibility,
    },
    /// A dry-run sink.
    DryRun {
        /// Its name.
        name: String,
        /// Which platform's post it takes.
        platform: Platform,
        /// JSON-lines file, or the log when `None`.
        path: Option<PathBuf>,
    },
}

impl Account {
    /// The account's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Bluesky { name, .. }
            | Self::Mastodon { name, .. }
            | Self::DryRun { name, .. } => name,
        }
    }

    /// The platform whose post it gets.
    pub fn platform(&self) -> Platform {
        match self {
            Self::Bluesky { .. } => Platform::Bluesky,
            Self::Mastodon { .. } => Platform::Mastodon,
            Self::DryRun { platform, .. } => *platform,
        }
    }

    /// The outbox's platform column: `bluesky`, `mastodon` or `dry_run`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bluesky { .. } => "bluesky",
            Self::Mastodon { .. } => "mastodon",
            Self::DryRun { .. } => "dry_run",
        }
    }

    /// A key for a new outbox row of this account: a Bluesky rkey must be a TID; anywhere
    /// else a random 128-bit hex string (the Mastodon Idempotency-Key, the dry run's key).
    pub fn new_key(&self, now: DateTime<Utc>) -> String {
        match self {
            Self::Bluesky { .. } => super::bluesky::new_tid(now),
            Self::Mastodon { .. } | Self::DryRun { .. } => {
                let bytes: [u8; 16] = rand::random();
                hex::encode(bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_per_account_kind() {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-08-19T12:00:00Z").unwrap().to_utc();
        let secret = SecretSource::Env("X".into());
        let sky = Account::Bluesky {
            name: "sky".into(),
            service: "https://pds.example".into(),
            identifier: "a.test".into(),
            password: secret.clone(),
        };
        let toot = Account::Mastodon {
            name: "toot".into(),
            instance: "https://m.example".into(),
            token: secret,
            visibility: Visibility::default(),
        };
        assert_eq!(sky.new_key(t0).len(), 13);
        let (a, b) = (toot.new_key(t0), toot.new_key(t0));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
