//! Azurite for the tests: installed by `.ci/install-tools` (run here once per test binary when
//! it is missing, so `cargo test --workspace` works on a fresh clone), started by the
//! emulator's launcher, plus a few raw Storage REST calls so a test can check what Storage
//! holds without going through the code under test.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lcw_emulator::azurite::Azurite;

/// Starts Azurite, installing it first if this checkout does not have it yet.
pub async fn start() -> Azurite {
    install();
    Azurite::start().await.expect("Azurite starts")
}

/// Runs `.ci/install-tools` once per test binary if this checkout has no Azurite yet.
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if root
            .join("tools/node_modules/azurite/dist/src/azurite.js")
            .is_file()
        {
            return;
        }
        let script = root.join(".ci/install-tools");
        let status = Command::new(&script)
            .status()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(status.success(), "{} failed", script.display());
    });
}

/// Whether a process with this id exists (a reaped child does not).
pub fn process_exists(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `x-ms-approximate-messages-count` of a queue (Get Queue Metadata); `None` if the queue
/// does not exist.
pub async fn approximate_count(azurite: &Azurite, queue: &str) -> Option<u64> {
    let url = format!(
        "{}/{queue}?comp=metadata&{}",
        azurite.queue_endpoint(),
        azurite.account_sas()
    );
    let response = client()
        .get(url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return None;
    }
    assert!(
        response.status().is_success(),
        "Get Queue Metadata: {}",
        response.status()
    );
    response
        .headers()
        .get("x-ms-approximate-messages-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The visible messages of a queue (Peek Messages, up to 32), base64-decoded as the Functions
/// queue binding stores them.
pub async fn peek_texts(azurite: &Azurite, queue: &str) -> Vec<String> {
    let url = format!(
        "{}/{queue}/messages?peekonly=true&numofmessages=32&{}",
        azurite.queue_endpoint(),
        azurite.account_sas()
    );
    let response = client()
        .get(url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    assert!(
        response.status().is_success(),
        "Peek Messages: {}",
        response.status()
    );
    let xml = response.text().await.expect("a body");
    xml.split("<MessageText>")
        .skip(1)
        .filter_map(|rest| rest.split("</MessageText>").next())
        .map(|encoded| {
            let bytes = STANDARD
                .decode(encoded.trim())
                .expect("the binding stores base64");
            String::from_utf8(bytes).expect("UTF-8 text")
        })
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds")
}

/// The blob names of a container (List Blobs).
pub async fn list_blobs(azurite: &Azurite, container: &str) -> Vec<String> {
    let url = format!(
        "{}/{container}?restype=container&comp=list&{}",
        azurite.blob_endpoint(),
        azurite.account_sas()
    );
    let response = client()
        .get(url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    assert!(
        response.status().is_success(),
        "List Blobs: {}",
        response.status()
    );
    let xml = response.text().await.expect("a body");
    xml.split("<Name>")
        .skip(1)
        .filter_map(|rest| rest.split("</Name>").next())
        .map(str::to_owned)
        .collect()
}

/// A blob's content as JSON (Get Blob).
pub async fn blob_json(azurite: &Azurite, container: &str, name: &str) -> serde_json::Value {
    let url = format!(
        "{}/{container}/{name}?{}",
        azurite.blob_endpoint(),
        azurite.account_sas()
    );
    let response = client()
        .get(url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    assert!(
        response.status().is_success(),
        "Get Blob: {}",
        response.status()
    );
    response.json().await.expect("a JSON record")
}
