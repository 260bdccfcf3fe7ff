//! The long-running service: one [`cycle`] scans, writes feeds, decides with the
//! [`schedule`] policy and delivers the outbox; [`service`] runs cycles as files change,
//! on the rescan schedule and when something comes due, with the [`Settings`] it is given.

pub mod cycle;
pub mod health;
pub mod page;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod status;
pub mod tell;
pub mod watch;

pub use settings::Settings;
