//! `herald feeds` as an operator runs it: output lines, exit codes, bad articles, rewrites.

use std::fs;
use std::path::Path;

use crate::common::*;

const GOOD: &str =
    "Title: Issue 2\nNumber: 2\nDate: 2026-01-14\nCategory: This Week in Rust\n\nHello *world*.\n";

fn setup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let archive = dir.join("content");
    fs::create_dir_all(&archive).unwrap();
    fs::write(archive.join("2026-01-07-this-week-in-rust.md"), GOOD.replace("2", "1")).unwrap();
    fs::write(archive.join("2026-01-14-this-week-in-rust.md"), GOOD).unwrap();
    let out = dir.join("out");
    (write_config(dir, &archive, &out, ""), out)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn writes_then_leaves_unchanged_feeds_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let first = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert_eq!(text.lines().filter(|l| l.starts_with("written ")).count(), 7, "{text}");
    assert!(text.contains("2 articles (0 skipped), 7 feeds: 7 written, 0 unchanged"), "{text}");
    let mtime = fs::metadata(out.join("atom.xml")).unwrap().modified().unwrap();

    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    let text = stdout(&second);
    assert!(text.contains("7 feeds: 0 written, 7 unchanged"), "{text}");
    assert_eq!(fs::metadata(out.join("atom.xml")).unwrap().modified().unwrap(), mtime);
}

#[test]
fn a_malformed_article_is_reported_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let bad = tmp.path().join("content/2026-01-21-broken.md");
    fs::write(&bad, "Title: Broken\nDate: someday\n\nbody\n").unwrap();
    // Digits, but not ASCII ones, in the offset: once a panic of the whole run.
    let digits = tmp.path().join("content/2026-01-22-digits.md");
    fs::write(
        &digits,
        "Title: Digits\nDate: 2026-01-22 10:00 +\u{660}\u{665}\u{660}\u{660}\n\nbody\n",
    )
    .unwrap();
    let run = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    assert!(run.status.success());
    let err = stderr(&run);
    assert!(err.contains(&format!("{}:2: `Date: someday` is not a date", bad.display())), "{err}");
    assert!(err.contains(&format!("{}:2: `Date: 2026-01-22", digits.display())), "{err}");
    assert!(stdout(&run).contains("2 articles (2 skipped)"));
    let atom = fs::read_to_string(out.join("atom.xml")).unwrap();
    assert!(atom.contains("issue-2") && !atom.contains("Broken"));

    // --strict: a failure, and the feeds keep their last good state.
    fs::write(
        tmp.path().join("content/2026-01-28-this-week-in-rust.md"),
        GOOD.replace("Issue 2", "Issue 3").replace("01-14", "01-28"),
    )
    .unwrap();
    let strict = herald(&["-c", config.to_str().unwrap(), "feeds", "--strict"]);
    assert!(!strict.status.success());
    assert!(stderr(&strict).contains("2 article(s) could not be read (--strict)"));
    assert_eq!(fs::read_to_string(out.join("atom.xml")).unwrap(), atom);
}

#[test]
fn no_readable_article_is_a_failure_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    for entry in fs::read_dir(tmp.path().join("content")).unwrap() {
        fs::write(entry.unwrap().path(), "no header here").unwrap();
    }
    let run = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("no published article in"), "{}", stderr(&run));
    assert!(!out.exists());
    // Drafts only: read, and said to be drafts.
    for entry in fs::read_dir(tmp.path().join("content")).unwrap() {
        fs::write(entry.unwrap().path(), GOOD.replace("\n\n", "\nStatus: draft\n\n")).unwrap();
    }
    let run = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("(0 could not be read, 2 not published)"), "{}", stderr(&run));
    assert!(!out.exists());
}

#[test]
fn an_invalid_config_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("herald.toml");
    fs::write(&config, "[feeds]\nmax_itmes = 3\n").unwrap();
    let run = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(err.contains("max_itmes") && err.contains("herald.toml"), "{err}");
}

