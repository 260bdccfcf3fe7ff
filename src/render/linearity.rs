//! Rendering pathological articles: the work (in budget steps, which do not depend on the
//! machine or its load) grows linearly with the article, whether or not the budget runs out,
//! and nothing of the article is lost when it does. Time is measured by
//! `cargo bench --bench linearity`.

use super::budget::{Bounded, FLOOR, PER_BYTE, bounded};
use super::{render_markdown, render_rst};

/// The patterns of issue #19 and the ones the fuzzing found slow, as (name, one unit).
const PATTERNS: &[&str] = &[
    "[",
    "[^",
    "[a](",
    "*",
    "_",
    "*a",
    "`",
    "<",
    "<a ",
    "&",
    "\\",
    "<!--",
    "![",
    "</div>",
    "[a]('",
    "[a](http://x.example/) ",
    "# a\n",
];

fn markdown(text: &str) -> Bounded<String> {
    bounded(text.len(), || render_markdown(text))
}

fn nested_lists(n: usize) -> String {
    (0..n).map(|i| format!("{}- a\n", "  ".repeat(i % 50))).collect()
}

fn nested_quotes(n: usize) -> String {
    (0..n).map(|i| format!("{} a\n", ">".repeat(i % 50 + 1))).collect()
}

/// Every input of the test at n repetitions.
fn inputs(n: usize) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        PATTERNS.iter().map(|p| (p.to_string(), p.repeat(n))).collect();
    all.push(("nested lists".into(), nested_lists(n / 8)));
    all.push(("nested quotes".into(), nested_quotes(n / 8)));
    all
}

#[test]
fn work_grows_linearly_with_pathological_input() {
    let n = 8_000;
    for ((name, small), (_, large)) in inputs(n).into_iter().zip(inputs(2 * n)) {
        let (a, b) = (markdown(&small), markdown(&large));
        let budget = |len: usize| FLOOR + PER_BYTE * len as u64;
        // What a spent budget lets through is one more linear pass at most.
        assert!(b.steps <= 2 * budget(large.len()), "{name}: {} steps", b.steps);
        if !a.cut_short && !b.cut_short {
            let ratio = b.steps as f64 / a.steps as f64;
            assert!(ratio <= 2.5, "{name}: {} then {} steps (ratio {ratio:.2})", a.steps, b.steps);
        }
    }
}

#[test]
fn rst_work_grows_linearly_with_deep_lists_and_punctuation() {
    let lists = |n: usize| -> String {
        let items: String = (0..n).map(|i| format!("{}- a\n\n", "  ".repeat(i % 60))).collect();
        format!("Title\n=====\n\n{items}")
    };
    let colons = |n: usize| format!("Title\n=====\n\n{}\n", ":.".repeat(n));
    for (name, make) in [("lists", &lists as &dyn Fn(usize) -> String), ("colons", &colons)] {
        let (small, large) = (make(1_000), make(2_000));
        let a = bounded(small.len(), || render_rst(&small).html);
        let b = bounded(large.len(), || render_rst(&large).html);
        assert!(b.steps <= 2 * (FLOOR + PER_BYTE * large.len() as u64), "{name}: {}", b.steps);
        if !a.cut_short && !b.cut_short {
            let ratio = b.steps as f64 / a.steps as f64;
            assert!(ratio <= 2.5, "{name}: {} then {} steps", a.steps, b.steps);
        }
    }
}

#[test]
fn an_article_over_its_budget_keeps_all_its_text() {
    // 20 KB of unclosed links and comments around a sentence: the budget runs out, the rest is
    // text, and every word of it is in the HTML.
    let text = format!("{}Last words.{}\n", "[a](".repeat(3_000), "<!--b ".repeat(2_000));
    let out = markdown(&text);
    assert!(out.cut_short);
    assert_eq!(out.value.matches('a').count(), 3_000 + "Last words.".matches('a').count());
    assert_eq!(out.value.matches('b').count(), 2_000);
    assert!(out.value.contains("Last words."));
    assert!(out.value.contains("[a](") && out.value.contains("&lt;!--b"), "shown as text");
}

#[test]
fn ordinary_articles_render_the_same_within_the_budget() {
    let text = "# Title\n\nSome *text* with [a link](https://x.example/ \"t\") and `code`.\n\n\
                - one\n- two\n\n> quoted <b>bold</b>\n";
    let bounded_out = markdown(text);
    assert!(!bounded_out.cut_short);
    assert_eq!(bounded_out.value, render_markdown(text));
    let rst = "Title\n=====\n\nSome *text* and ``code``.\n";
    let out = bounded(rst.len(), || render_rst(rst).html);
    assert!(!out.cut_short);
    assert_eq!(out.value, render_rst(rst).html);
}
