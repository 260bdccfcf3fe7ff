//! The long-running service: one [`cycle`] scans, writes feeds, decides with the
//! [`schedule`] policy and delivers the outbox.

pub mod cycle;
pub mod health;
pub mod schedule;
pub mod service;
pub mod watch;
