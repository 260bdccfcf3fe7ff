//! Renders every article of an archive to `OUT/<slug>.html` (body) and `OUT/summaries/<slug>.html`,
//! for comparing with Pelican's output: `feeddiff.py --content GOLDEN/content OUT`.
//!
//! `cargo run --release --example render_archive -- ARCHIVE_DIR OUT_DIR`

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: render_archive ARCHIVE_DIR OUT_DIR");
    };
    let (dir, out) = (PathBuf::from(dir), PathBuf::from(out));
    std::fs::create_dir_all(out.join("summaries"))?;
    let scan = herald::archive::scan(&dir, &herald::archive::ParseSettings::default())?;
    for e in &scan.errors {
        eprintln!("{e}");
    }
    let summary = herald::feeds::SummarySettings::default();
    for a in &scan.articles {
        let rendered = herald::feeds::Rendered::of(a, &summary);
        std::fs::write(out.join(format!("{}.html", a.slug)), &rendered.html)?;
        std::fs::write(out.join("summaries").join(format!("{}.html", a.slug)), &rendered.summary)?;
    }
    eprintln!("{} articles, {} errors", scan.articles.len(), scan.errors.len());
    Ok(())
}
