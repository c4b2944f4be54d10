//! CI check: the documentation stands on its own. Every relative Markdown link and `#anchor`
//! resolves inside the repository, every `docs/protocol.md §N.M` citation names a numbered
//! section, and nothing mentions the team's notes kept outside the repository.
//!
//! The rules are tested one by one on small in-memory inputs, each rejecting the bad case it
//! exists for; then the whole worktree is scanned, and a small repository written to disk with
//! one of each mistake shows the scan itself reports them all.

mod docs_check;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use docs_check::links::{Target, check_link, resolve};
use docs_check::markdown::{anchors, links};
use docs_check::references::{bare_sections, citations, forbidden_mentions, numbered_sections};
use docs_check::slug::{Slugger, github_slug};
use docs_check::tree::{DiskTree, MemoryTree, Tree};
use docs_check::walk::repository_files;
use docs_check::{Report, check};

/// A scan of a few hundred files takes well under a second; this only stops a hang.
const SCAN_BUDGET: Duration = Duration::from_secs(120);

/// Runs `scan` on its own thread and fails the test if it does not finish in time.
fn within_budget<T: Send + 'static>(scan: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(scan());
    });
    result
        .recv_timeout(SCAN_BUDGET)
        .expect("the documentation scan finished within its budget")
}

fn scan(root: PathBuf) -> Report {
    let files = repository_files(&root).expect("the worktree can be listed");
    check(&DiskTree { root }, &files)
}

fn problems(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|finding| format!("  {finding}\n"))
        .collect()
}

/// A protocol reference with a few numbered sections, for the in-memory tests.
const SMALL_PROTOCOL: &str = "# Protocol reference\n\n## Contents\n\n## 1. Flow\n\n## 2. The callout\n\n### 2.4 Parsing rules [inf]\n\nRule 7 is in §2.4.\n\n## 8. Host\n\n### 8.5 Values are JSON-encoded twice\n\n### 8.10 Queue retry semantics\n";

fn memory_anchors(tree: &MemoryTree) -> impl FnMut(&str) -> std::collections::HashSet<String> + '_ {
    |path: &str| {
        tree.read(path)
            .map(|text| anchors(&text))
            .unwrap_or_default()
    }
}

fn link_problem(tree: &MemoryTree, source: &str, dest: &str) -> Result<(), String> {
    check_link(tree, &mut memory_anchors(tree), source, dest)
}

// ---- GitHub's heading slugs ----

#[test]
fn slugs_follow_githubs_rule() {
    assert_eq!(
        github_slug("10. Unverified — design for all variants"),
        "10-unverified--design-for-all-variants"
    );
    assert_eq!(github_slug("8.1 host.json"), "81-hostjson");
    assert_eq!(github_slug("3.4 Bearer (\"Normal\")"), "34-bearer-normal");
    assert_eq!(
        github_slug("5.4 Permissions and authorizedApps"),
        "54-permissions-and-authorizedapps"
    );
    assert_eq!(github_slug("snake_case and-dash"), "snake_case-and-dash");
    assert_eq!(github_slug("Größe à la carte"), "größe-à-la-carte");
    assert_eq!(github_slug("  Trimmed  "), "trimmed");
}

#[test]
fn repeated_headings_get_numbered_suffixes() {
    let mut slugger = Slugger::default();
    let slugs: Vec<String> = ["Sources", "Sources", "Sources-1", "Sources"]
        .iter()
        .map(|heading| slugger.slug(heading))
        .collect();
    // The third heading is spelt like the second one's slug, so it takes a suffix of its own.
    assert_eq!(slugs, ["sources", "sources-1", "sources-1-1", "sources-2"]);
}

#[test]
fn heading_anchors_include_inline_code_and_skip_code_blocks() {
    let text =
        "# Title\n\n### 8.1 `host.json`\n\n```text\n# not a heading\n```\n\nSetext\n======\n";
    let found = anchors(text);
    assert!(found.contains("title"));
    assert!(found.contains("81-hostjson"));
    assert!(found.contains("setext"));
    assert!(
        !found.contains("not-a-heading"),
        "a `#` line inside a fence is not a heading"
    );
}

// ---- extracting links ----

#[test]
fn links_are_found_with_their_lines_but_not_inside_code() {
    let text = "intro [a](a.md)\n\n`[b](b.md)` and\n\n```md\n[c](c.md)\n```\n![img](img/x.png) [ref][r] <https://example.com>\n\n[r]: docs/ref.md#top\n";
    let found: Vec<(String, usize)> = links(text)
        .into_iter()
        .map(|link| (link.dest, link.line))
        .collect();
    assert_eq!(
        found,
        [
            ("a.md".to_owned(), 1),
            ("img/x.png".to_owned(), 8),
            ("docs/ref.md#top".to_owned(), 8),
        ]
    );
}

