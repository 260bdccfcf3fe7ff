//! The configuration read and checked: defaults, every field's error, the bundled files.

use super::*;
use crate::announce::guard::EmptyCrate;
use crate::announce::highlights::HighlightKind;
use std::time::Duration;

#[test]
fn durations_are_read_with_their_unit_and_old_keys_name_the_new_line() {
    let c = parse(
        "[daemon]\nsettle = \"90s\"\nmax_age = \"2d\"\ndebounce = \"250ms\"\nmax_hold = \"3h\"\n\
         [announce]\nplaceholder_grace = \"20m\"\nrequest_timeout = \"5s\"\n",
        Path::new("."),
    )
    .unwrap();
    assert_eq!(c.policy.settle, Duration::from_secs(90));
    assert_eq!(c.policy.max_age, Duration::from_secs(2 * 86_400));
    assert_eq!(c.debounce, Duration::from_millis(250));
    assert_eq!(c.policy.max_hold, Duration::from_secs(3 * 3600));
    assert_eq!(c.announce.guard.grace, Duration::from_secs(20 * 60));
    assert_eq!(c.announce.request_timeout, Duration::from_secs(5));
    let err = parse("[daemon]\nsettle_secs = 600\n", Path::new(".")).unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "daemon.settle_secs: this key is now `settle`, a duration such as \"90s\", \"10m\", \"12h\" or \"7d\"; write `settle = \"600s\"`"
    );
    let err = parse("[announce]\nrequest_timeout_secs = 30\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").ends_with("write `request_timeout = \"30s\"`"), "{err:#}");
    let err = parse("[daemon]\nsettle = \"soon\"\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").starts_with("line 2 (daemon.settle):"), "{err:#}");
    let ok = parse("[announce]\nrequest_timeout = \"1500ms\"\n", Path::new(".")).unwrap();
    assert_eq!(ok.announce.request_timeout, std::time::Duration::from_millis(1500));
    let err = parse("[announce]\nrequest_timeout = \"50ms\"\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").contains("100ms to 10m"), "{err:#}");
}

#[test]
fn empty_file_gives_twir_defaults() {
    let c = parse("", Path::new("/etc/herald")).unwrap();
    assert_eq!(c.feeds.site_url, "https://this-week-in-rust.org");
    assert_eq!(c.feeds.files.max_items.limit(), Some(4));
    assert_eq!(c.parse.timezone.name(), "America/New_York");
    assert_eq!(c.archive_dir, Path::new("/etc/herald/content"));
}

#[test]
fn unknown_keys_are_named() {
    let err = parse("[feeds]\nmax_itemz = 3\n", Path::new(".")).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("max_itemz"), "{msg}");
    let err = parse("[sight]\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").contains("sight"));
}

#[test]
fn bad_values_name_their_field() {
    let err = parse("[site]\ntimezone = \"Mars/Olympus\"\n", Path::new(".")).unwrap_err();
    assert!(err.to_string().starts_with("site.timezone:"), "{err}");
    let err = parse("[feeds]\nmax_items = \"lots\"\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").contains("max_items"), "{err:#}");
    let err = parse("[feeds]\nall_rss = \"../x.xml\"\n", Path::new(".")).unwrap_err();
    assert!(err.to_string().starts_with("feeds.all_rss:"), "{err}");
}

#[test]
fn relative_paths_are_relative_to_the_config_file() {
    assert_eq!(resolve(Path::new("config"), Path::new("../public")), Path::new("public"));
    assert_eq!(resolve(Path::new("/etc/herald"), Path::new("/srv/www")), Path::new("/srv/www"));
    assert_eq!(resolve(Path::new(""), Path::new("../x")), Path::new("../x"));
    assert_eq!(resolve(Path::new("a"), Path::new("..")), Path::new("."));
}

