//! Snapshot tests of whole documents rendered by `render_markdown`, and a property test that
//! it never panics.
//!
//! Every snapshot was checked against Python-Markdown 3.7 with Pelican's TWiR configuration
//! (`extra`, `codehilite(css_class="highlight")`, `toc(anchorlink=True)`, `meta`, html5): they
//! are byte-identical except for Pygments' token `<span>`s inside code blocks.

use herald::render::render_markdown;
use proptest::prelude::*;

#[test]
fn recent_issue_excerpt() {
    insta::assert_snapshot!(render_markdown(
        r#"Hello and welcome to another issue of *This Week in Rust*!
Want something mentioned? Tag us at [@thisweekinrust](https://example.com/?a=1&b=2).

## Updates from Rust Community

<!--

Dear community contributors:
* [Title of the Linked Page](https://example.com/my_article)

-->

### Official

* [Announcing Rust 1.87.0](https://blog.rust-lang.org/2025/05/15/Rust-1.87.0/)
* [`Vec<T>` and `HashMap<K, V>` explained](https://example.com/a_(b))

### RFCs

Changes to Rust follow the Rust [RFC (request for comments) process](https://github.com/rust-lang/rfcs#rust-rfcs).
These are the RFCs that were approved for implementation this week:
* No RFCs were approved this week.

| Rank | Crate | Downloads |
|-----:|:------|:---------:|
| 1 | `serde` | 10\|000 |

> Rust is fast **and** *safe*,
> says `HashMap<K, V>` to Vec<T>.

### Quote of the Week

**Crate of the Week** is *[`cargo-semver-checks`](https://crates.io/crates/cargo-semver-checks)*.
"#
    ));
}

#[test]
fn early_issue_excerpt() {
    insta::assert_snapshot!(render_markdown(
        r#"Hello and welcome to the third issue of *This Week in Rust*, a weekly
newsletter summarizing Rust's progress and community activity.

<!-- more -->

# What's cooking on master?

There were 30 PRs merged this week. The `~` sigil is going away; use
`Box<T>` (or `box` expressions) instead:

    // each element is boxed
    let v = ~[1, 2, 3];

* `extern mod foo (name="bar")` syntax is gone, see [#11151][1].
* Nested lists
    * need four spaces
    * like this
* `impl TrustedLen for ` `{` `Empty` `}`.

[1]: https://github.com/mozilla/rust/pull/11151 "PR 11151"

<Quxxy> this is an IRC quote & it looks like a tag
"#
    ));
}

#[test]
fn edge_cases() {
    insta::assert_snapshot!(render_markdown(
        r#"Title
=====

Emphasis: *const ()*, snake_case_word, __init__, _emph_, ***both***, a * b.
Escapes: \*x\*, From\<array>, \`tick\`, 'quote\'.
Mail: <someone@example.com>, link: <https://example.com/path>.
Entity: &copy; &amp; AT&T, line  
break.

1. one
2. two

    indented continuation

- - -

## Title
## Title

```rust
fn main() { let s = "<b>"; }
```
"#
    ));
}

/// Footnotes and abbreviations together; the snapshot is byte-for-byte Python-Markdown 3.7's
/// output with Pelican's TWiR configuration.
#[test]
fn footnotes_and_abbreviations() {
    insta::assert_snapshot!(render_markdown(
        r#"*[TWiR]: This Week in Rust
*[RFC]: Request for Comments

# TWiR news[^intro]

TWiR covers every RFC[^rfc] merged this week, and `RFC` numbers too.
Again: the RFC process[^rfc] is described in [the RFC book](https://rust-lang.github.io/rfcs/).

* An RFC in a list[^intro]
* Unknown note[^missing] stays text

[^intro]: Published weekly since 2013.

    A second paragraph with an RFC.

[^rfc]: See the *RFC* repository.
"#
    ));
}

#[test]
fn deep_nesting_does_not_overflow() {
    for unit in ["> ", "* ", "    * ", "[", "*", "_", "<div>", "`", "1. "] {
        let doc = unit.repeat(5_000) + "x";
        let html = render_markdown(&doc);
        assert!(html.len() < doc.len() * 20, "{unit:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Markdown-ish noise: every construct the renderer knows, mixed up.
    #[test]
    fn never_panics(doc in r#"([ a-z0-9*_`#>|:\[\]()<>!&;/\\'"=.{}~+-]|\n|    |</?div>|<!--|-->|```|\[x\]: u){0,120}"#) {
        let html = render_markdown(&doc);
        prop_assert_eq!(render_markdown(&doc), html);
    }

    #[test]
    fn never_panics_on_any_text(doc in any::<String>()) {
        render_markdown(&doc);
    }
}
