//! `lcw-handler demo` (written once the emulators land).

use std::process::ExitCode;

/// Demo flags.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many users join.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
}

pub(super) async fn run(_args: DemoArgs) -> ExitCode {
    ExitCode::FAILURE
}
