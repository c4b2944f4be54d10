//! Citations of the protocol reference, and mentions of notes that live outside the repository.
//!
//! Code, fixtures and docs cite `docs/protocol.md §8.5`, often as a list (`§5.6, §8.10`,
//! `§8.4–§8.6`, `§2.4 rule 1, §7.2`). Every section in such a list must be a numbered heading of
//! `docs/protocol.md`, or a reader following the citation finds nothing. The team's working notes
//! used to be cited by a path outside the repository; those mentions must not come back.
//!
//! The patterns avoid spelling the forbidden names literally (`shared[/]design`), so this file
//! passes its own check.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::markdown::{Lines, heading_texts};

/// A section named in a citation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// e.g. `8.5`.
    pub section: String,
    /// 1-based line of the citation.
    pub line: usize,
}

const SECTION: &str = r"([0-9]+(?:\.[0-9]+)*)";

static CITATION_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"docs/protocol\.md[ \t]+§[ \t]*{SECTION}")).expect("a valid pattern")
});

/// What may follow a cited section: another section after a separator, or a numbered item of
/// the section ("rule 7", "items 7, 9").
static CITATION_NEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:[ \t]*(?:,|–|—|-|/|&|and|or)[ \t]*§[ \t]*{SECTION}|[ \t]+(?:rules?|steps?|items?)[ \t]+[0-9]+(?:[ \t]*(?:,|–|-|and|or)[ \t]*[0-9]+)*)"
    ))
    .expect("a valid pattern")
});

static BARE_SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("§{SECTION}")).expect("a valid pattern"));

static NUMBERED_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+(?:\.[0-9]+)*)\.?(?:[ \t]|$)").expect("a valid pattern"));

/// Each forbidden mention, and what to write instead.
static FORBIDDEN: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"\.\./shared",
            "the team's shared folder is not in a user's clone; link into docs/",
        ),
        (
            r"shared[/]design",
            "the team's design notes are not in a user's clone; link into docs/",
        ),
        (
            r"(?:^|[^A-Za-z0-9_])((?:PROTOCOL|ARCHITECTURE|STYLE|TOOLING)\.md)",
            "a note outside the repository; cite docs/protocol.md or docs/architecture.md",
        ),
        (
            r"PROTOCOL[ \t]*§",
            "the old protocol notes; cite `docs/protocol.md §N.M`",
        ),
    ]
    .into_iter()
    .map(|(pattern, advice)| (Regex::new(pattern).expect("a valid pattern"), advice))
    .collect()
});

/// The section numbers of `docs/protocol.md`'s numbered headings (`## 8. …` → `8`,
/// `### 8.5 …` → `8.5`).
pub fn numbered_sections(protocol: &str) -> BTreeSet<String> {
    heading_texts(protocol)
        .iter()
        .filter_map(|heading| NUMBERED_HEADING.captures(heading.trim()))
        .map(|captures| captures[1].to_owned())
        .collect()
}

/// Every section cited as `docs/protocol.md §…`, lists included.
pub fn citations(text: &str) -> Vec<Citation> {
    let lines = Lines::new(text);
    let mut found = Vec::new();
    for head in CITATION_HEAD.captures_iter(text) {
        let whole = head.get(0).expect("group 0 always matches");
        found.push(Citation {
            section: head[1].to_owned(),
            line: lines.line_of(whole.start()),
        });
        let mut at = whole.end();
        while let Some(next) = CITATION_NEXT.captures(&text[at..]) {
            let matched = next.get(0).expect("group 0 always matches");
            if let Some(section) = next.get(1) {
                found.push(Citation {
                    section: section.as_str().to_owned(),
                    line: lines.line_of(at + section.start()),
                });
            }
            at += matched.end();
        }
    }
    found
}

/// Every `§N.M` in a text, whatever precedes it (used inside `docs/protocol.md`, where the
/// document cites itself).
pub fn bare_sections(text: &str) -> Vec<Citation> {
    let lines = Lines::new(text);
    BARE_SECTION
        .captures_iter(text)
        .map(|captures| Citation {
            section: captures[1].to_owned(),
            line: lines.line_of(captures.get(0).expect("group 0 always matches").start()),
        })
        .collect()
}

/// A mention of something outside the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The text found.
    pub found: String,
    /// What to do instead.
    pub advice: &'static str,
    /// 1-based line.
    pub line: usize,
}

/// Every forbidden mention in a text.
pub fn forbidden_mentions(text: &str) -> Vec<Mention> {
    let lines = Lines::new(text);
    let mut found: Vec<Mention> = FORBIDDEN
        .iter()
        .flat_map(|(pattern, advice)| {
            pattern.captures_iter(text).map(|captures| {
                // The name itself, without the character that shows it is not part of a longer one.
                let m = captures
                    .get(1)
                    .unwrap_or_else(|| captures.get(0).expect("group 0 always matches"));
                Mention {
                    found: m.as_str().to_owned(),
                    advice,
                    line: lines.line_of(m.start()),
                }
            })
        })
        .collect();
    found.sort_by_key(|mention| mention.line);
    found
}
