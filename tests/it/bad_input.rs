//! Bad article files: each is a clear error naming the file (and line where there is one),
//! never a panic, and never stops the other articles from being read.

use std::path::Path;

use herald::archive::{self, ParseSettings, parse_article};
use proptest::prelude::*;

fn scan_one(name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    std::fs::write(dir.path().join("2026-01-07-good.md"), "Title: Good\nDate: 2026-01-07\n\nok\n")
        .unwrap();
    let scan = archive::scan(dir.path(), &ParseSettings::default()).unwrap();
    assert_eq!(scan.articles.len(), 1, "the good article is still read");
    assert_eq!(scan.errors.len(), 1, "the bad one is reported");
    let msg = scan.errors[0].to_string();
    let shown = dir.path().join(name).display().to_string();
    assert!(msg.starts_with(&shown), "{msg} should name {shown}");
    msg[shown.len()..].to_string()
}

#[test]
fn no_header() {
    assert_eq!(
        scan_one("x.md", b"Just some text.\n\nMore.\n"),
        ": no `Title:` header (the header is the `Key: value` lines before the first blank line)"
    );
}

#[test]
fn no_date_anywhere() {
    assert!(scan_one("notes.md", b"Title: T\n\nbody\n").contains("no `Date:` header"));
}

#[test]
fn the_filename_supplies_a_missing_date() {
    let a =
        parse_article(Path::new("2020-11-04-x.md"), b"Title: T\n\nbody", &ParseSettings::default())
            .unwrap();
    assert_eq!(a.date.to_rfc3339(), "2020-11-04T00:00:00-05:00");
}

#[test]
fn bad_date_names_the_line() {
    assert_eq!(
        scan_one("x.md", b"Title: T\nNumber: 3\nDate: 2026-02-30\n\nbody\n"),
        ":3: `Date: 2026-02-30` is not a date: expected YYYY-MM-DD, optionally with HH:MM[:SS]"
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let msg = scan_one("x.md", b"Title: T\nDate: 2026-01-01\n\ncaf\xe9\n");
    assert_eq!(msg, ":4: not valid UTF-8 (byte offset 30)");
}

#[test]
fn empty_file() {
    assert_eq!(scan_one("x.md", b""), ": the file is empty");
    assert_eq!(scan_one("x.md", b"  \n\n\t\n"), ": the file is empty");
}

#[test]
fn huge_file() {
    let big = vec![b'a'; 10 * 1024 * 1024];
    let msg = scan_one("x.md", &big);
    assert_eq!(msg, ": the file is 10485760 bytes, over the 4194304-byte limit for an article");
}

#[test]
fn binary_file() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(
        scan_one("x.md", png),
        ":3: the file is binary (NUL byte at offset 8), not an article"
    );
}

#[test]
fn empty_title_and_empty_slug() {
    assert!(
        scan_one("x.md", b"Title:\nDate: 2026-01-01\n\nb")
            .ends_with("the `Title:` header is empty")
    );
    assert!(scan_one("x.md", b"Title: !!!\nDate: 2026-01-01\n\nb").contains("gives an empty slug"));
}

#[cfg(unix)]
#[test]
fn symlink_loop() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("loop.md", dir.path().join("loop.md")).unwrap();
    std::fs::write(dir.path().join("2026-01-07-good.md"), "Title: Good\nDate: 2026-01-07\n\nok\n")
        .unwrap();
    let scan = archive::scan(dir.path(), &ParseSettings::default()).unwrap();
    assert_eq!(scan.articles.len(), 1);
    let msg = scan.errors[0].to_string();
    assert!(msg.contains("loop.md: cannot read:"), "{msg}");
}

#[test]
fn directories_and_editor_files_are_not_articles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("folder.md")).unwrap();
    for name in [".#x.md", "x.md~", ".x.md.swp", "notes.txt", "image.png"] {
        std::fs::write(dir.path().join(name), "junk").unwrap();
    }
    std::fs::write(dir.path().join("2026-01-07-good.md"), "Title: Good\nDate: 2026-01-07\n\nok\n")
        .unwrap();
    let scan = archive::scan(dir.path(), &ParseSettings::default()).unwrap();
    assert_eq!((scan.articles.len(), scan.errors.len()), (1, 0));
}

