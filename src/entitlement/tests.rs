//! The EM protocol against the fixtures in tests/fixtures/entitlement (see its README).

use std::time::Duration;

use serde_json::{Value, json};

use super::callback_path::RequestCollection;
use super::resume_request::{self, DecisionError};
use super::*;
use crate::config::GraphVersion;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/entitlement/", $name)).as_slice()
    };
}

const CALLOUTS: &[(&str, &[u8])] = &[
    ("created-logic-app.json", fixture!("created-logic-app.json")),
    ("created-graph.json", fixture!("created-graph.json")),
    (
        "created-capitalised-stage.json",
        fixture!("created-capitalised-stage.json"),
    ),
    ("approved.json", fixture!("approved.json")),
    ("granted.json", fixture!("granted.json")),
    ("removed.json", fixture!("removed.json")),
    ("approval-stage.json", fixture!("approval-stage.json")),
    (
        "beta-callback-path.json",
        fixture!("beta-callback-path.json"),
    ),
    (
        "fourteen-days-before-expiration.json",
        fixture!("fourteen-days-before-expiration.json"),
    ),
    (
        "one-day-before-expiration.json",
        fixture!("one-day-before-expiration.json"),
    ),
];

const REQUEST_ID: &str = "0e60f18c-b2a0-4887-9da8-da2e30a39d99";
const GRAPH: &str = "https://graph.microsoft.com";

