//! The status page as an editor sees it: the real service, with a Mastodon account (a fake
//! with a secret token) and a Bluesky dry-run sink, holding an announced, a held, a delayed
//! and a waiting issue; the page parsed by html5lib and rendered by headless Chromium, which
//! writes a screenshot to target/status-page/.

use super::*;

/// A PNG of `w`×`h` for the link card.
fn card_png(path: &Path, w: u32, h: u32) {
    let img =
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, 90, (y % 256) as u8]));
    img.save(path).unwrap();
}

/// An issue file `n` dated `date`, with `body` under the header.
fn publish(dir: &Path, n: u32, title: &str, date: chrono::NaiveDate, body: &str) {
    std::fs::write(
        dir.join(format!("content/{date}-issue-{n}.md")),
        format!("Title: {title}\nNumber: {n}\nDate: {date}\n\n{body}"),
    )
    .unwrap();
}

/// Chromium, as .ci/run installs it from Debian.
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("HERALD_CHROMIUM").map_or("/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's chromium (.ci/run does)",
        path.display()
    );
    path
}

fn run_chromium(args: &[&str], url: &str, profile: &Path) -> std::process::Output {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_every_kind_of_issue_to_a_browser_and_no_secret() {
    let fake = fake_mastodon::FakeMastodon::start(true).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_articles(&fixture_archive(), &dir.join("content"));
    const SECRET: &str = "page-test-token-5b1f9c0e7d";
    std::fs::write(dir.join("mastodon-token"), SECRET).unwrap();
    card_png(&dir.join("card.png"), 1200, 630);
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\npath = \"content\"\n[feeds]\noutput = \"out\"\n[state]\npath = \"state/herald.db\"\n\
             [daemon]\nsettle = \"1s\"\ndebounce = \"100ms\"\nlisten = \"127.0.0.1:0\"\n\
             [announce]\ncard_image = \"card.png\"\n\
             [[dry_run]]\nname = \"sky\"\nplatform = \"bluesky\"\npath = \"posts.jsonl\"\n\
             [[mastodon]]\nname = \"toot\"\ninstance = \"{}\"\ntoken_file = \"mastodon-token\"\n",
            fake.server.uri()
        ),
    )
    .unwrap();
    let log = dir.join("herald.log");
    let mut service = start_logging(&config, std::fs::File::create(&log).unwrap());
    let l = log.clone();
    let base = tokio::task::spawn_blocking(move || logged_health_address(&l)).await.unwrap();

    let day = today() - chrono::Days::new(1);
    let cotw = |link: &str| {
        format!(
            "## Crate of the Week\n\nThis week's crate is [ferris-says]({link}), a crate that talks.\n\n"
        )
    };
    publish(dir, 710, "This Week in Rust 710", day, &cotw("https://crates.io/crates/ferris-says"));
    publish(
        dir,
        711,
        "This Week in Rust 711 <script>alert(1)</script> & co",
        day,
        &cotw("INSERT_LINK_HERE"),
    );
    let footer = "[Discuss on r/rust](REDDIT_LINK_HERE)\n";
    publish(dir, 712, "This Week in Rust 712", day, &(cotw("https://crates.io/crates/x") + footer));
    publish(dir, 713, "This Week in Rust 713", day + chrono::Days::new(3), &cotw("https://x.org/"));

    // Each issue reaches its state: the page shows what the service decided.
    let wanted = [(710, "announced"), (711, "held"), (712, "delayed"), (713, "waiting")];
    let mut status = serde_json::Value::Null;
    for _ in 0..300 {
        let (_, _, body) = get(&format!("{base}/status.json")).await;
        status = serde_json::from_str(&body).unwrap();
        let state_of = |n: u32| {
            status["issues"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["number"] == n)
                .map(|i| i["state"].clone())
        };
        if wanted.iter().all(|(n, s)| state_of(*n).is_some_and(|v| v == *s)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (n, s) in wanted {
        let issue = status["issues"].as_array().unwrap().iter().find(|i| i["number"] == n);
        assert_eq!(issue.map(|i| i["state"].clone()), Some(s.into()), "#{n}: {status:#}");
    }

    let (code, kind, html) = get(&format!("{base}/")).await;
    assert_eq!((code, kind.as_str()), (200, "text/html; charset=utf-8"));
    let (_, _, json) = get(&format!("{base}/status.json")).await;
    let (code, kind, _) = get(&format!("{base}/card-image")).await;
    assert_eq!((code, kind.as_str()), (200, "image/png"));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/status-page");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("status.html"), &html).unwrap();

    // A valid HTML document: html5lib's strict parser stops at the first parse error.
    let check = Command::new("python3")
        .args(["-c", "import html5lib,sys; html5lib.HTMLParser(strict=True).parse(open(sys.argv[1],'rb').read()); print('valid')"])
        .arg(out.join("status.html"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "html5lib (pip install html5lib; .ci/run does): {}",
        String::from_utf8_lossy(&check.stderr)
    );

    // What a browser shows: the DOM after parsing, and a screenshot.
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{base}/");
    let dom =
        String::from_utf8(run_chromium(&["--dump-dom"], &url, profile.path()).stdout).unwrap();
    let shot = out.join("status-page.png");
    run_chromium(
        &["--window-size=1100,2600", &format!("--screenshot={}", shot.display())],
        &url,
        profile.path(),
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot: {} bytes", png.len());

    for (n, state) in wanted {
        assert!(
            dom.contains(&format!("<article class=\"issue {state}\" id=\"issue-{n}\">")),
            "#{n} {state}: {dom}"
        );
    }
    // The announced issue links to its post; the held one names its placeholder and line.
    let id = fake
        .state
        .lock()
        .unwrap()
        .statuses
        .iter()
        .find(|s| s.text.contains("710"))
        .map(|s| s.id.clone());
    let toot = format!("{}/@twir/{}", fake.server.uri(), id.expect("710 was posted to the fake"));
    assert!(dom.contains(&format!("href=\"{toot}\"")), "{dom}");
    assert!(
        dom.contains("<code>INSERT_LINK_HERE</code> in a highlight the post is made from"),
        "{dom}"
    );
    // The title's markup is dropped (as Pelican drops it) and its `&` escaped: the browser
    // made no element of it.
    assert!(dom.contains("This Week in Rust 711 alert(1) &amp; co</a>"), "{dom}");
    assert!(!dom.contains("<script"), "{dom}");
    // Each issue still to announce shows both posts, with the card's image on Bluesky's.
    for n in [711, 712, 713] {
        let card = dom
            .split(&format!("id=\"issue-{n}\""))
            .nth(1)
            .unwrap()
            .split("</article>")
            .next()
            .unwrap();
        assert!(
            card.contains("<figure class=\"post bluesky\">")
                && card.contains("<figure class=\"post mastodon\">"),
            "#{n}: {card}"
        );
        assert!(card.contains("<img src=\"card-image\""), "#{n}: {card}");
        assert!(card.contains("<meter"), "#{n}: {card}");
    }
    for text in [&html, &json, &dom] {
        assert!(!text.contains(SECRET), "the token is shown");
    }
    assert!(!std::fs::read_to_string(&log).unwrap().contains(SECRET), "the token is logged");
    sigterm(&mut service);
}
