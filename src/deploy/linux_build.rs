//! Building the production binary for the Functions Linux workers.
//!
//! The workers run Debian 11 (glibc 2.31) or older, so a binary linked against this machine's
//! glibc will not start there. Two toolchains produce one that does:
//! - **cargo-zigbuild** (preferred): `--target x86_64-unknown-linux-gnu.2.28` links against
//!   glibc 2.28's symbols with zig as the linker; only the standard `x86_64-unknown-linux-gnu`
//!   library is needed, which every Linux Rust install has.
//! - **musl**: a static binary, when `rustup target add x86_64-unknown-linux-musl` was possible.
//!
//! Either way the build is `--release --no-default-features` (production code only: no
//! emulators, no deploy code), stripped through a `--config` override rather than `RUSTFLAGS`
//! (which would invalidate every cached dependency), and goes to a target-specific folder, so
//! the developer's own `target/release` binary keeps its `demo`. The binary's path comes from
//! cargo's JSON messages, not from guessing the target directory.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::target_crate::TargetCrate;

/// The zigbuild target: x86_64 Linux, glibc 2.28 symbols.
pub const ZIGBUILD_TARGET: &str = "x86_64-unknown-linux-gnu.2.28";
/// The static target, used when its standard library is installed.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";
/// The cargo-zigbuild executable looked up on `PATH`.
const ZIGBUILD_PROGRAM: &str = "cargo-zigbuild";
/// Strips symbols without touching `RUSTFLAGS`.
const STRIP_CONFIG: &str = "profile.release.strip=\"symbols\"";

/// How to reach the build tools: the values of `CARGO`, `RUSTC` and `PATH`, passed in rather
/// than read here so tests can describe any machine.
#[derive(Debug, Clone, Default)]
pub struct BuildTools {
    /// `CARGO`: the cargo running us, if any (`cargo run` sets it); else `cargo` on `PATH`.
    pub cargo: Option<PathBuf>,
    /// `RUSTC`, if set; else `rustc` on `PATH`.
    pub rustc: Option<PathBuf>,
    /// `PATH`.
    pub path: Option<OsString>,
}

impl BuildTools {
    /// The tools this process would use.
    pub fn from_process_env() -> BuildTools {
        BuildTools {
            cargo: std::env::var_os("CARGO").map(PathBuf::from),
            rustc: std::env::var_os("RUSTC").map(PathBuf::from),
            path: std::env::var_os("PATH"),
        }
    }

    /// The cargo program.
    pub fn cargo(&self) -> PathBuf {
        self.cargo.clone().unwrap_or_else(|| PathBuf::from("cargo"))
    }

    fn rustc(&self) -> PathBuf {
        self.rustc.clone().unwrap_or_else(|| PathBuf::from("rustc"))
    }

    /// `program` in one of the `PATH` folders, if it is there and executable.
    fn find_on_path(&self, program: &str) -> Option<PathBuf> {
        let path = self.path.as_deref()?;
        let program = format!("{program}{}", std::env::consts::EXE_SUFFIX);
        std::env::split_paths(path)
            .map(|dir| dir.join(&program))
            .find(|candidate| is_executable(candidate))
    }
}

#[cfg(unix)]
fn is_executable(candidate: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Without execute bits, a file with the platform's executable suffix is taken as a program.
#[cfg(not(unix))]
fn is_executable(candidate: &Path) -> bool {
    candidate.is_file()
}

/// The toolchain that builds the Linux binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinuxToolchain {
    /// `cargo-zigbuild zigbuild --target x86_64-unknown-linux-gnu.2.28`.
    Zigbuild {
        /// The cargo-zigbuild executable.
        program: PathBuf,
    },
    /// `cargo build --target x86_64-unknown-linux-musl`.
    Musl {
        /// The cargo executable.
        cargo: PathBuf,
    },
}

impl LinuxToolchain {
    /// For messages: what builds the binary, for which target.
    pub fn describe(&self) -> String {
        match self {
            LinuxToolchain::Zigbuild { program } => {
                format!("{} ({ZIGBUILD_TARGET})", program.display())
            }
            LinuxToolchain::Musl { cargo } => format!("{} ({MUSL_TARGET})", cargo.display()),
        }
    }

