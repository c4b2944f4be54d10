//! `lcw-handler new DIR`: flags in, [`crate::deploy::scaffold`] called, next steps out.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::deploy::scaffold::{LcwHandlerSource, NewOptions, Scaffolded, scaffold};

/// New-crate flags.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The folder to create (new, or empty).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The package name [default: DIR's name].
    #[arg(long)]
    pub name: Option<String>,
    /// Depend on the lcw-handler checkout at PATH [default: the checkout this binary was
    /// built from].
    #[arg(long, value_name = "PATH", conflicts_with = "lcw_handler_git")]
    pub lcw_handler_path: Option<PathBuf>,
    /// Depend on lcw-handler from this git repository.
    #[arg(long, value_name = "URL")]
    pub lcw_handler_git: Option<String>,
}

pub(super) fn run(args: NewArgs) -> ExitCode {
    let source = match (args.lcw_handler_path, args.lcw_handler_git) {
        (Some(path), _) => Some(LcwHandlerSource::Path(path)),
        (None, Some(url)) => Some(LcwHandlerSource::Git(url)),
        (None, None) => None,
    };
    let options = NewOptions {
        dir: args.dir,
        name: args.name,
        source,
    };
    match scaffold(&options) {
        Ok(scaffolded) => {
            print_next_steps(&scaffolded);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lcw-handler new: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_next_steps(scaffolded: &Scaffolded) {
    let source = match &scaffolded.source {
        LcwHandlerSource::Path(path) => format!("the checkout at {}", path.display()),
        LcwHandlerSource::Git(url) => url.clone(),
    };
    println!(
        "created {} (package {}, {} files; lcw-handler from {source})",
        scaffolded.dir.display(),
        scaffolded.name,
        scaffolded.files.len()
    );
    println!("next: cd {}", scaffolded.dir.display());
    println!("      cargo run -- demo      # your task through the whole flow, on this machine");
    println!("      cargo run -- package   # target/lcw-package.zip for Azure");
}
