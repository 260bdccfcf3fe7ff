//! What is refused in the file before it is read, and how TOML errors are said: never by
//! quoting the file (a secret written in it by mistake must not reach a terminal or the
//! journal), a secret-looking key by name with the key to use instead, and a key of an older
//! configuration with the line to write now.

use anyhow::bail;

/// A TOML error as `line N (table.key): message`, without the source line the toml crate
/// quotes (it may hold a secret): only the key, taken from before the `=`, is repeated.
pub(super) fn toml_error(text: &str, e: &toml::de::Error) -> anyhow::Error {
    let message = e.message().trim_end_matches('\n');
    let Some(span) = e.span() else { return anyhow::anyhow!("{message}") };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let table = text[..start]
        .lines()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            l.starts_with('[').then(|| l.trim_matches(['[', ']']).trim().to_string())
        })
        .unwrap_or_default();
    let key = line_text.split_once('=').map(|(k, _)| k.trim()).filter(|k| {
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c))
    });
    match key {
        Some(key) if table.is_empty() => anyhow::anyhow!("line {line} ({key}): {message}"),
        Some(key) => anyhow::anyhow!("line {line} ({table}.{key}): {message}"),
        None => anyhow::anyhow!("line {line}: {message}"),
    }
}

/// Keys that would hold a secret in an account table, and what to write instead.
const SECRET_KEYS: [(&str, &str); 6] = [
    ("password", "password_file"),
    ("app_password", "password_file"),
    ("token", "token_file"),
    ("access_token", "token_file"),
    ("secret", "password_file or token_file"),
    ("client_secret", "token_file"),
];

/// Refuses a secret written in the file (`password = "…"` under `[[bluesky]]`), naming the
/// key and the fix, never the value.
pub(super) fn refuse_inline_secrets(table: &toml::Table) -> anyhow::Result<()> {
    for platform in ["bluesky", "mastodon", "dry_run"] {
        let Some(accounts) = table.get(platform).and_then(|v| v.as_array()) else { continue };
        for (i, account) in accounts.iter().enumerate() {
            let Some(account) = account.as_table() else { continue };
            for key in account.keys() {
                let lower = key.to_ascii_lowercase();
                if let Some((_, instead)) = SECRET_KEYS.iter().find(|(k, _)| *k == lower) {
                    let env = instead.split(' ').next().unwrap_or("").replace("_file", "_env");
                    bail!(
                        "{platform}[{i}].{key}: secrets are never written in the configuration \
                         (its value is not shown here); put it in a file readable only by herald \
                         and give `{instead} = \"/path\"` (a systemd credential: \
                         /run/credentials/herald.service/NAME), or `{env} = \"VARIABLE\"`"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Keys that took a number in a unit and now take a duration (`settle = "10m"`): the old
/// key, the new one, and the unit of the old number.
const RENAMED_KEYS: [(&str, &str, &str, &str); 6] = [
    ("daemon", "settle_secs", "settle", "s"),
    ("daemon", "max_age_days", "max_age", "d"),
    ("daemon", "debounce_ms", "debounce", "ms"),
    ("daemon", "max_hold_hours", "max_hold", "h"),
    ("announce", "placeholder_grace_secs", "placeholder_grace", "s"),
    ("announce", "request_timeout_secs", "request_timeout", "s"),
];

/// Refuses a key of an older configuration that now takes a duration, naming the line to
/// write instead (`daemon.settle_secs = 600` → `settle = "600s"`).
pub(super) fn refuse_renamed_keys(table: &toml::Table) -> anyhow::Result<()> {
    for (section, old, new, unit) in RENAMED_KEYS {
        let Some(value) = table.get(section).and_then(|t| t.get(old)) else { continue };
        let instead = match value.as_integer() {
            Some(n) => format!("{new} = \"{n}{unit}\""),
            None => format!("{new} = \"…{unit}\""),
        };
        bail!(
            "{section}.{old}: this key is now `{new}`, a duration such as \"90s\", \"10m\", \"12h\" or \"7d\"; write `{instead}`"
        );
    }
    Ok(())
}
