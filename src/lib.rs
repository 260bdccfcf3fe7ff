//! herald: feeds and announcements for a Pelican-style newsletter archive.
//!
//! The pipeline is **archive → render → feeds / announce → state**:
//! [`archive`] reads the article files and their Pelican headers, [`render`] turns Markdown (and
//! the odd reStructuredText file) into the HTML Pelican would publish, and [`feeds`] writes RSS,
//! Atom and JSON Feed files whose identity fields match Pelican's byte for byte.
#![deny(missing_docs)]

pub mod announce;
pub mod archive;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod daemon;
pub mod failpoint;
pub mod feeds;
pub mod parallel;
pub mod render;
pub mod report;
pub mod secret;
pub mod state;