// ---- resolving links ----

#[test]
fn links_resolve_relative_to_the_linking_file_or_the_root() {
    assert_eq!(
        resolve("crates/emu/README.md", "../../docs/protocol.md#85-x"),
        Ok(Target::Local {
            path: "docs/protocol.md".to_owned(),
            anchor: Some("85-x".to_owned()),
        })
    );
    assert_eq!(
        resolve("docs/README.md", "/README.md"),
        Ok(Target::Local {
            path: "README.md".to_owned(),
            anchor: None,
        })
    );
    assert_eq!(
        resolve("docs/README.md", "#the-link-check"),
        Ok(Target::Local {
            path: "docs/README.md".to_owned(),
            anchor: Some("the-link-check".to_owned()),
        })
    );
    assert_eq!(
        resolve("README.md", "docs/my%20file.md?plain=1"),
        Ok(Target::Local {
            path: "docs/my file.md".to_owned(),
            anchor: None,
        })
    );
    assert_eq!(
        resolve("README.md", "https://learn.microsoft.com/x"),
        Ok(Target::External)
    );
    assert_eq!(
        resolve("README.md", "mailto:someone@example.com"),
        Ok(Target::External)
    );
}

#[test]
fn a_link_leaving_the_repository_is_rejected() {
    // Exactly what the old README did: a sibling folder that exists on the team's machines only.
    let outside = concat!("../", "shared/", "design/");
    let error = resolve("README.md", outside).expect_err("climbing above the root is refused");
    assert!(error.contains("outside the repository"), "{error}");
    assert!(resolve("docs/README.md", "../../elsewhere.md").is_err());
    assert!(
        resolve("README.md", "").is_err(),
        "an empty target leads nowhere"
    );
}

#[test]
fn a_link_to_a_missing_file_is_rejected() {
    let tree = MemoryTree::new([("README.md", "x"), ("docs/protocol.md", SMALL_PROTOCOL)]);
    let error = link_problem(&tree, "README.md", "docs/deploy.md").expect_err("no such file");
    assert!(error.contains("docs/deploy.md"), "{error}");
    assert!(link_problem(&tree, "README.md", "docs/protocol.md").is_ok());
    assert!(
        link_problem(&tree, "README.md", "docs/").is_ok(),
        "a folder is a valid target"
    );
}

#[test]
fn a_link_to_a_missing_anchor_is_rejected() {
    let tree = MemoryTree::new([
        ("README.md", "# Readme\n\n## Usage\n"),
        ("docs/protocol.md", SMALL_PROTOCOL),
        ("src/lib.rs", "// code"),
    ]);
    let ok = |dest: &str| link_problem(&tree, "README.md", dest);
    assert!(ok("docs/protocol.md#85-values-are-json-encoded-twice").is_ok());
    assert!(ok("docs/protocol.md#24-parsing-rules-inf").is_ok());
    assert!(ok("#usage").is_ok());
    let error = ok("docs/protocol.md#85-values-are-encoded-twice").expect_err("wrong anchor");
    assert!(error.contains("#85-values-are-encoded-twice"), "{error}");
    assert!(
        ok("#installation").is_err(),
        "same-file anchors are checked too"
    );
    assert!(
        ok("docs/protocol.md#85-Values-Are-JSON-Encoded-Twice").is_err(),
        "anchors are compared exactly, as GitHub generates them"
    );
    assert!(
        ok("src/lib.rs#L1").is_ok(),
        "line anchors into code are not headings"
    );
}

// ---- protocol citations ----

