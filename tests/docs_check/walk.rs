//! The files of a worktree that belong to the project.
//!
//! Build output and installed tools hold thousands of files that are not ours (and Markdown
//! with links into their own trees), so they are skipped by name: `.git`, the root `target/`,
//! any other Cargo target folder (recognised by the `CACHEDIR.TAG` Cargo writes into it),
//! `node_modules` and `.venv` folders (`tools/node_modules`, `tools/.venv`). Symbolic links are
//! not followed: in a worktree the tool folders are links to a shared installation.

use std::io;
use std::path::Path;

use walkdir::{DirEntry, WalkDir};

fn skipped(entry: &DirEntry) -> bool {
    if entry.depth() == 0 {
        return false;
    }
    let name = entry.file_name().to_string_lossy();
    let is_dir = entry.file_type().is_dir();
    match name.as_ref() {
        ".git" | "node_modules" | ".venv" => true,
        "target" if entry.depth() == 1 => true,
        _ => is_dir && entry.path().join("CACHEDIR.TAG").exists(),
    }
}

/// Every regular file under `root` that is not skipped, as a repository-relative path with `/`
/// separators, in a stable order.
pub fn repository_files(root: &Path) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    let walk = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| !skipped(entry));
    for entry in walk {
        let entry = entry.map_err(io::Error::other)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(root)
            .map_err(io::Error::other)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        files.push(relative);
    }
    Ok(files)
}
