//! EM's `CallbackUriPath`: which assignment request a resume is for.
//!
//! The path is relative to a Graph version root (Microsoft's Logic Apps call
//! `https://graph.microsoft.com/beta` + `CallbackUriPath`) and names the request in one of two
//! forms (docs/protocol.md §7.5):
//!
//! - `/identityGovernance/entitlementManagement/assignmentRequests/{id}/resume` (v1.0 and beta);
//! - `/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/{id}/resume`
//!   (beta only, announced for retirement).
//!
//! Both name the same request, so the handler takes the id and always resumes through
//! `assignmentRequests`, which exists under both versions: a beta-only path then works under
//! `v1.0` too, and keeps working after the beta segment is retired (docs/protocol.md §10 item 19).
//! The path is never used as a URL itself, so a hostile one cannot redirect the resume.

use crate::callout::is_id_segment;

/// Which collection a callback path named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestCollection {
    /// `assignmentRequests` (v1.0 and beta).
    AssignmentRequests,
    /// `accessPackageAssignmentRequests` (beta only, being retired).
    BetaAccessPackageAssignmentRequests,
}

/// The request id a callback path names, and the form it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The `accessPackageAssignmentRequest` id.
    pub request_id: String,
    /// The collection segment the path used.
    pub collection: RequestCollection,
}

/// Reads a callback path; `None` when it is not a plausible EM resume path (a scheme or host,
/// `..`, a query, another API, or an id that is not a plain identifier). A leading version
/// segment (`/beta`, `/v1.0`) is tolerated.
pub fn parse(path: &str) -> Option<CallbackTarget> {
    if path.contains("..") || path.contains(['?', '#', '\\']) || path.contains("://") {
        return None;
    }
    let mut segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("beta") || s.eq_ignore_ascii_case("v1.0"))
    {
        segments.remove(0);
    }
    match segments.as_slice() {
        [governance, management, collection, id, resume]
            if governance.eq_ignore_ascii_case("identityGovernance")
                && management.eq_ignore_ascii_case("entitlementManagement")
                && resume.eq_ignore_ascii_case("resume")
                && is_id_segment(id) =>
        {
            let collection = if collection.eq_ignore_ascii_case("assignmentRequests") {
                RequestCollection::AssignmentRequests
            } else if collection.eq_ignore_ascii_case("accessPackageAssignmentRequests") {
                RequestCollection::BetaAccessPackageAssignmentRequests
            } else {
                return None;
            };
            Some(CallbackTarget {
                request_id: (*id).to_owned(),
                collection,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_collections_name_the_request() {
        let v1 = parse("/identityGovernance/entitlementManagement/assignmentRequests/0e60f18c-b2a0-4887-9da8-da2e30a39d99/resume").unwrap();
        assert_eq!(v1.request_id, "0e60f18c-b2a0-4887-9da8-da2e30a39d99");
        assert_eq!(v1.collection, RequestCollection::AssignmentRequests);
        let beta = parse("/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/abc-1/resume").unwrap();
        assert_eq!(beta.request_id, "abc-1");
        assert_eq!(
            beta.collection,
            RequestCollection::BetaAccessPackageAssignmentRequests
        );
        // A version prefix and other casing are tolerated.
        assert_eq!(
            parse("/beta/IdentityGovernance/EntitlementManagement/AssignmentRequests/abc/Resume")
                .unwrap()
                .request_id,
            "abc"
        );
    }

    #[test]
    fn implausible_paths_are_refused() {
        for path in [
            "https://evil.example/identityGovernance/entitlementManagement/assignmentRequests/a/resume",
            "/identityGovernance/entitlementManagement/assignmentRequests/../a/resume",
            "/identityGovernance/entitlementManagement/assignmentRequests/a/resume?x=1",
            "/identityGovernance/entitlementManagement/assignmentRequests/a b/resume",
            "/identityGovernance/entitlementManagement/assignmentRequests/a",
            "/identityGovernance/lifecycleWorkflows/workflows/w/tasks/t/taskProcessingResults/r/resume",
            "/identityGovernance/entitlementManagement/assignments/a/resume",
            "",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }
}