#[test]
fn numbered_sections_come_from_the_headings() {
    let sections = numbered_sections(SMALL_PROTOCOL);
    let expected: Vec<&str> = vec!["1", "2", "2.4", "8", "8.10", "8.5"];
    assert_eq!(
        sections.iter().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
}

#[test]
fn citations_are_read_with_their_lists() {
    let text = "// see docs/protocol.md §8.5.\n// (docs/protocol.md §5.6, §8.10) and docs/protocol.md §8.4–§8.6\n// docs/protocol.md §2.4 rule 1, §7.2; docs/protocol.md §10 items 7, 9 / §3.3/§3.4\n// §9.9 alone is not a citation\n";
    let cited: Vec<(String, usize)> = citations(text)
        .into_iter()
        .map(|c| (c.section, c.line))
        .collect();
    let expected: Vec<(&str, usize)> = vec![
        ("8.5", 1),
        ("5.6", 2),
        ("8.10", 2),
        ("8.4", 2),
        ("8.6", 2),
        ("2.4", 3),
        ("7.2", 3),
        ("10", 3),
        ("3.3", 3),
        ("3.4", 3),
    ];
    assert_eq!(
        cited,
        expected
            .into_iter()
            .map(|(s, l)| (s.to_owned(), l))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_citation_of_a_missing_section_is_rejected() {
    let tree = MemoryTree::new([
        ("docs/protocol.md", SMALL_PROTOCOL),
        ("src/ok.rs", "//! Decoding (docs/protocol.md §8.5, §8.10)."),
        (
            "src/bad.rs",
            concat!(
                "//! Retries (docs/protocol.md",
                " §8.5, §8.11).\n",
                "//! docs/protocol.md",
                " §11\n",
            ),
        ),
        (
            "function/x.json",
            concat!("{\"why\": \"docs/protocol.md", " §8.13\"}"),
        ),
        ("infra/main.bicep", concat!("// docs/protocol.md", " §6.7")),
        ("azure.yaml", "# docs/protocol.md §6.6 rule 2"),
    ]);
    let report = check(&tree, &tree.paths());
    let found: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "azure.yaml:1: cites §6.6 but docs/protocol.md has no heading numbered 6.6",
            "function/x.json:1: cites §8.13 but docs/protocol.md has no heading numbered 8.13",
            "infra/main.bicep:1: cites §6.7 but docs/protocol.md has no heading numbered 6.7",
            "src/bad.rs:1: cites §8.11 but docs/protocol.md has no heading numbered 8.11",
            "src/bad.rs:2: cites §11 but docs/protocol.md has no heading numbered 11",
        ]
    );
}

#[test]
fn the_protocol_references_itself_only_by_existing_sections() {
    assert_eq!(
        bare_sections("see §2.4 and (§8.5–§8.7)")
            .into_iter()
            .map(|c| c.section)
            .collect::<Vec<_>>(),
        ["2.4", "8.5", "8.7"]
    );
    let broken = format!("{SMALL_PROTOCOL}\nSee §8.7 for the pitfall.\n");
    let tree = MemoryTree::new([("docs/protocol.md", broken.as_str())]);
    let report = check(&tree, &tree.paths());
    assert_eq!(report.findings.len(), 1, "{}", problems(&report));
    assert!(report.findings[0].problem.contains("§8.7"));
}

#[test]
fn a_missing_protocol_reference_is_reported() {
    let tree = MemoryTree::new([("src/lib.rs", "//! docs/protocol.md §1")]);
    let report = check(&tree, &tree.paths());
    let found: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "docs/protocol.md:1: the protocol reference is missing",
            "src/lib.rs:1: cites §1 but docs/protocol.md has no heading numbered 1",
        ]
    );
}

// ---- mentions of the notes outside the repository ----

#[test]
fn mentions_of_the_old_notes_are_rejected() {
    let bad = [
        concat!("Design notes: `../", "shared", "/design/`"),
        concat!("written from the spec in `PROTOCOL", ".md`"),
        concat!("// see PROTOCOL", ".md §3.3"),
        concat!("// (PROTOCOL", " §8.5)"),
        concat!("see shared", "/design for more"),
        concat!("follow STYLE", ".md"),
        concat!("docs/ARCHITECTURE", ".md"),
    ];
    for text in bad {
        let found = forbidden_mentions(text);
        assert!(!found.is_empty(), "not rejected: {text}");
    }
    let fine = [
        "cite docs/protocol.md §8.5",
        "[protocol](docs/protocol.md) and docs/architecture.md",
        "MY_STYLE.md is someone else's file",
        "the protocol (§8) and shared state",
    ];
    for text in fine {
        assert_eq!(forbidden_mentions(text), [], "wrongly rejected: {text}");
    }
}

#[test]
fn mentions_are_searched_in_every_text_the_project_writes() {
    let mention = concat!("see ../", "shared");
    let tree = MemoryTree::new([
        ("docs/protocol.md", SMALL_PROTOCOL),
        (".ci/run", mention),
        ("Cargo.toml", mention),
        ("tools/requirements.txt", mention),
        ("tests/fixtures/callouts/a.json", mention),
        ("src/image.png", mention),
    ]);
    let report = check(&tree, &tree.paths());
    let files: Vec<&str> = report.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        files,
        [
            ".ci/run",
            "Cargo.toml",
            "tests/fixtures/callouts/a.json",
            "tools/requirements.txt",
        ]
    );
}

