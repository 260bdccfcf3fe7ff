//! `cargo bench --bench linearity`: how rendering time grows with pathological input. For each
//! pattern an editor (or an attacker) can type, an article of it repeated n times and 2n times
//! is rendered (Markdown; reStructuredText for its own patterns), and the time ratio printed:
//! linear is 2, quadratic 4. The goal (issue #19) is a ratio of at most 2.5 for every pattern.

use std::time::{Duration, Instant};

use herald::render::markdown::render_markdown;
use herald::render::rst::render_rst;

/// The fastest of a few runs of `f`.
fn time(f: impl Fn()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// An input of a pattern repeated n times.
type Maker = Box<dyn Fn(usize) -> String>;

/// A renderer under measure.
type Render = fn(&str);

fn patterns() -> Vec<(&'static str, Maker)> {
    vec![
        ("[", Box::new(|n| "[".repeat(n))),
        ("[^", Box::new(|n| "[^".repeat(n))),
        ("[a](", Box::new(|n| "[a](".repeat(n))),
        ("*", Box::new(|n| "*".repeat(n))),
        ("_", Box::new(|n| "_".repeat(n))),
        ("*a", Box::new(|n| "*a".repeat(n))),
        ("`", Box::new(|n| "`".repeat(n))),
        ("<", Box::new(|n| "<".repeat(n))),
        ("<a ", Box::new(|n| "<a ".repeat(n))),
        ("&", Box::new(|n| "&".repeat(n))),
        ("\\", Box::new(|n| "\\".repeat(n))),
        (
            "nested lists",
            Box::new(|n| (0..n).map(|i| format!("{}- a\n", "  ".repeat(i % 50))).collect()),
        ),
        (
            "nested quotes",
            Box::new(|n| (0..n).map(|i| format!("{} a\n", ">".repeat(i % 50 + 1))).collect()),
        ),
        ("links", Box::new(|n| "[a](http://x.example/) ".repeat(n))),
        ("text", Box::new(|n| "Rust is a language. ".repeat(n))),
    ]
}

/// Renders `make(n)` and `make(2n)` with `render`, prints the times and returns their ratio.
fn measure(name: &str, n: usize, make: &Maker, render: Render) -> f64 {
    let (a, b) = (make(n), make(2 * n));
    let t1 = time(|| render(&a));
    let t2 = time(|| render(&b));
    let ratio = t2.as_secs_f64() / t1.as_secs_f64().max(1e-9);
    println!(
        "{name:<14} {n:>10} {:>10.1}ms {:>10.1}ms {ratio:>6.2}",
        t1.as_secs_f64() * 1e3,
        t2.as_secs_f64() * 1e3
    );
    ratio
}

fn main() {
    let n: usize = std::env::var("LINEARITY_N").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    println!("{:<14} {:>10} {:>12} {:>12} {:>6}", "pattern", "n", "time n", "time 2n", "ratio");
    let markdown: Render = |text| drop(render_markdown(text));
    let rst: Render = |text| drop(render_rst(text));
    let in_rst = |make: fn(usize) -> String| -> Maker {
        Box::new(move |n| format!("Title\n=====\n\n{}\n", make(n)))
    };
    let mut cases: Vec<(&str, Maker, Render)> =
        patterns().into_iter().map(|(name, make)| (name, make, markdown)).collect();
    cases.extend([
        ("rst `", in_rst(|n| "`".repeat(n)), rst),
        ("rst *", in_rst(|n| "*".repeat(n)), rst),
        ("rst _", in_rst(|n| "a_ ".repeat(n)), rst),
        ("rst |", in_rst(|n| "|".repeat(n)), rst),
    ]);
    let mut worst: (f64, &str) = (0.0, "");
    for (name, make, render) in &cases {
        let ratio = measure(name, n, make, *render);
        if ratio > worst.0 {
            worst = (ratio, name);
        }
    }
    println!("worst ratio: {:.2} ({})", worst.0, worst.1);
}
