//! Stand-ins for what only a real deployment knows: the tenant, the subscription, the client and
//! principal ids ARM assigns, service endpoints, `uniqueString` and `guid`.
//!
//! Each stand-in has the shape of the real value (a GUID where ARM returns a GUID, an https URL
//! with a trailing slash where ARM returns one), because `lcw-handler check` validates shapes.
//! Values derived from a resource are derived from its id, so two identities get two different
//! client ids, as in Azure. Every runtime property the Bicep reads must be listed here; anything
//! else is refused by name, so a new dependency on a runtime value is a visible test change.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

/// The directory (tenant) id of the deployment (`tenant().tenantId`).
pub const TENANT_ID: &str = "7a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
/// The subscription of the deployment (`subscription().subscriptionId`).
pub const SUBSCRIPTION_ID: &str = "0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a4b";
/// `environment().resourceManager` of the public cloud.
pub const RESOURCE_MANAGER: &str = "https://management.azure.com/";

fn hash64(seed: &[&str], salt: u64) -> u64 {
    let mut hasher = DefaultHasher::new();
    salt.hash(&mut hasher);
    seed.hash(&mut hasher);
    hasher.finish()
}

/// A GUID derived from `seed` (ARM's `guid()` is deterministic in its arguments too).
pub fn guid(seed: &[&str]) -> String {
    let hex = format!("{:016x}{:016x}", hash64(seed, 1), hash64(seed, 2));
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// 13 lower-case characters derived from `seed`, like ARM's `uniqueString()`.
pub fn unique_string(seed: &[&str]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut n = hash64(seed, 3);
    (0..13)
        .map(|_| {
            let c = ALPHABET[(n % 36) as usize] as char;
            n /= 36;
            if n == 0 {
                n = hash64(seed, 4);
            }
            c
        })
        .collect()
}

/// The client id Azure gives the user-assigned identity `resource_id`.
pub fn client_id(resource_id: &str) -> String {
    guid(&["clientId", resource_id])
}

/// The principal (object) id of the user-assigned identity `resource_id`.
pub fn principal_id(resource_id: &str) -> String {
    guid(&["principalId", resource_id])
}

/// What a resource is, for its runtime properties.
pub struct ResourceFacts<'a> {
    pub type_: &'a str,
    pub name: &'a str,
    pub id: &'a str,
    pub location: Option<&'a str>,
}

/// The runtime property `path` (e.g. `properties.clientId`) of a resource, or `None` when there
/// is no stand-in for it.
pub fn runtime_property(resource: &ResourceFacts<'_>, path: &str) -> Option<Value> {
    let name = resource.name;
    let location = resource.location.unwrap_or("westeurope");
    let value = match (resource.type_, path) {
        ("Microsoft.ManagedIdentity/userAssignedIdentities", "properties.clientId") => {
            client_id(resource.id)
        }
        ("Microsoft.ManagedIdentity/userAssignedIdentities", "properties.principalId") => {
            principal_id(resource.id)
        }
        ("Microsoft.Storage/storageAccounts", "properties.primaryEndpoints.blob") => {
            format!("https://{name}.blob.core.windows.net/")
        }
        ("Microsoft.Storage/storageAccounts", "properties.primaryEndpoints.queue") => {
            format!("https://{name}.queue.core.windows.net/")
        }
        ("Microsoft.Storage/storageAccounts", "properties.primaryEndpoints.table") => {
            format!("https://{name}.table.core.windows.net/")
        }
        ("Microsoft.Web/sites", "properties.defaultHostName") => {
            format!("{name}.azurewebsites.net")
        }
        ("Microsoft.Insights/components", "properties.ConnectionString") => format!(
            "InstrumentationKey={};IngestionEndpoint=https://{location}-0.in.applicationinsights.azure.com/;ApplicationId={}",
            guid(&["instrumentationKey", resource.id]),
            guid(&["applicationId", resource.id])
        ),
        ("Microsoft.Logic/workflows", "properties.accessEndpoint") => format!(
            "https://prod-00.{location}.logic.azure.com:443/workflows/{}",
            guid(&["workflow", resource.id]).replace('-', "")
        ),
        _ => return None,
    };
    Some(Value::String(value))
}
