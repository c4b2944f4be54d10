//! The ARM path LCW's PoP `p` claim names (docs/protocol.md §3.3), computed in one place.
//!
//! The handler compares `p` with `LCW_POP_PATH`; the infrastructure outputs `LCW_POP_PATH`; and
//! registration sends the three ids the path is built from. All three must agree, so the path is
//! computed by this one function (contract A of the deployment) and the infrastructure's formula
//! is checked against it.

/// `/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Logic/workflows/{logic_app}`.
///
/// The ids are inserted as given: registration sends the same strings as `subscriptionId`,
/// `resourceGroupName` and `logicAppWorkflowName`, and the handler compares `p` case-insensitively,
/// as ARM does.
pub fn pop_path(subscription: &str, resource_group: &str, logic_app: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Logic/workflows/{logic_app}"
    )
}

/// Whether two PoP paths name the same ARM resource: case-insensitive, trailing slashes ignored,
/// exactly as the handler compares the `p` claim with `LCW_POP_PATH`.
pub fn same_pop_path(a: &str, b: &str) -> bool {
    a.trim()
        .trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_the_logic_app_arm_resource() {
        assert_eq!(
            pop_path(
                "c500b67c-e9b7-4ad2-a90d-77d41385ae55",
                "rg-lcw",
                "lcw-callout"
            ),
            "/subscriptions/c500b67c-e9b7-4ad2-a90d-77d41385ae55/resourceGroups/rg-lcw/providers/Microsoft.Logic/workflows/lcw-callout"
        );
    }

    #[test]
    fn comparison_follows_arm_rules() {
        let path = pop_path("S", "RG", "App");
        assert!(same_pop_path(&path, &path.to_lowercase()));
        assert!(same_pop_path(&path, &format!("{path}/")));
        assert!(!same_pop_path(&path, &pop_path("S", "RG", "Other")));
    }
}
