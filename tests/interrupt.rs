//! Stopping `demo` and `bench` with Ctrl-C (SIGINT) or SIGTERM mid-run: every process they
//! started must be gone, their temporary app roots removed, and the exit must say
//! "interrupted" with the shell's code (130 / 143).
//!
//! Each run gets its own `TMPDIR`, which every descendant inherits: afterwards no process on
//! the machine may still carry it in its environment, and the folder must be empty. The signal
//! is sent once the run shows it is under way (a line it prints), never after a fixed sleep.

mod common;

use std::path::Path;

use common::process::{BOUND, private_tmp, read_until, send_signal, start, survivors};
use tokio::io::AsyncReadExt;
use tokio::process::Child;

/// Exit code and the rest of stderr after the signal.
async fn finish(mut child: Child) -> (Option<i32>, String) {
    let mut stderr = child.stderr.take().expect("piped");
    let rest = tokio::time::timeout(BOUND, async {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        let status = child.wait().await.expect("exit status");
        (status.code(), text)
    })
    .await;
    rest.unwrap_or_else(|_| panic!("the run did not exit within {BOUND:?} of the signal"))
}

fn assert_cleaned_up(tmp: &Path, stderr: &str) {
    assert_eq!(
        survivors(tmp),
        Vec::<String>::new(),
        "no process of the run survives"
    );
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("the private temp folder")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "temporary files left behind: {left:?}\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(tmp);
}

/// The handler's pid from the demo's `handler (pid N)` line.
fn handler_pid(stdout: &str) -> u32 {
    let after = stdout
        .split("handler (pid ")
        .nth(1)
        .expect("the demo names the handler's pid");
    after
        .split(')')
        .next()
        .and_then(|pid| pid.parse().ok())
        .expect("a pid")
}

async fn interrupt_demo(signal: libc::c_int, name: &str, expected_code: i32) {
    let tmp = private_tmp(name);
    // Slow Graph answers keep the run busy processing when the signal comes.
    let mut demo = start(
        &["demo", "--users", "50", "--graph-latency-ms", "2000"],
        &tmp,
    );
    let mut stdout = demo.stdout.take().expect("piped");
    let seen = read_until(&mut stdout, "acknowledged 202").await;
    let pid = handler_pid(&seen);
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the handler runs"
    );

    send_signal(&demo, signal);
    let (code, stderr) = finish(demo).await;
    assert_eq!(code, Some(expected_code), "{stderr}");
    assert!(stderr.contains("demo interrupted"), "{stderr}");
    assert!(!stderr.contains("demo failed"), "{stderr}");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the handler (pid {pid}) is gone"
    );
    assert_cleaned_up(&tmp, &stderr);
}

#[tokio::test]
async fn sigterm_stops_the_demo_and_everything_it_started() {
    interrupt_demo(libc::SIGTERM, "demo-term", 143).await;
}

#[tokio::test]
async fn ctrl_c_stops_the_demo_and_everything_it_started() {
    interrupt_demo(libc::SIGINT, "demo-int", 130).await;
}

#[tokio::test]
async fn sigterm_stops_the_bench_and_everything_it_started() {
    let tmp = private_tmp("bench-term");
    let mut bench = start(
        &[
            "bench",
            "--callouts",
            "300",
            "--rate",
            "20",
            "--cold-starts",
            "1",
            "--concurrency",
            "4",
            "--graph-latency-ms",
            "5",
        ],
        &tmp,
    );
    let mut stderr = bench.stderr.take().expect("piped");
    // The paced phase runs with the handler under the host emulator.
    let seen = read_until(&mut stderr, "latency phase:").await;
    let running = survivors(&tmp);
    assert!(
        running.len() >= 2,
        "the bench and the handler it started carry the marker: {running:?}\n{seen}"
    );
    bench.stderr = Some(stderr);

    send_signal(&bench, libc::SIGTERM);
    let (code, stderr) = finish(bench).await;
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("bench interrupted"), "{stderr}");
    assert_cleaned_up(&tmp, &stderr);
}
