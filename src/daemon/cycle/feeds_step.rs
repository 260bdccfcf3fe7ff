//! The cycle's feed step: the feeds built and written when what they are built from changed.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{CycleReport, CycleState, Settings};
use crate::archive::Article;
use crate::archive::scan::{BodyError, read_body};
use crate::feeds::{self, Renderings, write::WriteOutcome};
use crate::state::Db;

/// Builds the feeds from `articles` and writes the files whose bytes changed, unless nothing
/// they are built from changed since the last build and no one touched them. What was done
/// goes in `report`; a failure leaves the files as they were, and the cycle goes on.
pub(super) fn update(
    settings: &Settings,
    db: &Mutex<Db>,
    state: &mut CycleState,
    articles: &Arc<[Article]>,
    now: DateTime<Utc>,
    report: &mut CycleReport,
) {
    let lock = || Db::lock(db);
    let started = std::time::Instant::now();
    // A feed's WebSub ping is recorded before its new bytes replace the old: a crash in
    // between costs at most a ping for an unchanged feed, never a lost one.
    let mut record_ping = |path: &str| -> std::io::Result<()> {
        crate::daemon::tell::record_ping(&mut lock(), settings, path, now)
            .map(drop)
            .map_err(std::io::Error::other)
    };
    let done = state
        .feeds_done
        .take()
        .filter(|(list, done)| Arc::ptr_eq(list, articles) && done.still(&settings.feeds));
    if let Some(done) = done {
        // Nothing they are built from changed, and no one touched them: nothing to build.
        report.feeds_unchanged = done.1.len();
        state.feeds_done = Some(done);
    } else if let Err(e) = prepare_feeds(articles, settings, &mut state.renderings) {
        // An editor saving as the feeds were built: built from the file as it is next cycle.
        tracing::info!(cause = %e, "feeds not built in this cycle: an article changed as they were; built again in the next");
        report.more_due = true;
    } else {
        match feeds::update_then(articles, &settings.feeds, &mut state.renderings, &mut record_ping)
        {
            Ok(outcomes) => {
                let paths: Vec<String> = outcomes.iter().map(|(p, _)| p.clone()).collect();
                state.feeds_done =
                    Some((articles.clone(), feeds::write::Left::new(&settings.feeds, &paths)));
                for (path, outcome) in outcomes {
                    match outcome {
                        WriteOutcome::Written => {
                            report.feeds_written += 1;
                            report.feeds_changed.push(path);
                        }
                        WriteOutcome::Unchanged => report.feeds_unchanged += 1,
                    }
                }
            }
            Err(e) => {
                let error = crate::report::describe(&e);
                tracing::error!(cause = %error, "feeds not written; they keep their last good state, announcements go on");
                report.feeds_error = Some(error);
            }
        }
    }
    report.feeds_duration = started.elapsed();
}

/// Renders the articles the feeds hold whose renderings are not kept, each read again from
/// its file for its body (the scan holds none): an article whose file no longer holds what
/// the scan read is the error, and the feeds are not built from a mix of the two.
fn prepare_feeds(
    articles: &[Article],
    settings: &Settings,
    renderings: &mut Renderings,
) -> Result<(), BodyError> {
    let held: Vec<&Article> = feeds::articles_in_feeds(articles, &settings.feeds)
        .into_iter()
        .map(|i| &articles[i])
        .collect();
    renderings.prepare(&held, &settings.feeds.summary, |a| read_body(a, &settings.parse))
}
