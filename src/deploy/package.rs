//! `lcw-handler package`: a crate in, the Functions deployment package out.
//!
//! Reads the crate's function app (`host.json`, `function/`), builds its binary for the Linux
//! workers (or takes `--binary`), refuses a binary that would not start there, and writes the
//! zip (and, with `--stage`, the same layout unpacked). Everything that can be wrong with the
//! inputs is found before the slow build, and nothing is written until everything checked out.

use std::path::{Path, PathBuf};

use super::app::{AppError, FunctionApp};
use super::archive::{self, ArchiveError};
use super::deployable::{self, Refused};
use super::elf::GlibcVersion;
use super::linux_build::{self, BuildError, BuildTools};
use super::target_crate::{self, TargetCrateError};

/// Where the zip goes by default, relative to the crate root.
pub const DEFAULT_OUTPUT: &str = "target/lcw-package.zip";

/// What to package.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The crate's `Cargo.toml`; its folder holds `host.json` and `function/`.
    pub manifest_path: PathBuf,
    /// The binary target to build, when the crate has several.
    pub bin: Option<String>,
    /// An already built binary to package instead of building one.
    pub binary: Option<PathBuf>,
    /// The zip to write; [`DEFAULT_OUTPUT`] under the crate root when `None`.
    pub output: Option<PathBuf>,
    /// A folder to write the unpacked layout to as well.
    pub stage: Option<PathBuf>,
    /// How to reach cargo and the Linux toolchains.
    pub tools: BuildTools,
}

/// What was packaged.
#[derive(Debug, Clone)]
pub struct Packaged {
    /// The zip written.
    pub zip: PathBuf,
    /// Its size in bytes.
    pub zip_bytes: u64,
    /// The stage folder written, if any.
    pub stage: Option<PathBuf>,
    /// The binary packaged (built or given).
    pub binary: PathBuf,
    /// Its size in bytes.
    pub binary_bytes: u64,
    /// Where it sits in the package (`defaultExecutablePath`).
    pub executable: String,
    /// The newest glibc it needs; `None` for a static binary.
    pub glibc: Option<GlibcVersion>,
    /// The functions packaged.
    pub functions: Vec<String>,
}

/// The package could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// `--manifest-path` names no file.
    #[error(
        "--manifest-path {0}: no such file (run from the crate's folder or name its Cargo.toml)"
    )]
    NoManifest(PathBuf),
    /// The function app files are unusable.
    #[error(transparent)]
    App(#[from] AppError),
    /// The crate or binary target cannot be determined.
    #[error(transparent)]
    TargetCrate(#[from] TargetCrateError),
    /// The build failed or cannot run.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The binary cannot be read.
    #[error("cannot read the binary {path}: {source}")]
    ReadBinary {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The binary would not run on the Functions Linux workers.
    #[error("{binary} cannot be deployed: {refused}")]
    Refused {
        /// The binary.
        binary: PathBuf,
        /// Why.
        refused: Refused,
    },
    /// The zip or stage could not be written.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Builds (unless given `--binary`), checks and writes the package. `progress` hears about the
/// slow steps before they start.
pub fn package(
    options: &PackageOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Packaged, PackageError> {
    let manifest = &options.manifest_path;
    if !manifest.is_file() {
        return Err(PackageError::NoManifest(manifest.clone()));
    }
    let crate_root = crate_root(manifest);
    let app = FunctionApp::read(&crate_root)?;
    if let Some(stage) = &options.stage {
        // Before the slow build: a --stage that cannot be used is known now.
        archive::check_stage_replaceable(stage, &crate_root)?;
    }
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None => build(options, &crate_root, progress)?,
    };
    let (bytes, glibc) = read_deployable(&binary)?;
    let entries = archive::entries(&app, &bytes);
    if let Some(stage) = &options.stage {
        archive::write_stage(&entries, stage, &crate_root)?;
    }
    let zip = options
        .output
        .clone()
        .unwrap_or_else(|| crate_root.join(DEFAULT_OUTPUT));
    let zip_bytes = archive::write_zip(&entries, &zip)?;
    Ok(Packaged {
        zip,
        zip_bytes,
        stage: options.stage.clone(),
        binary,
        binary_bytes: bytes.len() as u64,
        executable: app.executable,
        glibc,
        functions: app.functions.into_iter().map(|f| f.name).collect(),
    })
}

/// The binary's bytes, once it passed every check, and the newest glibc it needs.
fn read_deployable(binary: &Path) -> Result<(Vec<u8>, Option<GlibcVersion>), PackageError> {
    let bytes = std::fs::read(binary).map_err(|source| PackageError::ReadBinary {
        path: binary.to_owned(),
        source,
    })?;
    let deployable = deployable::check(&bytes).map_err(|refused| PackageError::Refused {
        binary: binary.to_owned(),
        refused,
    })?;
    Ok((bytes, deployable.glibc))
}

/// The folder holding `Cargo.toml` (`.` for a bare `Cargo.toml`).
fn crate_root(manifest: &Path) -> PathBuf {
    match manifest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn build(
    options: &PackageOptions,
    crate_root: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, PackageError> {
    let toolchain = linux_build::choose_toolchain(&options.tools, crate_root)?;
    let target = target_crate::locate(
        &options.tools.cargo(),
        &options.manifest_path,
        options.bin.as_deref(),
    )?;
    progress(&format!(
        "building {} (package {}, production features only) with {}",
        target.bin,
        target.package,
        toolchain.describe()
    ));
    Ok(linux_build::build(&toolchain, &target)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_root_is_the_manifests_folder() {
        assert_eq!(crate_root(Path::new("Cargo.toml")), PathBuf::from("."));
        assert_eq!(
            crate_root(Path::new("/src/task/Cargo.toml")),
            PathBuf::from("/src/task")
        );
    }

    #[test]
    fn a_missing_manifest_is_named_before_anything_runs() {
        let options = PackageOptions {
            manifest_path: PathBuf::from("/nonexistent/Cargo.toml"),
            bin: None,
            binary: None,
            output: None,
            stage: None,
            tools: BuildTools::default(),
        };
        let error = package(&options, &mut |_| panic!("nothing is built")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--manifest-path /nonexistent/Cargo.toml"),
            "{error}"
        );
    }
}
