//! `lcw-handler send FILE`: post a callout to a running `serve` the way Lifecycle Workflows
//! does, for hand-testing.
//!
//! A callout needs a PoP signature from the tenant the handler trusts, which a curl command
//! cannot make. `serve --with-local-tenant` runs a local tenant stand-in and prints its address;
//! `send` asks that tenant for a freshly signed `Authorization` value (LCW does not sign the
//! body, so any file goes with it) and posts the file to the callout route. By default the
//! callout gets a new taskProcessingResult id, as each run of a workflow does — the local Graph,
//! like the real one, accepts one resume per id; `--keep-id` sends the file byte for byte.

use std::path::PathBuf;
use std::process::ExitCode;

use lcw_emulator::tenant::LCW_AUTHORIZATION_PATH;

use crate::callout::Callout;
use crate::standalone::CALLOUT_ROUTE;

/// `send` flags.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The callout body, a JSON file such as tests/fixtures/callouts/launch-and-wait.json
    /// (the fixtures are described in tests/fixtures/callouts/README.md).
    pub file: PathBuf,
    /// Base URL of the running `lcw-handler serve`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub to: String,
    /// Base URL of the local tenant, as printed by `lcw-handler serve --with-local-tenant`.
    #[arg(long)]
    pub tenant: String,
    /// Send the file byte for byte, keeping its taskProcessingResult id (a second resume of
    /// the same id is refused by Graph, as in production).
    #[arg(long)]
    pub keep_id: bool,
}

pub(super) async fn run(args: SendArgs) -> ExitCode {
    match send(&args).await {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("send failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Posts the callout and prints the answer; returns its status.
async fn send(args: &SendArgs) -> Result<u16, String> {
    let original = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let (body, id) = match Callout::parse(original.as_bytes()) {
        Ok(callout) if !args.keep_id => {
            let fresh = uuid::Uuid::new_v4().to_string();
            // Every occurrence, so an id repeated in `callbackUriPath` stays consistent and the
            // file's own shape (casing, field order) is kept.
            (
                original.replace(&callout.task_processing_result.id, &fresh),
                Some(fresh),
            )
        }
        Ok(callout) => (original, Some(callout.task_processing_result.id)),
        Err(e) => {
            println!("note: the handler will refuse this body ({e}); sending it anyway");
            (original, None)
        }
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let signer = format!(
        "{}{LCW_AUTHORIZATION_PATH}",
        args.tenant.trim_end_matches('/')
    );
    let authorization = client
        .post(&signer)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| {
            format!(
                "the local tenant at {} did not sign the callout ({e}); start one with `lcw-handler serve --with-local-tenant` and pass the --tenant it prints",
                args.tenant
            )
        })?
        .text()
        .await
        .map_err(|e| format!("the local tenant's answer was unreadable: {e}"))?;
    let url = format!("{}{CALLOUT_ROUTE}", args.to.trim_end_matches('/'));
    let response = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::AUTHORIZATION, authorization)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url} ({e}); is `lcw-handler serve` running?"))?;
    let status = response.status();
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    println!(
        "POST {url} ({}, taskProcessingResult {}): {status}",
        args.file.display(),
        id.as_deref().unwrap_or("unknown")
    );
    if let Some(challenge) = challenge {
        println!("  WWW-Authenticate: {challenge}");
    }
    if !text.is_empty() {
        println!("  {text}");
    }
    Ok(status.as_u16())
}
