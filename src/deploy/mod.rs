//! Getting a task into Azure: `package` (the Functions deployment zip), `new` (a task crate of
//! your own) and `register` (the custom task extension in Graph, and its task in a workflow).
//!
//! Only the CLI reaches this module, and only with the `deploy` feature: the request path
//! (`host`, `serve`) has no use for zips, ELF readers or cargo, and the production binary
//! (`--no-default-features`) carries none of it.
//!
//! # Layout
//!
//! - [`app`]: the function app a crate declares (`host.json`, `function/*/function.json`).
//! - [`target_crate`]: which package and binary to build, from `cargo metadata`.
//! - [`linux_build`]: building that binary for the Functions Linux workers (glibc 2.28).
//! - [`elf`]: what an executable needs to start (machine, loader, glibc versions).
//! - [`deployable`]: the checks a binary must pass before it is packaged.
//! - [`archive`]: writing the zip and the unpacked stage.
//! - [`package`]: the `package` step, end to end.
//! - [`embedded`]: the repository files a new crate gets a copy of.
//! - [`scaffold`]: the `new` step.
//! - [`register`]: the custom task extension in Graph, and its task in a workflow.

pub mod app;
pub mod archive;
pub mod deployable;
pub mod elf;
pub mod embedded;
pub mod linux_build;
pub mod package;
pub mod register;
pub mod scaffold;
pub mod target_crate;