#[test]
fn missing_archive_directory_is_an_error_naming_it() {
    let err =
        archive::scan(Path::new("/nonexistent/herald"), &ParseSettings::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/herald"), "{err}");
}

proptest! {
    #[test]
    fn header_parser_never_panics(text in "(?s)[a-zA-Z:\\- \t\n.]{0,200}|\\PC{0,200}") {
        let h = archive::header::split_header(&text);
        prop_assert!(h.body.len() <= text.len());
        prop_assert!(text.ends_with(h.body));
    }

    #[test]
    fn article_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_article(Path::new("x.md"), &bytes, &ParseSettings::default());
    }

    #[test]
    fn header_like_input_never_panics(
        lines in proptest::collection::vec("(Title|Date|Slug|Category|Tags|Summary|Number)?:? ?\\PC{0,30}", 0..8),
    ) {
        let text = lines.join("\n");
        let _ = parse_article(Path::new("2026-01-01-x.md"), text.as_bytes(), &ParseSettings::default());
    }
}

mod check {
    //! Issue #13: `herald check` catches what would break later, and fails on it.

    use std::path::{Path, PathBuf};

    fn site(dir: &Path, extra: &str) -> PathBuf {
        let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twir");
        let config = dir.join("herald.toml");
        std::fs::write(
            &config,
            format!(
                "[archive]\npath = {archive:?}\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n{extra}"
            ),
        )
        .unwrap();
        config
    }

    fn check(config: &Path, args: &[&str]) -> (bool, String) {
        let config = config.to_str().unwrap();
        let all: Vec<&str> =
            ["-c", config, "check"].into_iter().chain(args.iter().copied()).collect();
        crate::common::herald_text(&all, None)
    }

