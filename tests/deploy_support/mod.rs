//! Shared by the `package` and `new` tests: running the real `lcw-handler` command with the
//! Linux build tools on `PATH`, bounded in time, and reading zips back.

#![allow(dead_code)] // each test binary uses a different part

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

/// Upper bound for a command that builds a release binary on a loaded 2-core machine; a test
/// fails rather than hang, it never asserts on timing.
pub const BUILD_LIMIT: Duration = Duration::from_secs(45 * 60);
/// Upper bound for a command that builds nothing.
pub const QUICK_LIMIT: Duration = Duration::from_secs(120);

/// The repository root.
pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The stock binary (debug, default features: `demo` and `deploy`).
pub fn lcw_handler() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lcw-handler"))
}

/// The target directory this test run builds into (`<target>/<profile>/lcw-handler`), so
/// nested builds reuse what is already compiled.
pub fn target_dir() -> PathBuf {
    lcw_handler()
        .parent()
        .and_then(Path::parent)
        .expect("the binary sits in <target>/<profile>/")
        .to_owned()
}

/// `PATH` with the repository's tool folder first, installing the tools when missing.
pub fn path_with_tools() -> OsString {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    let bin = TOOLS.get_or_init(|| {
        let bin = repository().join("tools/.venv/bin");
        if !bin.join("cargo-zigbuild").exists() {
            let status = std::process::Command::new(repository().join(".ci/install-tools"))
                .status()
                .expect(".ci/install-tools runs");
            assert!(status.success(), ".ci/install-tools failed");
        }
        assert!(
            bin.join("cargo-zigbuild").exists(),
            ".ci/install-tools installs cargo-zigbuild into tools/.venv"
        );
        bin
    });
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.clone()];
    dirs.extend(std::env::split_paths(&rest));
    std::env::join_paths(dirs).expect("PATH entries hold no separator")
}

/// Runs `program` with `args` and extra environment, within `limit`; its output is captured
/// (and printed when the test fails, through the assertion messages).
pub async fn run(
    program: &Path,
    args: &[&OsStr],
    env: &[(&str, &OsStr)],
    dir: Option<&Path>,
    limit: Duration,
) -> Output {
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let child = command.output();
    match tokio::time::timeout(limit, child).await {
        Ok(output) => output.unwrap_or_else(|e| panic!("{} runs: {e}", program.display())),
        Err(_) => panic!(
            "{} {args:?} did not finish within {limit:?}",
            program.display()
        ),
    }
}

/// Runs `lcw-handler` with `args` and the build tools on `PATH`.
pub async fn lcw_handler_cmd(args: &[&OsStr], env: &[(&str, &OsStr)], limit: Duration) -> Output {
    let path = path_with_tools();
    let mut all_env: Vec<(&str, &OsStr)> = vec![("PATH", path.as_os_str())];
    all_env.extend_from_slice(env);
    run(&lcw_handler(), args, &all_env, None, limit).await
}

/// stdout and stderr, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One file of a zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    /// Unix mode as recorded (file type bits included).
    pub mode: Option<u32>,
    pub is_dir: bool,
    pub bytes: Vec<u8>,
}

/// Every entry of the zip, in order.
pub fn read_zip(path: &Path) -> Vec<ZipEntry> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut zip = zip::ZipArchive::new(file).expect("a readable zip");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).expect("an entry");
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).expect("entry bytes");
            ZipEntry {
                name: file.name().to_owned(),
                mode: file.unix_mode(),
                is_dir: file.is_dir(),
                bytes,
            }
        })
        .collect()
}

/// Unpacks the zip into `dir` the way a deployment does: permissions as recorded.
pub fn unpack(zip: &Path, dir: &Path) {
    let file = std::fs::File::open(zip).unwrap_or_else(|e| panic!("{}: {e}", zip.display()));
    zip::ZipArchive::new(file)
        .expect("a readable zip")
        .extract(dir)
        .expect("the zip unpacks");
}

/// Every file under `dir`: (`/`-separated relative path, unix mode, bytes), sorted.
pub fn read_tree(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, u32, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path.strip_prefix(base).expect("under base");
                let mode = std::fs::metadata(&path)
                    .expect("metadata")
                    .permissions()
                    .mode();
                out.push((
                    relative.to_string_lossy().replace('\\', "/"),
                    mode & 0o777,
                    std::fs::read(&path).expect("readable"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A scratch folder under the target directory's `tmp`, emptied when created and removed on
/// drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("scratch folder");
        Scratch(path)
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.0.join(relative)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
