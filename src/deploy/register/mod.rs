//! `lcw-handler register`: the custom task extension in Graph, and optionally its task in a
//! workflow, made to point at this deployment (docs/protocol.md §6).
//!
//! Registration is where the three halves of a deployment must agree: the ids registered in
//! Graph form the PoP path LCW signs, the infrastructure sets that path as `LCW_POP_PATH`, and the
//! handler compares them. So this component computes the path in one function
//! ([`pop_path::pop_path`]), takes its inputs from the azd environment the infrastructure wrote
//! ([`azd_env`]), and says when the deployed settings disagree ([`settings_check`]).
//!
//! # Layout
//!
//! - [`inputs`]: flags and azd outputs, validated into [`inputs::RegisterInputs`].
//! - [`extension`]: the extension kind and body (the `authorizedApps` shape lives here, once).
//! - [`workflow_task`]: the "Run a Custom Task Extension" task and the `createNewVersion` body.
//! - [`plan`]: every URL, the request type, and the dry-run listing.
//! - [`graph_calls`] and [`graph_error`]: sending requests; errors naming permissions.
//! - [`credential_choice`]: developer sign-in or managed identity.
//! - [`run`]: the steps of one registration.
//!
//! Not loaded by `host` or `serve`: the whole module sits behind the `deploy` feature, so a
//! production build (`--no-default-features`) does not contain it.

pub mod azd_env;
pub mod credential_choice;
pub mod extension;
pub mod graph_calls;
pub mod graph_error;
pub mod inputs;
pub mod plan;
pub mod pop_path;
pub mod run;
pub mod settings_check;
pub mod workflow_task;
