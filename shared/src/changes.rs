//! Change management: change requests, their lifecycle, the risk table and the approval
//! policy. The server enforces these rules on every path; the console calls the same
//! functions to offer only what the state and the signed-in role allow.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelId;
use crate::auth::{Permission, Role};
use crate::evidence::EvidenceItem;
use crate::models::{RiskTier, Stage};

named_enum! {
    /// What a change request changes.
    ChangeKind {
        /// A version into canary or production.
        Promotion => "promotion",
        Retraining => "retraining",
        /// Production back to the version that was there before.
        Rollback => "rollback",
        DataPipeline => "data_pipeline",
        Infrastructure => "infrastructure",
        /// Thresholds or other configuration of the model.
        Configuration => "configuration",
    }
}

impl ChangeKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Promotion => "Promotion",
            Self::Retraining => "Retraining",
            Self::Rollback => "Rollback",
            Self::DataPipeline => "Data pipeline change",
            Self::Infrastructure => "Infrastructure change",
            Self::Configuration => "Threshold or configuration change",
        }
    }

    /// Whether implementing it moves the registry.
    pub fn moves_registry(self) -> bool {
        matches!(self, Self::Promotion | Self::Rollback)
    }
}

named_enum! {
    /// How a change is handled.
    ChangeType {
        /// Reviewed and approved before it is implemented.
        Normal => "normal",
        /// A routine, low-risk change: the normal path with the low-risk policy; refused
        /// for anything riskier.
        Standard => "standard",
        /// Implemented at once (a rollback during a SEV1), approved retrospectively within
        /// `RETRO_APPROVAL_HOURS`.
        Emergency => "emergency",
    }
}

/// How long an emergency change has for its retrospective approval.
pub const RETRO_APPROVAL_HOURS: i64 = 24;

named_enum! {
    /// How much a change could hurt, which decides how many approvals it needs.
    RiskLevel {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

impl RiskLevel {
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }
}

/// The risk of a change of `kind` to a model of `tier` (the table the README shows).
pub fn risk_for(tier: RiskTier, kind: ChangeKind) -> RiskLevel {
    use ChangeKind::*;
    use RiskLevel::*;
    match tier {
        RiskTier::Minimal => match kind {
            Promotion => Medium,
            Retraining | Rollback | DataPipeline | Infrastructure | Configuration => Low,
        },
        RiskTier::Limited => match kind {
            Promotion | Retraining | Rollback | DataPipeline => Medium,
            Infrastructure | Configuration => Low,
        },
        RiskTier::High | RiskTier::Prohibited => match kind {
            Promotion | Retraining | Rollback | DataPipeline => High,
            Infrastructure | Configuration => Medium,
        },
    }
}

/// The lowest risk any change to a model of `tier` may have.
pub fn risk_floor(tier: RiskTier) -> RiskLevel {
    if matches!(tier, RiskTier::High | RiskTier::Prohibited) { RiskLevel::Medium } else { RiskLevel::Low }
}

/// The risk a change gets: the table's, raised freely by `requested`, lowered only with a
/// written `reason` and never below the tier's floor. `Err` says why a lowering is refused.
pub fn effective_risk(
    tier: RiskTier,
    kind: ChangeKind,
    requested: Option<RiskLevel>,
    reason: &str,
) -> Result<RiskLevel, String> {
    let table = risk_for(tier, kind);
    let Some(requested) = requested else { return Ok(table) };
    if requested >= table {
        return Ok(requested);
    }
    if reason.trim().is_empty() {
        return Err(format!(
            "lowering the risk below the table's {} needs a written reason (risk_reason)",
            table.as_str()
        ));
    }
    let floor = risk_floor(tier);
    if requested < floor {
        return Err(format!("a change to a {} model is never below {} risk", tier.as_str(), floor.as_str()));
    }
    Ok(requested)
}

named_enum! {
    /// Where a change request is in its lifecycle.
    ChangeStatus {
        Draft => "draft",
        Submitted => "submitted",
        Approved => "approved",
        Rejected => "rejected",
        Scheduled => "scheduled",
        Implementing => "implementing",
        Implemented => "implemented",
        Verified => "verified",
        RolledBack => "rolled_back",
        Cancelled => "cancelled",
    }
}

impl ChangeStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Submitted => "Waiting for approval",
            Self::Approved => "Approved",
            Self::Rejected => "Rejected",
            Self::Scheduled => "Scheduled",
            Self::Implementing => "Implementing",
            Self::Implemented => "Implemented",
            Self::Verified => "Verified",
            Self::RolledBack => "Rolled back",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Not finished: counts as an open change on its model version.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Rejected | Self::Verified | Self::RolledBack | Self::Cancelled)
    }

    /// Whether the change's content may still be edited (editing voids approvals).
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Submitted)
    }

    /// The statuses a person may move a change of `change_type` to from this one.
    /// `approved` and `rejected` are not among them: approvals reach those by themselves.
    pub fn next(self, change_type: ChangeType) -> &'static [ChangeStatus] {
        use ChangeStatus::*;
        match (self, change_type) {
            (Draft, ChangeType::Emergency) => &[Submitted, Implemented, Cancelled],
            (Draft, _) => &[Submitted, Cancelled],
            (Submitted, _) => &[Cancelled],
            (Approved, _) => &[Scheduled, Implementing, Implemented, Cancelled],
            (Scheduled, _) => &[Implementing, Implemented, Cancelled],
            (Implementing, _) => &[Implemented, RolledBack],
            (Implemented, _) => &[Verified, RolledBack],
            (Rejected | Verified | RolledBack | Cancelled, _) => &[],
        }
    }

    /// The permission a move to `to` needs: submitting and cancelling are the
    /// requester's side, the rest the implementer's.
    pub fn permission_to(to: ChangeStatus) -> Permission {
        match to {
            ChangeStatus::Draft | ChangeStatus::Submitted | ChangeStatus::Cancelled => Permission::RequestChanges,
            _ => Permission::ImplementChanges,
        }
    }

    /// What the button for the move to `to` says.
    pub fn action_label(to: ChangeStatus) -> &'static str {
        match to {
            ChangeStatus::Submitted => "Submit for approval",
            ChangeStatus::Scheduled => "Schedule",
            ChangeStatus::Implementing => "Start implementing",
            ChangeStatus::Implemented => "Implement",
            ChangeStatus::Verified => "Mark verified",
            ChangeStatus::RolledBack => "Roll back",
            ChangeStatus::Cancelled => "Cancel change",
            ChangeStatus::Draft | ChangeStatus::Approved | ChangeStatus::Rejected => "",
        }
    }

    /// The moves `role` may make from this status.
    pub fn actions_for(self, change_type: ChangeType, role: Role) -> Vec<ChangeStatus> {
        self.next(change_type).iter().copied().filter(|to| role.can(Self::permission_to(*to))).collect()
    }
}

