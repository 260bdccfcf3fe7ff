//! The `herald` binary: parse the command line, set up logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = herald::cli::Cli::parse();
    init_logging();
    match herald::cmd::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", herald::report::describe_any(&err));
            ExitCode::FAILURE
        }
    }
}

/// Logs go to journald when systemd runs herald (`JOURNAL_STREAM` is set), else to stderr,
/// human-readable. `HERALD_LOG` filters them (default `info`).
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let journald = std::env::var_os("JOURNAL_STREAM").and_then(|_| tracing_journald::layer().ok());
    let registry = tracing_subscriber::registry().with(filter);
    match journald {
        Some(layer) => registry.with(layer).init(),
        None => {
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal();
            registry
                .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi))
                .init()
        }
    }
}
