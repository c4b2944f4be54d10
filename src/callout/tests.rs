//! Every callout variant docs/protocol.md lists, from the fixtures in `tests/fixtures/callouts`
//! (their README gives each one's source).

use super::*;

const WORKFLOW: &str = "4f36da05-5df8-457d-adb3-b132e7b59571";
const TASK: &str = "e07dcdb2-0a77-4ee3-8645-3801fbe1cf9f";
const RESULT: &str = "6e1ec336-8d06-4386-a377-79dbab1a2eb6";

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/callouts/", $name))
    };
}

fn parse(bytes: &[u8]) -> Callout {
    Callout::parse(bytes).expect("fixture should parse")
}

fn assert_ids(callout: &Callout) {
    assert_eq!(callout.workflow.id, WORKFLOW);
    assert_eq!(callout.task.id, TASK);
    assert_eq!(callout.task_processing_result.id, RESULT);
}

#[test]
fn documented_launch_and_wait_callout() {
    let c = parse(fixture!("launch-and-wait.json"));
    assert_ids(&c);
    assert!(c.launch_and_wait);
    assert!(c.callback_uri_path.as_deref().unwrap().ends_with("/resume"));
    assert_eq!(c.workflow.version, Some(1));
    assert_eq!(c.subject.display_name.as_deref(), Some("Adele Vance"));
    assert_eq!(
        c.subject
            .manager
            .as_ref()
            .and_then(|m| m.display_name.as_deref()),
        Some("Megan Bowen")
    );
    assert_eq!(
        c.task_processing_result.created_date_time.as_deref(),
        Some("2026-11-02T08:00:03.1234567Z"),
        "createdDateTime is kept as the exact text"
    );
    assert_eq!(c.source.as_deref(), Some("sample"));
}

#[test]
fn launch_and_continue_has_no_callback() {
    let c = parse(fixture!("launch-and-continue.json"));
    assert_ids(&c);
    assert!(!c.launch_and_wait);
    assert_eq!(c.callback_uri_path, None);
}

#[test]
fn csdl_casing_and_misspelt_version_are_accepted() {
    let c = parse(fixture!("csdl-casing.json"));
    assert_ids(&c);
    assert_eq!(
        c.workflow.version,
        Some(3),
        "workflowVerson \"3\" is a numeric string"
    );
}

#[test]
fn pascal_case_keys_are_accepted() {
    let pascal = parse(fixture!("pascal-case.json"));
    let camel = parse(fixture!("launch-and-wait.json"));
    assert_eq!(pascal, camel);
}

#[test]
fn a_missing_manager_and_null_email_are_absent() {
    let c = parse(fixture!("no-manager.json"));
    assert_ids(&c);
    assert_eq!(c.subject.manager, None);
    assert_eq!(c.subject.email, None);
}

#[test]
fn blank_manager_and_email_are_absent() {
    let c = parse(fixture!("blank-manager.json"));
    assert_eq!(c.subject.manager, None);
    assert_eq!(c.subject.email, None);
}

#[test]
fn unknown_fields_are_ignored() {
    let c = parse(fixture!("unknown-fields.json"));
    assert_eq!(c, parse(fixture!("launch-and-wait.json")));
}

#[test]
fn ids_can_come_from_the_callback_path_alone() {
    let c = parse(fixture!("ids-only-in-callback-path.json"));
    assert_ids(&c);
    assert!(c.launch_and_wait);
}

#[test]
fn an_untrusted_callback_path_is_dropped_but_still_means_wait() {
    let c = parse(fixture!("untrusted-callback-path.json"));
    assert_ids(&c);
    assert!(
        c.launch_and_wait,
        "LCW waits whenever it sent a callbackUriPath"
    );
    assert_eq!(c.callback_uri_path, None);
}

#[test]
fn serialised_callout_parses_back_to_itself() {
    for bytes in [
        &fixture!("launch-and-wait.json")[..],
        fixture!("csdl-casing.json"),
        fixture!("no-manager.json"),
    ] {
        let c = parse(bytes);
        let json = serde_json::to_vec(&c.to_value()).unwrap();
        assert_eq!(Callout::parse(&json).unwrap(), c);
    }
}

fn error_of(body: &str) -> CalloutError {
    Callout::parse(body.as_bytes()).expect_err(body)
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            r#"{"data":{"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}"#,
            "data.workflow.id",
        ),
        (
            r#"{"data":{"workflow":{"id":"w"},"taskProcessingResult":{"id":"r"}}}"#,
            "data.task.id",
        ),
        (
            r#"{"data":{"workflow":{"id":"w"},"task":{"id":"t"}}}"#,
            "data.taskProcessingResult.id",
        ),
        (
            r#"{"data":{"workflow":{"id":"w"},"task":{"id":"t"},"taskProcessingResult":{"id":"r/../x"}}}"#,
            "data.taskProcessingResult.id",
        ),
        (
            r#"{"data":{"workflow":{"id":5},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}"#,
            "data.workflow.id",
        ),
        (
            r#"{"data":{"workflow":{"id":"w","workflowVersion":"one"},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}"#,
            "data.workflow.workflowversion",
        ),
        (r#"{"source":"x"}"#, "data"),
    ];
    for (body, path) in cases {
        let err = error_of(body);
        assert_eq!(err.path(), Some(path), "{body}: {err}");
    }
}

