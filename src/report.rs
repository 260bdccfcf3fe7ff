//! Error chains as one line, each cause said once.
//!
//! Many errors repeat their cause in their own message (`state database x: file is not a
//! database`, then the cause `file is not a database`), and some causes repeat theirs
//! (rusqlite's `SqliteFailure` and the SQLite error inside it). `{:#}` prints every link of
//! the chain; [`describe`] leaves out a cause whose text was already said.

/// `err` and its causes, joined with `: `, each text once.
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        cause = e.source();
    }
    out
}

/// Who this process runs as, for "permission denied" messages: `name (uid N)`.
pub fn current_user() -> String {
    #[cfg(unix)]
    {
        // SAFETY: geteuid cannot fail; getpwuid returns a pointer into static storage or null,
        // read at once (this process does not call it from other threads meanwhile).
        unsafe {
            let uid = libc::geteuid();
            let pw = libc::getpwuid(uid);
            if !pw.is_null() && !(*pw).pw_name.is_null() {
                let name = std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned();
                return format!("{name} (uid {uid})");
            }
            format!("uid {uid}")
        }
    }
    #[cfg(not(unix))]
    {
        std::env::var("USERNAME").unwrap_or_else(|_| "this user".into())
    }
}

/// [`describe`] for an [`anyhow::Error`].
pub fn describe_any(err: &anyhow::Error) -> String {
    describe(err.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_repeated_by_its_parent_is_said_once() {
        let io = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "No such file or directory (os error 2)",
        );
        /// An error that repeats its cause in its own message, as many do.
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read the archive directory {path}: {source}")]
        struct ScanError {
            path: String,
            source: std::io::Error,
        }
        let scan = ScanError { path: "content".into(), source: io };
        let err = anyhow::Error::new(scan).context("reading the archive");
        assert_eq!(
            describe_any(&err),
            "reading the archive: cannot read the archive directory content: No such file or directory (os error 2)"
        );
        assert_eq!(
            format!("{err:#}").matches("No such file").count(),
            2,
            "what `{{:#}}` would have printed"
        );
    }
}
