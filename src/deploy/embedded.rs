//! The repository files a new task crate gets a copy of, compiled in by `build.rs`.
//!
//! `lcw-handler new` must work from an installed binary, far from any checkout, and must never
//! hand out a stale second copy of `host.json`, `function/`, `azure.yaml` or `infra/`. So the
//! build script embeds whatever is under those roots when the binary is built; there is no list
//! to keep up to date.

include!(concat!(env!("OUT_DIR"), "/repository_files.rs"));

/// The embedded repository files, as (path relative to the repository root, bytes).
pub fn repository_files() -> &'static [(&'static str, &'static [u8])] {
    REPOSITORY_FILES
}

/// The files or folders, relative to the repository root, whose contents are embedded.
pub fn scaffold_roots() -> &'static [&'static str] {
    SCAFFOLD_ROOTS
}
