//! Who may call the `entitlement` function: Entitlement Management's own application, proven
//! exactly as Lifecycle Workflows is (docs/protocol.md §7.4), but under a caller list of its own.
//!
//! The two callers share the tenant, the schemes (`LCW_AUTH`), the key source and, by default,
//! the PoP host and path; they never share the accepted application ids. So a token minted for
//! Lifecycle Workflows cannot drive an access-package decision, and an EM token cannot complete a
//! workflow task.

use crate::settings::*;

use super::ConfigError;
use super::auth::{AuthMode, is_guid, list};

/// The Entitlement Management first-party application (docs/protocol.md §7.4).
pub const ENTITLEMENT_MANAGEMENT_APP_ID: &str = "810dcf14-1858-4bf2-8134-4c369fa3235b";

/// The EM caller's authentication, derived from the LCW one: the same tenant and schemes, its
/// own `LCW_ENTITLEMENT_CALLER_APP_IDS` and (when set) `LCW_ENTITLEMENT_POP_PATH`.
pub(super) fn entitlement_auth_mode(
    get: &impl Fn(&str) -> Option<String>,
    lifecycle: &AuthMode,
) -> Result<AuthMode, ConfigError> {
    let mut caller_app_ids = list(get(LCW_ENTITLEMENT_CALLER_APP_IDS));
    if caller_app_ids.is_empty() {
        caller_app_ids.push(ENTITLEMENT_MANAGEMENT_APP_ID.to_owned());
    }
    if let Some(bad) = caller_app_ids.iter().find(|id| !is_guid(id)) {
        return Err(ConfigError::Invalid {
            setting: LCW_ENTITLEMENT_CALLER_APP_IDS,
            value: bad.clone(),
            problem: "expected application ids (GUIDs), comma-separated".to_owned(),
        });
    }
    let pop_path = get(LCW_ENTITLEMENT_POP_PATH).map(|p| p.trim_end_matches('/').to_owned());
    if let Some(path) = &pop_path
        && !path.starts_with('/')
    {
        return Err(ConfigError::Invalid {
            setting: LCW_ENTITLEMENT_POP_PATH,
            value: path.clone(),
            problem: "expected an ARM path starting with /subscriptions/".to_owned(),
        });
    }
    Ok(match lifecycle {
        AuthMode::Disabled => AuthMode::Disabled,
        AuthMode::Enforced(settings) => {
            let mut settings = settings.clone();
            settings.caller_app_ids = caller_app_ids
                .iter()
                .map(|id| id.to_ascii_lowercase())
                .collect();
            if pop_path.is_some() {
                settings.pop_path = pop_path;
            }
            AuthMode::Enforced(settings)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Config, LIFECYCLE_WORKFLOWS_APP_ID};
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const POP_PATH: &str =
        "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Logic/workflows/lcw";

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = [(LCW_TENANT_ID, TENANT), (LCW_POP_PATH, POP_PATH)]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn enforced(mode: &AuthMode) -> &super::super::AuthSettings {
        match mode {
            AuthMode::Enforced(settings) => settings,
            AuthMode::Disabled => panic!("expected enforced authentication"),
        }
    }

    #[test]
    fn the_entitlement_caller_is_em_only_and_shares_the_rest() {
        let config = config(&[]).unwrap();
        let lcw = enforced(&config.auth);
        let em = enforced(&config.entitlement_auth);
        assert_eq!(em.caller_app_ids, [ENTITLEMENT_MANAGEMENT_APP_ID]);
        assert_eq!(lcw.caller_app_ids, [LIFECYCLE_WORKFLOWS_APP_ID]);
        assert!(
            !em.caller_app_ids
                .contains(&LIFECYCLE_WORKFLOWS_APP_ID.to_owned())
        );
        assert_eq!(em.tenant_id, lcw.tenant_id);
        assert_eq!(em.pop_path, lcw.pop_path);
        assert_eq!((em.pop, em.bearer), (lcw.pop, lcw.bearer));
        assert!(config.to_string().contains(LCW_ENTITLEMENT_CALLER_APP_IDS));
    }

    #[test]
    fn its_own_callers_and_path_can_be_set() {
        let other = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Logic/workflows/em";
        let config = config(&[
            (
                LCW_ENTITLEMENT_CALLER_APP_IDS,
                "810DCF14-1858-4BF2-8134-4C369FA3235B, 11111111-2222-3333-4444-555555555555",
            ),
            (LCW_ENTITLEMENT_POP_PATH, &format!("{other}/")),
        ])
        .unwrap();
        let em = enforced(&config.entitlement_auth);
        assert_eq!(
            em.caller_app_ids,
            [
                ENTITLEMENT_MANAGEMENT_APP_ID,
                "11111111-2222-3333-4444-555555555555"
            ]
        );
        assert_eq!(em.pop_path.as_deref(), Some(other));
        assert_eq!(enforced(&config.auth).pop_path.as_deref(), Some(POP_PATH));
    }

    #[test]
    fn bad_values_name_the_setting_and_none_turns_both_off() {
        let error = config(&[(LCW_ENTITLEMENT_CALLER_APP_IDS, "entitlement")]).unwrap_err();
        assert!(
            error.to_string().contains(LCW_ENTITLEMENT_CALLER_APP_IDS),
            "{error}"
        );
        let error = config(&[(LCW_ENTITLEMENT_POP_PATH, "workflows/em")]).unwrap_err();
        assert!(
            error.to_string().contains(LCW_ENTITLEMENT_POP_PATH),
            "{error}"
        );
        let off = config(&[(LCW_AUTH, "none")]).unwrap();
        assert_eq!(off.entitlement_auth, AuthMode::Disabled);
    }
}