#[test]
fn options_override_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, _) = setup(tmp.path());
    let other = tmp.path().join("elsewhere");
    let run = herald(&[
        "-c",
        config.to_str().unwrap(),
        "feeds",
        "--output",
        other.to_str().unwrap(),
        "--max-items",
        "1",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let rss = fs::read_to_string(other.join("rss.xml")).unwrap();
    assert_eq!(rss.matches("<item>").count(), 1);
    assert!(rss.contains("Issue 2"));
    let bad = herald(&["-c", config.to_str().unwrap(), "feeds", "--max-items", "many"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn json_feed_when_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = setup(tmp.path());
    let config = write_config(tmp.path(), &tmp.path().join("content"), &out, "json_feed = true");
    let run = herald(&["-c", config.to_str().unwrap(), "feeds"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let feed: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("feed.json")).unwrap()).unwrap();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["feed_url"], "https://this-week-in-rust.org/feed.json");
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], "tag:this-week-in-rust.org,2026-01-14:/blog/2026/01/14/issue-2/");
    assert_eq!(items[0]["url"], "https://this-week-in-rust.org/blog/2026/01/14/issue-2/");
    assert_eq!(items[0]["date_published"], "2026-01-14T00:00:00-05:00");
}

#[test]
fn the_bundled_config_runs_on_the_sample_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml");
    let run = herald(&[
        "-c",
        config.to_str().unwrap(),
        "feeds",
        "--output",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.contains("7 articles (0 skipped), 11 feeds"), "{text}");
}

#[test]
fn check_reports_every_problem_and_never_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, _) = setup(tmp.path());
    let ok = herald(&["-c", config.to_str().unwrap(), "check"]);
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("archive"), "{}", stdout(&ok));

    std::fs::write(tmp.path().join("content/2026-02-01-bad.md"), "Title: Bad\nDate: never\n\nx")
        .unwrap();
    std::fs::write(tmp.path().join("token"), "s3cret-token-value\n").unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text}[[mastodon]]\ninstance = \"https://m.example\"\ntoken_file = {:?}\n[[bluesky]]\nidentifier = \"a.test\"\npassword_env = \"HERALD_CHECK_UNSET\"\n",
            tmp.path().join("token")
        ),
    )
    .unwrap();
    let bad = herald(&["-c", config.to_str().unwrap(), "check"]);
    let out = stdout(&bad);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(out.contains("2026-02-01-bad.md:2: `Date: never` is not a date"), "{out}");
    assert!(out.contains("account m.example (mastodon): secret readable"), "{out}");
    assert!(
        out.contains("account a.test: environment variable HERALD_CHECK_UNSET is not set"),
        "{out}"
    );
    assert!(!out.contains("s3cret-token-value"));
}

/// `herald feeds` reads only the bodies its feeds hold; on the real archive it writes, for
/// both feed lengths, exactly the bytes that reading every article in full gives.
#[test]
fn reading_headers_only_writes_what_reading_everything_writes() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/twir/content");
    let full = herald::archive::scan(&real, &herald::archive::ParseSettings::default()).unwrap();
    for max_items in ["4", "all"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let config = write_config(tmp.path(), &real, &out, "");
        let run = herald(&["-c", config.to_str().unwrap(), "feeds", "--max-items", max_items]);
        assert!(run.status.success(), "{}", stderr(&run));
        let mut settings = herald::feeds::FeedSettings::default();
        settings.files.max_items = max_items.parse().unwrap();
        let files = herald::feeds::render_feeds(&full.articles, &settings, &mut Default::default());
        assert!(files.len() > 5);
        for file in files {
            let written = fs::read(out.join(&file.path)).unwrap();
            assert!(written == file.bytes, "{max_items} items: {} differs", file.path);
        }
    }
}

