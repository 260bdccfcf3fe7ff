//! Crash-safe state: what herald has seen and posted, in SQLite.
//!
//! WAL mode with `synchronous=FULL`: a committed transaction survives a crash or power loss.
//! The announcing rule that makes "exactly once" hold: an outbox row's intent (status
//! `sending`, attempt counted) is committed *before* the network call and the result right
//! after it, so a restart always knows whether a call may have reached the server.

pub mod db;
pub mod issues;
pub mod lock;
pub mod notices;
pub mod outbox;
pub mod sessions;

pub use db::{Db, DbError};
pub use issues::{IssueRecord, Sighting, Undecided};
pub use lock::StateLock;
pub use notices::{FailingChannel, Notice};
pub use outbox::{NewRow, OutboxRow, Posted, RowStatus};
