//! One HTTP client for every outbound call of the process.
//!
//! Building a rustls client loads the platform's root certificates, which costs milliseconds;
//! doing it once instead of once per component keeps the handler's cold start short (the host
//! waits for readiness, and LCW's callouts wait for the host). Each caller sets its own
//! per-request timeout; the client holds only what all share.

use std::sync::OnceLock;
use std::time::Duration;

/// Connection set-up timeout shared by every outbound call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The process-wide client (cheap to clone: it is a handle to a shared pool).
pub fn shared() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(concat!("lcw-handler/", env!("CARGO_PKG_VERSION")))
                .build()
                // No custom roots, identity or proxy: building has no run-time failure mode;
                // a failure would be a build misconfiguration, caught by every test.
                .expect("the HTTP client builds")
        })
        .clone()
}
