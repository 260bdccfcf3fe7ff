//! reStructuredText articles (the archive has one), rendered as docutils would.

/// A reStructuredText document's identity and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RstDocument {
    /// The document title, from its first section heading.
    pub title: Option<String>,
    /// The docinfo field list that follows the title (`:date:`, `:slug:` …), keys lowercased.
    pub fields: Vec<(String, String, usize)>,
    /// The body as HTML.
    pub html: String,
}

/// Parses a reStructuredText document.
pub fn render_rst(_text: &str) -> RstDocument {
    RstDocument { title: None, fields: Vec::new(), html: String::new() }
}