/// Why a transition is refused, as the 409 says it.
pub fn illegal_change_transition(from: ChangeStatus, change_type: ChangeType, to: ChangeStatus) -> String {
    let allowed: Vec<&str> = from.next(change_type).iter().map(|status| status.as_str()).collect();
    let automatic = if matches!(to, ChangeStatus::Approved | ChangeStatus::Rejected) {
        " (approved and rejected are reached by approvals: POST /api/changes/{id}/approvals)"
    } else {
        ""
    };
    if allowed.is_empty() {
        format!("the change is {from}, which is final: it cannot move to {to}{automatic}")
    } else {
        format!(
            "a {change_type} change in {from} cannot move to {to}; it may move to: {}{automatic}",
            allowed.join(", ")
        )
    }
}

/// How many approvals each risk needs (`PUT /api/changes/policy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    pub low: u32,
    pub medium: u32,
    pub high: u32,
    /// A high-risk change needs at least one approval from someone with the `approver` role.
    pub high_needs_approver_role: bool,
    /// Extra approvals for a model in the EU AI Act high-risk tier.
    pub high_tier_extra: u32,
    /// The readiness score every section needs before a model's first production promotion.
    pub readiness_floor: f64,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self { low: 1, medium: 2, high: 2, high_needs_approver_role: true, high_tier_extra: 1, readiness_floor: 0.5 }
    }
}

impl ApprovalPolicy {
    /// What a change of `risk` to a model of `tier` needs.
    pub fn requirement(&self, risk: RiskLevel, tier: RiskTier) -> Requirement {
        let base = match risk {
            RiskLevel::Low => self.low,
            RiskLevel::Medium => self.medium,
            RiskLevel::High => self.high,
        };
        let extra = if matches!(tier, RiskTier::High | RiskTier::Prohibited) { self.high_tier_extra } else { 0 };
        Requirement { approvals: base + extra, approver_role: risk == RiskLevel::High && self.high_needs_approver_role }
    }

