//! The request plan: every Graph URL registration uses, one request type that prints as
//! `METHOD URL [compact JSON body]`, and the full list `--dry-run` shows.
//!
//! A dry run sends nothing, not even a token request, so what depends on Graph's answers (does
//! the extension exist yet, what is its id, which tasks does the workflow have) is shown as the
//! alternatives and placeholders it would resolve to, on `#` lines between the requests.

use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

use crate::config::GraphVersion;

use super::extension::{ExtensionKind, Write};
use super::inputs::RegisterInputs;
use super::workflow_task::{
    RUN_CUSTOM_TASK_EXTENSION_ID, RUN_CUSTOM_TASK_EXTENSION_NAME, new_version_body, task_entry,
};

/// The Graph version registration uses: every call it makes is documented in v1.0.
pub const GRAPH_VERSION: GraphVersion = GraphVersion::V1;
/// Placeholder for the extension's id, which only Graph's answer gives.
pub const EXTENSION_ID_PLACEHOLDER: &str = "{customTaskExtensionId}";
/// Characters escaped in a `$filter` value: controls, space and what would end or split the
/// query (`#`, `&`, `+`, `%`); the URL parser escapes `'` itself. `$` and parentheses stay
/// readable.
const FILTER_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// HTTP methods registration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Read.
    Get,
    /// Create, or run an action.
    Post,
    /// Update in place.
    Patch,
}

impl Method {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }

    /// Whether sending the request twice has the effect of sending it once, which decides
    /// what may be retried after an ambiguous failure.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

/// One Graph request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, query included, exactly as sent.
    pub url: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl fmt::Display for PlannedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.url)?;
        if let Some(body) = &self.body {
            write!(f, " {body}")?;
        }
        Ok(())
    }
}

/// Builds every URL registration calls, under `{graph}/v1.0/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphUrls {
    versioned_base: String,
}

impl GraphUrls {
    /// URLs under `graph_url` (no trailing slash, no version).
    pub fn new(graph_url: &str) -> GraphUrls {
        GraphUrls {
            versioned_base: format!(
                "{}/{}",
                graph_url.trim_end_matches('/'),
                GRAPH_VERSION.as_str()
            ),
        }
    }

    /// `GET` the extensions named `display_name`.
    pub fn find_extension(&self, kind: ExtensionKind, display_name: &str) -> PlannedRequest {
        get(format!(
            "{}?{}",
            self.collection(kind),
            filter_by_display_name(display_name)
        ))
    }

    /// `POST` a new extension.
    pub fn create_extension(&self, kind: ExtensionKind, body: Value) -> PlannedRequest {
        PlannedRequest {
            method: Method::Post,
            url: self.collection(kind),
            body: Some(body),
        }
    }

    /// `PATCH` extension `id` in place.
    pub fn update_extension(&self, kind: ExtensionKind, id: &str, body: Value) -> PlannedRequest {
        PlannedRequest {
            method: Method::Patch,
            url: format!("{}/{id}", self.collection(kind)),
            body: Some(body),
        }
    }

    /// `GET` the task definition "Run a Custom Task Extension".
    pub fn find_task_definition(&self) -> PlannedRequest {
        get(format!(
            "{}/identityGovernance/lifecycleWorkflows/taskDefinitions?{}",
            self.versioned_base,
            filter_by_display_name(RUN_CUSTOM_TASK_EXTENSION_NAME)
        ))
    }

    /// `GET` workflow `id` (its tasks are expanded by default).
    pub fn workflow(&self, id: &str) -> PlannedRequest {
        get(self.workflow_url(id))
    }

    /// `POST` a new version of workflow `id`.
    pub fn create_new_version(&self, id: &str, body: Value) -> PlannedRequest {
        PlannedRequest {
            method: Method::Post,
            url: format!("{}/createNewVersion", self.workflow_url(id)),
            body: Some(body),
        }
    }

    fn collection(&self, kind: ExtensionKind) -> String {
        format!("{}/{}", self.versioned_base, kind.collection_path())
    }

    fn workflow_url(&self, id: &str) -> String {
        format!(
            "{}/identityGovernance/lifecycleWorkflows/workflows/{id}",
            self.versioned_base
        )
    }
}

fn get(url: String) -> PlannedRequest {
    PlannedRequest {
        method: Method::Get,
        url: as_sent(url),
        body: None,
    }
}

/// The URL as the HTTP client will send it (its parser escapes `'` in a query, for one), so
/// that a printed request is exactly the one sent.
fn as_sent(url: String) -> String {
    reqwest::Url::parse(&url).map_or(url, String::from)
}

/// `$filter=displayName eq '<name>'`, with OData's quote doubling and URL escaping.
fn filter_by_display_name(display_name: &str) -> String {
    let expression = format!("displayName eq '{}'", display_name.replace('\'', "''"));
    format!(
        "$filter={}",
        utf8_percent_encode(&expression, FILTER_ESCAPES)
    )
}

/// One line of a dry run.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanLine {
    /// A request that would be sent.
    Request(PlannedRequest),
    /// When the following request is sent, or what a placeholder stands for.
    Note(String),
}

impl fmt::Display for PlanLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanLine::Request(request) => request.fmt(f),
            PlanLine::Note(note) => write!(f, "# {note}"),
        }
    }
}