/// `--strict` fails on any article that cannot be read, also one broken past its header and
/// in no feed (found by an outside tester: reading headers only had let it pass).
#[test]
fn strict_fails_on_an_article_broken_past_its_header_in_no_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let archive = tmp.path().join("content");
    let old = b"Title: Old\nDate: 2014-02-02\nCategory: This Week in Rust\n\nbad\0byte\n";
    fs::write(archive.join("2014-02-02-old.md"), old).unwrap();
    // One item per feed: the old article is in none.
    let args = ["-c", config.to_str().unwrap(), "feeds", "--max-items", "1"];
    let strict = herald(&[&args[..], &["--strict"]].concat());
    assert!(!strict.status.success(), "{}", stdout(&strict));
    assert!(stderr(&strict).contains("2014-02-02-old.md"), "{}", stderr(&strict));
    assert!(!out.join("atom.xml").exists(), "--strict wrote feeds");
    // Without --strict the feeds, which do not hold it, are written.
    let lenient = herald(&args);
    assert!(lenient.status.success(), "{}", stderr(&lenient));
    assert!(out.join("atom.xml").exists());
}

/// What `herald feeds` prints of its cache: (headers read, articles rendered).
fn cache_counts(run: &std::process::Output) -> (usize, usize) {
    let text = stdout(run);
    let line = text.lines().last().unwrap_or_default();
    let count = |what: &str| -> usize {
        let before = line.split(what).next().unwrap_or_default();
        before
            .rsplit(' ')
            .find(|w| !w.is_empty())
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX)
    };
    (count(" headers read"), count(" articles rendered"))
}

#[test]
fn a_run_takes_what_the_last_one_read_and_rendered_but_nothing_that_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let archive = tmp.path().join("content");
    fs::write(archive.join("2026-01-21-this-week-in-rust.md"), GOOD.replace("2", "3")).unwrap();
    // A file's stamp stands for what was read of it once it is older than a clock tick.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let config = config.to_str().unwrap();
    let feeds = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = walk(out)
            .into_iter()
            .map(|p| {
                let bytes = fs::read(&p).unwrap();
                (p.strip_prefix(out).unwrap().display().to_string(), bytes)
            })
            .collect();
        files.sort();
        files
    };
    // What a full read, with no cache, writes.
    let strict_out = tmp.path().join("strict");
    let strict =
        herald(&["-c", config, "feeds", "--strict", "--output", strict_out.to_str().unwrap()]);
    assert!(strict.status.success(), "{}", stderr(&strict));

    let first = herald(&["-c", config, "feeds"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(cache_counts(&first), (3, 3), "{}", stdout(&first));
    assert!(tmp.path().join("state/herald-cache.db").exists());
    let second = herald(&["-c", config, "feeds"]);
    assert_eq!(cache_counts(&second), (0, 0), "{}", stdout(&second));
    assert_eq!(feeds(&out), feeds(&strict_out));

    // A damaged cache is made anew; the run does not notice.
    fs::write(tmp.path().join("state/herald-cache.db"), "not a database".repeat(100)).unwrap();
    let damaged = herald(&["-c", config, "feeds"]);
    assert!(damaged.status.success(), "{}", stderr(&damaged));
    assert_eq!(cache_counts(&damaged), (3, 3), "{}", stdout(&damaged));
    assert_eq!(cache_counts(&herald(&["-c", config, "feeds"])), (0, 0));

    // An edit that keeps the size and puts the time back: read and rendered again.
    let file = archive.join("2026-01-14-this-week-in-rust.md");
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();
    fs::write(&file, GOOD.replace("world", "WORLD")).unwrap();
    fs::File::options().write(true).open(&file).unwrap().set_modified(mtime).unwrap();
    let edited = herald(&["-c", config, "feeds"]);
    assert_eq!(cache_counts(&edited), (1, 1), "{}", stdout(&edited));
    assert!(fs::read_to_string(out.join("atom.xml")).unwrap().contains("WORLD"));
    let strict =
        herald(&["-c", config, "feeds", "--strict", "--output", strict_out.to_str().unwrap()]);
    assert!(strict.status.success());
    assert_eq!(feeds(&out), feeds(&strict_out));

    // No cache where it cannot be made (the state's directory is a file): the same feeds.
    fs::remove_dir_all(tmp.path().join("state")).unwrap();
    fs::write(tmp.path().join("state"), "a file").unwrap();
    fs::remove_dir_all(&out).unwrap();
    let uncached = herald(&["-c", config, "feeds"]);
    assert!(uncached.status.success(), "{}", stderr(&uncached));
    assert_eq!(cache_counts(&uncached), (3, 3), "{}", stdout(&uncached));
    assert_eq!(feeds(&out), feeds(&strict_out));
}

/// The files below `dir`, recursively.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn a_feed_that_cannot_be_replaced_leaves_every_feed_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let config = config.to_str().unwrap();
    assert!(herald(&["-c", config, "feeds"]).status.success());
    let before = walk(&out).into_iter().map(|p| (fs::read(&p).unwrap(), p)).collect::<Vec<_>>();
    // A directory where the last feed goes; an edit that changes every feed.
    let last = out.join("feeds/all-en.atom.xml");
    fs::remove_file(&last).unwrap();
    fs::create_dir(&last).unwrap();
    let file = tmp.path().join("content/2026-01-14-this-week-in-rust.md");
    fs::write(&file, GOOD.replace("world", "everyone")).unwrap();
    let run = herald(&["-c", config, "feeds"]);
    assert!(!run.status.success());
    assert!(stderr(&run).contains("all-en.atom.xml"), "{}", stderr(&run));
    for (bytes, path) in before.iter().filter(|(_, p)| *p != last) {
        assert!(fs::read(path).unwrap() == *bytes, "{} was replaced", path.display());
    }
}

