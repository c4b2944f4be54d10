//! The repository as the check sees it: repository-relative paths with `/` separators.
//!
//! The rules run against this trait rather than the file system, so the unit tests can hand them
//! a few files held in memory, and the real scan reads the worktree.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file.
    File,
    /// A directory.
    Dir,
}

/// Read access to a repository.
pub trait Tree {
    /// What `path` (repository-relative, `""` = the root) names, if anything.
    fn kind(&self, path: &str) -> Option<Kind>;
    /// The text of the file at `path`, if it exists and is UTF-8.
    fn read(&self, path: &str) -> Option<String>;
}

/// A repository on disk.
pub struct DiskTree {
    /// The repository's root directory.
    pub root: PathBuf,
}

impl Tree for DiskTree {
    fn kind(&self, path: &str) -> Option<Kind> {
        let metadata = std::fs::metadata(self.root.join(path)).ok()?;
        Some(if metadata.is_dir() {
            Kind::Dir
        } else {
            Kind::File
        })
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }
}

/// A repository held in memory: file path → text. Directories are implied by the paths.
#[derive(Default)]
pub struct MemoryTree {
    files: BTreeMap<String, String>,
}

impl MemoryTree {
    /// A tree holding `files`.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> MemoryTree {
        MemoryTree {
            files: files
                .into_iter()
                .map(|(path, text)| (path.to_owned(), text.to_owned()))
                .collect(),
        }
    }

    /// Every file's path.
    pub fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }
}

impl Tree for MemoryTree {
    fn kind(&self, path: &str) -> Option<Kind> {
        if self.files.contains_key(path) {
            return Some(Kind::File);
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        self.files
            .keys()
            .any(|file| file.starts_with(&prefix))
            .then_some(Kind::Dir)
    }

    fn read(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }
}
