//! The deliver state machine against a scripted platform.
use super::*;
use crate::announce::Platform;
use crate::announce::send::FoundPost;
use crate::state::NewRow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;

/// A platform whose answers are scripted, one per call, and which counts the calls.
#[derive(Default)]
struct Script {
    sends: RefCell<VecDeque<Result<Posted, SendError>>>,
    finds: RefCell<VecDeque<Result<Lookup, SendError>>>,
    calls: RefCell<Vec<&'static str>>,
    /// The server cannot say which account the token posts as.
    no_identity: bool,
}

impl Script {
    fn send(self, answer: Result<Posted, SendError>) -> Self {
        self.sends.borrow_mut().push_back(answer);
        self
    }
    fn find(self, answer: Result<Option<Posted>, SendError>) -> Self {
        let lookup = answer.map(|p| p.map_or(Lookup::Absent, Lookup::Found));
        self.finds.borrow_mut().push_back(lookup);
        self
    }
    fn ambiguous(self, why: &str) -> Self {
        self.finds.borrow_mut().push_back(Ok(Lookup::Ambiguous(why.into())));
        self
    }
    fn calls(&self) -> Vec<&'static str> {
        self.calls.borrow().clone()
    }
}

impl Sink for Script {
    fn send(&self, _: &OutboxRow, _: &Post) -> impl Future<Output = Result<Posted, SendError>> {
        self.calls.borrow_mut().push("send");
        let answer = self.sends.borrow_mut().pop_front().expect("no send scripted");
        async move { answer }
    }
    fn find(&self, _: &OutboxRow, _: &[String]) -> impl Future<Output = Result<Lookup, SendError>> {
        self.calls.borrow_mut().push("find");
        let answer = self.finds.borrow_mut().pop_front().expect("no find scripted");
        async move { answer }
    }
    async fn identity(&self) -> Result<String, SendError> {
        if self.no_identity {
            self.calls.borrow_mut().push("identity");
            return Err(transient());
        }
        Ok("mastodon https://m.example 1".into())
    }
    fn lands_late(&self) -> bool {
        true
    }
    async fn find_all(&self, _: &OutboxRow) -> Result<Vec<FoundPost>, SendError> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &str) -> Result<(), SendError> {
        self.calls.borrow_mut().push("delete");
        Ok(())
    }
}

/// A platform whose one send is slow: while it is on its way, the caller's lease runs
/// out and another process (`announce`) takes the row over and records its own post.
struct Paused<'a> {
    script: Script,
    db: &'a Mutex<Db>,
    id: i64,
    at: DateTime<Utc>,
}

impl Sink for Paused<'_> {
    async fn send(&self, row: &OutboxRow, post: &Post) -> Result<Posted, SendError> {
        {
            let db = Db::lock(self.db);
            let taken = db.claim(self.id, "herald announce, pid 2", self.at, self.at).unwrap();
            let fence = Fence::of(taken.as_ref().unwrap(), "herald announce, pid 2");
            assert!(db.mark_posted(self.id, fence, &posted("2"), false, self.at, None).unwrap());
        }
        Sink::send(&self.script, row, post).await
    }
    fn find(
        &self,
        row: &OutboxRow,
        known: &[String],
    ) -> impl Future<Output = Result<Lookup, SendError>> {
        Sink::find(&self.script, row, known)
    }
    fn identity(&self) -> impl Future<Output = Result<String, SendError>> {
        Sink::identity(&self.script)
    }
    fn lands_late(&self) -> bool {
        true
    }
    fn find_all(&self, row: &OutboxRow) -> impl Future<Output = Result<Vec<FoundPost>, SendError>> {
        Sink::find_all(&self.script, row)
    }
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), SendError>> {
        Sink::delete(&self.script, id)
    }
}

fn post(text: &str) -> Post {
    Post {
        platform: Platform::Mastodon,
        text: text.into(),
        graphemes: text.len(),
        limit: 500,
        facets: Vec::new(),
        langs: vec!["en".into()],
        embed: None,
        highlights_kept: 0,
        highlights_total: 0,
    }
}

fn posted(id: &str) -> Posted {
    Posted { id: id.into(), cid: None, url: None }
}

fn transient() -> SendError {
    SendError::Transient { message: "timed out".into() }
}

