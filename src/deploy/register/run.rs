//! One registration, against Graph: find the extension by name, create or update it in place,
//! and, when asked, add the task that runs it to a workflow.
//!
//! Every step is idempotent, so running `register` again after a change, or after a failure
//! part-way, converges on the same state: one extension with the current properties and one
//! task per workflow.

use serde_json::Value;

use super::extension::Write;
use super::graph_calls::RegistrationClient;
use super::graph_error::{GraphCallError, Operation};
use super::inputs::RegisterInputs;
use super::workflow_task::{
    RUN_CUSTOM_TASK_EXTENSION_ID, WorkflowTaskError, definition_id_in, has_task, new_version_body,
    task_entry,
};

/// What happened to the extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionOutcome {
    /// It did not exist and was created.
    Created {
        /// Its id.
        id: String,
    },
    /// It existed and was updated in place.
    Updated {
        /// Its id.
        id: String,
    },
}

impl ExtensionOutcome {
    /// The extension's id.
    pub fn id(&self) -> &str {
        match self {
            ExtensionOutcome::Created { id } | ExtensionOutcome::Updated { id } => id,
        }
    }
}

/// What happened to the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowOutcome {
    /// A new version with our task was created.
    TaskAdded {
        /// The workflow.
        workflow_id: String,
        /// The new version number, when Graph's answer gave it.
        version: Option<i64>,
    },
    /// The workflow already runs the extension; nothing was sent.
    AlreadyPresent {
        /// The workflow.
        workflow_id: String,
    },
}

/// The result of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationOutcome {
    /// The extension.
    pub extension: ExtensionOutcome,
    /// The workflow, when `--workflow` was given.
    pub workflow: Option<WorkflowOutcome>,
    /// Things learnt on the way that do not stop the run.
    pub notes: Vec<String>,
}

/// A registration that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// A Graph call failed.
    #[error(transparent)]
    Graph(#[from] GraphCallError),
    /// More than one extension has the name, so the one to update is unknown.
    #[error(
        "{count} {noun}s are named {name:?} (ids {ids}); rename or delete all but one, or register under another --display-name"
    )]
    AmbiguousName {
        /// How many.
        count: usize,
        /// The kind's noun.
        noun: &'static str,
        /// The name.
        name: String,
        /// Their ids.
        ids: String,
    },
    /// The workflow cannot take the task.
    #[error(transparent)]
    Workflow(#[from] WorkflowTaskError),
    /// The extension is registered, but attaching it failed; says so, so nobody re-creates it.
    #[error(
        "the extension is registered ({extension}), but adding it to workflow {workflow_id} failed: {source}"
    )]
    Attach {
        /// The extension's outcome.
        extension: String,
        /// The workflow.
        workflow_id: String,
        /// What failed.
        source: Box<RegisterError>,
    },
}

/// Runs the registration `inputs` describe.
pub async fn register(
    inputs: &RegisterInputs,
    client: &RegistrationClient,
) -> Result<RegistrationOutcome, RegisterError> {
    let mut notes = Vec::new();
    let extension = upsert_extension(inputs, client).await?;
    let workflow = match &inputs.workflow_id {
        None => None,
        Some(workflow_id) => Some(
            attach(inputs, client, workflow_id, extension.id(), &mut notes)
                .await
                .map_err(|source| RegisterError::Attach {
                    extension: match &extension {
                        ExtensionOutcome::Created { id } => format!("created {id}"),
                        ExtensionOutcome::Updated { id } => format!("updated {id}"),
                    },
                    workflow_id: workflow_id.clone(),
                    source: Box::new(source),
                })?,
        ),
    };
    Ok(RegistrationOutcome {
        extension,
        workflow,
        notes,
    })
}

