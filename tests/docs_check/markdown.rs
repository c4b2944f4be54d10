//! What the check needs from a Markdown file: its links and its headings' anchors.
//!
//! Parsed with `pulldown-cmark` (CommonMark plus GitHub's tables, footnotes, strikethrough and
//! task lists), so a link inside a code block or inline code is not mistaken for a link, and
//! reference-style links are resolved to their targets exactly as a renderer would.

use std::collections::HashSet;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

use super::slug::Slugger;

/// A link or image in a Markdown file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target as written (after reference resolution), e.g. `../docs/protocol.md#85-…`.
    pub dest: String,
    /// 1-based line of the link.
    pub line: usize,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
}

/// Turns byte offsets into 1-based line numbers.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    /// The line index of `text`.
    pub fn new(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    /// The line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// Every link and image whose target a reader could follow. Autolinks (`<https://…>`,
/// `<someone@example.com>`) are left out: they are absolute by construction.
pub fn links(text: &str) -> Vec<Link> {
    let lines = Lines::new(text);
    Parser::new_ext(text, options())
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            })
            | Event::Start(Tag::Image {
                link_type,
                dest_url,
                ..
            }) if !matches!(link_type, LinkType::Autolink | LinkType::Email) => Some(Link {
                dest: dest_url.into_string(),
                line: lines.line_of(range.start),
            }),
            _ => None,
        })
        .collect()
}

/// The text of every heading, as GitHub reads it for the anchor (inline code included,
/// formatting and HTML tags left out), in document order.
pub fn heading_texts(text: &str) -> Vec<String> {
    let mut headings = Vec::new();
    let mut current: Option<String> = None;
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Start(Tag::Heading { .. }) => current = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => headings.extend(current.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(heading) = current.as_mut() {
                    heading.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(heading) = current.as_mut() {
                    heading.push(' ');
                }
            }
            _ => {}
        }
    }
    headings
}

/// The anchors GitHub generates for a document's headings.
pub fn anchors(text: &str) -> HashSet<String> {
    let mut slugger = Slugger::default();
    heading_texts(text)
        .iter()
        .map(|heading| slugger.slug(heading))
        .collect()
}
