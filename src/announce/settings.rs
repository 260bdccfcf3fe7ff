//! What the posts say and how they are fitted: the validated `[announce]` settings.

use super::Platform;
use super::compose::{DEFAULT_BLUESKY_TEMPLATE, DEFAULT_MASTODON_TEMPLATE, PlatformSettings};
use super::fit::Limits;
use super::guard::GuardSettings;
use super::mastodon::DEFAULT_TIMEOUT;
use crate::announce::highlights::HighlightKind;

/// Validated `[announce]` settings.
#[derive(Debug, Clone)]
pub struct AnnounceSettings {
    /// Highlight kinds in rank order.
    pub highlights: Vec<HighlightKind>,
    /// Items per list kind.
    pub items_per_kind: usize,
    /// The draft guard.
    pub guard: GuardSettings,
    /// Bluesky composition.
    pub bluesky: PlatformSettings,
    /// Mastodon composition (limits are the fallback when the instance does not say).
    pub mastodon: PlatformSettings,
    /// How long one request to a platform may take.
    pub request_timeout: std::time::Duration,
}

impl Default for AnnounceSettings {
    /// TWiR's settings: the default templates, highlights and guard, English posts,
    /// Mastodon's default limits where an instance does not say its own.
    fn default() -> Self {
        let langs = vec!["en".to_string()];
        let guard = GuardSettings::default();
        Self {
            highlights: guard.highlights.clone(),
            items_per_kind: 2,
            guard,
            bluesky: PlatformSettings {
                platform: Platform::Bluesky,
                template: DEFAULT_BLUESKY_TEMPLATE.into(),
                limits: Limits::BLUESKY,
                langs: langs.clone(),
                card_image: None,
            },
            mastodon: PlatformSettings {
                platform: Platform::Mastodon,
                template: DEFAULT_MASTODON_TEMPLATE.into(),
                limits: Limits::mastodon(500, 23),
                langs,
                card_image: None,
            },
            request_timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl AnnounceSettings {
    /// The composition settings of `platform`.
    pub fn platform(&self, platform: Platform) -> &PlatformSettings {
        match platform {
            Platform::Bluesky => &self.bluesky,
            Platform::Mastodon => &self.mastodon,
        }
    }
}
