//! The stock `lcw-handler` binary: the built-in tasks, chosen with `LCW_TASK`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    lcw_handler::cli::run_builtin().await
}