// ---- the file walk ----

/// A scratch folder under the system's temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("lcw-docs-links-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a scratch folder can be created");
        Scratch(path)
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().expect("files have a folder"))
            .expect("folders can be created");
        std::fs::write(path, text).expect("files can be written");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_walk_skips_build_output_installed_tools_and_links() {
    let scratch = Scratch::new("walk");
    scratch.write("README.md", "# x");
    scratch.write("src/lib.rs", "");
    scratch.write("target/debug/build/x/out/README.md", "");
    scratch.write(
        "crates/emu/target/CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55",
    );
    scratch.write("crates/emu/target/doc.md", "");
    scratch.write("tools/node_modules/azurite/README.md", "");
    scratch.write("tools/.venv/lib/site.md", "");
    scratch.write(".git/HEAD.md", "");
    scratch.write("tools/package.json", "{}");
    scratch.write(
        "src/target/keep.rs",
        "// a module folder named target is ours",
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(scratch.0.join("src"), scratch.0.join("linked"))
        .expect("a symbolic link can be made");
    let files = repository_files(&scratch.0).expect("the scratch folder can be listed");
    assert_eq!(
        files,
        [
            "README.md",
            "src/lib.rs",
            "src/target/keep.rs",
            "tools/package.json"
        ]
    );
}

// ---- the whole scan ----

#[test]
fn a_repository_with_one_of_each_mistake_is_reported_in_full() {
    let scratch = Scratch::new("bad-repo");
    scratch.write("docs/protocol.md", SMALL_PROTOCOL);
    scratch.write(
        "README.md",
        concat!(
            "# Readme\n\n",
            "[protocol](docs/protocol.md#85-values-are-json-encoded-twice) is fine.\n",
            "[deploy](docs/deploy.md)\n",
            "[anchor](docs/protocol.md#9-managed-identity)\n",
            "Design notes: `../",
            "shared",
            "/design/`\n",
        ),
    );
    scratch.write(
        "docs/README.md",
        "[up](../../outside.md) [self](#missing)\n",
    );
    scratch.write("src/lib.rs", "//! (docs/protocol.md §8.5, §8.12)\n");
    scratch.write("tools/notes.md", "[ignored](nowhere.md)\n");
    scratch.write("target/doc/broken.md", "[ignored](nowhere.md)\n");
    let root = scratch.0.clone();
    let report = within_budget(move || scan(root));
    let found: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "README.md:4: `docs/deploy.md`: no file or folder `docs/deploy.md` in the repository",
            "README.md:5: `docs/protocol.md#9-managed-identity`: `docs/protocol.md` has no heading with anchor `#9-managed-identity`",
            concat!(
                "README.md:6: mentions `..",
                "/shared`: the team's shared folder is not in a user's clone; link into docs/"
            ),
            concat!(
                "README.md:6: mentions `shared",
                "/design`: the team's design notes are not in a user's clone; link into docs/"
            ),
            "docs/README.md:1: `../../outside.md` leads outside the repository",
            "docs/README.md:1: `#missing`: `docs/README.md` has no heading with anchor `#missing`",
            "src/lib.rs:1: cites §8.12 but docs/protocol.md has no heading numbered 8.12",
        ],
        "{}",
        problems(&report)
    );
}

#[test]
fn the_repository_has_no_dead_links_or_citations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).to_owned();
    let report = within_budget(move || scan(root));
    assert!(
        report.findings.is_empty(),
        "the documentation points nowhere in {} place(s):\n{}",
        report.findings.len(),
        problems(&report)
    );
    // The scan must have looked at the real thing, not passed over an empty tree.
    println!(
        "scanned {} files: {} Markdown files, {} relative links, {} citations of {} sections",
        report.files_scanned,
        report.markdown_files,
        report.links_checked,
        report.citations_checked,
        report.sections
    );
    assert!(
        report.sections >= 50,
        "docs/protocol.md sections: {}",
        report.sections
    );
    assert!(
        report.markdown_files >= 6,
        "Markdown files: {}",
        report.markdown_files
    );
    assert!(
        report.links_checked >= 40,
        "links: {}",
        report.links_checked
    );
    assert!(
        report.citations_checked >= 80,
        "citations: {}",
        report.citations_checked
    );
}
