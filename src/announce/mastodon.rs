//! Mastodon: posting statuses through the Mastodon client API.
