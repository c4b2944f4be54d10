//! lcw-handler: custom logic for Microsoft Entra Lifecycle Workflows, as an Azure Functions
//! custom handler.
//!
//! Lifecycle Workflows calls a *custom task extension*; this crate answers that callout, runs
//! your task, and reports the outcome through Graph `resume` with the app's managed identity.
//! You write one async function (see [`task`]) and hand it to [`run`]; the runtime owns the
//! platform protocol, retries, tokens and failure handling.
//!
//! # Layout
//!
//! - [`callout`]: the LCW callout's wire format, parsed tolerantly.
//! - [`entitlement`]: Entitlement Management custom extensions: the callout in both shapes,
//!   stages, decisions and the resume body.
//! - [`work_item`]: what travels through the queue from accept to process.
//! - [`task`]: the user API, and the built-in tasks.
//! - [`pipeline`]: accept (callout → work item) and process (task → resume), with deadlines
//!   and the last-attempt rule; transport-agnostic.
//! - [`resume`]: the Graph resume call and its error classification; [`retry`]: the one retry
//!   policy; [`graph`], [`credential`] and [`token_source`]: outbound calls and tokens, the
//!   latter bounded in time and renewed after Graph refuses one.
//! - [`ledger`]: the durable task ledger (every task's life; duplicates and redeliveries run
//!   nothing twice), with its store contract and the embedded SQLite backend.
//! - [`host`]: the Azure Functions custom-handler adapter; [`standalone`]: the same pipeline
//!   behind a plain HTTP server with an in-process worker pool.
//! - [`config`] and [`settings`]: app settings, validated once.
//! - [`cli`]: the `lcw-handler` command (`host`, `serve`, `check`, `demo`, `bench`, `send`,
//!   `package`, `new`, `register`). Only the CLI's `demo`, `bench`, `send` and
//!   `serve --with-local-tenant` use the local emulators (crate `lcw-emulator`); no production
//!   path does.
//! - `deploy` (feature `deploy`): `package` (the deployment zip, the glibc floor), `new` (a task
//!   crate of your own) and `register` (the extension in Graph); reached from the CLI only.

#![warn(missing_docs)]

pub mod auth;
pub mod body_limit;
mod bounded;
pub mod callout;
pub mod callout_reply;
pub mod cli;
pub mod config;
pub mod credential;
#[cfg(feature = "deploy")]
pub mod deploy;
pub mod entitlement;
pub mod graph;
pub mod host;
pub mod http_client;
pub mod iso_duration;
mod json_keys;
mod json_size;
pub mod ledger;
pub mod logging;
pub mod pipeline;
pub mod resume;
pub mod retry;
pub mod settings;
pub mod standalone;
pub mod task;
pub mod token_source;
pub mod work_item;

pub use cli::{run, run_with_entitlement};