#[test]
fn announce_settings_are_checked() {
    let err = parse("[announce]\nplaceholders = [\"(\"]\n", Path::new(".")).unwrap_err();
    assert!(err.to_string().starts_with("announce.placeholders[0]:"), "{err}");
    let err =
        parse("[announce.bluesky]\ntemplate = \"{{ issue.nope }}\"\n", Path::new(".")).unwrap_err();
    assert!(err.to_string().starts_with("announce.bluesky.template:"), "{err}");
    let err = parse("[announce]\nhighlights = [\"gossip\"]\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").contains("gossip"), "{err:#}");
    let c = parse(
        "[announce]\nhighlights = [\"merged_prs\"]\nempty_crate_of_the_week = \"hold\"\n",
        Path::new("."),
    )
    .unwrap();
    assert_eq!(c.announce.highlights, [HighlightKind::MergedPrs]);
    assert_eq!(c.announce.guard.empty_crate, EmptyCrate::Hold);
}

/// The commented file in config/ must say what the built-in defaults are.
#[test]
fn the_packaged_config_is_the_bundled_one_with_server_paths() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let bundled = std::fs::read_to_string(dir.join("herald.toml")).unwrap();
    let packaged = std::fs::read_to_string(dir.join("herald.etc.toml")).unwrap();
    let differing: Vec<(&str, &str)> =
        bundled.lines().zip(packaged.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(bundled.lines().count(), packaged.lines().count());
    let keys: Vec<&str> = differing
        .iter()
        .filter(|(a, _)| !a.starts_with('#'))
        .map(|(_, b)| b.split(" = ").next().unwrap())
        .collect();
    assert_eq!(keys, ["path", "output", "path"], "{differing:?}");
    let c = parse(&packaged, Path::new("/etc/herald")).unwrap();
    assert_eq!(c.archive_dir, Path::new("/var/lib/herald/site/content"));
    assert_eq!(c.state_path, Path::new("/var/lib/herald/herald.db"));
    assert_eq!(c.feeds.files.output, Path::new("/var/www/this-week-in-rust"));
}

#[test]
fn bundled_config_states_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml");
    let bundled = load(&path).unwrap();
    let defaults = parse("", Path::new("config")).unwrap();
    // Paths differ (the bundled config names the repository's); everything else must not.
    let mut feeds = bundled.feeds.clone();
    feeds.files.output = defaults.feeds.files.output.clone();
    assert_eq!(feeds, defaults.feeds);
    assert_eq!(bundled.parse.timezone, defaults.parse.timezone);
    assert_eq!(bundled.parse.default_category, defaults.parse.default_category);
    assert_eq!(bundled.feeds.summary, defaults.feeds.summary);
    let (b, d) = (&bundled.announce, &defaults.announce);
    assert_eq!(b.highlights, d.highlights);
    assert_eq!(b.items_per_kind, d.items_per_kind);
    assert_eq!(b.bluesky, d.bluesky);
    assert_eq!(b.mastodon, d.mastodon);
    let patterns = |g: &GuardSettings| {
        (
            g.placeholders
                .iter()
                .chain(&g.section_placeholders)
                .chain(&g.hold_anywhere)
                .map(|r| r.to_string())
                .collect::<Vec<_>>(),
            g.empty_crate,
            g.grace,
        )
    };
    assert_eq!(patterns(&b.guard), patterns(&d.guard));
    assert_eq!(bundled.policy, defaults.policy);
    assert_eq!(
        (&bundled.rescan, bundled.debounce, bundled.listen),
        (&defaults.rescan, defaults.debounce, defaults.listen)
    );
    // The repository's state/ directory (git-ignored contents).
    assert_eq!(bundled.state_path, Path::new(env!("CARGO_MANIFEST_DIR")).join("state/herald.db"));
}

