//! A small `lcw-handler demo --chaos`: the handler is SIGKILLed twice mid-task (during the
//! logic, and between the logic and the resume), callouts are duplicated with the same and a
//! fresh nonce, finished tasks' queue messages are delivered again, Graph answers 5xx and 429,
//! and the managed identity is down for a while. The run's own verdict must pass, and the
//! figures of its JSON must show that each of these happened and that every task was resumed
//! once and its effect applied once. No timing is asserted.

use std::time::Duration;

use lcw_emulator::time_limit::within;
use tokio::process::Command;

/// A chaos run waits out queue visibility timeouts (30 s) and a killed worker's lease (90 s)
/// on a loaded machine: far above what it needs, far below CI's own timeout.
const LIMIT: Duration = Duration::from_secs(480);

#[tokio::test]
async fn a_small_chaos_run_resumes_every_task_once_and_runs_its_logic_once() {
    within(LIMIT, "a small chaos run", async {
        let output = Command::new(env!("CARGO_BIN_EXE_lcw-handler"))
            .args([
                "demo",
                "--chaos",
                "--users",
                "4",
                "--mi-outage-secs",
                "3",
                "--json",
            ])
            .env_remove("LCW_LEDGER")
            .env_remove("LCW_TASK")
            .env_remove("LCW_WEBHOOK_URL")
            // A run past the time limit is killed with the test, not left behind.
            .kill_on_drop(true)
            .output()
            .await
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "demo --chaos failed:\n{stdout}\n{stderr}"
        );
        let figures: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}):\n{stdout}"));
        assert_eq!(figures["ok"], true, "{figures:#}");
        for check in figures["invariants"].as_array().expect("invariants") {
            assert_eq!(check["ok"], true, "{check}");
        }
        assert_eq!(figures["tasks"], 4);

        // The faults happened.
        let kills = figures["kills"].as_array().expect("kills");
        assert_eq!(kills.len(), 2, "{figures:#}");
        for kill in kills {
            assert!(kill["pid"].is_u64() && kill["restartedPid"].is_u64());
            assert_ne!(kill["pid"], kill["restartedPid"]);
        }
        let duplicates = &figures["duplicatesInjected"];
        for kind in ["sameNonce", "freshNonce", "redeliveries"] {
            assert!(duplicates[kind].as_u64() > Some(0), "{kind}: {duplicates}");
        }
        assert!(figures["graphFaults"]["5xx"].as_u64() > Some(0));
        assert!(figures["graphFaults"]["429"].as_u64() > Some(0));
        assert_eq!(figures["graphFaults"]["otherRefusals"], 0);
        assert!(
            figures["miOutage"]["tokenRequestsRefused"].as_u64() > Some(0),
            "the restarted handler met the outage: {}",
            figures["miOutage"]
        );

        // Nothing lost, nothing twice: Graph, the ledger and the receiver agree.
        assert_eq!(figures["resumes"]["graphAccepted"], 4);
        assert_eq!(figures["resumes"]["ledgerRecorded"], 4);
        let logic = &figures["logic"];
        assert_eq!(logic["effectsApplied"], 4, "{logic}");
        assert_eq!(logic["ledgerFinished"], 4, "{logic}");
        assert!(
            logic["rerunsAfterKill"].as_u64() >= Some(1),
            "kill 1 cut a webhook call: {logic}"
        );
        assert_eq!(
            logic["webhookCalls"].as_u64(),
            Some(4 + logic["rerunsAfterKill"].as_u64().unwrap_or(0)),
            "every call beyond one per task is a re-run after a kill: {logic}"
        );
        assert_eq!(figures["poisonMessages"], 0);
        assert!(
            stderr.contains("result: every task resumed exactly once"),
            "{stderr}"
        );
    })
    .await;
}
