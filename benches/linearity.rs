//! `cargo bench --bench linearity`: how rendering time grows with pathological input. For each
//! pattern an editor (or an attacker) can type, an article of it repeated n times and 2n times
//! is rendered as herald renders an article (Markdown, or reStructuredText for its own patterns,
//! within the article's work budget, `herald::render::budget`), and the time ratio printed:
//! linear is 2, quadratic 4. The goal (issue #19) is a ratio of at most 2.5 for every pattern,
//! and no pattern slower per byte than a small multiple of a real article. First, the real
//! archive (`../shared/twir/content`, when it is there): the most steps and time per byte any
//! article needs, which the budget must stay far above.

use std::path::Path;
use std::time::{Duration, Instant};

use herald::archive::{ParseSettings, parse_article};
use herald::render::budget::{self, bounded};
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
        ("<!--", Box::new(|n| "<!--".repeat(n))),
        ("![", Box::new(|n| "![".repeat(n))),
        ("</div>", Box::new(|n| "</div>".repeat(n))),
        ("[a]('", Box::new(|n| "[a]('".repeat(n))),
        ("headings", Box::new(|n| "# a\n".repeat(n))),
        ("text", Box::new(|n| "Rust is a language. ".repeat(n))),
    ]
}

/// Renders `make(n)` and `make(2n)` with `render`, prints the times and returns their ratio
/// and the time per byte at 2n.
fn measure(name: &str, n: usize, make: &Maker, render: Render) -> (f64, f64) {
    let (a, b) = (make(n), make(2 * n));
    let t1 = time(|| {
        bounded(a.len(), || render(&a));
    });
    let t2 = time(|| {
        bounded(b.len(), || render(&b));
    });
    let cut = bounded(b.len(), || render(&b)).cut_short;
    let ratio = t2.as_secs_f64() / t1.as_secs_f64().max(1e-9);
    let per_byte = t2.as_secs_f64() * 1e9 / b.len() as f64;
    println!(
        "{name:<14} {n:>8} {:>10.1}ms {:>10.1}ms {ratio:>6.2} {per_byte:>9.0}ns {:>5}",
        t1.as_secs_f64() * 1e3,
        t2.as_secs_f64() * 1e3,
        if cut { "yes" } else { "no" }
    );
    (ratio, per_byte)
}

/// The most steps and nanoseconds per byte any article of the real archive takes.
fn archive() -> Option<(f64, f64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/twir/content");
    let mut steps: f64 = 0.0;
    let mut nanos: f64 = 0.0;
    let mut total = (0usize, Duration::ZERO);
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let Ok(article) = parse_article(&path, &bytes, &ParseSettings::default()) else {
            continue;
        };
        let len = article.body().len().max(1);
        let t = time(|| drop(article.render_html()));
        let rendered = article.render_html();
        assert!(!rendered.cut_short, "{}: a real article ran out of budget", path.display());
        steps = steps.max(rendered.steps as f64 / len as f64);
        nanos = nanos.max(t.as_secs_f64() * 1e9 / len as f64);
        total = (total.0 + len, total.1 + t);
    }
    println!(
        "real archive: at most {steps:.1} steps and {nanos:.0} ns per byte; {:.0} ns per \
         byte overall (budget: {} steps per byte of source)",
        total.1.as_secs_f64() * 1e9 / total.0.max(1) as f64,
        budget::PER_BYTE
    );
    Some((steps, nanos))
}

fn main() {
    let n: usize = std::env::var("LINEARITY_N").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let ordinary = archive();
    println!(
        "{:<14} {:>8} {:>12} {:>12} {:>6} {:>11} {:>5}",
        "pattern", "n", "time n", "time 2n", "ratio", "per byte", "cut"
    );
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
    let mut slowest: (f64, &str) = (0.0, "");
    for (name, make, render) in &cases {
        let (ratio, per_byte) = measure(name, n, make, *render);
        if ratio > worst.0 {
            worst = (ratio, name);
        }
        if per_byte > slowest.0 {
            slowest = (per_byte, name);
        }
    }
    println!("worst ratio: {:.2} ({})", worst.0, worst.1);
    print!("slowest per byte: {:.0} ns ({})", slowest.0, slowest.1);
    match ordinary {
        Some((_, nanos)) => println!(", {:.1} times the slowest real article", slowest.0 / nanos),
        None => println!(),
    }
}