    /// The build command for `target`.
    pub fn command(&self, target: &TargetCrate) -> Command {
        let (mut command, subcommand, triple) = match self {
            LinuxToolchain::Zigbuild { program } => {
                (Command::new(program), "zigbuild", ZIGBUILD_TARGET)
            }
            LinuxToolchain::Musl { cargo } => (Command::new(cargo), "build", MUSL_TARGET),
        };
        command
            .arg(subcommand)
            .args(["--release", "--no-default-features", "--target", triple])
            .arg("--manifest-path")
            .arg(&target.manifest_path)
            .args(["--package", &target.package, "--bin", &target.bin])
            .args(["--config", STRIP_CONFIG])
            .args(["--message-format", "json-render-diagnostics"]);
        command
    }
}

/// The Linux binary could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Neither toolchain is available.
    #[error(
        "cannot build a binary that starts on the Functions Linux workers: cargo-zigbuild is not on PATH and the {MUSL_TARGET} standard library is not installed. Fix: `pip install cargo-zigbuild ziglang` (in a virtual environment, with its bin folder on PATH; in the lcw-handler repository `.ci/install-tools` installs both into tools/.venv), or `rustup target add {MUSL_TARGET}`, or build the binary yourself and pass it with --binary"
    )]
    NoToolchain,
    /// The build tool could not be started.
    #[error("cannot run {program:?}: {source}")]
    Spawn {
        /// The program.
        program: OsString,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The build failed (cargo printed why).
    #[error("the build failed ({status}); cargo's messages above say why")]
    Failed {
        /// The exit status.
        status: std::process::ExitStatus,
    },
    /// The build succeeded but named no executable for the binary.
    #[error("the build finished but cargo reported no executable for binary {0}")]
    NoExecutable(String),
}

/// Picks the toolchain: cargo-zigbuild on `PATH`, else musl if its standard library is
/// installed (`crate_dir` is where rustc runs, so a `rust-toolchain.toml` there counts).
pub fn choose_toolchain(
    tools: &BuildTools,
    crate_dir: &Path,
) -> Result<LinuxToolchain, BuildError> {
    if let Some(program) = tools.find_on_path(ZIGBUILD_PROGRAM) {
        return Ok(LinuxToolchain::Zigbuild { program });
    }
    if musl_std_installed(&tools.rustc(), crate_dir) {
        return Ok(LinuxToolchain::Musl {
            cargo: tools.cargo(),
        });
    }
    Err(BuildError::NoToolchain)
}

/// Whether the musl target's standard library is in rustc's sysroot.
fn musl_std_installed(rustc: &Path, crate_dir: &Path) -> bool {
    let Ok(output) = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(crate_dir)
        .stderr(Stdio::null())
        .output()
    else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    output.status.success()
        && Path::new(&sysroot)
            .join("lib/rustlib")
            .join(MUSL_TARGET)
            .join("lib")
            .is_dir()
}

/// Runs the build, letting cargo's progress and diagnostics through to stderr, and returns the
/// path of the built executable.
pub fn build(toolchain: &LinuxToolchain, target: &TargetCrate) -> Result<PathBuf, BuildError> {
    let mut command = toolchain.command(target);
    let program = command.get_program().to_owned();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| BuildError::Spawn {
            program: program.clone(),
            source,
        })?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|source| BuildError::Spawn {
                program: program.clone(),
                source,
            })?;
            if let Some(path) = executable_in_message(&line, &target.bin) {
                executable = Some(path);
            }
        }
    }
    let status = child.wait().map_err(|source| BuildError::Spawn {
        program: program.clone(),
        source,
    })?;
    if !status.success() {
        return Err(BuildError::Failed { status });
    }
    executable.ok_or_else(|| BuildError::NoExecutable(target.bin.clone()))
}