fn callout(body: &[u8]) -> EntitlementCallout {
    match EntitlementCall::parse(body).expect("fixture parses") {
        EntitlementCall::Callout(callout) => *callout,
        EntitlementCall::ConnectionTest => panic!("not a connection test"),
    }
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// Compares two JSON objects key by key, so a failure names the field.
fn assert_fields(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            for (key, expected) in expected {
                let Some(actual) = actual.get(key) else {
                    panic!("{at}.{key} is missing");
                };
                assert_fields(actual, expected, &format!("{at}.{key}"));
            }
            for key in actual.keys() {
                assert!(expected.contains_key(key), "{at}.{key} is not expected");
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

#[test]
fn the_logic_app_shape_with_explicit_nulls_reads_every_field() {
    let c = callout(fixture!("created-logic-app.json"));
    assert_eq!(c.stage.kind(), StageKind::RequestCreated);
    assert_eq!(c.stage_instance_id, "957d0c50-466b-4840-bb5b-c92cea7141ff");
    assert_eq!(c.request_id.as_deref(), Some(REQUEST_ID));
    assert!(c.waits_for_resume);
    assert_eq!(
        c.callback_target.as_ref().map(|t| t.collection),
        Some(RequestCollection::AssignmentRequests)
    );
    assert_eq!(c.callback_timeout, Some(Duration::from_secs(3600)));
    assert_eq!(c.request_type.as_deref(), Some("UserAdd"));
    assert_eq!(c.state.as_deref(), Some("Submitted"));
    assert_eq!(c.status.as_deref(), Some("Accepted"));
    let package = c.access_package.as_ref().unwrap();
    assert_eq!(package.display_name.as_deref(), Some("Sales tools"));
    assert_eq!(package.description, None, "explicit null is absent");
    assert_eq!(
        c.catalog.as_ref().unwrap().id.as_deref(),
        Some("cd6d6b7f-8e4f-4d2a-b6c3-2f1e0a9b8c7d")
    );
    let assignment = c.assignment.as_ref().unwrap();
    assert_eq!(assignment.id, None);
    assert_eq!(
        assignment
            .assignment_policy
            .as_ref()
            .unwrap()
            .display_name
            .as_deref(),
        Some("Employees may request")
    );
    let target = assignment.target.as_ref().unwrap();
    assert_eq!(
        target.object_id.as_deref(),
        Some("46ec0a2c-7fa3-4b3b-9f0c-2e1d4c5b6a79")
    );
    assert_eq!(target.email.as_deref(), Some("AdeleV@contoso.example"));
    assert_eq!(target.principal_name, None);
    assert_eq!(target.connected_organization, None);
    assert_eq!(c.requestor.as_ref().unwrap().email, None);
    assert!(c.answers.is_empty(), "Answers: null is no answers");
    assert_eq!(c.target(), Some(target));
}

#[test]
fn the_graph_shape_reads_the_same_as_the_logic_app_shape() {
    let pascal = callout(fixture!("created-logic-app.json"));
    let mut camel = callout(fixture!("created-graph.json"));
    assert_eq!(camel.answers.len(), 1);
    assert_eq!(camel.answers[0]["value"], "Quarterly forecast");
    camel.answers.clear();
    // The Logic App shape sends a requestor mail of null and a target mail; the Graph
    // fixture leaves the requestor's out: the same information.
    assert_eq!(camel, pascal);
}

#[test]
fn every_callout_fixture_round_trips_through_the_graph_shape() {
    for (name, body) in CALLOUTS {
        let first = callout(body);
        let written = first.to_value();
        assert_eq!(
            written["@odata.type"],
            "#microsoft.graph.accessPackageAssignmentRequestCalloutData"
        );
        let again = EntitlementCallout::from_value(written.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, first, "{name}");
        assert_eq!(again.to_value(), written, "{name}");
    }
}

#[test]
fn both_connection_tests_are_recognised_and_need_nothing_else() {
    for body in [
        fixture!("connection-test.json"),
        fixture!("connection-test-legacy.json"),
    ] {
        assert_eq!(
            EntitlementCall::parse(body).unwrap(),
            EntitlementCall::ConnectionTest
        );
    }
    assert_eq!(
        EntitlementCall::parse(br#"{"stage":"customExtensionConnectionTest"}"#).unwrap(),
        EntitlementCall::ConnectionTest
    );
}

#[test]
fn each_stage_is_recognised_and_only_pre_expiration_does_not_wait() {
    for (body, kind, waits) in [
        (
            fixture!("created-logic-app.json"),
            StageKind::RequestCreated,
            true,
        ),
        (fixture!("approved.json"), StageKind::RequestApproved, true),
        (fixture!("granted.json"), StageKind::RequestGranted, true),
        (fixture!("removed.json"), StageKind::RequestRemoved, true),
        (
            fixture!("approval-stage.json"),
            StageKind::DeterminingApprovalRequirements,
            true,
        ),
        (
            fixture!("fourteen-days-before-expiration.json"),
            StageKind::FourteenDaysBeforeExpiration,
            false,
        ),
        (
            fixture!("one-day-before-expiration.json"),
            StageKind::OneDayBeforeExpiration,
            false,
        ),
    ] {
        let c = callout(body);
        assert_eq!(c.stage.kind(), kind);
        assert_eq!(c.waits_for_resume, waits, "{kind}");
    }
}

#[test]
fn a_request_stage_without_callback_is_fire_and_forget() {
    let mut body = json_of(fixture!("granted.json"));
    body["CallbackUriPath"] = Value::Null;
    body["CallbackConfiguration"] = Value::Null;
    let c = EntitlementCallout::from_value(body).unwrap();
    assert!(!c.waits_for_resume);
    assert!(matches!(
        resume_request::build(GRAPH, GraphVersion::V1, &c, &Decision::proceed()),
        Err(DecisionError::NotWaiting { .. })
    ));
}

#[test]
fn the_beta_only_callback_path_resumes_through_assignment_requests() {
    let c = callout(fixture!("beta-callback-path.json"));
    assert_eq!(c.request_id.as_deref(), Some(REQUEST_ID));
    assert_eq!(
        c.callback_target.as_ref().unwrap().collection,
        RequestCollection::BetaAccessPackageAssignmentRequests
    );
    for (version, root) in [(GraphVersion::V1, "v1.0"), (GraphVersion::Beta, "beta")] {
        let resume =
            resume_request::build(GRAPH, version, &c, &Decision::continue_with("ok")).unwrap();
        assert_eq!(
            resume.url,
            format!(
                "https://graph.microsoft.com/{root}/identityGovernance/entitlementManagement/assignmentRequests/{REQUEST_ID}/resume"
            )
        );
    }
}

#[test]
fn a_callout_wrapped_in_data_is_unwrapped() {
    let wrapped = json!({
        "source": "EntitlementManagement",
        "type": "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated",
        "data": json_of(fixture!("created-graph.json")),
    });
    let c = EntitlementCallout::from_value(wrapped).unwrap();
    assert_eq!(c.stage_instance_id, "957d0c50-466b-4840-bb5b-c92cea7141ff");
}

#[test]
fn refusals_name_the_field_and_never_echo_a_value() {
    let mut no_instance = json_of(fixture!("created-logic-app.json"));
    no_instance["CustomExtensionStageInstanceId"] = Value::Null;
    let error = EntitlementCall::from_value(no_instance).unwrap_err();
    assert_eq!(error.path(), Some("customextensionstageinstanceid"));

    let mut no_request = json_of(fixture!("created-logic-app.json"));
    no_request["AccessPackageAssignmentRequestId"] = Value::Null;
    no_request["CallbackUriPath"] = "https://evil.example/x".into();
    let error = EntitlementCall::from_value(no_request).unwrap_err();
    assert_eq!(error.path(), Some("accesspackageassignmentrequestid"));
    assert!(!error.to_string().contains("evil"), "{error}");

    let mut bad_type = json_of(fixture!("created-logic-app.json"));
    bad_type["Stage"] = json!({"secret": "Adele"});
    let error = EntitlementCall::from_value(bad_type).unwrap_err();
    assert_eq!(error.path(), Some("stage"));
    assert!(!error.to_string().contains("Adele"), "{error}");

    let legacy =
        json!({"AccessPackageId": "p", "Event": "AssignmentRequestCreated", "UserId": "u"});
    let error = EntitlementCall::from_value(legacy).unwrap_err();
    assert_eq!(error.path(), Some("stage"));
    assert!(error.to_string().contains("legacy"), "{error}");

    assert!(EntitlementCall::parse(b"[1]").is_err());
    assert!(EntitlementCall::parse(b"{").is_err());
}

#[test]
fn an_unreadable_or_excessive_timeout_leaves_the_fourteen_day_window() {
    let mut body = json_of(fixture!("created-logic-app.json"));
    body["CallbackConfiguration"]["DurationBeforeTimeout"] = "soon".into();
    let c = EntitlementCallout::from_value(body.clone()).unwrap();
    assert_eq!(c.callback_timeout, None);
    assert!(c.waits_for_resume);
    body["CallbackConfiguration"]["DurationBeforeTimeout"] = "P30D".into();
    let c = EntitlementCallout::from_value(body).unwrap();
    assert_eq!(c.callback_timeout, Some(MAX_CALLBACK_TIMEOUT));
}

/// Each stage's resume, checked field by field against the documented body
/// (docs/protocol.md §7.5) kept in tests/fixtures/entitlement/resume.
#[test]
fn each_stage_resume_body_matches_the_documented_one_field_by_field() {
    let approvers =
        ApprovalStage::new(vec![Approver::user("7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70")])
            .escalate_to(
                ["9a3f6d21-8b4c-4e7a-b1d0-5c2e7f9a4b86"],
                Duration::from_secs(86_400),
            );
    let cases: &[(&[u8], Decision, &[u8])] = &[
        (
            fixture!("created-logic-app.json"),
            Decision::continue_with("This user is all verified"),
            fixture!("resume/created-continue.json"),
        ),
        (
            fixture!("created-capitalised-stage.json"),
            Decision::deny("Potential risk user based on the SOD check"),
            fixture!("resume/created-deny.json"),
        ),
        (
            fixture!("approved.json"),
            Decision::deny("Manager left the company"),
            fixture!("resume/approved-deny.json"),
        ),
        (
            fixture!("granted.json"),
            Decision::continue_with("Mailbox provisioned"),
            fixture!("resume/granted-continue.json"),
        ),
        (
            fixture!("removed.json"),
            Decision::proceed(),
            fixture!("resume/removed-continue.json"),
        ),
        (
            fixture!("approval-stage.json"),
            Decision::approval(approvers).with_detail("Approvers from the cost centre"),
            fixture!("resume/approval-stage.json"),
        ),
    ];
    for (callout_body, decision, expected) in cases {
        let c = callout(callout_body);
        let resume = resume_request::build(GRAPH, GraphVersion::V1, &c, decision)
            .unwrap_or_else(|e| panic!("{}: {e}", c.stage));
        assert_eq!(
            resume.url,
            format!(
                "https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/assignmentRequests/{REQUEST_ID}/resume"
            )
        );
        assert_fields(&resume.body, &json_of(expected), "body");
        // The stage goes back exactly as received.
        assert_eq!(resume.body["data"]["stage"], c.stage.as_wire());
    }
}

#[test]
fn deny_is_sent_where_allowed_and_refused_by_us_elsewhere() {
    for body in [
        fixture!("created-logic-app.json"),
        fixture!("approved.json"),
    ] {
        let c = callout(body);
        let resume =
            resume_request::build(GRAPH, GraphVersion::V1, &c, &Decision::deny("no")).unwrap();
        assert_eq!(resume.body["data"]["state"], "denied");
    }
    for body in [
        fixture!("granted.json"),
        fixture!("removed.json"),
        fixture!("approval-stage.json"),
    ] {
        let c = callout(body);
        let error =
            resume_request::build(GRAPH, GraphVersion::V1, &c, &Decision::deny("no")).unwrap_err();
        assert_eq!(
            error,
            DecisionError::DenyNotAllowed {
                stage: c.stage.to_string()
            }
        );
        let message = error.to_string();
        assert!(message.contains(c.stage.as_wire()), "{message}");
        assert!(message.contains("assignmentRequestCreated"), "{message}");
    }
}

#[test]
fn approvers_only_at_the_approval_stage_and_never_empty() {
    let approval = callout(fixture!("approval-stage.json"));
    let created = callout(fixture!("created-logic-app.json"));
    let build = |c: &EntitlementCallout, d: Decision| {
        resume_request::build(GRAPH, GraphVersion::V1, c, &d).map(|r| r.body)
    };
    assert!(matches!(
        build(
            &created,
            Decision::approvers(["7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70"])
        ),
        Err(DecisionError::ApprovalOutsideApprovalStage { .. })
    ));
    assert!(matches!(
        build(&approval, Decision::proceed()),
        Err(DecisionError::ApprovalStageNeedsApprovers { .. })
    ));
    assert_eq!(
        build(&approval, Decision::approvers(Vec::<String>::new())),
        Err(DecisionError::NoApprovers {
            list: "primaryApprovers"
        })
    );
    assert_eq!(
        build(&approval, Decision::approvers(["a/../b"])),
        Err(DecisionError::InvalidApprover {
            list: "primaryApprovers"
        })
    );
    let body = build(
        &approval,
        Decision::approvers(["7c1e4a52-0f3b-4a8e-9d6c-2b5f8e1a3c70", "user-2"]),
    )
    .unwrap();
    let stage = &body["data"]["approvalStage"];
    assert_eq!(stage["isEscalationEnabled"], false);
    assert_eq!(stage["durationBeforeAutomaticDenial"], "P2D");
    assert_eq!(stage["primaryApprovers"][1]["userId"], "user-2");
    assert_eq!(
        stage["primaryApprovers"][0]["@odata.type"],
        "#microsoft.graph.singleUser"
    );
    assert!(stage.get("durationBeforeEscalation").is_none());
    assert!(
        body["data"]
            .get("customExtensionStageInstanceDetail")
            .is_none()
    );
}

#[test]
fn nothing_is_sent_back_at_the_pre_expiration_stages() {
    for body in [
        fixture!("fourteen-days-before-expiration.json"),
        fixture!("one-day-before-expiration.json"),
    ] {
        let c = callout(body);
        for decision in [Decision::proceed(), Decision::deny("x")] {
            assert_eq!(
                resume_request::build(GRAPH, GraphVersion::V1, &c, &decision),
                Err(DecisionError::NotWaiting {
                    stage: c.stage.to_string()
                })
            );
        }
    }
}

#[test]
fn work_items_round_trip_and_are_told_apart_from_lcw_items() {
    let body = json_of(fixture!("approval-stage.json"));
    let c = EntitlementCallout::from_value(body.clone()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let item = EntitlementWorkItem::new(&c, body, now, now + time::Duration::hours(1));
    let value = item.clone().into_value();
    assert!(is_entitlement_item(&value));
    assert_eq!(value["customExtensionStageInstanceId"], c.stage_instance_id);
    assert_eq!(
        value["stage"],
        "assignmentRequestDeterminingApprovalRequirements"
    );
    let text = serde_json::to_string(&value).unwrap();
    let (back, parsed) = EntitlementWorkItem::decode(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(
        back.custom_extension_stage_instance_id,
        item.custom_extension_stage_instance_id
    );
    assert_eq!(parsed, c);
    assert!(item.queued_size() > text.len());
    let lcw = json!({"version": 1, "taskProcessingResultId": "r", "callout": {}});
    assert!(!is_entitlement_item(&lcw));
    let mut newer = value;
    newer["version"] = 2.into();
    assert!(matches!(
        EntitlementWorkItem::decode(newer),
        Err(EntitlementWorkItemError::Version(2))
    ));
}