#[test]
fn errors_do_not_echo_values() {
    let err = error_of(
        r#"{"data":{"subject":"adele.vance@contoso.example","workflow":{"id":"w"},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}"#,
    );
    assert_eq!(err.path(), Some("data.subject"));
    assert!(!err.to_string().contains("adele"), "{err}");
}

#[test]
fn non_json_and_non_objects_are_refused() {
    assert!(matches!(error_of("not json"), CalloutError::NotJson(_)));
    assert!(matches!(error_of("[1,2]"), CalloutError::NotAnObject));
    assert!(matches!(error_of("\"text\""), CalloutError::NotAnObject));
    assert!(matches!(Callout::parse(b""), Err(CalloutError::NotJson(_))));
}

#[test]
fn callback_path_sanity_check() {
    let good = format!(
        "/identityGovernance/lifecycleWorkflows/workflows/{WORKFLOW}/tasks/{TASK}/taskProcessingResults/{RESULT}/resume"
    );
    assert_eq!(
        ids_from_callback_path(&good),
        Some((WORKFLOW.into(), TASK.into(), RESULT.into()))
    );
    for bad in [
        format!("{good}?x=1"),
        format!("https://graph.microsoft.com{good}"),
        good.replace(WORKFLOW, ".."),
        good.replace("/resume", "/complete"),
        "/identityGovernance/lifecycleWorkflows/resume".to_owned(),
        "/users/resume".to_owned(),
    ] {
        assert_eq!(ids_from_callback_path(&bad), None, "{bad}");
    }
}

/// Every fixture, and bodies that must leave the one-pass read for the tree path.
fn read_cases() -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = [
        &fixture!("launch-and-wait.json")[..],
        fixture!("launch-and-continue.json"),
        fixture!("csdl-casing.json"),
        fixture!("pascal-case.json"),
        fixture!("no-manager.json"),
        fixture!("blank-manager.json"),
        fixture!("unknown-fields.json"),
        fixture!("ids-only-in-callback-path.json"),
        fixture!("untrusted-callback-path.json"),
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    let ids = r#""workflow":{"id":"w"},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}"#;
    for text in [
        // Keys equal but for case: the first non-null one wins, as on the tree path.
        format!(r#"{{"Data":null,"data":{{{ids}}}}}"#),
        format!(r#"{{"data":{{{ids},"Task":{{"id":"other"}}}}}}"#),
        // Escaped and non-ASCII keys are lower-cased by Unicode rules on the tree path.
        format!(r#"{{"\u0044ata":{{{ids}}}}}"#),
        format!(r#"{{"data":{{{ids},"subject":{{"DÏSPLAYNAME":"x","displayName":"y"}}}}}}"#),
        // Refusals, worded by the tree path.
        r#"{"data":{"workflow":{"id":5}}}"#.to_owned(),
        r#"{"data":{"workflow":{"id":"w","workflowVersion":"one"},"task":{"id":"t"},"taskProcessingResult":{"id":"r"}}}"#.to_owned(),
        r#"{"data":{"subject":"adele@contoso.example"}}"#.to_owned(),
        r#"{"source":"x"}"#.to_owned(),
        "[1,2]".to_owned(),
        "not json".to_owned(),
        r#"{"data":{}} trailing"#.to_owned(),
        String::new(),
    ] {
        cases.push(text.into_bytes());
    }
    cases.push(vec![b'{', 0xff, b'}']);
    cases
}

#[test]
fn the_one_pass_read_decides_exactly_as_the_tree_path() {
    for body in read_cases() {
        let read = Callout::read(&body).map(|(callout, _)| callout);
        assert_eq!(
            read,
            Callout::parse(&body),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[test]
fn the_one_pass_read_keeps_the_text_as_received() {
    let body = fixture!("launch-and-wait.json");
    let (_, text) = Callout::read(body).unwrap();
    // As received, less the whitespace around it.
    assert_eq!(text.get(), std::str::from_utf8(body).unwrap().trim());
    // A real callout takes the one pass (no tree), whatever its casing.
    for body in [
        &fixture!("launch-and-wait.json")[..],
        fixture!("pascal-case.json"),
        fixture!("csdl-casing.json"),
    ] {
        let text = std::str::from_utf8(body).unwrap();
        assert!(wire::parse_text(text).is_some(), "{text}");
    }
}
