//! Attaching the extension to a workflow: the "Run a Custom Task Extension" task entry, whether a
//! workflow already has it, and the `createNewVersion` body that adds it.
//!
//! A workflow's tasks can only change through a new version (docs/protocol.md §6.5), which takes
//! the whole workflow. The body therefore carries the workflow's own writable properties and
//! every existing task as read, with ours appended; read-only properties (`id`,
//! `executionSequence`, timestamps) are left out. A workflow that already runs this extension
//! gets no new version, so a re-run changes nothing.

use serde_json::{Map, Value, json};

/// The built-in task definition "Run a Custom Task Extension" (docs/protocol.md §6.5). Some
/// documentation shows another id (§10 item 4), so registration asks the tenant first and uses
/// this one when the tenant does not say.
pub const RUN_CUSTOM_TASK_EXTENSION_ID: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";
/// The definition's display name, used to look it up.
pub const RUN_CUSTOM_TASK_EXTENSION_NAME: &str = "Run a Custom Task Extension";
/// The definition's single argument: the extension's id.
pub const EXTENSION_ID_ARGUMENT: &str = "customTaskExtensionID";
/// Documented limit of tasks per workflow (docs/protocol.md §6.1).
pub const MAX_TASKS_PER_WORKFLOW: usize = 25;

/// Workflow properties a new version carries (the writable ones of `workflowBase`).
const WORKFLOW_PROPERTIES: [&str; 6] = [
    "category",
    "description",
    "displayName",
    "executionConditions",
    "isEnabled",
    "isSchedulingEnabled",
];
/// Task properties a new version carries (the writable ones of `task`).
const TASK_PROPERTIES: [&str; 6] = [
    "arguments",
    "continueOnError",
    "description",
    "displayName",
    "isEnabled",
    "taskDefinitionId",
];

/// The workflow cannot take our task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowTaskError {
    /// Graph's answer has no `tasks` array (the relationship is expanded by default).
    #[error(
        "workflow {workflow_id}: Graph's answer has no 'tasks' list, so its tasks cannot be kept"
    )]
    NoTasks {
        /// The workflow.
        workflow_id: String,
    },
    /// The workflow is full.
    #[error(
        "workflow {workflow_id} already has {count} tasks, the documented maximum is {MAX_TASKS_PER_WORKFLOW}; remove one first"
    )]
    Full {
        /// The workflow.
        workflow_id: String,
        /// How many tasks it has.
        count: usize,
    },
}

/// Our task entry: run the extension `extension_id`.
pub fn task_entry(definition_id: &str, extension_id: &str, extension_name: &str) -> Value {
    json!({
        "taskDefinitionId": definition_id,
        "displayName": extension_name,
        "description": format!("Run the custom task extension '{extension_name}' (lcw-handler)"),
        "isEnabled": true,
        "continueOnError": false,
        "arguments": [{ "name": EXTENSION_ID_ARGUMENT, "value": extension_id }],
    })
}

/// Whether `workflow` already has a task running `extension_id` (ids compared
/// case-insensitively, as Graph's GUIDs are).
pub fn has_task(workflow: &Value, definition_id: &str, extension_id: &str) -> bool {
    tasks(workflow).is_some_and(|tasks| {
        tasks.iter().any(|task| {
            text(task, "taskDefinitionId").is_some_and(|id| id.eq_ignore_ascii_case(definition_id))
                && task
                    .get("arguments")
                    .and_then(Value::as_array)
                    .is_some_and(|arguments| {
                        arguments.iter().any(|argument| {
                            text(argument, "name")
                                .is_some_and(|n| n.eq_ignore_ascii_case(EXTENSION_ID_ARGUMENT))
                                && text(argument, "value")
                                    .is_some_and(|v| v.eq_ignore_ascii_case(extension_id))
                        })
                    })
        })
    })
}

/// `{"workflow": {…its writable properties…, "tasks": [...its tasks..., ours]}}`.
pub fn new_version_body(
    workflow_id: &str,
    workflow: &Value,
    our_task: Value,
) -> Result<Value, WorkflowTaskError> {
    let existing = tasks(workflow).ok_or_else(|| WorkflowTaskError::NoTasks {
        workflow_id: workflow_id.to_owned(),
    })?;
    if existing.len() >= MAX_TASKS_PER_WORKFLOW {
        return Err(WorkflowTaskError::Full {
            workflow_id: workflow_id.to_owned(),
            count: existing.len(),
        });
    }
    let mut kept: Vec<Value> = existing.iter().map(|t| pick(t, &TASK_PROPERTIES)).collect();
    kept.push(our_task);
    let mut body = match pick(workflow, &WORKFLOW_PROPERTIES) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("tasks".into(), Value::Array(kept));
    Ok(json!({ "workflow": body }))
}

/// The id of "Run a Custom Task Extension" in a `taskDefinitions` answer, if it names exactly one.
pub fn definition_id_in(answer: &Value) -> Option<String> {
    let matches: Vec<&str> = answer
        .get("value")?
        .as_array()?
        .iter()
        .filter(|d| {
            text(d, "displayName")
                .is_some_and(|n| n.eq_ignore_ascii_case(RUN_CUSTOM_TASK_EXTENSION_NAME))
        })
        .filter_map(|d| text(d, "id"))
        .collect();
    match matches.as_slice() {
        [one] => Some((*one).to_owned()),
        _ => None,
    }
}

