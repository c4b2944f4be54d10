//! The Python tools in `tools/.venv` (pycep-parser, checkov), installed by `.ci/install-tools`
//! when missing, so `cargo test --workspace` works on a fresh clone. A tool that still cannot be
//! found fails the test: the checks are never skipped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

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
