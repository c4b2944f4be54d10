//! What a user sees from `check`, start-up and the local commands when a setting or flag is
//! wrong, through the real binaries: unknown `LCW_*` variables are warned about with the
//! closest name, an `LCW_LOG` that would log nothing is refused, yes/no settings take every
//! usual spelling, `--listen` and `--users` errors show what is expected, and a custom-task
//! binary does not read `LCW_TASK` at all.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::example_binary;
use common::process::{read_line_with, run};

fn stock() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lcw-handler"))
}

/// Settings that make `check` pass without a tenant.
// No ledger: these servers take no task, and must not touch the user's default ledger file.
const BASE: &[(&str, &str)] = &[("LCW_AUTH", "none"), ("LCW_LEDGER", "off")];

async fn check(binary: &Path, extra: &[(&str, &str)]) -> Output {
    let mut env = BASE.to_vec();
    env.extend_from_slice(extra);
    run(binary, &["check"], &env).await
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn check_warns_about_a_misspelt_setting_and_names_the_right_one() {
    let output = check(&stock(), &[("LCW_WEBHOOK_TIMEOUT_SECOND", "5")]).await;
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("LCW_WEBHOOK_TIMEOUT_SECOND is not a setting of lcw-handler and is ignored; did you mean LCW_WEBHOOK_TIMEOUT_SECONDS?"),
        "{said}"
    );
}

#[tokio::test]
async fn serve_warns_about_a_misspelt_setting_at_start() {
    let mut serve = tokio::process::Command::new(stock())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(BASE.iter().copied())
        .env("LCW_WEBHOOK_TIMEOUT_SECOND", "5")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let mut stdout = serve.stdout.take().expect("piped");
    let line = read_line_with(&mut stdout, "LCW_WEBHOOK_TIMEOUT_SECOND").await;
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["level"], "WARN", "{line}");
    assert_eq!(
        event["fields"]["did_you_mean"], "LCW_WEBHOOK_TIMEOUT_SECONDS",
        "{line}"
    );
    let _ = serve.kill().await;
}

