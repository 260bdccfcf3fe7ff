//! The outbox's rows and their claims.
use super::*;

fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.db")).unwrap();
    db.record_issue("u1", Some(1), "One", "a.md", false, Utc::now()).unwrap();
    (dir, db)
}

fn new_row<'a>(key: &'a str) -> NewRow<'a> {
    NewRow {
        issue_key: "u1",
        account: "acct",
        platform: "bluesky",
        post: "{\"text\":\"hi\"}",
        platform_key: key,
        held: None,
    }
}

#[test]
fn one_row_per_issue_and_account() {
    let (_d, db) = db();
    let now = Utc::now();
    let id = db.enqueue(&new_row("k1"), now).unwrap().unwrap();
    assert_eq!(db.enqueue(&new_row("k2"), now).unwrap(), None);
    let row = db.row(id).unwrap().unwrap();
    assert_eq!(
        (row.status, row.platform_key.as_str(), row.generation),
        (RowStatus::Pending, "k1", 0)
    );
    let again = db.enqueue_new_generation(&new_row("k3"), now).unwrap();
    assert_eq!(db.row(again).unwrap().unwrap().generation, 1);
}

#[test]
fn a_row_left_sending_is_due_and_marked_for_reconciliation() {
    let (_d, db) = db();
    let now = Utc::now();
    let id = db.enqueue(&new_row("k1"), now).unwrap().unwrap();
    let lease = now + chrono::Duration::seconds(90);
    let claimed = db.claim(id, "a", now, lease).unwrap().unwrap();
    let a = Fence::of(&claimed, "a");
    assert!(db.begin_send(id, a, now, lease).unwrap());
    // While the lease holds, the row is nobody else's.
    assert!(db.due_rows(now).unwrap().is_empty());
    assert!(db.claim(id, "b", now, lease).unwrap().is_none());
    assert_eq!(
        db.next_attempt_time(&["acct".into()]).unwrap(),
        Some(parse_ts(&ts(lease)).unwrap())
    );
    let due = db.due_rows(lease).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].status, due[0].attempts, due[0].reconcile), (RowStatus::Sending, 1, true));
    let posted =
        Posted { id: "at://did/app.bsky.feed.post/k1".into(), cid: Some("c".into()), url: None };
    assert!(db.mark_posted(id, a, &posted, false, now, None).unwrap());
    assert!(db.due_rows(now).unwrap().is_empty());
    assert_eq!(db.row(id).unwrap().unwrap().remote, Some(posted));
}

#[test]
fn one_claimant_wins_and_a_lost_claim_makes_no_call() {
    let (_d, db) = db();
    let now = Utc::now();
    let id = db.enqueue(&new_row("k1"), now).unwrap().unwrap();
    let lease = now + chrono::Duration::seconds(90);
    let service = db.claim(id, "service", now, lease).unwrap().unwrap();
    let service = Fence::of(&service, "service");
    assert!(db.claim(id, "announce", now, lease).unwrap().is_none());
    let never = Fence::Claim { owner: "announce", generation: 1 };
    assert!(!db.begin_send(id, never, now, lease).unwrap());
    let row = db.row(id).unwrap().unwrap();
    assert_eq!((row.status, row.claimed_by.as_deref()), (RowStatus::Sending, Some("service")));
    // The lease runs out (the service died): another claimant takes the row over.
    let announce =
        db.claim(id, "announce", lease, lease + chrono::Duration::seconds(90)).unwrap().unwrap();
    let announce = Fence::of(&announce, "announce");
    assert!(!db.begin_send(id, service, lease, lease).unwrap());
    // A pending row that is not due yet cannot be claimed.
    let next = lease + chrono::Duration::seconds(30);
    assert!(db.mark_retry(id, announce, "503", next, true, lease).unwrap());
    assert!(db.claim(id, "x", lease, lease).unwrap().is_none());
    assert_eq!(db.row(id).unwrap().unwrap().claimed_by, None);
}

