//! herald: feeds and announcements for a Pelican-style newsletter archive.
//!
//! The modules follow the pipeline, and each depends only on the ones below it
//! (`tests/it/layering.rs` checks this):
//!
//! ```text
//! main → cmd (cli) → config → daemon → feeds, announce → archive, state → render
//!                         leaf helpers: report, secret, bounded, failpoint, parallel
//! ```
//!
//! - [`cmd`] runs one subcommand ([`cli`] holds their clap definitions; nothing below knows
//!   clap). [`config`] reads `herald.toml` and assembles each module's own settings into
//!   [`daemon::Settings`].
//! - [`daemon`] is the service: one [`daemon::cycle`] scans, writes the feeds, decides with the
//!   [`daemon::schedule`] policy and delivers the outbox; [`daemon::service`] runs cycles as
//!   files change, on a schedule and when told ([`daemon::service::Control`]).
//! - [`feeds`] writes RSS, Atom and JSON Feed files whose identity fields match Pelican's byte
//!   for byte. [`announce`] prepares an issue once, composes and fits each platform's post,
//!   queues it in the outbox and delivers it exactly once through the platform clients.
//! - [`archive`] reads the article files and their Pelican headers; [`state`] is the SQLite
//!   state (issues, outbox, sessions, the run lock).
//! - [`render`] turns Markdown (and the odd reStructuredText file) into the HTML Pelican would
//!   publish, and makes Pelican's summaries.
#![deny(missing_docs)]

pub mod announce;
pub mod archive;
pub mod bounded;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod failpoint;
pub mod feeds;
pub mod notify;
pub mod parallel;
pub mod render;
pub mod report;
pub mod secret;
pub mod state;
