//! What a notice says, the same on every channel: a one-line summary, the details, the issue
//! it is about and the command that fixes or settles it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::Event;

/// The issue a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRef {
    /// `Number:`.
    pub number: Option<u32>,
    /// Its title.
    pub title: String,
    /// Its URL.
    pub url: String,
    /// Its file.
    pub file: String,
}

/// A notice's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// What happened.
    pub event: Event,
    /// One line: the subject of an email, the first line elsewhere.
    pub summary: String,
    /// The details, one per line (each finding with its line, the error).
    pub details: Vec<String>,
    /// The issue, where there is one.
    pub issue: Option<IssueRef>,
    /// What to run or do about it, where something is to be done.
    pub action: Option<String>,
    /// When herald noticed it.
    pub at: DateTime<Utc>,
}

impl Message {
    /// The message as plain text (an email's body; the webhook's `text`).
    pub fn text(&self) -> String {
        let mut out = self.summary.clone();
        out.push('\n');
        if let Some(issue) = &self.issue {
            out.push_str(&format!("\nissue: {}\nfile: {}\n", issue.url, issue.file));
        }
        if !self.details.is_empty() {
            out.push('\n');
            for d in &self.details {
                out.push_str(&format!("- {d}\n"));
            }
        }
        if let Some(action) = &self.action {
            out.push_str(&format!("\nwhat to do: {action}\n"));
        }
        out.push_str(&format!(
            "\n-- herald {} at {}\n",
            env!("CARGO_PKG_VERSION"),
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
        out
    }

    /// The generic JSON document a webhook receives; `id` is the notice's (stable across
    /// retries, so a receiver can drop a repeat).
    pub fn json(&self, id: i64) -> serde_json::Value {
        serde_json::json!({
            "id": id,
            "event": self.event,
            "summary": self.summary,
            "details": self.details,
            "issue": self.issue,
            "action": self.action,
            "at": self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "text": self.text(),
            "herald": env!("CARGO_PKG_VERSION"),
        })
    }

    /// The Slack-compatible `{"text": …}` (Slack, Mattermost, Zulip's and Discord's Slack
    /// endpoints): the summary in bold, then the text. `<`, `>` and `&` are escaped as Slack's
    /// markup wants, so an issue's text cannot make a link or a mention.
    pub fn slack(&self) -> serde_json::Value {
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let text = self.text();
        let rest = text.split_once('\n').map_or("", |(_, r)| r);
        serde_json::json!({ "text": format!("*{}*\n{}", escape(&self.summary), escape(rest)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held() -> Message {
        Message {
            event: Event::Held,
            summary: "#666 This Week in Rust 666 is held: it will not be announced until fixed"
                .into(),
            details: vec!["line 58: unfilled template comment <!-- COTW goes here -->".into()],
            issue: Some(IssueRef {
                number: Some(666),
                title: "This Week in Rust 666".into(),
                url: "https://this-week-in-rust.org/blog/2026/08/26/this-week-in-rust-666/".into(),
                file: "content/2026-08-26-this-week-in-rust.md".into(),
            }),
            action: Some(
                "fill in the section; `herald preview --issue 666` shows what holds it".into(),
            ),
            at: DateTime::parse_from_rfc3339("2026-08-26T12:00:00Z").unwrap().to_utc(),
        }
    }

    #[test]
    fn the_text_says_what_which_issue_and_what_to_do() {
        let text = held().text();
        assert!(text.starts_with("#666 This Week in Rust 666 is held"), "{text}");
        assert!(text.contains("file: content/2026-08-26-this-week-in-rust.md"), "{text}");
        assert!(text.contains("- line 58: unfilled template comment"), "{text}");
        assert!(text.contains("what to do: fill in the section"), "{text}");
    }

    #[test]
    fn slack_text_escapes_its_markup_and_json_carries_the_id() {
        let slack = held().slack();
        let text = slack["text"].as_str().unwrap();
        assert!(text.starts_with("*#666 This Week in Rust 666 is held"), "{text}");
        assert!(text.contains("&lt;!-- COTW goes here --&gt;"), "{text}");
        let json = held().json(17);
        assert_eq!(json["id"], 17);
        assert_eq!(json["event"], "held");
        assert_eq!(json["issue"]["number"], 666);
    }
}
