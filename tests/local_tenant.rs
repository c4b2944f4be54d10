//! Hand-testing `serve` without Azure, through the real binary: `serve --with-local-tenant`
//! starts a local tenant and prints how to send; `send` posts a fixture signed the way
//! Lifecycle Workflows signs it; the callout is acknowledged `202` and resumed. An unsigned
//! POST of the same file is refused with `401`.

mod common;

use std::path::PathBuf;

use common::process::{BOUND, private_tmp, read_line_with, run, send_signal, start, survivors};
use tokio::io::AsyncReadExt;

const FIXTURE: &str = "tests/fixtures/callouts/launch-and-wait.json";
/// The taskProcessingResult id written in the fixture.
const FIXTURE_ID: &str = "6e1ec336-8d06-4386-a377-79dbab1a2eb6";

/// The value after `flag` in `line`.
fn flag_value(line: &str, flag: &str) -> String {
    line.split_whitespace()
        .skip_while(|word| *word != flag)
        .nth(1)
        .unwrap_or_else(|| panic!("{flag} in {line:?}"))
        .to_owned()
}

#[tokio::test]
async fn a_fixture_sent_to_serve_with_a_local_tenant_is_acknowledged_and_resumed() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_lcw-handler"));
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let tmp = private_tmp("local-tenant");
    let mut serve = start(
        &["serve", "--with-local-tenant", "--listen", "127.0.0.1:0"],
        &tmp,
    );
    let mut stderr = serve.stderr.take().expect("piped");
    let hint = read_line_with(&mut stderr, "lcw-handler send").await;
    let (to, tenant) = (flag_value(&hint, "--to"), flag_value(&hint, "--tenant"));

    // Without a signature, the callout is refused, as any caller's would be.
    let unsigned = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{to}/api/lifecycle/callout"))
        .header("Content-Type", "application/json")
        .body(std::fs::read(&fixture).expect("the fixture"))
        .send()
        .await
        .expect("serve answers");
    assert_eq!(unsigned.status().as_u16(), 401);
    let challenge = unsigned
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.contains("missing_authorization"), "{challenge}");

    let fixture_arg = fixture.to_string_lossy();
    let sent = run(
        &binary,
        &["send", &fixture_arg, "--to", &to, "--tenant", &tenant],
        &[],
    )
    .await;
    let said = String::from_utf8_lossy(&sent.stdout).into_owned();
    assert!(
        sent.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(said.contains("202 Accepted"), "{said}");
    let id = said
        .split("taskProcessingResult ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("send names the id")
        .to_owned();
    assert_ne!(id, FIXTURE_ID, "each send is a new task run");

    let resumed = read_line_with(&mut stderr, &format!("taskProcessingResult {id}")).await;
    assert!(resumed.contains("(completed) answered 204"), "{resumed}");

    send_signal(&serve, libc::SIGTERM);
    let mut rest = String::new();
    let status = tokio::time::timeout(BOUND, async {
        let _ = stderr.read_to_string(&mut rest).await;
        serve.wait().await.expect("exit status")
    })
    .await
    .expect("serve stops on SIGTERM");
    assert_eq!(status.code(), Some(143), "{rest}");
    assert_eq!(survivors(&tmp), Vec::<String>::new(), "no process survives");
    let _ = std::fs::remove_dir_all(&tmp);
}
