//! The Python tools in `tools/.venv` (pycep-parser, checkov), installed by `.ci/install-tools`
//! when missing, so `cargo test --workspace` works on a fresh clone. A tool that still cannot be
//! found fails the test: the checks are never skipped.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use super::repo_root;

/// `tools/.venv/bin/<name>`, installing the tools first if it is missing.
pub fn tool(name: &str) -> PathBuf {
    let path = repo_root().join("tools/.venv/bin").join(name);
    if !path.exists() {
        install_tools();
    }
    assert!(
        path.exists(),
        "{} is missing even after .ci/install-tools",
        path.display()
    );
    path
}

/// The tools' Python interpreter (it has pycep-parser, checkov and PyYAML).
pub fn python() -> PathBuf {
    tool("python")
}

/// Runs `command` to completion and returns its output, failing the test (and killing the
/// process) if it has not finished within `limit`: a hung tool must fail CI, not block it.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let description = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {description}: {e}"));
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => output.unwrap_or_else(|e| panic!("running {description}: {e}")),
        Err(_) => {
            kill(pid);
            panic!("{description} did not finish within {limit:?}");
        }
    }
}

/// Kills the process `pid` that this test started.
fn kill(pid: u32) {
    let (program, args): (&str, Vec<String>) = if cfg!(windows) {
        (
            "taskkill",
            vec!["/F".into(), "/PID".into(), pid.to_string()],
        )
    } else {
        ("kill", vec!["-9".into(), pid.to_string()])
    };
    let _ = Command::new(program).args(args).status();
}

/// Runs `.ci/install-tools` once per test binary (it is idempotent and takes a lock, so test
/// binaries running at once are safe).
fn install_tools() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let script = repo_root().join(".ci/install-tools");
        let status = Command::new(&script)
            .status()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(status.success(), "{} failed", script.display());
    });
}
