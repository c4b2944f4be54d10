//! The documentation check: the repository stands on its own.
//!
//! A user's clone holds only the repository, so every pointer a reader can follow must land
//! inside it: relative Markdown links (and their `#anchors`), citations of the protocol reference
//! (`docs/protocol.md §N.M`), and no mention of the team's notes that live elsewhere. The rules
//! are in the submodules and work on text plus a [`tree::Tree`], so each is tested on small
//! in-memory inputs; [`check`] applies them all to a list of files. What the check covers is
//! described for users in `docs/README.md` ("The link check").

#![allow(dead_code)] // each test uses a different part

pub mod links;
pub mod markdown;
pub mod references;
pub mod slug;
pub mod tree;
pub mod walk;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use tree::Tree;

/// The protocol reference that citations point into.
pub const PROTOCOL: &str = "docs/protocol.md";

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Repository-relative path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.problem)
    }
}

/// The result of a check, with enough counts to show it did not pass by looking at nothing.
#[derive(Debug, Default)]
pub struct Report {
    /// Every problem found.
    pub findings: Vec<Finding>,
    /// Files read.
    pub files_scanned: usize,
    /// Markdown files whose links were checked.
    pub markdown_files: usize,
    /// Relative links checked.
    pub links_checked: usize,
    /// Section citations checked (including `docs/protocol.md`'s own `§` references).
    pub citations_checked: usize,
    /// Numbered sections found in `docs/protocol.md`.
    pub sections: usize,
}

fn extension(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, ext)| ext.to_ascii_lowercase())
}

/// Markdown files whose links are checked: all but installed tools.
fn links_are_checked(path: &str) -> bool {
    extension(path).as_deref() == Some("md") && !path.starts_with("tools/")
}

/// Files in which a `docs/protocol.md §N` citation is checked.
fn citations_are_checked(path: &str) -> bool {
    matches!(
        extension(path).as_deref(),
        Some("rs" | "md" | "json" | "toml" | "bicep" | "yaml" | "yml")
    )
}

/// Files searched for mentions of notes outside the repository: every text the project writes
/// (scripts without an extension, such as `.ci/run`, included).
fn mentions_are_checked(path: &str) -> bool {
    citations_are_checked(path)
        || matches!(
            extension(path).as_deref(),
            None | Some("sh" | "txt" | "bicepparam")
        )
}

/// Applies every rule to `files` (repository-relative paths in `tree`).
pub fn check(tree: &dyn Tree, files: &[String]) -> Report {
    let mut report = Report::default();
    let sections: BTreeSet<String> = match tree.read(PROTOCOL) {
        Some(text) => references::numbered_sections(&text),
        None => {
            report.findings.push(Finding {
                file: PROTOCOL.to_owned(),
                line: 1,
                problem: "the protocol reference is missing".to_owned(),
            });
            BTreeSet::new()
        }
    };
    report.sections = sections.len();
    let mut anchor_cache: HashMap<String, HashSet<String>> = HashMap::new();
    let mut anchors_of = |path: &str| -> HashSet<String> {
        anchor_cache
            .entry(path.to_owned())
            .or_insert_with(|| {
                tree.read(path)
                    .map(|text| markdown::anchors(&text))
                    .unwrap_or_default()
            })
            .clone()
    };
    for file in files {
        let checks_links = links_are_checked(file);
        let checks_citations = citations_are_checked(file);
        if !checks_links && !checks_citations && !mentions_are_checked(file) {
            continue;
        }
        let Some(text) = tree.read(file) else {
            continue; // not UTF-8: not something we write by hand
        };
        report.files_scanned += 1;
        let mut problems: Vec<(usize, String)> = Vec::new();
        if checks_links {
            report.markdown_files += 1;
            for link in markdown::links(&text) {
                if links::resolve(file, &link.dest) == Ok(links::Target::External) {
                    continue;
                }
                report.links_checked += 1;
                if let Err(problem) = links::check_link(tree, &mut anchors_of, file, &link.dest) {
                    problems.push((link.line, problem));
                }
            }
        }
        if checks_citations {
            // The reference cites itself without the path prefix.
            let cited = if file == PROTOCOL {
                references::bare_sections(&text)
            } else {
                references::citations(&text)
            };
            report.citations_checked += cited.len();
            problems.extend(
                cited
                    .into_iter()
                    .filter(|citation| !sections.contains(&citation.section))
                    .map(|citation| {
                        (
                            citation.line,
                            format!(
                                "cites §{0} but {PROTOCOL} has no heading numbered {0}",
                                citation.section
                            ),
                        )
                    }),
            );
        }
        problems.extend(
            references::forbidden_mentions(&text)
                .into_iter()
                .map(|mention| {
                    (
                        mention.line,
                        format!("mentions `{}`: {}", mention.found, mention.advice),
                    )
                }),
        );
        report
            .findings
            .extend(problems.into_iter().map(|(line, problem)| Finding {
                file: file.clone(),
                line,
                problem,
            }));
    }
    report
}