fn tasks(workflow: &Value) -> Option<&Vec<Value>> {
    workflow.get("tasks")?.as_array()
}

fn text<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name)?.as_str()
}

/// The listed properties of an object that are present.
fn pick(value: &Value, names: &[&str]) -> Value {
    let mut out = Map::new();
    for name in names {
        if let Some(v) = value.get(*name) {
            out.insert((*name).to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of `GET …/workflows/{id}` (microsoft-graph-docs-contrib, v1.0
    /// identitygovernance-workflow-get.md, shortened).
    fn workflow() -> Value {
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identityGovernance/lifecycleWorkflows/workflows/$entity",
            "category": "joiner",
            "description": "Configure new hire tasks",
            "displayName": "Onboard new hire employee",
            "createdDateTime": "2022-08-24T15:39:17.6496704Z",
            "id": "156ce798-1eb6-4e0a-8515-e79f54d04390",
            "isEnabled": true,
            "isSchedulingEnabled": false,
            "version": 1,
            "executionConditions": {
                "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
                "scope": {"@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet", "rule": "(department eq 'Marketing')"},
                "trigger": {"@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger", "timeBasedAttribute": "employeeHireDate", "offsetInDays": 0}
            },
            "tasks": [{
                "category": "joiner,leaver",
                "continueOnError": false,
                "description": "Enable user account in the directory",
                "displayName": "Enable User Account",
                "executionSequence": 1,
                "id": "4469d2ee-0626-4aa6-a792-84afcb9f3759",
                "isEnabled": true,
                "taskDefinitionId": "6fc52c9d-398b-4305-9763-15f42c1676fc",
                "arguments": []
            }]
        })
    }

    #[test]
    fn new_version_keeps_existing_tasks_and_appends_ours() {
        let ours = task_entry(RUN_CUSTOM_TASK_EXTENSION_ID, "ext-1", "lcw-handler x");
        let body = new_version_body("w", &workflow(), ours.clone()).unwrap();
        let sent = &body["workflow"];
        assert_eq!(sent["displayName"], "Onboard new hire employee");
        assert_eq!(
            sent["executionConditions"],
            workflow()["executionConditions"]
        );
        for read_only in ["id", "version", "createdDateTime", "@odata.context"] {
            assert!(sent.get(read_only).is_none(), "{read_only} is read-only");
        }
        let tasks = sent["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            tasks[0]["taskDefinitionId"],
            "6fc52c9d-398b-4305-9763-15f42c1676fc"
        );
        assert_eq!(tasks[0]["displayName"], "Enable User Account");
        for read_only in ["id", "executionSequence", "category"] {
            assert!(
                tasks[0].get(read_only).is_none(),
                "task {read_only} is read-only"
            );
        }
        assert_eq!(tasks[1], ours);
        assert_eq!(
            tasks[1]["arguments"],
            json!([{"name": "customTaskExtensionID", "value": "ext-1"}])
        );
    }

    #[test]
    fn an_attached_extension_is_recognised_whatever_the_case() {
        let mut w = workflow();
        assert!(!has_task(&w, RUN_CUSTOM_TASK_EXTENSION_ID, "EXT-1"));
        w["tasks"].as_array_mut().unwrap().push(task_entry(
            &RUN_CUSTOM_TASK_EXTENSION_ID.to_uppercase(),
            "ext-1",
            "x",
        ));
        assert!(has_task(&w, RUN_CUSTOM_TASK_EXTENSION_ID, "EXT-1"));
        assert!(!has_task(&w, RUN_CUSTOM_TASK_EXTENSION_ID, "ext-2"));
    }

    #[test]
    fn a_full_workflow_or_one_without_tasks_is_refused() {
        let mut w = workflow();
        w["tasks"] = Value::Array(vec![json!({"taskDefinitionId": "t", "arguments": []}); 25]);
        assert!(matches!(
            new_version_body("w", &w, json!({})),
            Err(WorkflowTaskError::Full { count: 25, .. })
        ));
        w.as_object_mut().unwrap().remove("tasks");
        assert!(matches!(
            new_version_body("w", &w, json!({})),
            Err(WorkflowTaskError::NoTasks { .. })
        ));
    }

    #[test]
    fn definition_id_is_taken_only_when_unambiguous() {
        let one = json!({"value": [
            {"id": "d79d1fcc-16be-490c-a865-f4533b1639ee", "displayName": "Run a Custom Task Extension"},
            {"id": "6fc52c9d-398b-4305-9763-15f42c1676fc", "displayName": "Enable User Account"}
        ]});
        assert_eq!(
            definition_id_in(&one).as_deref(),
            Some("d79d1fcc-16be-490c-a865-f4533b1639ee")
        );
        assert_eq!(definition_id_in(&json!({"value": []})), None);
        let two = json!({"value": [
            {"id": "a", "displayName": "Run a Custom Task Extension"},
            {"id": "b", "displayName": "Run a Custom Task Extension"}
        ]});
        assert_eq!(definition_id_in(&two), None);
    }
}
