//! `herald status`: every issue the state knows and what the service decided about it, as
//! text or JSON (the view is [`crate::daemon::status`]).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::StatusArgs;
use crate::daemon::status::{look, render_json, render_text};
use crate::state::Db;

/// Runs `herald status`, writing to `out`.
pub fn run(
    config_path: &Path,
    args: &StatusArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let config = crate::config::load(config_path)?;
    if !config.state_path.exists() {
        let note = format!("no state yet at {} (nothing announced)", config.state_path.display());
        if args.json {
            let empty = json!({
                "scans": { "last": null, "next": null },
                "archive_problems": [], "issues": [], "outbox": [], "note": note,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&empty)?)?;
        } else {
            writeln!(out, "{note}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let db = Db::open(&config.state_path)?;
    let view = look(&db, &config)?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&render_json(&view))?)?;
    } else {
        out.write_all(render_text(&view, args.all).as_bytes())?;
    }
    Ok(if view.troubled() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
