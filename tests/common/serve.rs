//! The real binary in standalone mode (`lcw-handler serve`), as a black box: a child process
//! on a free port, talking to the tenant emulator. Tests written against it survive any
//! rewrite of standalone mode's internals.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use lcw_emulator::tenant::{DEFAULT_POP_PATH, LcwAuth, LcwCaller, TenantEmulator, TenantOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::fresh_ledger;

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `lcw-handler serve` and its tenant.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT/api/lifecycle/callout`.
    pub url: String,
    pub tenant: TenantEmulator,
}

impl Served {
    /// Starts `binary serve --listen 127.0.0.1:0` with PoP against a fresh tenant, plus `env`.
    pub async fn start(binary: PathBuf, env: &[(&str, &str)]) -> Served {
        let tenant = TenantEmulator::start(TenantOptions::default())
            .await
            .expect("the tenant emulator starts");
        Served::start_in(tenant, binary, env).await
    }

    /// As [`start`](Self::start), against a tenant already running (e.g. the one a killed
    /// server used, to start it again).
    pub async fn start_in(tenant: TenantEmulator, binary: PathBuf, env: &[(&str, &str)]) -> Served {
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("IDENTITY_ENDPOINT", tenant.identity_endpoint())
            .env("IDENTITY_HEADER", tenant.identity_header())
            .env("LCW_GRAPH_URL", tenant.graph_url())
            .env("LCW_RETRY_DELAY_SECONDS", "0")
            .env("LCW_TENANT_ID", tenant.tenant_id())
            .env("LCW_AUTHORITY_URL", tenant.authority_url())
            .env("LCW_POP_PATH", DEFAULT_POP_PATH)
            .env("LCW_LEDGER", fresh_ledger())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let address = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if parsed["fields"]["message"] == "serving standalone" {
                    return parsed["fields"]["listen"].as_str().map(str::to_owned);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("the server starts listening");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Served {
            child,
            url: format!("http://{address}/api/lifecycle/callout"),
            tenant,
        }
    }

    /// Lifecycle Workflows, signing with PoP.
    pub fn lcw(&self) -> LcwCaller {
        self.tenant
            .lcw()
            .with_auth(LcwAuth::Pop(self.tenant.pop_settings()))
    }

    /// POSTs a callout (its own headers) with `body`.
    pub async fn post(
        &self,
        callout: &lcw_emulator::tenant::Callout,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = reqwest::Client::new().post(&self.url).body(body);
        for (name, value) in &callout.headers {
            request = request.header(name, value);
        }
        request.send().await.expect("the server answers")
    }

    /// Kills the server with SIGKILL and waits for it, keeping the tenant for a restart.
    pub async fn kill(mut self) -> TenantEmulator {
        let _ = self.child.kill().await;
        self.tenant
    }

    /// Stops the server (SIGKILL).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.tenant.shutdown().await;
    }
}
