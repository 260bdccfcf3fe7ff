//! The Bluesky client against the reference PDS (`@atproto/pds`) on loopback, started by
//! `../shared/servers/pds/start.sh` (see its README; the first run installs it, a few
//! minutes) and stopped at the end, also when an assertion fails.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::mem_store::MemStore;
use crate::common::pds::Pds;
use chrono::Utc;
use herald::announce::bluesky::{
    BlueskyAccount, BlueskyClient, SessionBinding, SessionStore, new_tid,
};
use herald::announce::compose::{Embed, facets};
use herald::announce::thumb::Thumb;
use herald::announce::{Platform, Post, SendError};
use herald::secret::Secret;
use serde_json::{Value, json};

/// The test store keeps one session whatever its binding.
fn binding() -> SessionBinding {
    SessionBinding { service: String::new(), identifier: String::new() }
}

fn client(pds: &Pds, store: Arc<MemStore>) -> BlueskyClient {
    let account = BlueskyAccount {
        name: "main".into(),
        service: pds.url.clone(),
        identifier: pds.handle.clone(),
        password: Secret::new(pds.password.clone()),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    BlueskyClient::new(account, store, http)
}

/// An 8×8 PNG.
fn png() -> Thumb {
    let image =
        image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 200]));
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    Thumb { source: "card.png".into(), mime: "image/png".into(), dimensions: (8, 8), bytes }
}

fn announcement(text: &str, thumb: Option<Thumb>) -> Post {
    Post {
        platform: Platform::Bluesky,
        graphemes: 0,
        limit: 300,
        facets: facets(text),
        text: text.to_string(),
        langs: vec!["en".into()],
        embed: Some(Embed {
            uri: "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-650/".into(),
            title: "This Week in Rust 650".into(),
            description: "Ünïcödé 🦀 and more".into(),
            thumb,
        }),
        highlights_kept: 0,
        highlights_total: 0,
    }
}

/// The record as the server stores it (getRecord without our client).
async fn raw_record(pds: &Pds, rkey: &str) -> Value {
    let url = format!("{}/xrpc/com.atproto.repo.getRecord", pds.url);
    let query = [("repo", pds.did.as_str()), ("collection", "app.bsky.feed.post"), ("rkey", rkey)];
    let reply = reqwest::Client::new().get(url).query(&query).send().await.unwrap();
    assert!(reply.status().is_success(), "{}", reply.status());
    reply.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_to_a_real_pds_exactly_once() {
    let started = Instant::now();
    let pds = Pds::start();
    eprintln!("PDS up after {:?}; log: {}", started.elapsed(), pds.log().display());
    let store = Arc::new(MemStore::default());
    let bsky = client(&pds, store.clone());

    // A post with link and tag facets and a link card with a thumbnail.
    let text = "This Week in Rust 650 is out: https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-650/\n\n• Ünïcödé 🦀 crab\n\n#rustlang";
    let post = announcement(text, Some(png()));
    let rkey = new_tid(Utc::now());
    let posted = bsky.create_post(&post, &rkey, Utc::now()).await.unwrap();
    assert_eq!(posted.id, format!("at://{}/app.bsky.feed.post/{rkey}", pds.did));
    assert_eq!(
        posted.url.as_deref(),
        Some(format!("https://bsky.app/profile/{}/post/{rkey}", pds.handle).as_str())
    );
    assert_eq!(store.logins(), 1);
    assert_eq!(store.session().map(|s| s.did), Some(pds.did.clone()));

    let stored = raw_record(&pds, &rkey).await;
    assert_eq!(stored["cid"].as_str(), posted.cid.as_deref());
    let value = &stored["value"];
    assert_eq!(value["text"], text);
    assert_eq!(value["langs"], json!(["en"]));
    let expected_facets: Vec<Value> = post
        .facets
        .iter()
        .map(|f| {
            let feature = match &f.kind {
                herald::announce::FacetKind::Link(uri) => {
                    json!({"$type": "app.bsky.richtext.facet#link", "uri": uri})
                }
                herald::announce::FacetKind::Tag(tag) => {
                    json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag})
                }
            };
            json!({"index": {"byteStart": f.byte_start, "byteEnd": f.byte_end}, "features": [feature]})
        })
        .collect();
    assert_eq!(expected_facets.len(), 2);
    assert_eq!(value["facets"], Value::Array(expected_facets));
    let external = &value["embed"]["external"];
    assert_eq!(value["embed"]["$type"], "app.bsky.embed.external");
    assert_eq!(external["title"], "This Week in Rust 650");
    assert_eq!(external["thumb"]["mimeType"], "image/png");
    assert_eq!(external["thumb"]["size"], png().bytes.len());

    // getRecord through the client finds it.
    assert_eq!(bsky.get_post(&rkey).await.unwrap(), Some(posted.clone()));
    assert_eq!(bsky.get_post(&new_tid(Utc::now())).await.unwrap(), None);

    // A restart: a second client with the same store posts without logging in again.
    let again = client(&pds, store.clone());
    let second = new_tid(Utc::now());
    again
        .create_post(&announcement("Second post #rustlang", None), &second, Utc::now())
        .await
        .unwrap();
    assert_eq!(store.logins(), 1, "no second createSession");

    // A retry with the same rkey does not post twice: 500, and getRecord finds the first.
    let err = again.create_post(&post, &rkey, Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_eq!(again.get_post(&rkey).await.unwrap(), Some(posted));

    // Exactly 300 graphemes (1,197 bytes) are accepted; 301 are too long.
    let at_limit = format!("{}x", "🦀".repeat(299));
    again
        .create_post(&announcement(&at_limit, None), &new_tid(Utc::now()), Utc::now())
        .await
        .unwrap();
    let over = format!("{at_limit}y");
    let err = again
        .create_post(&announcement(&over, None), &new_tid(Utc::now()), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: true, .. }), "{err:?}");

    // A stored access token the server does not accept: refreshSession, rotated tokens saved.
    let before = store.session().unwrap();
    let mut broken = before.clone();
    broken.access_jwt = Secret::new(format!("{}x", before.access_jwt.expose()));
    store.save_session("main", &binding(), &broken).unwrap();
    let third = client(&pds, store.clone());
    third
        .create_post(&announcement("Third #rustlang", None), &new_tid(Utc::now()), Utc::now())
        .await
        .unwrap();
    let after = store.session().unwrap();
    assert_ne!(after.refresh_jwt, before.refresh_jwt, "the rotated refresh token was saved");
    assert_ne!(after.access_jwt, broken.access_jwt);
    assert_eq!(store.logins(), 1, "refreshed, not logged in again");

    // Both tokens unusable: one new login.
    let mut dead = after.clone();
    dead.access_jwt = Secret::new("not-a-jwt");
    dead.refresh_jwt = Secret::new("not-a-jwt-either");
    store.save_session("main", &binding(), &dead).unwrap();
    let fourth = client(&pds, store.clone());
    fourth
        .create_post(&announcement("Fourth #rustlang", None), &new_tid(Utc::now()), Utc::now())
        .await
        .unwrap();
    assert_eq!(store.logins(), 2);

    eprintln!("PDS test done after {:?}", started.elapsed());
}
