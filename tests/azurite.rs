//! The Azurite launcher (`lcw_emulator::azurite`): the real Azurite from tools/node_modules,
//! on free ports, reachable with its account SAS and not without, and gone — process and data
//! folder — once dropped, also when the test that owned it panicked.

mod common;

use common::azurite::{self, process_exists};
use common::process::run;
use common::{stock_binary, test_body};

#[tokio::test]
async fn starts_on_free_ports_and_serves_only_signed_requests() {
    test_body(
        "starts_on_free_ports_and_serves_only_signed_requests",
        async {
            let first = azurite::start().await;
            let second = azurite::start().await;
            assert_ne!(
                first.queue_endpoint(),
                second.queue_endpoint(),
                "each Azurite gets its own ports"
            );
            for endpoint in [
                first.blob_endpoint(),
                first.queue_endpoint(),
                first.table_endpoint(),
            ] {
                assert!(
                    endpoint.starts_with("http://127.0.0.1:")
                        && endpoint.ends_with("/devstoreaccount1")
                        && !endpoint.contains(":10000/")
                        && !endpoint.contains(":10001/"),
                    "a free loopback port, not Azurite's default: {endpoint}"
                );
            }

            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let queue = format!("{}/launcher-check", first.queue_endpoint());
            let unsigned = client
                .put(&queue)
                .header("x-ms-version", "2021-08-06")
                .send()
                .await
                .unwrap();
            assert_eq!(
                unsigned.status(),
                reqwest::StatusCode::FORBIDDEN,
                "Azurite enforces authentication"
            );
            let signed = client
                .put(format!("{queue}?{}", first.account_sas()))
                .header("x-ms-version", "2021-08-06")
                .send()
                .await
                .unwrap();
            assert_eq!(
                signed.status(),
                reqwest::StatusCode::CREATED,
                "the account SAS is accepted"
            );
            let mut forged = first.account_sas().to_owned();
            // An IP range added after signing: the string Azurite signs no longer matches `sig`.
            forged.push_str("&sip=1.2.3.4");
            let tampered = client
                .put(format!("{queue}-2?{forged}"))
                .header("x-ms-version", "2021-08-06")
                .send()
                .await
                .unwrap();
            assert_eq!(
                tampered.status(),
                reqwest::StatusCode::FORBIDDEN,
                "a SAS changed after signing is refused"
            );
            assert_eq!(
                azurite::approximate_count(&first, "launcher-check").await,
                Some(0)
            );
            assert_eq!(
                azurite::approximate_count(&second, "launcher-check").await,
                None,
                "two instances share nothing"
            );
        },
    )
    .await;
}

#[tokio::test]
async fn dropping_it_kills_the_server_and_removes_its_data() {
    test_body("dropping_it_kills_the_server_and_removes_its_data", async {
        let azurite = azurite::start().await;
        let pid = azurite.pid();
        let data = azurite.data_dir().to_owned();
        assert!(process_exists(pid), "Azurite runs");
        assert!(data.is_dir(), "its data folder exists");
        drop(azurite);
        assert!(!process_exists(pid), "no node process is left behind");
        assert!(!data.exists(), "the data folder is removed");
    })
    .await;
}

#[tokio::test]
async fn a_panicking_test_leaves_no_server_behind() {
    test_body("a_panicking_test_leaves_no_server_behind", async {
        let (started, pid) = tokio::sync::oneshot::channel();
        let owner = tokio::spawn(async move {
            let azurite = azurite::start().await;
            let _ = started.send((azurite.pid(), azurite.data_dir().to_owned()));
            panic!("the test body fails while Azurite runs");
        });
        let (pid, data) = pid.await.expect("Azurite started before the panic");
        let outcome = owner.await;
        assert!(
            outcome.as_ref().is_err_and(|e| e.is_panic()),
            "the owner panicked: {outcome:?}"
        );
        assert!(!process_exists(pid), "unwinding killed Azurite (pid {pid})");
        assert!(!data.exists(), "and removed its data folder");
    })
    .await;
}

#[tokio::test]
async fn demo_azurite_runs_the_flow_on_storage_and_stops_its_azurite() {
    test_body(
        "demo_azurite_runs_the_flow_on_storage_and_stops_its_azurite",
        async {
            azurite::install();
            let output = run(&stock_binary(), &["demo", "--azurite", "--users", "3"], &[]).await;
            let said = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{said}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(said.contains("resumed 3 (completed 3"), "{said}");
            let pid: u32 = said
                .split("Azurite (pid ")
                .nth(1)
                .and_then(|rest| rest.split(')').next())
                .and_then(|pid| pid.parse().ok())
                .unwrap_or_else(|| panic!("the demo names its Azurite: {said}"));
            assert!(
                said.contains("ledger in container lcw-ledger"),
                "the ledger is in Azurite too: {said}"
            );
            assert!(
                !process_exists(pid),
                "the demo stopped its Azurite (pid {pid})"
            );
        },
    )
    .await;
}
