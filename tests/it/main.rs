//! herald's integration tests: one test binary (every file under `tests/` that is its own
//! crate links the whole library again), one module per behaviour, and the support they
//! share in [`common`]: fixtures, the binary runner, the fake Mastodon server, the real PDS
//! and the history replay.

mod common;

mod announce_fit;
mod bad_input;
mod bluesky_announce;
mod bluesky_fake;
mod bluesky_pds;
mod cli_feeds;
mod conformance;
mod exactly_once;
mod layering;
mod mastodon_announce;
mod mastodon_fake;
mod preview;
mod render_markdown;
mod render_rst;
mod run_once;
mod service;
mod shared_account;
mod summaries_golden;
mod systemd_unit;
mod workflow;