/// A state with one pending row, the clock, and the service as owner.
struct Fixture {
    _dir: tempfile::TempDir,
    db: Mutex<Db>,
    id: i64,
    clock: Mutex<DateTime<Utc>>,
    owner: Owner,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("h.db")).unwrap();
        let t0 = DateTime::parse_from_rfc3339("2026-08-19T12:00:00Z").unwrap().to_utc();
        let issue = "https://twir.example/665/";
        db.record_issue(issue, Some(665), "This Week in Rust 665", "665.md", false, t0).unwrap();
        let json = serde_json::to_string(&post("This Week in Rust 665")).unwrap();
        let row = NewRow {
            issue_key: issue,
            account: "toot",
            platform: "mastodon",
            post: &json,
            platform_key: "k1",
            held: None,
        };
        let id = db.enqueue(&row, t0).unwrap().unwrap();
        let owner = Owner::new("herald run", Duration::from_secs(30));
        Self { _dir: dir, db: Mutex::new(db), id, clock: Mutex::new(t0), owner }
    }

    fn row(&self) -> OutboxRow {
        Db::lock(&self.db).row(self.id).unwrap().unwrap()
    }

    /// One delivery at the clock's time, with `refit` for a post rejected as too long.
    fn deliver(
        &self,
        sink: &Script,
        refit: &(dyn Fn(&Post, Option<usize>) -> Option<Post> + Sync),
    ) -> Delivery {
        let now = || self.now();
        let now: &(dyn Fn() -> DateTime<Utc> + Sync) = &now;
        futures_lite(deliver(&self.db, sink, &self.row(), refit, now, &self.owner)).unwrap()
    }

    /// Moves the clock to `at`.
    fn at(&self, at: DateTime<Utc>) {
        *self.clock.lock().unwrap() = at;
    }

    fn now(&self) -> DateTime<Utc> {
        *self.clock.lock().unwrap()
    }
}

/// Runs a future that never waits (the scripted platform answers at once).
fn futures_lite<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

const NO_REFIT: &(dyn Fn(&Post, Option<usize>) -> Option<Post> + Sync) = &|_, _| None;

#[test]
fn a_pending_row_is_sent_once_and_recorded() {
    let f = Fixture::new();
    let sink = Script::default().send(Ok(posted("1")));
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::Posted(posted("1")));
    assert_eq!(sink.calls(), ["send"]);
    assert_eq!(f.row().status, RowStatus::Posted);
    // Posted is final: nothing more is sent.
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::NotDue(RowStatus::Posted));
    assert_eq!(sink.calls(), ["send"]);
}

#[test]
fn after_an_unsure_call_the_next_try_looks_first_and_does_not_send_again() {
    let f = Fixture::new();
    let sink = Script::default().send(Err(transient())).find(Ok(Some(posted("1"))));
    let Delivery::Retry { at, .. } = f.deliver(&sink, NO_REFIT) else { panic!("a retry") };
    // Not before the lease of the unsure call has run out: it may still be on its way.
    assert!(at >= f.now() + f.owner.lease, "{at}");
    assert!(f.row().reconcile);
    f.at(at);
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::Found(posted("1")));
    assert_eq!(sink.calls(), ["send", "find"]);
    assert_eq!(f.row().status, RowStatus::Posted);
}

#[test]
fn an_unsure_call_not_found_is_sent_again_and_checked_for_a_late_duplicate() {
    let f = Fixture::new();
    let sink = Script::default().send(Err(transient())).find(Ok(None)).send(Ok(posted("2")));
    let Delivery::Retry { at, .. } = f.deliver(&sink, NO_REFIT) else { panic!("a retry") };
    f.at(at);
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::Posted(posted("2")));
    assert_eq!(sink.calls(), ["send", "find", "send"]);
    assert_eq!(f.row().verify_at, Some(at + f.owner.late_landing));
}

#[test]
fn a_rate_limit_waits_for_the_servers_time_and_a_lookup_failure_never_sends_blind() {
    let f = Fixture::new();
    let reset = f.now() + chrono::Duration::minutes(7);
    let limited = SendError::RateLimited { retry_at: Some(reset), message: "slow down".into() };
    let sink = Script::default().send(Err(limited)).send(Err(transient())).find(Err(transient()));
    let Delivery::Retry { at, .. } = f.deliver(&sink, NO_REFIT) else { panic!("a retry") };
    assert_eq!(at, reset);
    assert!(!f.row().reconcile, "a 429 is a sure refusal");
    f.at(at);
    let Delivery::Retry { at, .. } = f.deliver(&sink, NO_REFIT) else { panic!("a retry") };
    f.at(at);
    // The lookup fails: the row waits, still unsure, and nothing is sent.
    assert!(matches!(f.deliver(&sink, NO_REFIT), Delivery::Retry { .. }));
    assert_eq!(sink.calls(), ["send", "send", "find"]);
    assert!(f.row().reconcile);
}

#[test]
fn a_post_rejected_as_too_long_is_refitted_once_then_fails() {
    let f = Fixture::new();
    let too_long = || SendError::Permanent {
        message: "Text character limit of 100 exceeded".into(),
        too_long: true,
    };
    let sink = Script::default().send(Err(too_long())).send(Err(too_long()));
    let asked = Mutex::new(None);
    let refit = |_: &Post, limit: Option<usize>| {
        *asked.lock().unwrap() = Some(limit);
        Some(post("shorter"))
    };
    assert!(matches!(f.deliver(&sink, &refit), Delivery::Retry { .. }));
    assert_eq!(*asked.lock().unwrap(), Some(Some(100)), "the limit the server named");
    assert!(f.row().refitted);
    assert!(f.row().post.contains("shorter"));
    assert!(matches!(f.deliver(&sink, &refit), Delivery::Failed(_)), "refitted once only");
    assert_eq!(f.row().status, RowStatus::Failed);
}

