//! The command line: [`Cli`] and its subcommands (clap derive; the `///` comments are `--help`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::announce::Platform;
use crate::feeds::MaxItems;

/// herald: feeds and announcements for a newsletter archive.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about)]
pub struct Cli {
    /// The configuration file. Without it (or HERALD_CONFIG): `config/herald.toml` when the
    /// current directory has one (a checkout), else the installed `/etc/herald/herald.toml`.
    #[arg(long, short, global = true, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

use crate::config::{INSTALLED_CONFIG, LOCAL_CONFIG};

impl Cli {
    /// The configuration file to read: `--config` (or `HERALD_CONFIG`), else a checkout's
    /// `config/herald.toml` when there is one here, else the installed one; so a command
    /// pasted from README or from what herald prints works on the installed system from any
    /// directory.
    pub fn config_path(&self) -> PathBuf {
        if let Some(path) = &self.config {
            return path.clone();
        }
        let local = PathBuf::from(LOCAL_CONFIG);
        if local.is_file() { local } else { PathBuf::from(INSTALLED_CONFIG) }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the RSS, Atom (and JSON) feeds from the archive.
    Feeds(FeedsArgs),
    /// Show the post each platform would get for an issue, and whether it would be held.
    Preview(PreviewArgs),
    /// Announce one issue on every account (or one), exactly once.
    Announce(AnnounceArgs),
    /// The service: scan, write feeds, announce new issues when due, deliver the outbox.
    Run(RunArgs),
    /// Every known issue's announcement per account: posted, pending, held or failed.
    Status(StatusArgs),
    /// Check the installation: config, secrets, state, card image, directories, every article
    /// (exit 1 on problems).
    Check(CheckArgs),
    /// The notification channels (`[[notify]]`) and what waits to be sent to them;
    /// `--test` sends each a test message.
    Notify(NotifyArgs),
    /// Print the systemd drop-in that fits this configuration: a LoadCredential= for each
    /// secret file under /run/credentials/herald.service/, write access to the feed output,
    /// read access to the archive. `--install` writes it to
    /// /etc/systemd/system/herald.service.d/config.conf.
    SystemdDropin(DropinArgs),
    /// Write the man page and shell completions into a directory (for packaging).
    #[command(hide = true)]
    GenerateAssets {
        /// The directory to write into.
        dir: std::path::PathBuf,
    },
}

/// Options of `herald systemd-dropin`.
#[derive(Debug, clap::Args)]
pub struct DropinArgs {
    /// Write the drop-in to /etc/systemd/system/herald.service.d/config.conf (atomically)
    /// instead of printing it; only from the configuration the unit reads,
    /// /etc/herald/herald.toml. Then run `systemctl daemon-reload`.
    #[arg(long)]
    pub install: bool,
}

/// Options of `herald check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Also log in to every account (reusing a stored session that matches) and read each
    /// Mastodon instance's limits; nothing is posted.
    #[arg(long)]
    pub online: bool,
}

/// Options of `herald notify`.
#[derive(Debug, clap::Args)]
pub struct NotifyArgs {
    /// Send a test message to every channel now (nothing is recorded in the state).
    #[arg(long)]
    pub test: bool,
}

/// Options of `herald status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// List every baseline issue too (the text form shows the newest few).
    #[arg(long)]
    pub all: bool,
}

/// Options of `herald run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// One cycle (scan, feeds, due announcements), then exit: for cron or a systemd timer.
    #[arg(long)]
    pub once: bool,
    /// On the first start (empty state), announce the newest issue instead of only recording it.
    #[arg(long)]
    pub announce_latest: bool,
}

/// Options of `herald announce`.
#[derive(Debug, clap::Args)]
pub struct AnnounceArgs {
    /// The issue whose `Number:` header is N.
    #[arg(long, value_name = "N")]
    pub issue: u32,
    /// Only this account (its `name`).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Print what would be posted; post nothing and change no state.
    #[arg(long)]
    pub dry_run: bool,
    /// Post again even though the issue was announced (a new outbox row).
    #[arg(long)]
    pub force_new: bool,
    /// Post even if the draft guard holds the issue, or if a post on the account that herald
    /// cannot tell from its own was found (`status` says AMBIGUOUS).
    #[arg(long)]
    pub force: bool,
    /// The post `status` calls AMBIGUOUS is the announcement: record it (its id or link).
    #[arg(long, value_name = "ID_OR_LINK", requires = "account", conflicts_with_all = ["force", "force_new", "dry_run"])]
    pub adopt: Option<String>,
}

/// Options of `herald preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// The issue whose `Number:` header is N (default: the newest article).
    #[arg(long, value_name = "N", conflicts_with = "file")]
    pub issue: Option<u32>,
    /// An article file, in the archive or not (a draft). Repeat it to preview several files
    /// in one output (one comment for a pull request that changes several issues).
    #[arg(long, value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// Only this platform.
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,
    /// How to print it: `text` for a terminal, `json` (one document; an array of them for
    /// several files), or `markdown`, one document made for a pull request comment.
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text, conflicts_with = "json")]
    pub format: PreviewFormat,
    /// The same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

/// What `herald preview` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewFormat {
    /// For a terminal.
    Text,
    /// Structured, for programs.
    Json,
    /// GitHub-flavoured Markdown, for a pull request comment.
    Markdown,
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

/// A platform as the command line names it (`--platform bluesky`); the core's
/// [`Platform`] knows nothing of clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlatformArg {
    /// Bluesky.
    Bluesky,
    /// Mastodon.
    Mastodon,
}

impl From<PlatformArg> for Platform {
    fn from(arg: PlatformArg) -> Self {
        match arg {
            PlatformArg::Bluesky => Platform::Bluesky,
            PlatformArg::Mastodon => Platform::Mastodon,
        }
    }
}