#[test]
fn accounts_need_a_secret_source_and_distinct_names() {
    let c = parse("", Path::new("/srv")).unwrap();
    let names: Vec<_> = c.accounts.iter().map(Account::name).collect();
    assert_eq!(names, ["dry-run-bluesky", "dry-run-mastodon"]);
    assert_eq!(c.state_path, Path::new("/srv/state/herald.db"));

    let err = parse("[[bluesky]]\nidentifier = \"a.bsky.social\"\n", Path::new(".")).unwrap_err();
    assert!(err.to_string().starts_with("bluesky[0].password:"), "{err}");
    let err = parse("[[bluesky]]\nidentifier = \"a\"\npassword = \"hunter2\"\n", Path::new("."))
        .unwrap_err();
    // Issue #13: refused by name with the fix, the value never echoed.
    let text = format!("{err:#}");
    assert!(text.starts_with("bluesky[0].password: secrets are never written"), "{text}");
    assert!(text.contains("password_file") && text.contains("password_env"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    // Any other TOML error names the line, without quoting it.
    let err = parse(
        "[[mastodon]]\ninstance = \"https://m.example\"\ntoken_file = \"t\"\nvisibilty = \"s3cret-ish\"\n",
        Path::new("."),
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.starts_with("line 4 (mastodon.visibilty): unknown field `visibilty`"), "{text}");
    assert!(!text.contains("s3cret-ish"), "{text}");
    let err = parse("[daemon]\nsettle = = 3\n", Path::new(".")).unwrap_err();
    assert!(format!("{err:#}").starts_with("line 2 (daemon.settle):"), "{err:#}");
    let two = "[[mastodon]]\ninstance = \"https://m.example\"\ntoken_env = \"T\"\n";
    let err = parse(&format!("{two}{two}"), Path::new(".")).unwrap_err();
    assert!(err.to_string().contains("two accounts are named \"m.example\""), "{err}");
    let c = parse(
        &format!("{two}[[bluesky]]\nidentifier = \"a\"\npassword_file = \"pw\"\n"),
        Path::new("/etc/herald"),
    )
    .unwrap();
    assert_eq!(
        c.accounts[0],
        Account::Bluesky {
            name: "a".into(),
            service: "https://bsky.social".into(),
            identifier: "a".into(),
            password: SecretSource::File("/etc/herald/pw".into())
        }
    );
}

#[test]
fn max_items_all() {
    let c = parse("[feeds]\nmax_items = \"all\"\n", Path::new(".")).unwrap();
    assert_eq!(c.feeds.files.max_items.limit(), None);
}

#[test]
fn host_of_urls() {
    assert_eq!(host_of("https://this-week-in-rust.org"), Some("this-week-in-rust.org"));
    assert_eq!(host_of("http://a.b:8080/x"), Some("a.b"));
    assert_eq!(host_of("https://"), None);
}

#[test]
fn a_long_or_huge_placeholder_pattern_is_refused_by_name_without_being_echoed() {
    let long = format!("section_placeholders = ['{}']", "go(es)\\w ]*\\s+".repeat(60));
    let err = parse(&format!("[announce]\n{long}\n"), Path::new("/etc/herald")).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("announce.section_placeholders[0]: a pattern of"), "{text}");
    assert!(!text.contains("go(es)"), "the pattern is not echoed: {text}");
    let huge = "placeholders = ['(?:\\w{50}){50}']";
    let err = parse(&format!("[announce]\n{huge}\n"), Path::new("/etc/herald")).unwrap_err();
    assert!(err.to_string().starts_with("announce.placeholders[0]:"), "{err}");
}

#[test]
fn channels_and_hubs_with_credentials_in_their_url_are_refused_without_echoing_them() {
    let hub =
        parse("[feeds]\nwebsub_hubs = [\"https://u:hubPASS@hub.example/\"]\n", Path::new("."))
            .unwrap_err()
            .to_string();
    assert!(hub.contains("websub_hubs") && !hub.contains("hubPASS"), "{hub}");
    let hook = parse("[[notify]]\nurl = \"https://u:PWinURL@hooks.example/x\"\n", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        hook.contains("notify[0].url") && hook.contains("url_file") && !hook.contains("PWinURL"),
        "{hook}"
    );
    let smtp = parse(
        "[[notify]]\nsmtp_host = \"mail.example\"\ntls = \"none\"\nfrom = \"a@b.example\"\nto = [\"c@d.example\"]\n",
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(smtp.contains("notify[0].tls") && smtp.contains("loopback"), "{smtp}");
    let local = "[[notify]]\nsmtp_host = \"LOCALHOST\"\ntls = \"none\"\nfrom = \"a@b.example\"\nto = [\"c@d.example\"]\n";
    assert!(parse(local, Path::new(".")).is_ok());
    let events =
        parse("[[notify]]\nurl = \"https://h.example/\"\nevents = [\"helt\"]\n", Path::new("."))
            .unwrap_err()
            .to_string();
    assert!(events.contains("notify[0].events: \"helt\" is not an event"), "{events}");
}
