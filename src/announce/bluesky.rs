//! Bluesky: posting through the AT Protocol (`com.atproto.repo.createRecord`) with atrium.