#[test]
fn directories_made_for_feeds_are_readable_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 077; exec \"$0\" -c {} feeds", config.display()))
        .arg(env!("CARGO_BIN_EXE_herald"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    for dir in ["", "categories", "categories/this-week-in-rust", "feeds"] {
        let mode = fs::metadata(out.join(dir)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "{dir}");
    }
    assert_eq!(fs::metadata(out.join("atom.xml")).unwrap().permissions().mode() & 0o777, 0o644);
}

/// An article marked `Status: draft` or `hidden` is left out of the feeds as Pelican leaves it
/// out: the feeds are those of the archive without it, from a full read (`--strict`, which it
/// does not fail), from headers only and from the cache; it is said once as a note, not
/// counted as skipped; and an editor can still preview it by naming its file.
#[test]
fn an_article_not_published_is_left_out_of_the_feeds_and_can_be_previewed() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, out) = setup(tmp.path());
    let feeds = |args: &[&str]| {
        let run = herald(&[&["-c", config.to_str().unwrap(), "feeds"][..], args].concat());
        assert!(run.status.success(), "{}", stderr(&run));
        let files: Vec<_> =
            walk(&out).into_iter().map(|p| (p.clone(), fs::read(p).unwrap())).collect();
        (run, files)
    };
    let (_, without) = feeds(&["--strict"]);
    let draft = tmp.path().join("content/2026-01-21-this-week-in-rust.md");
    let text = GOOD.replace("2", "3").replace("\n\n", "\nStatus: Draft\n\n");
    fs::write(&draft, &text).unwrap();
    for args in [&["--strict"][..], &[], &[]] {
        let (run, with) = feeds(args);
        assert!(with == without, "{args:?}: the feeds changed");
        assert!(stdout(&run).contains("2 articles (0 skipped)"), "{}", stdout(&run));
        let said = stderr(&run);
        assert!(
            said.contains("note: ")
                && said
                    .contains("2026-01-21-this-week-in-rust.md:5: `Status: draft`: not published"),
            "{said}"
        );
    }
    let preview =
        herald(&["-c", config.to_str().unwrap(), "preview", "--file", draft.to_str().unwrap()]);
    assert!(preview.status.success(), "{}", stderr(&preview));
    assert!(stdout(&preview).contains("Issue 3"), "{}", stdout(&preview));
    // Published, it is in the feeds.
    fs::write(&draft, text.replace("Status: Draft", "Status: published")).unwrap();
    let (run, with) = feeds(&[]);
    assert!(with != without && stdout(&run).contains("3 articles (0 skipped)"), "{}", stdout(&run));
}
