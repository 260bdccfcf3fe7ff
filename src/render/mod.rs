//! Rendering article bodies to the HTML Pelican publishes, and the summaries derived from it.

pub mod budget;
pub mod entities;
pub mod html_parser;
#[cfg(test)]
mod linearity;
pub mod markdown;
pub mod rst;
pub mod summary;
pub mod text;

pub use markdown::render_markdown;
pub use rst::render_rst;
pub use summary::summarize;
