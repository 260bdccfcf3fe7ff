use std::time::Instant;
fn main() {
    let dir = std::path::Path::new("../shared/twir/content");
    let p = herald::archive::ParseSettings::default();
    for _ in 0..3 {
        let t = Instant::now();
        let scan = herald::archive::scan(dir, &p).unwrap();
        let t_scan = t.elapsed();
        let t = Instant::now();
        herald::parallel::map(&scan.articles, |a| {
            a.render_html();
        });
        let t_render = t.elapsed();
        let t = Instant::now();
        let mut s = herald::feeds::FeedSettings::default();
        s.files.max_items = herald::feeds::MaxItems::All;
        let files = herald::feeds::render_feeds(&scan.articles, &s, &mut Default::default());
        let t_feeds = t.elapsed();
        let t = Instant::now();
        herald::feeds::write::write_feeds(std::path::Path::new("/tmp/prof/out"), &files).unwrap();
        let t_write = t.elapsed();
        let t = Instant::now();
        let mut n = 0;
        for a in &scan.articles {
            n += herald::render::render_markdown(a.body()).len();
        }
        let t_md1 = t.elapsed();
        eprintln!(
            "scan {:?} render(par) {:?} feeds {:?} write {:?} | md single-thread {:?} ({n} bytes)",
            t_scan, t_render, t_feeds, t_write, t_md1
        );
    }
}
