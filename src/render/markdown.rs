//! Markdown to HTML as Python-Markdown 3.7 renders it with TWiR's extensions.

/// Renders a Markdown article body (header already removed) to HTML.
pub fn render_markdown(body: &str) -> String {
    let mut out = String::new();
    let parser = pulldown_cmark::Parser::new_ext(body, pulldown_cmark::Options::all());
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}