    /// Fields that break a rule, each with its message.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (field, value) in [("low", self.low), ("medium", self.medium), ("high", self.high)] {
            if !(1..=10).contains(&value) {
                problems.push((
                    field.to_owned(),
                    "must be between 1 and 10 approvals: every change needs four eyes".into(),
                ));
            }
        }
        if self.medium < self.low || self.high < self.medium {
            problems.push(("high".into(), "a riskier change never needs fewer approvals".into()));
        }
        if self.high_tier_extra > 5 {
            problems.push(("high_tier_extra".into(), "must be at most 5".into()));
        }
        if !(0.0..=1.0).contains(&self.readiness_floor) {
            problems.push(("readiness_floor".into(), "must be between 0 and 1".into()));
        }
        problems
    }
}

/// What the approval policy asks of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub approvals: u32,
    /// At least one of them from someone with the `approver` role.
    pub approver_role: bool,
}

named_enum! {
    /// An approver's decision.
    Decision {
        Approve => "approve",
        Reject => "reject",
    }
}

/// One approval or rejection, bound to what it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub approver: String,
    pub approver_role: Role,
    pub decision: Decision,
    pub comment: String,
    pub at: DateTime<Utc>,
    /// SHA-256 of the change as approved (`change_digest`).
    pub change_digest: String,
    /// SHA-256 of its evidence as approved.
    pub evidence_digest: String,
    /// Why it no longer counts (the change was edited, new evidence, a breach), if it does not.
    #[serde(default)]
    pub voided: Option<String>,
}

/// Whether the approvals meet the requirement, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    pub requirement: Requirement,
    /// Distinct people whose approval counts.
    pub counted: Vec<String>,
    pub approver_role_met: bool,
    pub met: bool,
    /// Approvals that do not count, each with why.
    pub not_counted: Vec<(String, String)>,
}

/// Counts `approvals` against `requirement`: distinct people, not voided, not the
/// requester, not the implementer; a rejection is not an approval.
pub fn evaluate_policy(
    requirement: Requirement,
    approvals: &[Approval],
    requester: &str,
    implementer: Option<&str>,
) -> PolicyState {
    let mut counted: Vec<String> = Vec::new();
    let mut approver_role_met = false;
    let mut not_counted = Vec::new();
    for approval in approvals.iter().filter(|approval| approval.decision == Decision::Approve) {
        let why = if let Some(reason) = &approval.voided {
            Some(format!("voided: {reason}"))
        } else if approval.approver == requester {
            Some("the requester's own approval never counts".to_owned())
        } else if implementer == Some(approval.approver.as_str()) {
            Some("the implementer's own approval does not count".to_owned())
        } else if !approval.approver_role.can(Permission::ApproveChanges) {
            Some(format!("a {} may not approve changes", approval.approver_role))
        } else if counted.contains(&approval.approver) {
            Some("the same person approving twice counts once".to_owned())
        } else {
            None
        };
        match why {
            Some(why) => not_counted.push((approval.approver.clone(), why)),
            None => {
                approver_role_met |= approval.approver_role == Role::Approver;
                counted.push(approval.approver.clone());
            }
        }
    }
    let met = counted.len() >= requirement.approvals as usize && (approver_role_met || !requirement.approver_role);
    PolicyState { requirement, counted, approver_role_met, met, not_counted }
}

/// Whether an emergency change implemented at `implemented_at` is past its retrospective
/// approval deadline at `now` without it.
pub fn retro_approval_overdue(implemented_at: DateTime<Utc>, approved: bool, now: DateTime<Utc>) -> bool {
    !approved && now > implemented_at + Duration::hours(RETRO_APPROVAL_HOURS)
}

/// A period in which nothing may be implemented except emergencies (month-end closing,
/// a release freeze).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeWindow {
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// The freeze windows (`GET`/`PUT /api/changes/freeze-windows`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeWindows {
    pub windows: Vec<FreezeWindow>,
}

impl FreezeWindows {
    pub fn problems(&self) -> Vec<(String, String)> {
        self.windows
            .iter()
            .enumerate()
            .filter(|(_, window)| window.ends_at <= window.starts_at || window.name.trim().is_empty())
            .map(|(index, _)| (format!("windows[{index}]"), "needs a name and an end after its start".to_owned()))
            .collect()
    }
}

impl FreezeWindow {
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.starts_at < to && from < self.ends_at
    }
}

named_enum! {
    /// What a change clashes with.
    ConflictKind {
        /// Another open change on the same model version.
        SameVersion => "same_version",
        /// Its window, or now, falls inside a freeze window.
        Freeze => "freeze",
        /// An open SEV1 incident on the model.
        OpenSev1 => "open_sev1",
        /// An EU AI Act serious incident not yet reported: the version's evidence is held.
        SeriousIncidentHold => "serious_incident_hold",
    }
}

