//! Running the real binary as a child process: start it with a private temp folder, read its
//! output until a line shows, signal it, and find any process it left behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

/// Upper bound for one run to reach the point of interest or to exit; never a timing claim.
pub const BOUND: Duration = Duration::from_secs(120);

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_lcw-handler")
}

/// A fresh, empty temp folder for one run.
pub fn private_tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lcw-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

pub fn start(args: &[&str], tmp: &Path) -> Child {
    Command::new(binary())
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts")
}

/// Reads `stream` until `needle` appears (lines may end in `\r`), returning what was read.
pub async fn read_until(stream: &mut (impl AsyncRead + Unpin), needle: &str) -> String {
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    let found = tokio::time::timeout(BOUND, async {
        loop {
            let n = stream.read(&mut buffer).await.expect("readable");
            assert!(n > 0, "the run ended before printing {needle:?}:\n{seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if seen.contains(needle) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no {needle:?} within {BOUND:?}:\n{seen}");
    seen
}

/// Reads `stream` until a whole line containing `needle` has arrived; returns that line.
pub async fn read_line_with(stream: &mut (impl AsyncRead + Unpin), needle: &str) -> String {
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    let found = tokio::time::timeout(BOUND, async {
        loop {
            if let Some(line) = seen
                .split_inclusive('\n')
                .find(|line| line.contains(needle) && line.ends_with('\n'))
            {
                return line.trim_end().to_owned();
            }
            let n = stream.read(&mut buffer).await.expect("readable");
            assert!(n > 0, "the run ended before printing {needle:?}:\n{seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no line with {needle:?} within {BOUND:?}:\n{seen}"))
}

/// Runs the binary to completion with `env` added, within [`BOUND`].
pub async fn run(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let output = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(BOUND, output)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} {args:?} did not finish within {BOUND:?}",
                binary.display()
            )
        })
        .expect("the binary runs")
}

pub fn send_signal(child: &Child, signal: libc::c_int) {
    let pid = child.id().expect("running") as libc::pid_t;
    // SAFETY: kill(2) only sends a signal to the process we spawned; it touches no memory.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "the signal was sent");
}

/// Processes whose environment names `tmp`: the run's descendants, if any survived.
pub fn survivors(tmp: &Path) -> Vec<String> {
    let marker = format!("TMPDIR={}", tmp.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue; // gone meanwhile, or not ours to read
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{name}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}
