//! The command line: [`Cli`] and its subcommands (clap derive; the `///` comments are `--help`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::MaxItems;

/// herald: feeds and announcements for a newsletter archive.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, short, global = true, env = "HERALD_CONFIG", default_value = "config/herald.toml")]
    pub config: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the RSS, Atom (and JSON) feeds from the archive.
    Feeds(FeedsArgs),
}

/// Options of `herald feeds`.
#[derive(Debug, clap::Args)]
pub struct FeedsArgs {
    /// Read articles from this directory instead of `[archive] path`.
    #[arg(long)]
    pub archive: Option<PathBuf>,
    /// Write feeds below this directory instead of `[feeds] output`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Entries per feed: a number, or `all`.
    #[arg(long, value_name = "N|all")]
    pub max_items: Option<MaxItems>,
    /// Treat any article that cannot be read as a failure (and write nothing).
    #[arg(long)]
    pub strict: bool,
}
