//! Posts edited to a changed title (`edit_on_title_change`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{CycleReport, Settings};
use crate::announce::send::SendError;
use crate::announce::{Announcing, Outlet, Platform};
use crate::archive::Article;
use crate::archive::scan::read_body;
use crate::state::Db;

/// `edit_on_title_change`: edits the posted Mastodon statuses of issues whose title changed
/// (and has been unchanged since `settled_before`) to the post composed with the new title.
/// An edit is idempotent: a lost reply is edited again on the next cycle. A refusal (the
/// status was deleted, say) is recorded on the row and not tried again for that title.
pub(super) async fn edit_changed_titles(
    settings: &Settings,
    db: &Mutex<Db>,
    outlets: &[Outlet],
    by_key: &HashMap<&str, &Article>,
    settled_before: DateTime<Utc>,
    report: &mut CycleReport,
) -> anyhow::Result<()> {
    let lock = || Db::lock(db);
    let rows = lock().rows_with_changed_title(settled_before)?;
    for (row, title) in rows {
        let Some(outlet) = outlets.iter().find(|o| o.account.name() == row.account) else {
            continue;
        };
        let Some(article) = by_key.get(row.issue_key.as_str()) else { continue };
        if outlet.account.platform() != Platform::Mastodon {
            // A Bluesky record cannot be edited in the apps; deleting and posting anew would
            // take the post's replies, likes and reposts with it and announce the issue twice.
            // The post stays; the operator is told once, and `status` shows it.
            let why = "Bluesky posts cannot be edited; the post keeps its first title and link";
            tracing::warn!(issue = %row.issue_key, account = %row.account, %title, "{why}");
            lock().mark_edit_refused(row.id, &title, why, Utc::now())?;
            continue;
        }
        let limits = outlet.sender.limits(settings.announce.mastodon.limits).await;
        // The body, read again (the scan holds none): a file changed since waits for the next
        // cycle's scan.
        let article = match read_body(article, &settings.parse) {
            Ok(full) => full,
            Err(e) => {
                tracing::info!(issue = %row.issue_key, account = %row.account, cause = %e, "not edited in this cycle");
                continue;
            }
        };
        let issue = Announcing::new(&article, row.issue_key.clone(), &settings.announce);
        let post = match issue.compose(&settings.announce, Platform::Mastodon, Some(limits)) {
            Ok(post) => post,
            Err(e) => {
                tracing::error!(issue = %row.issue_key, account = %row.account, cause = %crate::report::describe(&e), "cannot compose the edited post");
                continue;
            }
        };
        match outlet.sender.edit(&row, &post).await {
            Ok(true) => {
                lock().mark_edited(row.id, &serde_json::to_string(&post)?, &title, Utc::now())?;
                tracing::info!(issue = %row.issue_key, account = %row.account, %title, "post edited to the new title");
                report.edits.push((row.account.clone(), row.issue_key.clone()));
            }
            Ok(false) => {}
            Err(SendError::Permanent { message, .. }) => {
                tracing::error!(issue = %row.issue_key, account = %row.account, cause = %message, "the edit was refused; the post keeps its old title");
                lock().mark_edit_refused(row.id, &title, &message, Utc::now())?;
            }
            Err(e) => {
                tracing::warn!(issue = %row.issue_key, account = %row.account, cause = %e, "edit failed; trying again next cycle");
            }
        }
    }
    Ok(())
}