#[test]
fn a_claim_hands_out_the_row_as_it_is_not_as_the_caller_last_read_it() {
    let (_d, db) = db();
    let now = Utc::now();
    let id = db.enqueue(&new_row("k1"), now).unwrap().unwrap();
    let stale = db.row(id).unwrap().unwrap();
    // Another process tries meanwhile: its call may have reached the server.
    let claimed = db.claim(id, "announce", now, now).unwrap().unwrap();
    let fence = Fence::of(&claimed, "announce");
    db.begin_send(id, fence, now, now).unwrap();
    db.mark_retry(id, fence, "timed out", now, true, now).unwrap();
    assert!(!stale.reconcile);
    let fresh = db.claim(id, "service", now, now).unwrap().unwrap();
    assert!(fresh.reconcile && fresh.attempts == 1, "the claim read the row anew");
}

#[test]
fn retries_wait_until_their_time() {
    let (_d, db) = db();
    let now = Utc::now();
    let id = db.enqueue(&new_row("k1"), now).unwrap().unwrap();
    let claimed = db.claim(id, "a", now, now).unwrap().unwrap();
    let a = Fence::of(&claimed, "a");
    assert!(db.begin_send(id, a, now, now).unwrap());
    db.mark_retry(id, a, "HTTP 503", now + chrono::Duration::seconds(60), true, now).unwrap();
    assert!(db.due_rows(now).unwrap().is_empty());
    let later = db.due_rows(now + chrono::Duration::seconds(61)).unwrap();
    assert_eq!(later[0].last_error.as_deref(), Some("HTTP 503"));
    db.mark_failed(id, Fence::Unclaimed, "too long", now).unwrap();
    assert!(db.due_rows(now + chrono::Duration::days(1)).unwrap().is_empty());
}

#[test]
fn a_claim_taken_over_fences_out_every_change_of_its_first_owner() {
    let (_d, db) = db();
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(90);
    let id = db.enqueue(&new_row("k1"), now).unwrap().unwrap();
    let first = db.claim(id, "service", now, lease).unwrap().unwrap();
    let service = Fence::of(&first, "service");
    assert!(db.begin_send(id, service, now, lease).unwrap());
    // The service is stopped past its lease; `announce` takes the row over and posts.
    let second = db.claim(id, "announce", lease, lease + lease.signed_duration_since(now));
    let announce = Fence::of(&second.unwrap().unwrap(), "announce");
    let posted = Posted { id: "2".into(), cid: None, url: None };
    assert!(db.mark_posted(id, announce, &posted, false, lease, None).unwrap());
    // The service wakes: none of its changes is made.
    let late = Posted { id: "1".into(), cid: None, url: None };
    assert!(!db.mark_posted(id, service, &late, false, lease, None).unwrap());
    assert!(!db.mark_retry(id, service, "timed out", lease, true, lease).unwrap());
    assert!(!db.mark_failed(id, service, "HTTP 401", lease).unwrap());
    assert!(!db.replace_post(id, service, "{}", true, lease).unwrap());
    assert!(!db.mark_ambiguous(id, service, "?", lease).unwrap());
    let row = db.row(id).unwrap().unwrap();
    assert_eq!((row.status, row.remote), (RowStatus::Posted, Some(posted)));
    // The same owner name in a later claim is another claim: the generation tells.
    let id2 = {
        db.record_issue("u2", Some(2), "Two", "b.md", false, now).unwrap();
        db.enqueue(&NewRow { issue_key: "u2", ..new_row("k2") }, now).unwrap().unwrap()
    };
    let one = db.claim(id2, "service", now, now).unwrap().unwrap();
    let two = db.claim(id2, "service", now, lease).unwrap().unwrap();
    assert_eq!(two.claim_gen, one.claim_gen + 1);
    assert!(!db.begin_send(id2, Fence::of(&one, "service"), now, lease).unwrap());
    assert!(db.begin_send(id2, Fence::of(&two, "service"), now, lease).unwrap());
}

#[test]
fn held_rows_are_not_due_until_released() {
    let (_d, db) = db();
    let now = Utc::now();
    let id =
        db.enqueue(&NewRow { held: Some("placeholder"), ..new_row("k") }, now).unwrap().unwrap();
    assert!(db.due_rows(now).unwrap().is_empty());
    db.set_held(id, None, now).unwrap();
    assert_eq!(db.due_rows(now).unwrap().len(), 1);
}