/// Every request a run with `inputs` may send, in order, with the conditions between them.
pub fn dry_run(inputs: &RegisterInputs) -> Vec<PlanLine> {
    let urls = GraphUrls::new(&inputs.graph_url);
    let kind = inputs.kind;
    let spec = &inputs.extension;
    let mut lines = vec![
        PlanLine::Request(urls.find_extension(kind, &spec.display_name)),
        PlanLine::Note(format!(
            "when no {} is named {:?}:",
            kind.noun(),
            spec.display_name
        )),
        PlanLine::Request(urls.create_extension(kind, kind.body(spec, Write::Create))),
        PlanLine::Note("when one is (a re-run), instead:".into()),
        PlanLine::Request(urls.update_extension(
            kind,
            EXTENSION_ID_PLACEHOLDER,
            kind.body(spec, Write::Update),
        )),
    ];
    if let Some(workflow_id) = &inputs.workflow_id {
        let ours = task_entry(
            RUN_CUSTOM_TASK_EXTENSION_ID,
            EXTENSION_ID_PLACEHOLDER,
            &spec.display_name,
        );
        let body = new_version_body(workflow_id, &serde_json::json!({ "tasks": [] }), ours)
            .unwrap_or(Value::Null);
        lines.extend([
            PlanLine::Request(urls.find_task_definition()),
            PlanLine::Request(urls.workflow(workflow_id)),
            PlanLine::Note(format!(
                "unless the workflow already runs the extension; the body also carries the workflow's writable properties and current tasks (from the GET above) before ours, and taskDefinitionId is the one the tenant named if it differs from {RUN_CUSTOM_TASK_EXTENSION_ID}:"
            )),
            PlanLine::Request(urls.create_new_version(workflow_id, body)),
        ]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_under_v1_of_the_given_cloud() {
        let urls = GraphUrls::new("https://microsoftgraph.chinacloudapi.cn/");
        assert_eq!(
            urls.workflow("w-1").url,
            "https://microsoftgraph.chinacloudapi.cn/v1.0/identityGovernance/lifecycleWorkflows/workflows/w-1"
        );
        assert_eq!(
            urls.create_new_version("w-1", Value::Null).url,
            "https://microsoftgraph.chinacloudapi.cn/v1.0/identityGovernance/lifecycleWorkflows/workflows/w-1/createNewVersion"
        );
    }

    #[test]
    fn display_name_filter_is_quoted_and_escaped() {
        let urls = GraphUrls::new("https://graph.microsoft.com");
        assert_eq!(
            urls.find_extension(ExtensionKind::LifecycleTask, "Bob's #1 & more")
                .url,
            "https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions?$filter=displayName%20eq%20%27Bob%27%27s%20%231%20%26%20more%27"
        );
        assert_eq!(
            urls.find_task_definition().url,
            "https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/taskDefinitions?$filter=displayName%20eq%20%27Run%20a%20Custom%20Task%20Extension%27"
        );
    }

    #[test]
    fn dry_run_lists_every_request_in_order() {
        let inputs = RegisterInputs {
            kind: ExtensionKind::LifecycleTask,
            extension: crate::deploy::register::extension::sample_spec(),
            graph_url: "https://graph.microsoft.com".into(),
            workflow_id: Some("156ce798-1eb6-4e0a-8515-e79f54d04390".into()),
            deployed: Default::default(),
            warnings: Vec::new(),
        };
        let requests: Vec<(Method, String)> = dry_run(&inputs)
            .into_iter()
            .filter_map(|line| match line {
                PlanLine::Request(r) => Some((r.method, r.url)),
                PlanLine::Note(_) => None,
            })
            .collect();
        let base = "https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows";
        let workflow = format!("{base}/workflows/156ce798-1eb6-4e0a-8515-e79f54d04390");
        assert_eq!(
            requests,
            [
                (
                    Method::Get,
                    format!(
                        "{base}/customTaskExtensions?$filter=displayName%20eq%20%27lcw-handler%20lcw-callout%27"
                    )
                ),
                (Method::Post, format!("{base}/customTaskExtensions")),
                (
                    Method::Patch,
                    format!("{base}/customTaskExtensions/{EXTENSION_ID_PLACEHOLDER}")
                ),
                (
                    Method::Get,
                    format!(
                        "{base}/taskDefinitions?$filter=displayName%20eq%20%27Run%20a%20Custom%20Task%20Extension%27"
                    )
                ),
                (Method::Get, workflow.clone()),
                (Method::Post, format!("{workflow}/createNewVersion")),
            ]
        );
        let without_workflow = RegisterInputs {
            workflow_id: None,
            ..inputs
        };
        assert_eq!(
            dry_run(&without_workflow)
                .iter()
                .filter(|l| matches!(l, PlanLine::Request(_)))
                .count(),
            3
        );
    }

    #[test]
    fn a_request_prints_on_one_line_with_compact_json() {
        let request = GraphUrls::new("https://graph.microsoft.com").create_extension(
            ExtensionKind::LifecycleTask,
            serde_json::json!({"displayName": "x", "description": "two\nlines"}),
        );
        let line = request.to_string();
        assert_eq!(
            line,
            r#"POST https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/customTaskExtensions {"description":"two\nlines","displayName":"x"}"#
        );
        assert!(!line.contains('\n'));
    }
}
