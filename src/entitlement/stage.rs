//! The stage an Entitlement Management callout belongs to, and what each stage permits.
//!
//! Stages are kept as the raw text EM sent, because the one value that matters most
//! (`assignmentRequestDeterminingApprovalRequirements`, dynamic approval) is not in Graph's
//! `accessPackageCustomExtensionStage` enum, the documented samples capitalise stages
//! differently (`AssignmentRequestCreated`), and the resume must send the stage back exactly as
//! received (docs/protocol.md §7.1, §7.5). Recognition is case-insensitive; the raw text is what
//! goes back on the wire.

use std::fmt;

/// What a stage is, recognised case-insensitively from its wire text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// `assignmentRequestCreated`: a request was submitted (launch-and-wait capable).
    RequestCreated,
    /// `assignmentRequestApproved`: a request was approved.
    RequestApproved,
    /// `assignmentRequestGranted`: the assignment was delivered.
    RequestGranted,
    /// `assignmentRequestRemoved`: the assignment was removed.
    RequestRemoved,
    /// `assignmentFourteenDaysBeforeExpiration`: fire-and-forget, never resumed.
    FourteenDaysBeforeExpiration,
    /// `assignmentOneDayBeforeExpiration`: fire-and-forget, never resumed.
    OneDayBeforeExpiration,
    /// `assignmentRequestDeterminingApprovalRequirements`: dynamic approval; the resume names
    /// the approvers.
    DeterminingApprovalRequirements,
    /// `CustomExtensionConnectionTest` (or the legacy `Event` = `CustomActionConnectionTest`):
    /// EM checking that the endpoint answers; acknowledged and nothing else (docs/protocol.md §7.3).
    ConnectionTest,
    /// A value this release does not know (`unknownFutureValue` or later additions).
    Other,
}

/// Canonical (enum-member) spelling of each known stage.
const CANONICAL: &[(StageKind, &str)] = &[
    (StageKind::RequestCreated, "assignmentRequestCreated"),
    (StageKind::RequestApproved, "assignmentRequestApproved"),
    (StageKind::RequestGranted, "assignmentRequestGranted"),
    (StageKind::RequestRemoved, "assignmentRequestRemoved"),
    (
        StageKind::FourteenDaysBeforeExpiration,
        "assignmentFourteenDaysBeforeExpiration",
    ),
    (
        StageKind::OneDayBeforeExpiration,
        "assignmentOneDayBeforeExpiration",
    ),
    (
        StageKind::DeterminingApprovalRequirements,
        "assignmentRequestDeterminingApprovalRequirements",
    ),
    (StageKind::ConnectionTest, "CustomExtensionConnectionTest"),
    // The legacy form, sent in `Event` by extensions created before March 2023.
    (StageKind::ConnectionTest, "CustomActionConnectionTest"),
];

/// The prefix of the resume's `type` (docs/protocol.md §7.5).
pub const STAGE_TYPE_PREFIX: &str = "microsoft.graph.accessPackageCustomExtensionStage.";

/// A stage as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stage {
    raw: String,
    kind: StageKind,
}

impl Stage {
    /// Recognises `raw` (case-insensitively); the text itself is kept as it is.
    pub fn new(raw: impl Into<String>) -> Stage {
        let raw = raw.into();
        let kind = CANONICAL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(raw.trim()))
            .map(|(kind, _)| *kind)
            .unwrap_or(StageKind::Other);
        Stage { raw, kind }
    }

    /// A known stage in its canonical spelling.
    pub fn of(kind: StageKind) -> Stage {
        Stage::new(kind.canonical().unwrap_or("unknownFutureValue"))
    }

    /// What the stage is.
    pub fn kind(&self) -> StageKind {
        self.kind
    }

    /// The text EM sent, which the resume's `data.stage` repeats.
    pub fn as_wire(&self) -> &str {
        &self.raw
    }

    /// Whether EM can be waiting for a resume at this stage. The pre-expiration stages never
    /// wait (docs/protocol.md §7.1), nor does the connection test.
    pub fn can_wait(&self) -> bool {
        !matches!(
            self.kind,
            StageKind::FourteenDaysBeforeExpiration
                | StageKind::OneDayBeforeExpiration
                | StageKind::ConnectionTest
        )
    }

    /// Whether a resume may deny the request at this stage. The documentation disagrees
    /// (docs/protocol.md §7.5): one page allows a denial only when the request is created,
    /// another also when it is approved, a third forbids it at creation while its own example
    /// does it. Every documented permission is honoured: created and approved.
    pub fn allows_deny(&self) -> bool {
        matches!(
            self.kind,
            StageKind::RequestCreated | StageKind::RequestApproved
        )
    }

    /// Whether this is the dynamic-approval stage, whose resume names approvers.
    pub fn is_approval(&self) -> bool {
        self.kind == StageKind::DeterminingApprovalRequirements
    }

    /// The resume's `type`: `microsoft.graph.accessPackageCustomExtensionStage.<stage>` in the
    /// enum's spelling. The approval stage is not an enum member; its documented sample sends
    /// `assignmentRequestCreated`, the stage whose request it decides (docs/protocol.md §7.5).
    /// An unknown stage is sent back as received.
    pub fn resume_type(&self) -> String {
        let member = match self.kind {
            StageKind::DeterminingApprovalRequirements => "assignmentRequestCreated",
            kind => kind.canonical().unwrap_or(self.raw.trim()),
        };
        format!("{STAGE_TYPE_PREFIX}{member}")
    }
}

impl StageKind {
    /// The enum-member spelling, when the stage is known.
    pub fn canonical(self) -> Option<&'static str> {
        CANONICAL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map(|(_, name)| *name)
    }

    /// The stages a resume may deny at (see [`Stage::allows_deny`]), for error messages.
    pub fn deniable() -> &'static [StageKind] {
        &[StageKind::RequestCreated, StageKind::RequestApproved]
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical().unwrap_or("unknown stage"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_recognised_case_insensitively_and_kept_as_sent() {
        let stage = Stage::new("AssignmentRequestCreated");
        assert_eq!(stage.kind(), StageKind::RequestCreated);
        assert_eq!(stage.as_wire(), "AssignmentRequestCreated");
        assert_eq!(
            stage.resume_type(),
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated"
        );
        assert_eq!(
            Stage::new("customextensionconnectiontest").kind(),
            StageKind::ConnectionTest
        );
        assert_eq!(
            Stage::new("CustomActionConnectionTest").kind(),
            StageKind::ConnectionTest
        );
        let future = Stage::new("assignmentSomethingNew");
        assert_eq!(future.kind(), StageKind::Other);
        assert_eq!(
            future.resume_type(),
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentSomethingNew"
        );
    }

    #[test]
    fn what_each_stage_permits() {
        use StageKind::*;
        for (kind, waits, denies) in [
            (RequestCreated, true, true),
            (RequestApproved, true, true),
            (RequestGranted, true, false),
            (RequestRemoved, true, false),
            (FourteenDaysBeforeExpiration, false, false),
            (OneDayBeforeExpiration, false, false),
            (DeterminingApprovalRequirements, true, false),
            (ConnectionTest, false, false),
        ] {
            let stage = Stage::of(kind);
            assert_eq!(stage.kind(), kind, "{kind}");
            assert_eq!(stage.can_wait(), waits, "{kind}");
            assert_eq!(stage.allows_deny(), denies, "{kind}");
        }
        assert_eq!(
            Stage::of(DeterminingApprovalRequirements).resume_type(),
            "microsoft.graph.accessPackageCustomExtensionStage.assignmentRequestCreated"
        );
    }
}