/// One clash, and whether it blocks implementation (it never blocks an emergency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub kind: ConflictKind,
    pub message: String,
    pub blocking: bool,
}

/// One change request as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSummary {
    pub id: String,
    /// CHG-1, CHG-2, …
    pub number: u64,
    pub title: String,
    pub kind: ChangeKind,
    #[serde(rename = "type")]
    pub change_type: ChangeType,
    pub status: ChangeStatus,
    pub model_id: ModelId,
    pub model_name: String,
    pub version: Option<String>,
    pub target_stage: Option<Stage>,
    pub requester: String,
    pub implementer: Option<String>,
    /// The model's tier, frozen at submission.
    pub tier: RiskTier,
    /// The change's risk, frozen at submission.
    pub risk: RiskLevel,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub implemented_at: Option<DateTime<Utc>>,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub scheduled_end: Option<DateTime<Utc>>,
    pub approvals_counted: u32,
    pub approvals_needed: u32,
    /// An emergency change past its retrospective approval deadline.
    pub retro_overdue: bool,
}

named_enum! {
    /// What a change timeline entry records.
    ChangeTimelineKind {
        Created => "created",
        Edited => "edited",
        Status => "status",
        Approved => "approved",
        Rejected => "rejected",
        ApprovalsVoided => "approvals_voided",
        Implemented => "implemented",
        Comment => "comment",
        Deployment => "deployment",
    }
}

/// One entry of a change's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeTimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: ChangeTimelineKind,
    pub text: String,
}

/// `GET /api/changes/{id}`: everything the change page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeDetail {
    #[serde(flatten)]
    pub summary: ChangeSummary,
    pub description: String,
    pub implementation_plan: String,
    pub rollback_plan: String,
    pub linked_incidents: Vec<String>,
    /// Why the risk was set below the table's, when it was.
    pub risk_reason: String,
    /// The table's risk for the model's current tier.
    pub table_risk: RiskLevel,
    pub conflicts: Vec<Conflict>,
    /// The gates of a promotion to production (empty for other changes).
    pub evidence: Vec<EvidenceItem>,
    pub approvals: Vec<Approval>,
    pub policy: PolicyState,
    pub timeline: Vec<ChangeTimelineEntry>,
    /// SHA-256 of the change's content now: what an approval made now binds to.
    pub change_digest: String,
    pub evidence_digest: String,
    /// An emergency change's retrospective approval deadline.
    pub retro_due_by: Option<DateTime<Utc>>,
}

/// `POST /api/changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateChangeRequest {
    pub kind: ChangeKind,
    #[serde(rename = "type", default = "normal")]
    pub change_type: ChangeType,
    pub model_id: ModelId,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub target_stage: Option<Stage>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub implementation_plan: String,
    #[serde(default)]
    pub rollback_plan: String,
    #[serde(default)]
    pub scheduled_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scheduled_end: Option<DateTime<Utc>>,
    /// Incident ids this change answers.
    #[serde(default)]
    pub linked_incidents: Vec<String>,
    /// A risk other than the table's (lower only with `risk_reason`).
    #[serde(default)]
    pub risk: Option<RiskLevel>,
    #[serde(default)]
    pub risk_reason: String,
}

fn normal() -> ChangeType {
    ChangeType::Normal
}

/// `PATCH /api/changes/{id}`: the fields to change (absent: unchanged). Allowed in draft
/// and submitted; any edit voids the approvals given so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateChangeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_incidents: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_reason: Option<String>,
}

/// `POST /api/changes/{id}/transitions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeTransitionRequest {
    pub to: ChangeStatus,
}

/// `POST /api/changes/{id}/approvals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub decision: Decision,
    #[serde(default)]
    pub comment: String,
}

/// `GET /api/changes` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeQuery {
    /// Comma-separated statuses, or `open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `me`: submitted changes the signed-in user may approve and has not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

/// `GET /api/changes`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeListResponse {
    pub items: Vec<ChangeSummary>,
    pub total: u64,
}

