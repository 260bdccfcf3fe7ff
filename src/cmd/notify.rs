//! `herald notify`: the channels and what waits to be sent to them; `--test` sends each a
//! test message.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;

use crate::cli::NotifyArgs;
use crate::notify::{Event, Message, Transport, sender};
use crate::state::Db;

/// Runs `herald notify`, writing to `out`.
pub fn run(
    config_path: &Path,
    args: &NotifyArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(config_path)?;
    if config.notify.is_empty() {
        writeln!(out, "no [[notify]] channel is configured")?;
        return Ok(if args.test { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    if args.test {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let mut failed = false;
        for channel in &config.notify {
            let message = Message {
                event: Event::Recovered,
                summary: format!("test message to {} from herald", channel.name),
                details: vec!["`herald notify --test` sent this; nothing is wrong".into()],
                issue: None,
                action: None,
                at: Utc::now(),
            };
            match runtime.block_on(channel.send(0, &message, sender::SEND_TIMEOUT)) {
                Ok(()) => writeln!(out, "{}: sent", channel.name)?,
                Err(e) => {
                    failed = true;
                    writeln!(
                        out,
                        "{}: NOT SENT: {}",
                        channel.name,
                        crate::report::describe_any(&e)
                    )?;
                }
            }
        }
        return Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let db = config.state_path.exists().then(|| Db::open(&config.state_path)).transpose()?;
    let failing = match &db {
        Some(db) => db.failing_channels(1)?,
        None => Vec::new(),
    };
    for channel in &config.notify {
        let to = match &channel.transport {
            Transport::Webhook(w) => format!("webhook {}", w.shown()),
            Transport::Email(e) => {
                format!("email to {} via {}:{}", e.to.join(", "), e.host, e.port)
            }
        };
        let events: Vec<&str> = channel.events.iter().map(|e| e.name()).collect();
        writeln!(out, "{}: {to}; events: {}", channel.name, events.join(", "))?;
        if let Some(f) = failing.iter().find(|f| f.channel == channel.name) {
            writeln!(
                out,
                "    FAILING: {} notices unsent after {} attempts; last: {}",
                f.unsent, f.attempts, f.last_error
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
