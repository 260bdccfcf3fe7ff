//! One module per subcommand; each takes the parsed arguments and returns the exit code.

pub mod feeds;
pub mod preview;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Feeds(args) => feeds::run(&cli.config, &args, &mut std::io::stdout().lock()),
        Command::Preview(args) => preview::run(&cli.config, &args, &mut std::io::stdout().lock()),
    }
}
