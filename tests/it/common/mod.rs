//! Helpers shared by the integration tests.

pub mod fake_mastodon;
pub mod logs;
pub mod mem_store;
pub mod pds;
pub mod replay;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the repository: the real archive, Pelican's golden output and tools.
pub fn shared() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(
        dir.join("golden").is_dir(),
        "{} is missing: the conformance tests need ../shared beside the repository",
        dir.display()
    );
    dir
}

/// The real TWiR archive.
pub fn twir_content() -> PathBuf {
    shared().join("twir/content")
}

/// The repository's sample archive.
pub fn fixture_archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twir")
}

/// Today's date where the test sites' issues are dated (TWiR's timezone, America/New_York):
/// an issue dated today is never in the future, also between midnight UTC and midnight there.
pub fn today() -> chrono::NaiveDate {
    herald::archive::zone::Zone::named("America/New_York")
        .unwrap()
        .local(chrono::Utc::now())
        .date_naive()
}

/// Copies the article files (not sub-directories) of `from` into `to`.
pub fn copy_articles(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Writes a config file in `dir` pointing at `archive` and `output`, with `extra` appended
/// to the `[feeds]` table.
pub fn write_config(dir: &Path, archive: &Path, output: &Path, extra_feeds: &str) -> PathBuf {
    let path = dir.join("herald.toml");
    let text = format!(
        "[archive]\npath = {:?}\n[feeds]\noutput = {:?}\n{extra_feeds}\n",
        archive.display().to_string(),
        output.display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The herald binary under test. `check` run as root judges what the service's user (herald)
/// can write; where the package was installed that user exists and cannot write the tests'
/// temporary directories, so the tests name root's view, which is the same on every machine.
/// A test of the service user's view names its own.
pub fn herald_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.env("HERALD_SERVICE_USER", "root");
    cmd
}

/// Runs the herald binary with `args`.
pub fn herald(args: &[&str]) -> Output {
    crate::common::herald_cmd()
        .args(args)
        .env_remove("HERALD_CONFIG")
        .output()
        .expect("running herald")
}

/// Runs `python3 ../shared/tools/feeddiff.py ARGS`, returning (success, stdout).
pub fn feeddiff(args: &[&Path]) -> (bool, String) {
    let out = Command::new("python3")
        .arg(shared().join("tools/feeddiff.py"))
        .args(args)
        .output()
        .expect("running python3 feeddiff.py");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The numbers of feeddiff's `SUMMARY key=value …` line.
pub fn summary_field(report: &str, key: &str) -> usize {
    let line = report.lines().rev().find(|l| l.starts_with("SUMMARY")).expect("SUMMARY line");
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

/// Runs the herald binary with `args` in `cwd` (the test's working directory when `None`), logs
/// off: (its exit code, stdout and stderr together).
pub fn herald_code(args: &[&str], cwd: Option<&Path>) -> (Option<i32>, String) {
    let (status, text) = run_in(args, cwd, Some("off"));
    (status.code(), text)
}

/// [`herald_code`], logs on: (success, stdout and stderr together).
pub fn herald_text(args: &[&str], cwd: Option<&Path>) -> (bool, String) {
    let (status, text) = run_in(args, cwd, None);
    (status.success(), text)
}

fn run_in(
    args: &[&str],
    cwd: Option<&Path>,
    log: Option<&str>,
) -> (std::process::ExitStatus, String) {
    let mut command = crate::common::herald_cmd();
    command.args(args).env_remove("HERALD_CONFIG");
    if let Some(level) = log {
        command.env("HERALD_LOG", level);
    }
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let out = command.output().expect("running herald");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status, text)
}

/// A site in `dir`: the fixture archive, feeds to `out/`, state in `state/`, and one Mastodon
/// account `toot` at `instance` whose token is in the file `token`. `daemon` is the body of
/// the `[daemon]` table; requests time out after `request_timeout_ms`. Returns the
/// configuration file.
pub fn mastodon_site(dir: &Path, instance: &str, daemon: &str, request_timeout_ms: u64) -> PathBuf {
    copy_articles(&fixture_archive(), &dir.join("content"));
    std::fs::write(dir.join("token"), "tok-5ecret\n").unwrap();
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
             [daemon]\n{daemon}\
             [announce]\nrequest_timeout = \"{request_timeout_ms}ms\"\n\
             [[mastodon]]\nname = \"toot\"\ninstance = {instance:?}\ntoken_file = \"token\"\n"
        ),
    )
    .unwrap();
    config
}