    #[test]
    fn a_good_site_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = check(&site(dir.path(), ""), &[]);
        assert!(ok, "{text}");
        assert!(text.contains("none yet (the first run records a baseline)"), "{text}");
    }

    #[test]
    fn a_missing_card_image_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = check(&site(dir.path(), "[announce]\ncard_image = \"card.png\"\n"), &[]);
        assert!(!ok && text.contains("card image") && text.contains("card.png"), "{text}");
    }

    /// Files named in the config are read only if they are regular files under a cap. Before:
    /// `card_image = "/dev/zero"` and `password_file = "/dev/zero"` were read whole (`check`
    /// reached 5.3 GB), and the issue was marked failed as if the issue were at fault.
    #[test]
    fn a_device_or_huge_file_named_in_the_config_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = check(&site(dir.path(), "[announce]\ncard_image = \"/dev/zero\"\n"), &[]);
        assert!(!ok, "{text}");
        assert!(text.contains("announce.card_image: /dev/zero is not a regular file"), "{text}");
        let huge = dir.path().join("huge.png");
        std::fs::File::create(&huge).unwrap().set_len(300 * 1024 * 1024).unwrap();
        let (ok, text) = check(&site(dir.path(), "[announce]\ncard_image = \"huge.png\"\n"), &[]);
        assert!(!ok && text.contains("use a smaller image"), "{text}");
        let accounts = "[[bluesky]]\nname = \"sky\"\nservice = \"https://pds.example\"\n\
                        identifier = \"twir.example\"\npassword_file = \"/dev/zero\"\n";
        let (ok, text) = check(&site(dir.path(), accounts), &[]);
        assert!(!ok && text.contains("/dev/zero is not a regular file"), "{text}");
    }

    /// The state the service cannot write is found by `check`, also when it runs as root
    /// (which writes anywhere): judged for the service's user. Before: "ok" for a state
    /// database read-only to the service, which then failed with a raw SQLite error.
    #[test]
    fn a_state_the_service_user_cannot_write_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let config = site(dir.path(), "");
        let (ok, _) = check(&config, &[]);
        assert!(ok);
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        drop(rusqlite::Connection::open(dir.path().join("state/herald.db")).unwrap());
        use std::os::unix::fs::PermissionsExt;
        let db = dir.path().join("state/herald.db");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        let out = crate::common::herald_cmd()
            .args(["-c", config.to_str().unwrap(), "check"])
            // As root: judged for a user that exists everywhere and owns nothing here.
            .env("HERALD_SERVICE_USER", "nobody")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("state database") && text.contains("is not writable"), "{text}");
        assert!(text.contains("the service cannot record what it posts"), "{text}");
        if root {
            assert!(text.contains("run as root, which writes anywhere"), "{text}");
            assert!(text.contains("is not writable by nobody"), "{text}");
        }
    }

    /// `run` on a state database it cannot write says so, and what to do, instead of SQLite's
    /// "attempt to write a readonly database: Error code 8". As root, run as `nobody`.
    #[test]
    fn run_on_a_state_it_cannot_write_says_whose_it_is() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let config = site(dir.path(), "");
        let herald = |args: &[&str]| {
            let mut cmd = crate::common::herald_cmd();
            cmd.args(["-c", config.to_str().unwrap()]).args(args);
            if unsafe { libc::geteuid() } == 0 {
                cmd.uid(65534).gid(65534);
            }
            cmd.output().unwrap()
        };
        // A state made by someone else, readable by all, writable by its owner alone.
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        drop(rusqlite::Connection::open(dir.path().join("state/herald.db")).unwrap());
        for (path, mode) in [("", 0o755), ("state", 0o777), ("state/herald.db", 0o644)] {
            let perms = std::fs::Permissions::from_mode(mode);
            std::fs::set_permissions(dir.path().join(path), perms).unwrap();
        }
        if unsafe { libc::geteuid() } != 0 {
            let perms = std::fs::Permissions::from_mode(0o444);
            std::fs::set_permissions(dir.path().join("state/herald.db"), perms).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        std::fs::set_permissions(dir.path().join("out"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        let out = herald(&["run", "--once"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("herald.db: not writable by"), "{err}");
        assert!(err.contains("chown"), "{err}");
        assert!(!err.contains("Error code"), "{err}");
        assert_eq!(err.matches("not writable").count(), 1, "said once: {err}");
    }

    #[test]
    fn a_corrupt_or_newer_state_database_fails() {
        let dir = tempfile::tempdir().unwrap();
        let config = site(dir.path(), "");
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        std::fs::write(dir.path().join("state/herald.db"), vec![7u8; 8192]).unwrap();
        let (ok, text) = check(&config, &[]);
        assert!(!ok && text.contains("state database"), "{text}");
        assert_eq!(text.matches("file is not a database").count(), 1, "said once: {text}");

        std::fs::remove_file(dir.path().join("state/herald.db")).unwrap();
        let db = rusqlite::Connection::open(dir.path().join("state/herald.db")).unwrap();
        db.pragma_update(None, "user_version", 99).unwrap();
        drop(db);
        let (ok, text) = check(&config, &[]);
        assert!(!ok && text.contains("newer than this herald knows"), "{text}");
    }

    #[test]
    fn a_secret_file_readable_by_everyone_fails() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok\n").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = site(
            dir.path(),
            "[[mastodon]]\ninstance = \"https://m.example\"\ntoken_file = \"token\"\n",
        );
        let (ok, text) = check(&config, &[]);
        assert!(
            !ok && text.contains("readable by everyone") && text.contains("chmod 600"),
            "{text}"
        );
        assert!(!text.contains("tok\n"), "{text}");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (ok, text) = check(&config, &[]);
        assert!(ok, "{text}");
    }

    #[test]
    fn a_credential_path_outside_the_service_says_how_to_check_as_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let config = site(
            dir.path(),
            "[[bluesky]]\nidentifier = \"a.test\"\npassword_file = \"/run/credentials/herald.service/bluesky-password\"\n",
        );
        let (ok, text) = check(&config, &[]);
        assert!(!ok && text.contains("exists only inside the running service"), "{text}");
        assert!(
            text.contains("systemd-run --pipe --wait --property=LoadCredential=bluesky-password:"),
            "{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn online_catches_a_wrong_token() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/accounts/verify_credentials"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(serde_json::json!({"error": "The access token is invalid"})),
            )
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "wrong-token\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = site(
            dir.path(),
            &format!("[[mastodon]]\ninstance = {:?}\ntoken_file = \"token\"\n", server.uri()),
        );
        let offline = config.clone();
        let (ok, text) = tokio::task::spawn_blocking(move || check(&offline, &[])).await.unwrap();
        assert!(ok, "offline, a wrong token is not seen: {text}");
        let (ok, text) =
            tokio::task::spawn_blocking(move || check(&config, &["--online"])).await.unwrap();
        assert!(!ok && text.contains("The access token is invalid"), "{text}");
        assert!(!text.contains("wrong-token"), "{text}");
    }
}