#[tokio::test]
async fn a_log_filter_that_would_log_nothing_stops_check_and_start_up() {
    for args in [&["check"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let mut env = BASE.to_vec();
        env.push(("LCW_LOG", "verbose"));
        let output = run(&stock(), args, &env).await;
        let said = text(&output);
        assert!(!output.status.success(), "{args:?}: {said}");
        assert!(
            said.contains("LCW_LOG=\"verbose\" is invalid") && said.contains("not a level"),
            "{args:?}: {said}"
        );
    }
    let output = check(&stock(), &[("LCW_LOG", "lcw_handler=debug,warn")]).await;
    assert!(output.status.success(), "{}", text(&output));
}

#[tokio::test]
async fn yes_no_settings_take_every_usual_spelling() {
    let tenant = [
        ("LCW_AUTH", "bearer"),
        ("LCW_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("LCW_AUDIENCE", "api://lcw"),
    ];
    for spelling in ["yes", "TRUE", "on", "1"] {
        let mut env = tenant.to_vec();
        env.push(("LCW_AUTH_DIAGNOSTICS", spelling));
        let output = run(&stock(), &["check"], &env).await;
        let said = text(&output);
        assert!(output.status.success(), "{spelling}: {said}");
        assert!(
            said.contains("LCW_AUTH_DIAGNOSTICS           1"),
            "{spelling}: {said}"
        );
    }
    let mut env = tenant.to_vec();
    env.push(("LCW_AUTH_DIAGNOSTICS", "maybe"));
    let said = text(&run(&stock(), &["check"], &env).await);
    assert!(
        said.contains("use 1, true, yes, on to turn it on, or 0, false, no, off"),
        "{said}"
    );
}

#[tokio::test]
async fn flag_errors_show_the_expected_form() {
    let listen = run(&stock(), &["serve", "--listen", "8080"], BASE).await;
    assert_eq!(listen.status.code(), Some(2));
    assert!(
        text(&listen).contains("e.g. 127.0.0.1:8080"),
        "{}",
        text(&listen)
    );

    let users = run(&stock(), &["demo", "--users", "0"], &[]).await;
    assert_eq!(
        users.status.code(),
        Some(2),
        "--users 0 is refused, not a success"
    );
    assert!(
        text(&users).contains("must be at least 1"),
        "{}",
        text(&users)
    );

    let throttle = run(&stock(), &["demo", "--throttle", "1.0"], &[]).await;
    assert_eq!(throttle.status.code(), Some(2));
    assert!(
        text(&throttle).contains("no task could ever be resumed"),
        "{}",
        text(&throttle)
    );
}

#[tokio::test]
async fn a_custom_task_binary_ignores_lcw_task_in_code_and_in_check() {
    let webhook_without_url = [("LCW_TASK", "webhook")];
    let stock_check = check(&stock(), &webhook_without_url).await;
    assert!(!stock_check.status.success());
    assert!(
        text(&stock_check).contains("LCW_WEBHOOK_URL"),
        "{}",
        text(&stock_check)
    );

    let custom = example_binary("scripted_task");
    let custom_check = check(&custom, &webhook_without_url).await;
    let said = text(&custom_check);
    assert!(custom_check.status.success(), "{said}");
    let task_lines: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("LCW_TASK "))
        .collect();
    assert_eq!(task_lines.len(), 1, "one clear line: {said}");
    assert!(task_lines[0].contains("not read"), "{said}");

    // And it starts: `serve` gets as far as listening.
    let mut serve = tokio::process::Command::new(&custom)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(BASE.iter().copied())
        .envs(webhook_without_url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the custom binary starts");
    let mut stdout = serve.stdout.take().expect("piped");
    read_line_with(&mut stdout, "serving standalone").await;
    let _ = serve.kill().await;
}

#[tokio::test]
async fn a_bad_ledger_setting_stops_check_and_names_the_setting() {
    for (name, value) in [
        ("LCW_LEDGER", "postgres://db"),
        ("LCW_LEDGER", "sqlite:"),
        ("LCW_LEDGER_RETENTION_DAYS", "0"),
    ] {
        let output = check(&stock(), &[(name, value)]).await;
        let said = text(&output);
        assert!(
            !output.status.success(),
            "{name}={value} must be refused: {said}"
        );
        assert!(said.contains(name), "the error names {name}: {said}");
    }
    let output = check(&stock(), &[("LCW_LEDGER_RETENTION_DAYS", "7")]).await;
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("LCW_LEDGER_RETENTION_DAYS"), "{said}");
    assert!(
        said.lines()
            .any(|l| l.starts_with("LCW_LEDGER ") && l.contains("off")),
        "{said}"
    );
}

#[tokio::test]
async fn a_blob_ledger_needs_a_storage_account_and_never_shows_its_sas() {
    let output = check(&stock(), &[("LCW_LEDGER", "blob")]).await;
    let said = text(&output);
    assert!(!output.status.success(), "no account, no ledger: {said}");
    assert!(said.contains("AzureWebJobsStorage__accountName"), "{said}");

    let output = check(
        &stock(),
        &[
            ("LCW_LEDGER", "blob"),
            (
                "LCW_LEDGER_BLOB_SERVICE_URL",
                "http://127.0.0.1:10000/devstoreaccount1",
            ),
            (
                "LCW_LEDGER_BLOB_SAS",
                "sv=2021-08-06&sig=TOPSECRETSIGNATURE",
            ),
        ],
    )
    .await;
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains(
            "http://127.0.0.1:10000/devstoreaccount1/ (from LCW_LEDGER_BLOB_SERVICE_URL)"
        ),
        "{said}"
    );
    assert!(
        !said.contains("TOPSECRETSIGNATURE"),
        "the SAS leaked: {said}"
    );

    let output = check(
        &stock(),
        &[
            ("LCW_LEDGER", "blob"),
            ("AzureWebJobsStorage__accountName", "lcwapp42"),
        ],
    )
    .await;
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains(
            "https://lcwapp42.blob.core.windows.net/ (from AzureWebJobsStorage__accountName)"
        ),
        "{said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with("LCW_LEDGER_BLOB_CONTAINER ") && l.ends_with("lcw-ledger")),
        "{said}"
    );
}
