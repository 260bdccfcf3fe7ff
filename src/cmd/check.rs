//! `herald check`: is this installation ready, and will it still work later? The
//! configuration, every account's secret (present, readable, not readable by others — never
//! printed), the state database (opens, read-only, with a schema this herald knows), the card
//! image (loads and fits), the state and feed directories, and the archive, with every
//! malformed article and every duplicate named. `--online` also logs in to every account and
//! reads each Mastodon instance. Exit 1 when anything is wrong; warnings do not fail.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::announce::Account;
use crate::archive;
use crate::cli::CheckArgs;
use crate::daemon::Settings;
use crate::notify::webhook::is_web_url;
use crate::secret::SecretSource;

/// Runs `herald check`, writing to `out`.
pub fn run(config_path: &Path, args: &CheckArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = match crate::config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            writeln!(out, "problem: {}", crate::report::describe_any(&e))?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut problems = 0;
    let mut report = |ok: bool, what: String, out: &mut dyn Write| -> std::io::Result<()> {
        if !ok {
            problems += 1;
        }
        writeln!(out, "{} {what}", if ok { "ok:     " } else { "problem:" })
    };
    report(true, format!("config {}", config_path.display()), out)?;

    for account in &config.accounts {
        let (name, source) = match account {
            Account::Bluesky { name, password, .. } => (name, Some(password)),
            Account::Mastodon { name, token, .. } => (name, Some(token)),
            Account::DryRun { name, .. } => (name, None),
        };
        match source.map(|s| (s, s.read())) {
            None => report(true, format!("account {name}: dry run"), out)?,
            Some((source, Ok(_))) => {
                report(true, format!("account {name} ({}): secret readable", account.kind()), out)?;
                loose_secret(&format!("account {name}"), source, &mut report, out)?;
            }
            Some((source, Err(e))) => {
                report(false, unreadable(&format!("account {name}"), source, &e, config_path), out)?
            }
        }
    }

    // The notification channels' secrets (nothing is sent: `herald notify --test` does).
    for channel in &config.notify {
        for (what, source) in channel.secrets() {
            let who = format!("notify {}", channel.name);
            match source.read() {
                Ok(secret) if what == "url" && !is_web_url(secret.expose()) => {
                    report(false, format!("{who}: url_file does not hold an http(s) URL"), out)?;
                    loose_secret(&who, source, &mut report, out)?;
                }
                Ok(_) => {
                    report(true, format!("{who}: {what} readable"), out)?;
                    loose_secret(&who, source, &mut report, out)?;
                }
                Err(e) => report(
                    false,
                    unreadable(&format!("{who}: {what}"), source, &e, config_path),
                    out,
                )?,
            }
        }
    }

    // The state database: opens read-only, with a schema this herald knows.
    if config.state_path.exists() {
        match crate::state::Db::open_read_only(&config.state_path) {
            Ok(version) => report(
                true,
                format!("state {} (schema {version})", config.state_path.display()),
                out,
            )?,
            Err(e) => report(false, crate::report::describe(&e), out)?,
        }
    } else {
        report(
            true,
            format!(
                "state {}: none yet (the first run records a baseline)",
                config.state_path.display()
            ),
            out,
        )?;
    }

    // Outbox rows nobody delivers (their account is no longer configured) and rows set aside
    // as ambiguous: the operator settles them (`status` says how).
    if config.state_path.exists()
        && let Ok(Some(db)) = crate::state::Db::reader(&config.state_path)
    {
        let names: Vec<String> = config.accounts.iter().map(|a| a.name().to_string()).collect();
        for row in db.undeliverable(&names).unwrap_or_default() {
            report(
                false,
                format!(
                    "outbox: {} for account {:?}, which is no longer configured, is delivered by nobody; if the account was renamed, the service moves it to the new name once it has checked it is the same account; `herald status` says what else to do",
                    row.issue_key, row.account
                ),
                out,
            )?;
        }
        for row in db.rows().unwrap_or_default().iter().filter(|r| r.ambiguous.is_some()) {
            report(
                false,
                format!(
                    "outbox: {} on account {:?} waits for you: {}; `herald status` says how to settle it",
                    row.issue_key,
                    row.account,
                    row.ambiguous.as_deref().unwrap_or_default()
                ),
                out,
            )?;
        }
    }

    // The card image: every Bluesky post carries it, so it must load and fit.
    if let Some(path) = &config.announce.bluesky.card_image {
        match crate::announce::thumb::prepare_thumbnail(path) {
            Ok(t) => report(
                true,
                format!(
                    "card image {}: {}×{}, {} bytes as sent",
                    path.display(),
                    t.dimensions.0,
                    t.dimensions.1,
                    t.bytes.len()
                ),
                out,
            )?,
            Err(e) => report(false, crate::report::describe(&e), out)?,
        }
    }

    // Whether the service can write what it must: judged as this user, or, run as root
    // (which writes anywhere), for the service's user from owners and modes.
    let writer = Writer::here();
    if let Some(note) = writer.note() {
        writeln!(out, "note:    {note}")?;
    }
    let state_dir = config.state_path.parent().unwrap_or(Path::new("."));
    let mut places = vec![("state directory", state_dir, true)];
    if config.state_path.exists() {
        places.push(("state database", config.state_path.as_path(), false));
    }
    places.push(("feed output", config.feeds.files.output.as_path(), true));
    for (what, path, dir) in places {
        let ok = writer.can_write(path, dir);
        let how = match (ok, &writer) {
            (true, _) => format!(" is writable{}", writer.by()),
            (false, _) if !dir => format!(
                " is not writable{}: the service cannot record what it posts; give it to the \
                 service's user (`chown herald:herald {}`) or make it writable",
                writer.by(),
                path.display()
            ),
            (false, _) => format!(
                " is not writable{}: give it to the service's user (`chown herald:herald {}`)",
                writer.by(),
                path.display()
            ),
        };
        report(ok, format!("{what} {}{how}", path.display()), out)?;
    }

    match archive::scan(&config.archive_dir, &config.parse) {
        Ok(scan) => {
            for e in &scan.errors {
                report(false, e.to_string(), out)?;
            }
            for e in &scan.unpublished {
                writeln!(out, "note:    {e}")?;
            }
            let urls: Vec<String> = scan
                .articles
                .iter()
                .map(|a| crate::feeds::Entry::new(a, &config.feeds).url)
                .collect();
            let duplicates = archive::duplicates::find_duplicates(
                scan.articles
                    .iter()
                    .zip(&urls)
                    .map(|(a, url)| (url.as_str(), a.number, a.source.as_path())),
            );
            for dup in &duplicates {
                report(false, dup.to_string(), out)?;
            }
            // The newest issue, as the service would judge it now: not a problem of the
            // installation, but what an editor wants to know before publishing.
            if let Some(newest) = scan.articles.iter().max_by_key(|a| a.date) {
                let highlights = crate::announce::highlights::extract_highlights(newest.body());
                let guard = crate::announce::inspect(newest, &highlights, &config.announce.guard);
                let name = newest.source.display();
                for f in &guard.findings {
                    let effect = match f.effect {
                        crate::announce::Effect::Hold => "held until fixed",
                        crate::announce::Effect::Delay => "delays the announcement",
                    };
                    writeln!(out, "note:    newest issue {name}: {f} ({effect})")?;
                }
            }
            let ok = !scan.articles.is_empty();
            report(
                ok,
                format!(
                    "archive {}: {} articles, {} malformed",
                    config.archive_dir.display(),
                    scan.articles.len(),
                    scan.errors.len()
                ),
                out,
            )?;
        }
        Err(e) => report(false, e.to_string(), out)?,
    }
    if args.online {
        for (ok, what) in online(&config) {
            report(ok, what, out)?;
        }
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `--online`: logs in to every account (a stored session made for it is reused) and reads
/// each Mastodon instance's limits. Nothing is posted.
fn online(config: &Settings) -> Vec<(bool, String)> {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return vec![(false, format!("online checks: {e}"))],
    };
    let db = match crate::state::Db::open(&config.state_path) {
        Ok(db) => std::sync::Arc::new(std::sync::Mutex::new(db)),
        Err(e) => return vec![(false, crate::report::describe(&e))],
    };
    let mut results = Vec::new();
    for account in &config.accounts {
        let name = account.name();
        let sender =
            match crate::announce::Outlet::new(account, &db, config.announce.request_timeout) {
                Ok(outlet) => outlet.sender,
                Err(e) => {
                    results.push((
                        false,
                        format!("account {name}: {}", crate::report::describe_any(&e)),
                    ));
                    continue;
                }
            };
        let result = runtime.block_on(async {
            use crate::announce::sender::Sender;
            match &sender {
                Sender::DryRun(_) => Ok("dry run, nothing to log in to".to_string()),
                Sender::Bluesky(client) => client
                    .check_session()
                    .await
                    .map(|(handle, did)| format!("logged in as {handle} ({did})")),
                Sender::Mastodon(client) => {
                    let id = client.verify().await?;
                    let limits = client.limits(config.announce.mastodon.limits).await;
                    Ok(format!(
                        "token accepted (account id {id}); statuses up to {} characters",
                        limits.max_graphemes
                    ))
                }
            }
        });
        results.push(match result {
            Ok(what) => (true, format!("account {name} online: {what}")),
            Err(e) => (false, format!("account {name} online: {e}")),
        });
    }
    results
}

/// The mode of a file readable by its group or others (a secret should be neither).
/// A secret file others can read: a problem when everyone can, a warning when its group can.
fn loose_secret(
    who: &str,
    source: &SecretSource,
    report: &mut impl FnMut(bool, String, &mut dyn Write) -> std::io::Result<()>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let SecretSource::File(path) = source else { return Ok(()) };
    let Some(mode) = loose_mode(path) else { return Ok(()) };
    let everyone = mode & 0o004 != 0;
    let what = format!(
        "{who}: secret file {} is readable by {} (mode {mode:o}); `chmod 600` it",
        path.display(),
        if everyone { "everyone" } else { "its group" }
    );
    if everyone { report(false, what, out) } else { writeln!(out, "warning: {what}") }
}

/// A secret that cannot be read, said with where a systemd credential exists.
fn unreadable(who: &str, source: &SecretSource, e: &anyhow::Error, config_path: &Path) -> String {
    let mut what = format!("{who}: {}", crate::report::describe_any(e));
    if let SecretSource::File(path) = source
        && path.starts_with("/run/credentials")
        && std::env::var_os("CREDENTIALS_DIRECTORY").is_none()
    {
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        what.push_str(&format!(
            ". That path exists only inside the running service (systemd's LoadCredential=); \
             check as the service does: `sudo systemd-run --pipe --wait --property=LoadCredential={file}:/etc/herald/credentials/{file} herald --config {} check`",
            config_path.display()
        ));
    }
    what
}

fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether herald can create files in `dir` (or create `dir`): tried with a probe file.
/// The user the packaged unit runs the service as (`User=herald`); `HERALD_SERVICE_USER`
/// names another (a unit of one's own).
const SERVICE_USER: &str = "herald";

/// Whose writes `check` judges.
enum Writer {
    /// This process's own (not root): tried for real.
    Me,
    /// Root, for the service user: judged from owners and modes.
    Service {
        /// Its name.
        name: String,
        /// Its uid and gid.
        uid: u32,
        gid: u32,
    },
    /// Root, and the service user does not exist here: root can write anything, so nothing is
    /// known of the service's view.
    RootOnly(String),
}

impl Writer {
    fn here() -> Self {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Self::Me;
        }
        let name = std::env::var("HERALD_SERVICE_USER").unwrap_or_else(|_| SERVICE_USER.into());
        match user_ids(&name) {
            // A service run as root writes what this process writes: tried for real.
            Some((0, _)) => Self::Me,
            Some((uid, gid)) => Self::Service { name, uid, gid },
            None => Self::RootOnly(name),
        }
    }

    fn note(&self) -> Option<String> {
        match self {
            Self::Me => None,
            Self::Service { name, uid, .. } => Some(format!(
                "run as root, which writes anywhere: what the service can write is judged for its user `{name}` (uid {uid}) from owners and modes; `sudo -u {name} herald check` checks as it"
            )),
            Self::RootOnly(name) => Some(format!(
                "run as root, which writes anywhere, and the service's user `{name}` does not exist here: what the service can write is not known; create the user (install the package), then `sudo -u {name} herald check`"
            )),
        }
    }

    fn by(&self) -> String {
        match self {
            Self::Me => String::new(),
            Self::Service { name, .. } => format!(" by {name}"),
            Self::RootOnly(_) => " by root".into(),
        }
    }

    /// Whether `path` can be written (a directory: a file can be made in it, or in its
    /// nearest existing ancestor, where the service creates what is missing).
    fn can_write(&self, path: &Path, dir: bool) -> bool {
        let existing = if dir {
            path.ancestors().find(|d| d.exists()).unwrap_or(Path::new("."))
        } else {
            path
        };
        match self {
            Self::Me | Self::RootOnly(_) if dir => {
                tempfile::Builder::new().prefix(".herald-check").tempfile_in(existing).is_ok()
            }
            Self::Me | Self::RootOnly(_) => {
                std::fs::OpenOptions::new().append(true).open(existing).is_ok()
            }
            Self::Service { uid, gid, .. } => {
                use std::os::unix::fs::MetadataExt;
                let Ok(meta) = std::fs::metadata(existing) else { return false };
                let mode = meta.mode();
                let bits = if dir { 0o3 } else { 0o2 }; // a directory needs write and search
                let allowed = if *uid == 0 {
                    return true;
                } else if meta.uid() == *uid {
                    (mode >> 6) & bits
                } else if meta.gid() == *gid {
                    (mode >> 3) & bits
                } else {
                    mode & bits
                };
                allowed == bits
            }
        }
    }
}

/// The uid and gid of the user `name`, from the system's user database.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives `pwd`'s use below.
    let rc = unsafe {
        libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result)
    };
    (rc == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}
