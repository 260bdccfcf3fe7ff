//! One module per subcommand; each takes the parsed arguments and returns the exit code.

pub mod announce;
pub mod assets;
pub mod check;
pub mod feeds;
pub mod notify;
pub mod preview;
pub mod run;
pub mod status;
pub mod systemd;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config_path();
    match cli.command {
        Command::Feeds(args) => feeds::run(&config, &args, &mut std::io::stdout().lock()),
        Command::Preview(args) => preview::run(&config, &args, &mut std::io::stdout().lock()),
        Command::Announce(args) => announce::run(&config, &args, &mut std::io::stdout().lock()),
        Command::Run(args) => run::run(&config, &args, &mut std::io::stdout().lock()),
        Command::Status(args) => status::run(&config, &args, &mut std::io::stdout().lock()),
        Command::Check(args) => check::run(&config, &args, &mut std::io::stdout().lock()),
        Command::Notify(args) => notify::run(&config, &args, &mut std::io::stdout().lock()),
        Command::SystemdDropin(args) => {
            systemd::run(&config, args.install, &mut std::io::stdout().lock())
        }
        Command::GenerateAssets { dir } => assets::run(&dir),
    }
}

/// The article `file` names, the one whose `Number:` is `number`, or the newest.
pub fn select_article(
    config: &crate::daemon::Settings,
    number: Option<u32>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<crate::archive::Article> {
    use crate::archive;
    if let Some(path) = file {
        // A file named is read as it is, a draft too: an editor previews it before publishing.
        let settings = archive::ParseSettings { drafts: true, ..config.parse.clone() };
        return Ok(archive::scan::read_article(path, &settings)?);
    }
    let scan = archive::scan(&config.archive_dir, &config.parse)?;
    let found = match number {
        Some(n) => {
            let mut matching: Vec<_> =
                scan.articles.into_iter().filter(|a| a.number == Some(n)).collect();
            if matching.len() > 1 {
                let files: Vec<String> =
                    matching.iter().map(|a| a.source.display().to_string()).collect();
                anyhow::bail!(
                    "`Number: {n}` is in more than one file: {}; fix the numbers (or use --file where the command has it)",
                    files.join(" and ")
                );
            }
            matching.pop()
        }
        None => scan.articles.into_iter().next(),
    };
    match (found, number) {
        (Some(a), _) => Ok(a),
        (None, Some(n)) => {
            anyhow::bail!("no issue with `Number: {n}` in {}", config.archive_dir.display())
        }
        (None, None) => {
            anyhow::bail!("no article could be read from {}", config.archive_dir.display())
        }
    }
}
