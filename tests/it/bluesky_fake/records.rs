//! Posting and finding records: the createRecord body, a failed thumbnail, duplicate rkeys,
//! missing records, length and rkey refusals, rate limits, server errors, and secrets kept out
//! of every error and log.

use super::*;

#[tokio::test]
async fn the_create_record_body_carries_rkey_facets_langs_and_card() {
    let server = MockServer::start().await;
    let access = jwt("access");
    let rkey = new_tid(Utc::now());
    Mock::given(method("POST"))
        .and(path(UPLOAD_BLOB))
        .and(header("authorization", bearer(&access).as_str()))
        .and(header("content-type", "image/png"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 73}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(CREATE_RECORD))
        .respond_with(created(&rkey))
        .expect(1)
        .mount(&server)
        .await;

    let store = MemStore::with_session(session(&access, &jwt("refresh")));
    let created_at =
        DateTime::parse_from_rfc3339("2026-08-19T16:05:00Z").unwrap().with_timezone(&Utc);
    let the_post = post(Some(png()));
    client(&server, store).create_post(&the_post, &rkey, created_at).await.unwrap();

    let uploads: Vec<Request> = server.received_requests().await.unwrap();
    let upload = uploads.iter().find(|r| r.url.path() == UPLOAD_BLOB).unwrap();
    assert_eq!(upload.body, png().bytes);

    let body = bodies(&server, CREATE_RECORD).await.remove(0);
    assert_eq!(body["repo"], DID);
    assert_eq!(body["collection"], "app.bsky.feed.post");
    assert_eq!(body["rkey"], rkey.as_str());
    let record = &body["record"];
    assert_eq!(record["$type"], "app.bsky.feed.post");
    assert_eq!(record["text"], the_post.text.as_str());
    assert_eq!(record["createdAt"], "2026-08-19T16:05:00.000000Z");
    assert_eq!(record["langs"], json!(["en"]));
    let text = the_post.text.as_bytes();
    let facets = record["facets"].as_array().unwrap();
    assert_eq!(facets.len(), 2);
    let link = &facets[0];
    let (start, end) = (
        link["index"]["byteStart"].as_u64().unwrap() as usize,
        link["index"]["byteEnd"].as_u64().unwrap() as usize,
    );
    assert_eq!(link["features"][0]["$type"], "app.bsky.richtext.facet#link");
    assert_eq!(link["features"][0]["uri"].as_str().unwrap().as_bytes(), &text[start..end]);
    let tag = &facets[1];
    let (start, end) = (
        tag["index"]["byteStart"].as_u64().unwrap() as usize,
        tag["index"]["byteEnd"].as_u64().unwrap() as usize,
    );
    // Byte offsets, after the multi-byte "Ünïcödé 🦀".
    assert_eq!(&text[start..end], b"#rustlang");
    assert_eq!(end, text.len());
    assert_eq!(
        tag["features"][0],
        json!({"$type": "app.bsky.richtext.facet#tag", "tag": "rustlang"})
    );
    let embed = &record["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.external");
    assert_eq!(
        embed["external"]["uri"],
        "https://this-week-in-rust.org/blog/2026/08/19/this-week-in-rust-650/"
    );
    assert_eq!(embed["external"]["title"], "This Week in Rust 650");
    assert_eq!(embed["external"]["description"], "Ünïcödé 🦀 crab");
    assert_eq!(
        embed["external"]["thumb"],
        json!({"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 73})
    );
}

#[tokio::test]
async fn a_failed_thumbnail_upload_still_posts_without_the_thumbnail() {
    let server = MockServer::start().await;
    let rkey = new_tid(Utc::now());
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(xrpc_error(500, "InternalServerError", "Internal Server Error"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD)).respond_with(created(&rkey)).expect(1).mount(&server).await;
    let store = MemStore::with_session(session(&jwt("a"), &jwt("r")));
    client(&server, store).create_post(&post(Some(png())), &rkey, Utc::now()).await.unwrap();
    let body = bodies(&server, CREATE_RECORD).await.remove(0);
    let external = &body["record"]["embed"]["external"];
    assert_eq!(external["title"], "This Week in Rust 650");
    assert!(external.get("thumb").is_none(), "{external}");
}

#[tokio::test]
async fn a_duplicate_rkey_is_transient_and_get_post_then_finds_the_record() {
    let server = MockServer::start().await;
    let rkey = new_tid(Utc::now());
    // What the reference PDS answers when the rkey exists ("There is already a value at key").
    Mock::given(path(CREATE_RECORD))
        .respond_with(xrpc_error(500, "InternalServerError", "Internal Server Error"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(GET_RECORD))
        .and(query_param("repo", DID))
        .and(query_param("collection", "app.bsky.feed.post"))
        .and(query_param("rkey", rkey.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
            "cid": CID,
            "value": {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2026-08-19T16:05:00.000Z"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(session(&jwt("a"), &jwt("r"))));
    let err = bsky.create_post(&post(None), &rkey, Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert!(err.is_ambiguous());
    let found = bsky.get_post(&rkey).await.unwrap().unwrap();
    assert_eq!(found.id, format!("at://{DID}/app.bsky.feed.post/{rkey}"));
    assert_eq!(found.cid.as_deref(), Some(CID));
    assert_eq!(
        found.url.as_deref(),
        Some(format!("https://bsky.app/profile/{HANDLE}/post/{rkey}").as_str())
    );
}

#[tokio::test]
async fn a_missing_record_is_none() {
    let server = MockServer::start().await;
    let rkey = new_tid(Utc::now());
    Mock::given(path(GET_RECORD))
        .respond_with(xrpc_error(
            400,
            "RecordNotFound",
            &format!("Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(session(&jwt("a"), &jwt("r"))));
    assert_eq!(bsky.get_post(&rkey).await.unwrap(), None);
}

#[tokio::test]
async fn too_many_graphemes_is_permanent_and_too_long() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_RECORD))
        .respond_with(xrpc_error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 1_100_000}
        })))
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(session(&jwt("a"), &jwt("r"))));
    let err = bsky.create_post(&post(None), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: true, .. }), "{err:?}");

    // A thumbnail that is too big is permanent, but not a text that is too long.
    server.reset().await;
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "blob": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 1_100_000}
        })))
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD))
        .respond_with(xrpc_error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: blob too big (maximum 1000000, got 1100000) at $.record.embed.external.thumb",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err =
        bsky.create_post(&post(Some(png())), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: false, .. }), "{err:?}");
}

