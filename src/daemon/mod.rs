//! The long-running service: the announcing policy ([`schedule`]) that decides, each cycle,
//! which issues to announce.

pub mod schedule;