mod messages {
    //! Issue #13: the message of each bad input an operator meets, said once, with what to
    //! do, and never a secret — pinned as one snapshot (temporary paths shown as `$DIR`).

    use std::path::Path;

    fn herald(dir: &Path, cwd: &Path, args: &[&str]) -> String {
        let (code, text) = crate::common::herald_code(args, Some(cwd));
        let text = text
            .replace(&dir.display().to_string(), "$DIR")
            .replace(env!("CARGO_MANIFEST_DIR"), "$REPO");
        format!("$ herald {} → exit {}\n{text}", args.join(" "), code.unwrap_or(-1))
    }

    #[test]
    fn every_bad_input_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twir");
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        let mut all = Vec::new();

        // Run from a directory without --config.
        all.push(herald(dir, dir, &["status"]));
        // A secret written in the file.
        write(
            "secret.toml",
            "[[bluesky]]\nidentifier = \"twir.bsky.social\"\npassword = \"hunter2-app-password\"\n",
        );
        all.push(herald(dir, dir, &["-c", "secret.toml", "check"]));
        // A typo in a key, its value never shown.
        write(
            "typo.toml",
            "[[mastodon]]\ninstance = \"https://m.example\"\ntoken_file = \"t\"\nvisibilty = \"s3cret\"\n",
        );
        all.push(herald(dir, dir, &["-c", "typo.toml", "check"]));
        // The archive missing.
        write("noarchive.toml", "[archive]\npath = \"missing\"\n[state]\npath = \"state/h.db\"\n");
        all.push(herald(dir, dir, &["-c", "noarchive.toml", "feeds"]));
        // A state file that is not a database, and one from a newer herald.
        write(
            "state.toml",
            &format!(
                "[archive]\npath = {archive:?}\n[feeds]\noutput = \"out\"\n[state]\npath = \"bad.db\"\n"
            ),
        );
        write("bad.db", &"x".repeat(4096));
        all.push(herald(dir, dir, &["-c", "state.toml", "status"]));
        std::fs::remove_file(dir.join("bad.db")).unwrap();
        let db = rusqlite::Connection::open(dir.join("bad.db")).unwrap();
        db.pragma_update(None, "user_version", 42).unwrap();
        drop(db);
        all.push(herald(dir, dir, &["-c", "state.toml", "status"]));
        // A credential path outside the running service.
        write(
            "cred.toml",
            &format!(
                "[archive]\npath = {archive:?}\n[feeds]\noutput = \"out\"\n[state]\npath = \"s/h.db\"\n\
                 [[mastodon]]\ninstance = \"https://m.example\"\ntoken_file = \"/run/credentials/herald.service/mastodon-token\"\n"
            ),
        );
        all.push(herald(dir, dir, &["-c", "cred.toml", "check"]));

        let text = all.join("\n");
        assert!(!text.contains("hunter2") && !text.contains("s3cret"), "{text}");
        assert!(!text.contains("(os error 2): No such file"), "a cause said twice: {text}");
        insta::assert_snapshot!("bad_input_messages", text);
    }
}
