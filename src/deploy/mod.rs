//! Deployment tooling: everything a person runs to put the handler into Azure, and nothing the
//! handler runs while serving. `host` and `serve` never load it, and it is compiled only with
//! the `deploy` feature (on by default; off in production builds).
//!
//! - [`register`]: the custom task extension in Graph, and its task in a workflow.

pub mod register;
