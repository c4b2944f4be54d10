//! Which crate and which binary target `package` builds, asked of cargo itself.
//!
//! `cargo metadata --no-deps` reads the manifest exactly as a build would (workspaces,
//! `default-run`, target directories), so the package step works the same for this repository
//! and for a user's task crate without parsing `Cargo.toml` by hand.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// The package and binary to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCrate {
    /// The manifest, as given.
    pub manifest_path: PathBuf,
    /// The package name (`-p`).
    pub package: String,
    /// The binary target (`--bin`).
    pub bin: String,
}

/// The crate or its binary cannot be determined.
#[derive(Debug, thiserror::Error)]
pub enum TargetCrateError {
    /// cargo could not be started.
    #[error("cannot run {program:?} metadata: {source}")]
    Spawn {
        /// The cargo program.
        program: OsString,
        /// The I/O error.
        source: std::io::Error,
    },
    /// cargo refused the manifest.
    #[error("cargo metadata --manifest-path {manifest}: {stderr}")]
    Metadata {
        /// The manifest.
        manifest: PathBuf,
        /// What cargo said.
        stderr: String,
    },
    /// cargo's output did not parse.
    #[error("cargo metadata printed something unexpected: {0}")]
    Output(String),
    /// The manifest is a virtual workspace, or not among the packages cargo listed.
    #[error(
        "--manifest-path {0}: no package is defined by this manifest (a virtual workspace?); name the task crate's own Cargo.toml"
    )]
    NoPackage(PathBuf),
    /// The package has no binary target.
    #[error("package {0} has no binary target to deploy (add src/main.rs)")]
    NoBinary(String),
    /// `--bin` names no binary of the package.
    #[error("--bin {bin}: package {package} has no such binary; it has: {available}")]
    UnknownBinary {
        /// The name given.
        bin: String,
        /// The package.
        package: String,
        /// Its binaries, comma-separated.
        available: String,
    },
    /// Several binaries, none chosen.
    #[error(
        "package {package} has several binaries ({available}) and no default-run; choose one with --bin"
    )]
    AmbiguousBinary {
        /// The package.
        package: String,
        /// Its binaries, comma-separated.
        available: String,
    },
}

/// The parts of `cargo metadata --format-version 1` used here.
#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
    default_run: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

/// Asks `cargo` which package `manifest` defines and picks its binary: `bin` if given, else
/// the package's `default-run`, else its only binary.
pub fn locate(
    cargo: &Path,
    manifest: &Path,
    bin: Option<&str>,
) -> Result<TargetCrate, TargetCrateError> {
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .map_err(|source| TargetCrateError::Spawn {
            program: cargo.as_os_str().to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(TargetCrateError::Metadata {
            manifest: manifest.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| TargetCrateError::Output(e.to_string()))?;
    choose(metadata, manifest, bin)
}

fn choose(
    metadata: Metadata,
    manifest: &Path,
    bin: Option<&str>,
) -> Result<TargetCrate, TargetCrateError> {
    let wanted = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_owned());
    let package = metadata
        .packages
        .into_iter()
        .find(|p| {
            p.manifest_path
                .canonicalize()
                .unwrap_or(p.manifest_path.clone())
                == wanted
        })
        .ok_or_else(|| TargetCrateError::NoPackage(manifest.to_owned()))?;
    let bins: Vec<String> = package
        .targets
        .iter()
        .filter(|t| t.kind.iter().any(|k| k == "bin"))
        .map(|t| t.name.clone())
        .collect();
    let available = bins.join(", ");
    let chosen = match (bin, &package.default_run, bins.as_slice()) {
        (Some(bin), _, _) if bins.iter().any(|b| b == bin) => bin.to_owned(),
        (Some(bin), _, _) => {
            return Err(TargetCrateError::UnknownBinary {
                bin: bin.to_owned(),
                package: package.name,
                available,
            });
        }
        (None, _, []) => return Err(TargetCrateError::NoBinary(package.name)),
        (None, Some(default), _) if bins.contains(default) => default.clone(),
        (None, _, [only]) => only.clone(),
        (None, _, _) => {
            return Err(TargetCrateError::AmbiguousBinary {
                package: package.name,
                available,
            });
        }
    };
    Ok(TargetCrate {
        manifest_path: manifest.to_owned(),
        package: package.name,
        bin: chosen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(manifest: &str, bins: &[&str], default_run: Option<&str>) -> Metadata {
        let mut targets: Vec<Target> = bins
            .iter()
            .map(|b| Target {
                name: (*b).to_owned(),
                kind: vec!["bin".to_owned()],
            })
            .collect();
        targets.push(Target {
            name: "my_task".to_owned(),
            kind: vec!["lib".to_owned()],
        });
        Metadata {
            packages: vec![Package {
                name: "my-task".to_owned(),
                manifest_path: PathBuf::from(manifest),
                targets,
                default_run: default_run.map(str::to_owned),
            }],
        }
    }

    const MANIFEST: &str = "/nonexistent/my-task/Cargo.toml";

    #[test]
    fn the_only_binary_or_default_run_or_the_named_one_is_chosen() {
        let pick = |bins: &[&str], default: Option<&str>, bin: Option<&str>| {
            choose(metadata(MANIFEST, bins, default), Path::new(MANIFEST), bin).map(|c| c.bin)
        };
        assert_eq!(pick(&["my-task"], None, None).unwrap(), "my-task");
        assert_eq!(pick(&["a", "b"], Some("b"), None).unwrap(), "b");
        assert_eq!(pick(&["a", "b"], Some("b"), Some("a")).unwrap(), "a");
    }

    #[test]
    fn several_binaries_without_a_choice_name_the_flag() {
        let error = choose(
            metadata(MANIFEST, &["a", "b"], None),
            Path::new(MANIFEST),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("--bin"), "{error}");
        assert!(error.contains("a, b"), "{error}");
    }

    #[test]
    fn an_unknown_bin_or_a_crate_without_binaries_is_refused() {
        let error = choose(
            metadata(MANIFEST, &["a"], None),
            Path::new(MANIFEST),
            Some("z"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("--bin z"), "{error}");
        let error = choose(metadata(MANIFEST, &[], None), Path::new(MANIFEST), None).unwrap_err();
        assert!(matches!(error, TargetCrateError::NoBinary(_)), "{error}");
    }

    #[test]
    fn a_manifest_defining_no_listed_package_is_refused() {
        let error = choose(
            metadata(MANIFEST, &["a"], None),
            Path::new("/nonexistent/workspace/Cargo.toml"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("virtual workspace"), "{error}");
    }

    #[test]
    fn this_repository_builds_lcw_handler() {
        let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let target = locate(&cargo, &manifest, None).expect("cargo metadata works here");
        assert_eq!(target.package, "lcw-handler");
        assert_eq!(target.bin, "lcw-handler");
    }
}