/// One line of cargo's `--message-format json` output, the fields used here.
#[derive(Debug, Deserialize)]
struct Message {
    reason: String,
    target: Option<MessageTarget>,
    executable: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct MessageTarget {
    name: String,
    kind: Vec<String>,
}

/// The executable of binary `bin`, if this line is the `compiler-artifact` message for it.
fn executable_in_message(line: &str, bin: &str) -> Option<PathBuf> {
    let message: Message = serde_json::from_str(line).ok()?;
    let target = message.target?;
    let is_our_bin = message.reason == "compiler-artifact"
        && target.name == bin
        && target.kind.iter().any(|k| k == "bin");
    is_our_bin.then_some(message.executable).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn target() -> TargetCrate {
        TargetCrate {
            manifest_path: PathBuf::from("/src/my-task/Cargo.toml"),
            package: "my-task".to_owned(),
            bin: "my-task".to_owned(),
        }
    }

    #[test]
    fn zigbuild_builds_production_features_for_glibc_2_28_stripped() {
        let toolchain = LinuxToolchain::Zigbuild {
            program: PathBuf::from("/venv/bin/cargo-zigbuild"),
        };
        let command = toolchain.command(&target());
        assert_eq!(command.get_program(), "/venv/bin/cargo-zigbuild");
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "zigbuild",
                "--release",
                "--no-default-features",
                "--target",
                "x86_64-unknown-linux-gnu.2.28",
                "--manifest-path",
                "/src/my-task/Cargo.toml",
                "--package",
                "my-task",
                "--bin",
                "my-task",
                "--config",
                "profile.release.strip=\"symbols\"",
                "--message-format",
                "json-render-diagnostics",
            ]
        );
    }

    #[test]
    fn musl_uses_plain_cargo_build() {
        let toolchain = LinuxToolchain::Musl {
            cargo: PathBuf::from("cargo"),
        };
        let command = toolchain.command(&target());
        let args: Vec<&OsStr> = command.get_args().collect();
        assert_eq!(args[0], "build");
        assert!(args.contains(&OsStr::new(MUSL_TARGET)));
        assert!(args.contains(&OsStr::new("--no-default-features")));
    }

    #[cfg(unix)]
    #[test]
    fn cargo_zigbuild_on_path_is_preferred_and_its_absence_names_the_fix() {
        let venv = std::env::temp_dir().join(format!("lcw-handler-venv-{}", std::process::id()));
        std::fs::create_dir_all(&venv).unwrap();
        let program = venv.join(ZIGBUILD_PROGRAM);
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let empty = venv.join("empty");
        std::fs::create_dir_all(&empty).unwrap();

        let path = std::env::join_paths([empty.clone(), venv.clone()]).unwrap();
        let tools = BuildTools {
            path: Some(path),
            ..BuildTools::default()
        };
        assert_eq!(
            choose_toolchain(&tools, &venv).unwrap(),
            LinuxToolchain::Zigbuild {
                program: program.clone()
            }
        );

        let without = BuildTools {
            path: Some(empty.clone().into_os_string()),
            // A rustc that cannot run: no musl standard library to be found either.
            rustc: Some(venv.join("no-such-rustc")),
            ..BuildTools::default()
        };
        let error = choose_toolchain(&without, &venv).unwrap_err().to_string();
        assert!(
            error.contains("pip install cargo-zigbuild ziglang"),
            "{error}"
        );
        assert!(error.contains("--binary"), "{error}");
        std::fs::remove_dir_all(&venv).unwrap();
    }

    #[test]
    fn the_executable_comes_from_the_artifact_message_of_our_binary() {
        let ours = r#"{"reason":"compiler-artifact","target":{"name":"my-task","kind":["bin"]},"executable":"/t/x86_64-unknown-linux-gnu/release/my-task"}"#;
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"my-task","kind":["lib"]},"executable":null}"#;
        let build_script = r#"{"reason":"build-script-executed","package_id":"x"}"#;
        assert_eq!(
            executable_in_message(ours, "my-task"),
            Some(PathBuf::from("/t/x86_64-unknown-linux-gnu/release/my-task"))
        );
        assert_eq!(executable_in_message(ours, "other"), None);
        assert_eq!(executable_in_message(lib, "my-task"), None);
        assert_eq!(executable_in_message(build_script, "my-task"), None);
        assert_eq!(executable_in_message("warning: not json", "my-task"), None);
    }
}