#[tokio::test]
async fn a_non_tid_rkey_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_RECORD)).respond_with(created("x")).expect(0).mount(&server).await;
    let bsky = client(&server, MemStore::with_session(session(&jwt("a"), &jwt("r"))));
    let err = bsky.create_post(&post(None), "hello", Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { too_long: false, .. }), "{err:?}");
}

#[tokio::test]
async fn rate_limits_give_the_time_to_come_back() {
    let server = MockServer::start().await;
    let reset = Utc::now().timestamp() + 1800;
    Mock::given(path(CREATE_RECORD))
        .respond_with(
            xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
                .insert_header("RateLimit-Limit", "5000")
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Reset", reset.to_string().as_str())
                .insert_header("RateLimit-Policy", "5000;w=3600"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(session(&jwt("a"), &jwt("r"))));
    let err = bsky.create_post(&post(None), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    match err {
        SendError::RateLimited { retry_at: Some(at), .. } => assert_eq!(at.timestamp(), reset),
        other => panic!("{other:?}"),
    }

    // The 31st createSession in 5 minutes, as the reference PDS answers it.
    let server = MockServer::start().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(
            xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
                .insert_header("RateLimit-Limit", "30")
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Policy", "30;w=300")
                .insert_header("Retry-After", "240"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemStore::default());
    let before = Utc::now();
    let err = client(&server, store.clone()).get_post(&new_tid(before)).await.unwrap_err();
    match err {
        SendError::RateLimited { retry_at: Some(at), .. } => {
            let wait = (at - before).num_seconds();
            assert!((239..=242).contains(&wait), "{wait}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.logins(), 1, "every createSession attempt is recorded");
}

#[tokio::test]
async fn server_errors_and_timeouts_are_transient() {
    let server = MockServer::start().await;
    Mock::given(path(CREATE_RECORD))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(GET_RECORD))
        .respond_with(created("x").set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, MemStore::with_session(session(&jwt("a"), &jwt("r"))))
        .with_request_timeout(Duration::from_millis(300));
    let err = bsky.create_post(&post(None), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    assert!(
        matches!(&err, SendError::Transient { message } if message.contains("timed out")),
        "{err:?}"
    );

    // Nothing listening at all.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let account = BlueskyAccount {
        name: "main".into(),
        service: format!("http://{dead}"),
        identifier: HANDLE.into(),
        password: Secret::new(PASSWORD),
    };
    let bsky = BlueskyClient::new(
        account,
        MemStore::with_session(session(&jwt("a"), &jwt("r"))),
        reqwest::Client::new(),
    );
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}

#[tokio::test]
async fn secrets_appear_in_no_error_debug_output_or_log() {
    let logs = captured_logs();
    let server = MockServer::start().await;
    let (old_access, old_refresh) = (jwt("access-old"), jwt("refresh-old"));
    let (new_access, new_refresh) = (jwt("access-new"), jwt("refresh-new"));
    // Access expired, refresh refused, login works, the post is rejected; then a wrong password.
    Mock::given(path(CREATE_RECORD))
        .and(header("authorization", bearer(&old_access).as_str()))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .mount(&server)
        .await;
    Mock::given(path(REFRESH_SESSION))
        .respond_with(xrpc_error(400, "InvalidToken", "Token could not be verified"))
        .mount(&server)
        .await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(session_reply(&new_access, &new_refresh))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(CREATE_RECORD))
        .and(header("authorization", bearer(&new_access).as_str()))
        .respond_with(xrpc_error(
            400,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
        ))
        .mount(&server)
        .await;
    Mock::given(path(UPLOAD_BLOB))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;

    let store = MemStore::with_session(session(&old_access, &old_refresh));
    let bsky = client(&server, store.clone());
    let mut seen = Vec::new();
    let err =
        bsky.create_post(&post(Some(png())), &new_tid(Utc::now()), Utc::now()).await.unwrap_err();
    seen.push(format!("{err} {err:?}"));

    // The password is refused.
    server.reset().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password"))
        .expect(1)
        .mount(&server)
        .await;
    let bsky = client(&server, Arc::new(MemStore::default()));
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { .. }), "{err:?}");
    seen.push(format!("{err} {err:?}"));

    // A createSession reply that does not decode, holding a token in an odd place.
    server.reset().await;
    Mock::given(path(CREATE_SESSION))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "did": DID, "handle": HANDLE, "accessJwt": 5, "refreshJwt": new_refresh
        })))
        .mount(&server)
        .await;
    let bsky = client(&server, Arc::new(MemStore::default()));
    let err = bsky.get_post(&new_tid(Utc::now())).await.unwrap_err();
    seen.push(format!("{err} {err:?}"));
    seen.push(format!("{bsky:?} {:?} {:?}", store.session(), session(&old_access, &old_refresh)));

    let logs = logs.text();
    assert!(logs.contains("refresh token was refused"), "the scenario ran: {logs}");
    for text in seen.iter().chain([&logs]) {
        for secret in [PASSWORD, &old_access, &old_refresh, &new_access, &new_refresh] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
        assert!(!text.contains("-payload"), "a token leaked into: {text}");
    }
}
