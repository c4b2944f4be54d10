//! A short run of `lcw-handler bench`: the benchmark's own correctness checks (every callout
//! acknowledged, every task resumed exactly once, baseline answered) must pass, and its JSON
//! must carry every figure. No timing is asserted.

use lcw_emulator::time_limit::test_body;
use tokio::process::Command;

#[tokio::test]
async fn a_small_benchmark_run_is_correct_and_reports_every_figure() {
    test_body(
        "a_small_benchmark_run_is_correct_and_reports_every_figure",
        small_run(),
    )
    .await;
}

async fn small_run() {
    let json = std::env::temp_dir().join(format!("lcw-bench-smoke-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_lcw-handler"))
        .args([
            "bench",
            "--callouts",
            "60",
            "--concurrency",
            "8",
            "--rate",
            "200",
            "--cold-starts",
            "2",
            "--graph-latency-ms",
            "5",
            "--throttle",
            "0.2",
            "--json",
        ])
        .arg(&json)
        // A run past the time limit is killed with the test, not left behind.
        .kill_on_drop(true)
        .output()
        .await
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("correctness:") && stdout.contains(": ok"),
        "{stdout}"
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the JSON file")).expect("JSON");
    let _ = std::fs::remove_file(&json);
    assert_eq!(figures["callouts"], 60);
    assert_eq!(
        figures["resumed_once"], 60,
        "every task resumed exactly once"
    );
    assert_eq!(figures["acknowledged_flood"], 60);
    assert_eq!(figures["queued_flood"], 60);
    assert_eq!(figures["acknowledged_baseline"], 60);
    assert_eq!(figures["token_fetches"], 1, "one token serves the run");
    for figure in ["cold_start", "ack_latency", "completion"] {
        assert!(
            figures[figure]["p50"].as_f64().is_some_and(|v| v > 0.0),
            "{figure}: {}",
            figures[figure]
        );
    }
    for figure in ["throughput", "baseline_throughput"] {
        assert!(
            figures[figure].as_f64().is_some_and(|v| v > 0.0),
            "{figure}"
        );
    }
}