async fn upsert_extension(
    inputs: &RegisterInputs,
    client: &RegistrationClient,
) -> Result<ExtensionOutcome, RegisterError> {
    let (kind, spec) = (inputs.kind, &inputs.extension);
    let urls = client.urls();
    let found = client
        .send(
            Operation::FindExtension,
            &urls.find_extension(kind, &spec.display_name),
        )
        .await?;
    // Compared here too: a service that ignored the filter must not make us update a stranger.
    let same_name: Vec<&Value> = found
        .body
        .get("value")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter(|e| {
                    e.get("displayName")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(&spec.display_name))
                })
                .collect()
        })
        .unwrap_or_default();
    let ids: Vec<String> = same_name
        .iter()
        .filter_map(|e| e.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    match ids.as_slice() {
        [] => {
            let created = client
                .send(
                    Operation::CreateExtension,
                    &urls.create_extension(kind, kind.body(spec, Write::Create)),
                )
                .await?;
            let id = created
                .body
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| GraphCallError::UnexpectedAnswer {
                    operation: Operation::CreateExtension,
                    problem: "has no 'id'".to_owned(),
                })?;
            Ok(ExtensionOutcome::Created { id: id.to_owned() })
        }
        [id] => {
            client
                .send(
                    Operation::UpdateExtension,
                    &urls.update_extension(kind, id, kind.body(spec, Write::Update)),
                )
                .await?;
            Ok(ExtensionOutcome::Updated { id: id.clone() })
        }
        many => Err(RegisterError::AmbiguousName {
            count: many.len(),
            noun: kind.noun(),
            name: spec.display_name.clone(),
            ids: many.join(", "),
        }),
    }
}

async fn attach(
    inputs: &RegisterInputs,
    client: &RegistrationClient,
    workflow_id: &str,
    extension_id: &str,
    notes: &mut Vec<String>,
) -> Result<WorkflowOutcome, RegisterError> {
    let urls = client.urls();
    let definition_id = task_definition_id(client, notes).await;
    let workflow = client
        .send(Operation::ReadWorkflow, &urls.workflow(workflow_id))
        .await?
        .body;
    let runs_it = |definition: &str| has_task(&workflow, definition, extension_id);
    if runs_it(&definition_id) || runs_it(RUN_CUSTOM_TASK_EXTENSION_ID) {
        return Ok(WorkflowOutcome::AlreadyPresent {
            workflow_id: workflow_id.to_owned(),
        });
    }
    let ours = task_entry(&definition_id, extension_id, &inputs.extension.display_name);
    let body = new_version_body(workflow_id, &workflow, ours)?;
    let answer = client
        .send(
            Operation::CreateWorkflowVersion,
            &urls.create_new_version(workflow_id, body),
        )
        .await?;
    // The prose says the answer is the workflow; the sample wraps it in "workflow".
    let version = answer
        .body
        .get("version")
        .or_else(|| answer.body.get("workflow").and_then(|w| w.get("version")))
        .and_then(Value::as_i64);
    Ok(WorkflowOutcome::TaskAdded {
        workflow_id: workflow_id.to_owned(),
        version,
    })
}

/// The tenant's id for "Run a Custom Task Extension", else the documented one (docs/protocol.md
/// §6.5, §10 item 4). A failed lookup does not stop the run: reading task definitions needs
/// `LifecycleWorkflows.Read.All`, which a caller holding only the granular write permissions
/// lacks, and the documented id is right in every tenant seen so far.
async fn task_definition_id(client: &RegistrationClient, notes: &mut Vec<String>) -> String {
    match client
        .send(
            Operation::FindTaskDefinition,
            &client.urls().find_task_definition(),
        )
        .await
    {
        Ok(answer) => match definition_id_in(&answer.body) {
            Some(id) if id.eq_ignore_ascii_case(RUN_CUSTOM_TASK_EXTENSION_ID) => id,
            Some(id) => {
                notes.push(format!(
                    "the tenant names the task definition 'Run a Custom Task Extension' {id}, not the documented {RUN_CUSTOM_TASK_EXTENSION_ID}; using the tenant's"
                ));
                id
            }
            None => {
                notes.push(format!(
                    "the tenant's task definitions do not name 'Run a Custom Task Extension' exactly once; using the documented id {RUN_CUSTOM_TASK_EXTENSION_ID}"
                ));
                RUN_CUSTOM_TASK_EXTENSION_ID.to_owned()
            }
        },
        Err(error) => {
            notes.push(format!(
                "could not confirm the task definition id ({error}); using the documented {RUN_CUSTOM_TASK_EXTENSION_ID}"
            ));
            RUN_CUSTOM_TASK_EXTENSION_ID.to_owned()
        }
    }
}
