//! Logs are written off the request path, by a writer thread; stopping must not lose what is
//! still queued for it. The real binary is stopped with SIGTERM and its stdout read to the
//! end: the lines logged last, after the server has stopped, must all be there, whole.

mod common;

use std::process::Stdio;

use common::process::{BOUND, read_line_with, send_signal};
use lcw_emulator::time_limit::test_body;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// The `fields.message` of each JSON line.
fn messages(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| {
            let parsed: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("every line is one JSON object ({e}): {line:?}"));
            parsed["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Waits until the server at `address` answers `GET /`: by then it is serving, and its signal
/// handler is installed (a SIGTERM before that would end the process the default way).
async fn wait_until_serving(address: &str) {
    let client = reqwest::Client::new();
    let answered = tokio::time::timeout(BOUND, async {
        loop {
            if let Ok(response) = client.get(format!("http://{address}/")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "{address} did not answer within {BOUND:?}"
    );
}

/// Starts the binary, waits for the line containing `started` and for `GET /` to answer at the
/// address `address_of` finds in that line, stops it with SIGTERM and checks the last lines.
async fn the_last_lines_are_written_when(
    args: &[&str],
    env: &[(&str, &str)],
    started: &str,
    address_of: impl Fn(&serde_json::Value) -> String,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lcw-handler"))
        .args(args)
        .env("LCW_AUTH", "none")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("piped");
    let first = read_line_with(&mut stdout, started).await;
    let line: serde_json::Value = serde_json::from_str(first.trim_start_matches(|c| c != '{'))
        .expect("the start line is JSON");
    wait_until_serving(&address_of(&line)).await;
    send_signal(&child, libc::SIGTERM);
    let rest = tokio::time::timeout(BOUND, async {
        let mut rest = String::new();
        stdout
            .read_to_string(&mut rest)
            .await
            .expect("stdout reads to its end");
        child.wait().await.expect("an exit status");
        rest
    })
    .await
    .unwrap_or_else(|_| panic!("no exit within {BOUND:?} of SIGTERM"));
    let all = format!("{first}\n{rest}");
    let messages = messages(all.trim_start_matches(|c| c != '{'));
    let stopping = messages
        .iter()
        .position(|m| m == "stopping")
        .unwrap_or_else(|| panic!("the signal is logged: {messages:?}"));
    assert_eq!(
        messages.last().map(String::as_str),
        Some("stopped"),
        "the line logged just before exit is written: {messages:?}"
    );
    assert!(stopping < messages.len() - 1, "{messages:?}");
}

#[tokio::test]
async fn standalone_writes_its_last_lines_on_sigterm() {
    test_body("standalone log flush", async {
        the_last_lines_are_written_when(
            &["serve", "--listen", "127.0.0.1:0"],
            &[],
            "serving standalone",
            |line| {
                line["fields"]["listen"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            },
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn host_mode_writes_its_last_lines_on_sigterm() {
    test_body("host mode log flush", async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
            .to_string();
        let app_root = env!("CARGO_MANIFEST_DIR");
        the_last_lines_are_written_when(
            &[],
            &[
                ("FUNCTIONS_CUSTOMHANDLER_PORT", &port),
                ("FUNCTIONS_APP_ROOT_PATH", app_root),
            ],
            "serving the Functions host",
            |_| format!("127.0.0.1:{port}"),
        )
        .await;
    })
    .await;
}
