//! `lcw-handler register`: flags in, one registration out. The work is in
//! [`crate::deploy::register`]; this file parses, picks the azd environment, and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::deploy::register::azd_env::{self, AzdEnv};
use crate::deploy::register::credential_choice::CredentialChoice;
use crate::deploy::register::graph_calls::RegistrationClient;
use crate::deploy::register::inputs::{RegisterFlags, RegisterInputs, resolve};
use crate::deploy::register::plan::dry_run;
use crate::deploy::register::run::{ExtensionOutcome, WorkflowOutcome, register};
use crate::deploy::register::settings_check::{self, Verdict};
use crate::deploy::register::workflow_task::RUN_CUSTOM_TASK_EXTENSION_NAME;
use crate::settings::LCW_POP_PATH;

/// Exit status for inputs that cannot be used (as clap uses for bad flags).
const EXIT_BAD_INPUT: u8 = 2;

const AFTER_HELP: &str = "\
Values come from the flags, else from an azd environment: --azd-env NAME reads
.azure/NAME/.env under --project-dir (without --azd-env, the default environment named in
.azure/config.json is used when there is one). The outputs read are AZURE_SUBSCRIPTION_ID,
AZURE_RESOURCE_GROUP, EXTENSION_LOGIC_APP_NAME, EXTENSION_ENDPOINT_URL, IDENTITY_CLIENT_ID and
LCW_CALLBACK_TIMEOUT.

App settings: the handler needs LCW_POP_PATH (and, for launch-and-wait, LCW_CALLBACK_TIMEOUT)
to match what is registered. register prints the values it needs and warns when the deployed
ones differ. \"Deployed\" means what register can see without calling Azure Resource Manager:
LCW_POP_PATH and LCW_CALLBACK_TIMEOUT in the azd environment file (the infrastructure sets the
function app's settings from the same values), overridden by --app-setting NAME=VALUE, e.g. the
value shown by `az functionapp config appsettings list`.

Example:
  lcw-handler register --azd-env dev --workflow 156ce798-1eb6-4e0a-8515-e79f54d04390 --dry-run";

/// Flags of `lcw-handler register`.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct RegisterArgs {
    /// Subscription of the Logic App endpoint (azd: AZURE_SUBSCRIPTION_ID).
    #[arg(long, value_name = "GUID")]
    subscription: Option<String>,
    /// Resource group of the Logic App endpoint (azd: AZURE_RESOURCE_GROUP).
    #[arg(long, value_name = "NAME")]
    resource_group: Option<String>,
    /// logicAppWorkflowName: forms the PoP path (azd: EXTENSION_LOGIC_APP_NAME).
    #[arg(long, value_name = "NAME")]
    logic_app_name: Option<String>,
    /// The URL LCW calls: our callout, or the forwarder's trigger without SAS (azd: EXTENSION_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Client id of the function's managed identity, allowed to resume (azd: IDENTITY_CLIENT_ID).
    #[arg(long, value_name = "GUID")]
    identity_client_id: Option<String>,
    /// How long LCW waits for the resume, ISO 8601, PT5M–PT3H (azd: LCW_CALLBACK_TIMEOUT) [default: PT30M].
    #[arg(long, value_name = "DURATION")]
    callback_timeout: Option<String>,
    /// The extension's display name; a re-run updates the extension with this name
    /// [default: "lcw-handler <logic app name>"].
    #[arg(long, value_name = "TEXT")]
    display_name: Option<String>,
    /// The extension's description.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// clientConfiguration.timeoutInMilliseconds, 200–2000 [default: 2000].
    #[arg(long, value_name = "MS")]
    client_timeout_ms: Option<u16>,
    /// clientConfiguration.maximumRetries, 0 or 1 [default: 1].
    #[arg(long, value_name = "N")]
    maximum_retries: Option<u8>,
    /// Register without a callback: LCW does not wait for a resume.
    #[arg(long)]
    launch_and_continue: bool,
    /// Also add a "Run a Custom Task Extension" task to this workflow (a new workflow version).
    #[arg(long, value_name = "ID")]
    workflow: Option<String>,
    /// Microsoft Graph base URL (national clouds differ).
    #[arg(long, value_name = "URL", default_value = crate::config::DEFAULT_GRAPH_URL)]
    graph_url: String,
    /// Read missing values from the azd environment .azure/NAME/.env.
    #[arg(long, value_name = "NAME")]
    azd_env: Option<String>,
    /// The azd project folder (holding .azure/).
    #[arg(long, value_name = "DIR", default_value = ".")]
    project_dir: PathBuf,
    /// A deployed app setting to compare with (LCW_POP_PATH or LCW_CALLBACK_TIMEOUT); overrides
    /// the azd file. Repeatable.
    #[arg(long = "app-setting", value_name = "NAME=VALUE")]
    app_settings: Vec<String>,
    /// Whose token calls Graph.
    #[arg(long, value_enum, default_value_t = CredentialArg::DeveloperTools)]
    credential: CredentialArg,
    /// Print every request that would be sent (one per line) and send nothing, not even a token
    /// request.
    #[arg(long)]
    dry_run: bool,
}

