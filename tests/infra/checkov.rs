//! (b) checkov (pinned in tools/requirements.txt) passes on `infra/`, offline, and every skipped
//! rule carries a reason in the Bicep; a weakened copy shows both checks bite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bicep::{self, repo_root};

/// checkov's report for `dir` (Bicep only, offline).
fn checkov(dir: &Path) -> Value {
    let started = Instant::now();
    // Offline: no policy download, no version check.
    let output = bicep::output_within(
        Command::new(bicep::tool("checkov"))
            .arg("--directory")
            .arg(dir)
            .args([
                "--framework",
                "bicep",
                "--skip-download",
                "--output",
                "json",
            ])
            .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true"),
        Duration::from_secs(600),
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    eprintln!(
        "checkov on {}: {:.1}s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    // One framework gives one report; some versions wrap it in a list.
    match report {
        Value::Array(mut reports) if reports.len() == 1 => reports.remove(0),
        report => report,
    }
}

/// A skip comment's reason, judged: it must say why, in a sentence, not just name the check.
fn justification_problem(reason: &str) -> Option<String> {
    let words = reason.split_whitespace().count();
    if reason.trim().is_empty() || reason.contains("No comment provided") {
        Some("no reason given".to_owned())
    } else if words < 8 {
        Some(format!("a reason of {words} words does not explain a skip"))
    } else {
        None
    }
}

/// Every `checkov:skip=ID:reason` comment under `dir`: (file, id, reason).
fn skip_comments(dir: &Path) -> Vec<(String, String, String)> {
    let root = dir.parent().unwrap_or(dir);
    let mut found = Vec::new();
    for file in bicep::bicep_files(root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
        for line in text.lines() {
            if let Some(rest) = line.split_once("checkov:skip=").map(|(_, r)| r) {
                let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                found.push((file.clone(), id.trim().to_owned(), reason.trim().to_owned()));
            }
        }
    }
    found
}

fn check_ids(report: &Value, kind: &str) -> Vec<(String, String, String)> {
    report["results"][kind]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["check_id"].as_str().unwrap_or_default().to_owned(),
                c["resource"].as_str().unwrap_or_default().to_owned(),
                c["check_result"]["suppress_comment"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn checkov_passes_on_infra_and_every_skip_is_justified() {
    let infra = repo_root().join("infra");
    let report = checkov(&infra);
    let summary = &report["summary"];
    let failed = check_ids(&report, "failed_checks");
    let skipped = check_ids(&report, "skipped_checks");
    eprintln!("checkov {}: {summary}", summary["checkov_version"]);
    for (id, resource, reason) in &skipped {
        eprintln!("  skipped {id} on {resource}: {reason}");
    }
    assert_eq!(
        summary["checkov_version"], "3.3.30",
        "the pinned checkov ran"
    );
    assert_eq!(summary["parsing_errors"], 0, "checkov parsed every file");
    assert!(
        summary["passed"].as_u64() > Some(0),
        "checkov ran checks: {summary}"
    );
    assert!(failed.is_empty(), "checkov fails: {failed:#?}");

    for (id, resource, reason) in &skipped {
        assert!(
            justification_problem(reason).is_none(),
            "{id} on {resource}: {}",
            justification_problem(reason).unwrap_or_default()
        );
    }
    let comments = skip_comments(&infra);
    for (file, id, reason) in &comments {
        if let Some(problem) = justification_problem(reason) {
            panic!("{file}: checkov:skip={id}: {problem}");
        }
        assert!(
            skipped.iter().any(|(skipped_id, _, _)| skipped_id == id),
            "{file} skips {id}, which no longer applies to anything: remove the comment"
        );
    }
}

#[test]
fn checkov_and_the_skip_rule_reject_a_weakened_copy() {
    // The same infrastructure with TLS 1.0 on storage, plain HTTP on the app, and a skip without
    // a reason: checkov must fail the first two and the skip rule must refuse the third.
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("infra-weakened-{}", std::process::id()));
    let infra = root.join("infra");
    for file in bicep::bicep_files(&repo_root()) {
        let target = root.join(&file);
        std::fs::create_dir_all(target.parent().expect("a file in a folder")).unwrap();
        let mut text = std::fs::read_to_string(repo_root().join(&file)).unwrap();
        if file.ends_with("storage.bicep") {
            text = text.replacen(
                "minimumTlsVersion: 'TLS1_2'",
                "minimumTlsVersion: 'TLS1_0'",
                1,
            );
            text = text.replacen(
                "  kind: 'StorageV2'",
                "  // checkov:skip=CKV_AZURE_43\n  kind: 'StorageV2'",
                1,
            );
        }
        if file.ends_with("function-app.bicep") {
            text = text.replacen("httpsOnly: true", "httpsOnly: false", 1);
        }
        std::fs::write(&target, text).unwrap();
    }
    let report = checkov(&infra);
    let failed: BTreeSet<String> = check_ids(&report, "failed_checks")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert!(
        failed.contains("CKV_AZURE_44"),
        "TLS 1.0 on storage is caught: {failed:?}"
    );
    assert!(
        failed.contains("CKV_AZURE_70"),
        "plain HTTP on the app is caught: {failed:?}"
    );
    let unjustified: Vec<_> = skip_comments(&infra)
        .into_iter()
        .filter(|(_, _, reason)| justification_problem(reason).is_some())
        .collect();
    assert_eq!(
        unjustified.len(),
        1,
        "the bare skip is refused: {unjustified:?}"
    );
    assert_eq!(unjustified[0].1, "CKV_AZURE_43");
    assert!(justification_problem("too short").is_some());
    std::fs::remove_dir_all(&root).ok();
}