#[test]
fn a_row_claimed_by_another_process_is_left_to_it() {
    let f = Fixture::new();
    let t = f.now();
    let other =
        Db::lock(&f.db).claim(f.id, "herald announce, pid 1", t, t + f.owner.lease).unwrap();
    assert!(other.is_some());
    let sink = Script::default();
    assert!(
        matches!(f.deliver(&sink, NO_REFIT), Delivery::Claimed { by, .. } if by == "herald announce, pid 1")
    );
    assert!(sink.calls().is_empty(), "no call while another owner holds the row");
}

#[test]
fn a_process_that_wakes_after_its_lease_records_nothing_and_removes_only_its_own_post() {
    let f = Fixture::new();
    let later = f.now() + chrono::Duration::hours(1);
    let sink =
        Paused { script: Script::default().send(Ok(posted("1"))), db: &f.db, id: f.id, at: later };
    let delivery = {
        let now = || f.now();
        let now: &(dyn Fn() -> DateTime<Utc> + Sync) = &now;
        futures_lite(deliver(&f.db, &sink, &f.row(), NO_REFIT, now, &f.owner)).unwrap()
    };
    assert_eq!(delivery, Delivery::Lost { by: None });
    // What `announce` recorded stands; the post this process made is the one deleted.
    let row = f.row();
    assert_eq!((row.status, row.remote), (RowStatus::Posted, Some(posted("2"))));
    assert_eq!(sink.script.calls(), ["send", "delete"]);
}

#[test]
fn a_post_herald_cannot_tell_from_its_own_is_neither_sent_nor_recorded() {
    let f = Fixture::new();
    let sink = Script::default().send(Err(transient())).ambiguous("status 9 …");
    let Delivery::Retry { at, .. } = f.deliver(&sink, NO_REFIT) else { panic!("a retry") };
    f.at(at);
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::Ambiguous("status 9 …".into()));
    let row = f.row();
    assert_eq!((row.status, row.ambiguous.as_deref()), (RowStatus::Pending, Some("status 9 …")));
    assert!(Db::lock(&f.db).due_rows(at + chrono::Duration::days(30)).unwrap().is_empty());
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::NotDue(RowStatus::Pending));
    assert_eq!(sink.calls(), ["send", "find"]);
    // The operator says it is not herald's: the row is sent.
    assert!(Db::lock(&f.db).release_ambiguous(f.id, at).unwrap());
    let sink = Script::default().send(Ok(posted("3")));
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::Posted(posted("3")));
    assert_eq!(sink.calls(), ["send"]);
}

/// Nothing is sent to an account herald cannot name (found by the outside tester: a row sent
/// while `verify_credentials` failed could not be told from the account's row after a
/// rename, and the issue was posted again).
#[test]
fn nothing_is_sent_before_the_account_s_identity_is_known() {
    let f = Fixture::new();
    let sink = Script { no_identity: true, ..Script::default() };
    let Delivery::Retry { error, .. } = f.deliver(&sink, NO_REFIT) else { panic!("a retry") };
    assert!(error.contains("which account the token posts as"), "{error}");
    assert_eq!(sink.calls(), ["identity"]);
    assert_eq!((f.row().attempts, f.row().identity), (0, None));
    let sink = Script::default().send(Ok(posted("1")));
    f.at(f.now() + chrono::Duration::hours(2));
    assert_eq!(f.deliver(&sink, NO_REFIT), Delivery::Posted(posted("1")));
    assert_eq!(f.row().identity.as_deref(), Some("mastodon https://m.example 1"));
}

#[test]
fn backoff_doubles_up_to_an_hour_with_jitter() {
    let base = Duration::from_secs(30);
    assert_eq!(backoff(1, base, 0.0), Duration::from_secs(30));
    assert_eq!(backoff(2, base, 0.0), Duration::from_secs(60));
    assert_eq!(backoff(8, base, 0.0), Duration::from_secs(3600));
    assert_eq!(backoff(50, base, 0.0), Duration::from_secs(3600));
    assert_eq!(backoff(1, base, 1.0), Duration::from_secs(36));
    assert_eq!(backoff(1, base, -1.0), Duration::from_secs(24));
    assert_eq!(backoff(2, Duration::from_secs(2), 0.0), Duration::from_secs(4));
}

#[test]
fn limits_named_in_rejections() {
    assert_eq!(limit_in_message("grapheme too big (maximum 300, got 301)"), Some(300));
    assert_eq!(
        limit_in_message("Validation failed: Text character limit of 500 exceeded"),
        Some(500)
    );
    assert_eq!(
        limit_in_message("Bad Request: text with spoiler exceed max chars (500)"),
        Some(500)
    );
    assert_eq!(limit_in_message("nope"), None);
}