/// `--credential` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CredentialArg {
    /// Azure CLI (`az login`), then Azure Developer CLI (`azd auth login`).
    DeveloperTools,
    /// The managed identity of this machine or app (AZURE_CLIENT_ID selects a user-assigned one).
    ManagedIdentity,
}

/// Runs `register`.
pub async fn run(args: RegisterArgs) -> ExitCode {
    let azd = match azd_environment(args.azd_env.as_deref(), &args.project_dir) {
        Ok(azd) => azd,
        Err(message) => {
            eprintln!("lcw-handler register: {message}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let inputs = match resolve(&flags(&args), azd.as_ref()) {
        Ok(inputs) => inputs,
        Err(errors) => {
            eprintln!("lcw-handler register: {errors}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    for warning in &inputs.warnings {
        eprintln!("warning: {warning}");
    }
    if args.dry_run {
        for line in dry_run(&inputs) {
            println!("{line}");
        }
        print_settings(&inputs, "# ");
        return ExitCode::SUCCESS;
    }

    let choice = match args.credential {
        CredentialArg::DeveloperTools => CredentialChoice::DeveloperTools,
        CredentialArg::ManagedIdentity => CredentialChoice::ManagedIdentity,
    };
    let credential = match choice.build(|name| std::env::var(name).ok()) {
        Ok(credential) => credential,
        Err(e) => {
            eprintln!("lcw-handler register: {e}; {}", choice.sign_in_hint());
            return ExitCode::FAILURE;
        }
    };
    let client = RegistrationClient::new(&inputs.graph_url, credential, choice.sign_in_hint());
    let outcome = match register(&inputs, &client).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("lcw-handler register: {e}");
            return ExitCode::FAILURE;
        }
    };
    let noun = inputs.kind.noun();
    let name = &inputs.extension.display_name;
    match &outcome.extension {
        ExtensionOutcome::Created { id } => println!("created {noun} {id} ({name:?})"),
        ExtensionOutcome::Updated { id } => println!("updated {noun} {id} ({name:?}) in place"),
    }
    match &outcome.workflow {
        Some(WorkflowOutcome::TaskAdded {
            workflow_id,
            version,
        }) => println!(
            "added a {RUN_CUSTOM_TASK_EXTENSION_NAME:?} task to workflow {workflow_id}{}",
            version
                .map(|v| format!(" (new version {v})"))
                .unwrap_or_default()
        ),
        Some(WorkflowOutcome::AlreadyPresent { workflow_id }) => {
            println!("workflow {workflow_id} already runs this extension; nothing to add")
        }
        None => {}
    }
    for note in &outcome.notes {
        eprintln!("note: {note}");
    }
    print_settings(&inputs, "");
    ExitCode::SUCCESS
}

/// The environment named by `--azd-env`, else the project's default one, else none.
fn azd_environment(explicit: Option<&str>, project: &Path) -> Result<Option<AzdEnv>, String> {
    if let Some(name) = explicit {
        return AzdEnv::load(project, name)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let Some(name) = azd_env::default_environment(project) else {
        return Ok(None);
    };
    match AzdEnv::load(project, &name) {
        Ok(env) => {
            eprintln!(
                "using azd environment {name:?} ({}), the default in .azure/config.json",
                env.path.display()
            );
            Ok(Some(env))
        }
        Err(e) => {
            eprintln!("warning: not using the default azd environment {name:?}: {e}");
            Ok(None)
        }
    }
}

fn flags(args: &RegisterArgs) -> RegisterFlags {
    RegisterFlags {
        subscription: args.subscription.clone(),
        resource_group: args.resource_group.clone(),
        logic_app_name: args.logic_app_name.clone(),
        url: args.url.clone(),
        identity_client_id: args.identity_client_id.clone(),
        callback_timeout: args.callback_timeout.clone(),
        display_name: args.display_name.clone(),
        description: args.description.clone(),
        graph_url: Some(args.graph_url.clone()),
        client_timeout_ms: args.client_timeout_ms,
        maximum_retries: args.maximum_retries,
        launch_and_continue: args.launch_and_continue,
        workflow: args.workflow.clone(),
        app_settings: args.app_settings.clone(),
    }
}

/// The app settings this registration needs, to stdout (each line after `prefix`), and a
/// warning on stderr for each deployed value that differs.
fn print_settings(inputs: &RegisterInputs, prefix: &str) {
    println!("{prefix}app settings the function app needs for this registration:");
    for check in settings_check::check(&inputs.extension, &inputs.deployed) {
        let status = match &check.verdict {
            Verdict::Matches(source) => format!("matches {source}"),
            Verdict::Differs { source, .. } => format!("DIFFERS from {source}"),
            Verdict::NotKnown => {
                "not compared: no deployed value known; see --azd-env or --app-setting".to_owned()
            }
        };
        println!("{prefix}  {}={}  ({status})", check.name, check.required);
        if let Verdict::Differs { deployed, source } = &check.verdict {
            let consequence = if check.name == LCW_POP_PATH {
                "every callout of this extension will be refused (401 from the handler on the direct route; the forwarder Logic App's policy refuses it on the forwarder route)"
            } else {
                "the handler will plan its deadline for a different callback window"
            };
            eprintln!(
                "warning: the deployed {} is {deployed:?} ({source}), but this registration needs {:?}: until the function app's setting is changed, {consequence}",
                check.name, check.required
            );
        }
    }
}