/// A deployment a CI/CD pipeline reported (a PagerDuty Change Event), and whether an
/// implemented change covers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedDeployment {
    pub id: String,
    pub model_id: ModelId,
    pub version: Option<String>,
    pub summary: String,
    pub source: String,
    pub at: DateTime<Utc>,
    /// The change that covers it, if one does.
    pub change_id: Option<String>,
    /// Incident opened for an unauthorised deployment, if one was.
    pub incident_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(approver: &str, role: Role) -> Approval {
        Approval {
            approver: approver.into(),
            approver_role: role,
            decision: Decision::Approve,
            comment: String::new(),
            at: DateTime::<Utc>::UNIX_EPOCH,
            change_digest: String::new(),
            evidence_digest: String::new(),
            voided: None,
        }
    }

    #[test]
    fn the_risk_table_never_puts_a_high_tier_change_below_medium() {
        for kind in ChangeKind::ALL {
            assert!(risk_for(RiskTier::High, *kind) >= RiskLevel::Medium);
            assert_eq!(effective_risk(RiskTier::High, *kind, Some(RiskLevel::Low), "fine").map_err(|_| ()), Err(()));
        }
        assert_eq!(risk_for(RiskTier::High, ChangeKind::Promotion), RiskLevel::High);
        assert_eq!(risk_for(RiskTier::Minimal, ChangeKind::Configuration), RiskLevel::Low);
    }

    #[test]
    fn risk_goes_up_freely_and_down_only_with_a_reason() {
        let tier = RiskTier::Limited;
        assert_eq!(effective_risk(tier, ChangeKind::Configuration, Some(RiskLevel::High), ""), Ok(RiskLevel::High));
        assert!(effective_risk(tier, ChangeKind::Promotion, Some(RiskLevel::Low), " ").is_err());
        assert_eq!(
            effective_risk(tier, ChangeKind::Promotion, Some(RiskLevel::Low), "shadow only"),
            Ok(RiskLevel::Low)
        );
    }

    #[test]
    fn the_policy_counts_distinct_eligible_people() {
        let policy = ApprovalPolicy::default();
        let requirement = policy.requirement(RiskLevel::High, RiskTier::High);
        assert_eq!(requirement, Requirement { approvals: 3, approver_role: true });
        let approvals = [
            approval("eva", Role::Admin),
            approval("adam", Role::Approver),
            approval("adam", Role::Approver),
            approval("root", Role::Admin),
        ];
        let state = evaluate_policy(requirement, &approvals, "eva", None);
        assert_eq!(state.counted, ["adam", "root"]);
        assert!(!state.met);
        assert_eq!(state.not_counted.len(), 2);
        let state = evaluate_policy(
            requirement,
            &[approvals.to_vec(), vec![approval("petra", Role::Approver)]].concat(),
            "eva",
            Some("root"),
        );
        assert_eq!(state.counted, ["adam", "petra"]);
        assert!(!state.met, "the implementer's approval does not count");
        let admins_only = [approval("a", Role::Admin), approval("b", Role::Admin)];
        let state = evaluate_policy(policy.requirement(RiskLevel::High, RiskTier::Limited), &admins_only, "eva", None);
        assert!(!state.met, "a high-risk change needs someone with the approver role");
        let mut voided = approval("petra", Role::Approver);
        voided.voided = Some("the change was edited".into());
        let state = evaluate_policy(policy.requirement(RiskLevel::Low, RiskTier::Minimal), &[voided], "eva", None);
        assert!(!state.met);
    }

    #[test]
    fn only_emergencies_skip_approval_and_final_states_go_nowhere() {
        assert!(ChangeStatus::Draft.next(ChangeType::Emergency).contains(&ChangeStatus::Implemented));
        assert!(!ChangeStatus::Draft.next(ChangeType::Normal).contains(&ChangeStatus::Implemented));
        for status in ChangeStatus::ALL {
            assert!(!status.next(ChangeType::Normal).contains(&ChangeStatus::Approved));
            if !status.is_open() {
                assert!(status.next(ChangeType::Emergency).is_empty());
            }
        }
        assert_eq!(ChangeStatus::Approved.actions_for(ChangeType::Normal, Role::Approver), Vec::<ChangeStatus>::new());
        assert!(
            illegal_change_transition(ChangeStatus::Submitted, ChangeType::Normal, ChangeStatus::Approved)
                .contains("approvals")
        );
    }

    #[test]
    fn an_emergency_is_overdue_a_day_after_implementation_without_approval() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        assert!(!retro_approval_overdue(at, false, at + Duration::hours(24)));
        assert!(retro_approval_overdue(at, false, at + Duration::hours(24) + Duration::seconds(1)));
        assert!(!retro_approval_overdue(at, true, at + Duration::hours(48)));
    }
}
