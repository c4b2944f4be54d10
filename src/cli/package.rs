//! `lcw-handler package`: flags in, [`crate::deploy::package`] called, a summary out.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::deploy::linux_build::BuildTools;
use crate::deploy::package::{PackageOptions, Packaged, package};

/// Package flags.
#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// The zip to write [default: target/lcw-package.zip beside the manifest].
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the package unpacked into this folder (replacing a previous stage there).
    #[arg(long, value_name = "DIR")]
    pub stage: Option<PathBuf>,
    /// Package this already built Linux binary instead of building one.
    #[arg(long, value_name = "PATH", conflicts_with = "bin")]
    pub binary: Option<PathBuf>,
    /// The crate to package: its Cargo.toml, with host.json and function/ beside it.
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// The binary target to build, when the crate has several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
}

pub(super) fn run(args: PackageArgs) -> ExitCode {
    let options = PackageOptions {
        manifest_path: args.manifest_path,
        bin: args.bin,
        binary: args.binary,
        output: args.output,
        stage: args.stage,
        tools: BuildTools::from_process_env(),
    };
    match package(&options, &mut |step| {
        eprintln!("lcw-handler package: {step}")
    }) {
        Ok(packaged) => {
            print_summary(&packaged);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lcw-handler package: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_summary(packaged: &Packaged) {
    let glibc = match packaged.glibc {
        Some(version) => format!("needs glibc {version} at most"),
        None => "static (needs no glibc)".to_owned(),
    };
    println!(
        "wrote {} ({} bytes): host.json, {} and {} ({} bytes, {glibc}, from {})",
        packaged.zip.display(),
        packaged.zip_bytes,
        packaged
            .functions
            .iter()
            .map(|f| format!("{f}/function.json"))
            .collect::<Vec<_>>()
            .join(", "),
        packaged.executable,
        packaged.binary_bytes,
        packaged.binary.display(),
    );
    if let Some(stage) = &packaged.stage {
        println!("staged the same files unpacked in {}", stage.display());
    }
}
