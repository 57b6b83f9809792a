//! Change requests: creating and editing them, the lifecycle of `ChangeStatus`, approvals
//! under the `ApprovalPolicy` (bound to digests of the change and its evidence, voided by
//! an edit, new evidence or a breach), conflicts, and implementing them — which moves the
//! registry in the same transaction as the change's state and its audit entry.

use chrono::{DateTime, Duration, Utc};
use keel_shared::ModelId;
use keel_shared::audit::AuditAction;
use keel_shared::auth::{Permission, Role};
use keel_shared::changes::{
    Approval, ApprovalPolicy, ApprovalRequest, ChangeDetail, ChangeKind, ChangeStatus, ChangeSummary,
    ChangeTimelineKind, ChangeType, Conflict, ConflictKind, CreateChangeRequest, Decision, FreezeWindows, PolicyState,
    RETRO_APPROVAL_HOURS, RiskLevel, UpdateChangeRequest, effective_risk, evaluate_policy, illegal_change_transition,
    retro_approval_overdue, risk_for,
};
use keel_shared::evidence::EvidenceStatus;
use keel_shared::incidents::Severity;
use keel_shared::models::{Stage, StageMove};
use sha2::{Digest, Sha256};

use super::evidence;
use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::changes::{ChangeFilter, ChangeRecord, ChangeWrite, StageMoveOrder};
use crate::store::incidents::IncidentFilter;

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 20_000;
/// Settings names.
pub const POLICY_SETTING: &str = "approval_policy";
pub const FREEZE_SETTING: &str = "freeze_windows";

/// Who is acting on a change: their name, role, and whether through an API token.
pub struct Person {
    pub actor: Actor,
    pub role: Role,
    pub via_token: bool,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The digest of what a change says: an approval binds to it.
pub fn change_digest(change: &ChangeRecord) -> String {
    let content = serde_json::json!({
        "kind": change.kind,
        "type": change.change_type,
        "model_id": change.model_id,
        "version": change.version,
        "target_stage": change.target_stage,
        "title": change.title,
        "description": change.description,
        "implementation_plan": change.implementation_plan,
        "rollback_plan": change.rollback_plan,
        "scheduled_start": change.scheduled_start,
        "scheduled_end": change.scheduled_end,
        "linked_incidents": change.linked_incidents,
        "risk": change.risk,
        "risk_reason": change.risk_reason,
    });
    sha256_hex(content.to_string().as_bytes())
}

pub async fn policy(store: &Store) -> DomainResult<ApprovalPolicy> {
    store.setting(POLICY_SETTING).await
}

/// The policy's verdict on a change's approvals, `implementer` not counting.
fn policy_state(
    policy: &ApprovalPolicy,
    change: &ChangeRecord,
    approvals: &[Approval],
    implementer: Option<&str>,
) -> PolicyState {
    evaluate_policy(policy.requirement(change.risk, change.tier), approvals, &change.requester, implementer)
}

fn rejected(approvals: &[Approval]) -> bool {
    approvals.iter().any(|approval| approval.decision == Decision::Reject && approval.voided.is_none())
}

/// The list entry of a change, as of `now`.
pub fn summarize(change: &ChangeRecord, state: &PolicyState, now: DateTime<Utc>) -> ChangeSummary {
    let awaiting_retro = change.change_type == ChangeType::Emergency
        && matches!(change.status, ChangeStatus::Implementing | ChangeStatus::Implemented);
    ChangeSummary {
        id: change.id.clone(),
        number: change.number,
        title: change.title.clone(),
        kind: change.kind,
        change_type: change.change_type,
        status: change.status,
        model_id: change.model_id.clone(),
        model_name: change.model_name.clone(),
        version: change.version.clone(),
        target_stage: change.target_stage,
        requester: change.requester.clone(),
        implementer: change.implementer.clone(),
        tier: change.tier,
        risk: change.risk,
        created_at: change.created_at,
        updated_at: change.updated_at,
        submitted_at: change.submitted_at,
        implemented_at: change.implemented_at,
        scheduled_start: change.scheduled_start,
        scheduled_end: change.scheduled_end,
        approvals_counted: u32::try_from(state.counted.len()).unwrap_or(u32::MAX),
        approvals_needed: state.requirement.approvals,
        retro_overdue: awaiting_retro
            && change.implemented_at.is_some_and(|at| retro_approval_overdue(at, state.met, now)),
    }
}

fn checked_text(field: &str, text: &str, max: usize) -> DomainResult<()> {
    if text.chars().count() > max {
        return Err(DomainError::field(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

/// Creates a change in draft, after checking its target and its risk.
pub async fn create(store: &Store, request: CreateChangeRequest, by: &Person) -> DomainResult<ChangeRecord> {
    let title = request.title.trim().to_owned();
    if title.is_empty() {
        return Err(DomainError::field("title", "a change needs a title"));
    }
    checked_text("title", &title, MAX_TITLE)?;
    for (field, text) in [
        ("description", &request.description),
        ("implementation_plan", &request.implementation_plan),
        ("rollback_plan", &request.rollback_plan),
        ("risk_reason", &request.risk_reason),
    ] {
        checked_text(field, text, MAX_TEXT)?;
    }
    let model = match store.get_model(&request.model_id).await {
        Ok(model) => model.model,
        Err(DomainError::NotFound(_)) => {
            return Err(DomainError::field("model_id", format!("no model with id '{}'", request.model_id)));
        }
        Err(error) => return Err(error),
    };
    let versions = store.list_versions(&model.id).await?;
    let find = |tag: &str| versions.iter().find(|version| version.tag == tag);
    let (version, target_stage) = match request.kind {
        ChangeKind::Promotion => {
            let tag = request
                .version
                .clone()
                .ok_or_else(|| DomainError::field("version", "a promotion needs the version to promote"))?;
            let found = find(&tag).ok_or_else(|| {
                DomainError::field("version", format!("model '{}' has no version '{tag}'", model.name))
            })?;
            let to = request.target_stage.unwrap_or(Stage::Production);
            if !to.serves_traffic() {
                return Err(DomainError::field("target_stage", "a promotion goes to canary or production"));
            }
            if found.stage.move_to(to) == StageMove::Unchanged {
                return Err(DomainError::field("version", format!("version '{tag}' is already in {}", to.as_str())));
            }
            if to == Stage::Production && !model.risk_tier.allows_production() {
                return Err(DomainError::field("target_stage", keel_shared::validation::PROHIBITED_IN_PRODUCTION));
            }
            (Some(tag), Some(to))
        }
        ChangeKind::Rollback => {
            let tag = request.version.clone().or_else(|| model.rollback_version.clone()).ok_or_else(|| {
                DomainError::field("version", "the model has no earlier production version to roll back to")
            })?;
            if find(&tag).is_none() {
                return Err(DomainError::field("version", format!("model '{}' has no version '{tag}'", model.name)));
            }
            if model.production_version.as_deref() == Some(tag.as_str()) {
                return Err(DomainError::field("version", format!("version '{tag}' is already in production")));
            }
            (Some(tag), Some(Stage::Production))
        }
        _ => {
            if let Some(tag) = &request.version
                && find(tag).is_none()
            {
                return Err(DomainError::field("version", format!("model '{}' has no version '{tag}'", model.name)));
            }
            (request.version.clone(), None)
        }
    };
    if let (Some(start), Some(end)) = (request.scheduled_start, request.scheduled_end)
        && end <= start
    {
        return Err(DomainError::field("scheduled_end", "the window must end after it starts"));
    }
    for incident in &request.linked_incidents {
        if let Err(DomainError::NotFound(message)) = store.incident(incident).await {
            return Err(DomainError::field("linked_incidents", message));
        }
    }
    let risk = effective_risk(model.risk_tier, request.kind, request.risk, &request.risk_reason)
        .map_err(|message| DomainError::field("risk", message))?;
    if request.change_type == ChangeType::Standard && risk != RiskLevel::Low {
        return Err(DomainError::field(
            "type",
            format!("a standard change must be low risk; this one is {}: make it a normal change", risk.as_str()),
        ));
    }
    let now = store.clock().now();
    let change = ChangeRecord {
        id: String::new(),
        number: 0,
        kind: request.kind,
        change_type: request.change_type,
        status: ChangeStatus::Draft,
        model_id: model.id.clone(),
        version,
        target_stage,
        title,
        description: request.description,
        implementation_plan: request.implementation_plan,
        rollback_plan: request.rollback_plan,
        linked_incidents: request.linked_incidents,
        requester: by.actor.name.clone(),
        implementer: None,
        tier: model.risk_tier,
        risk,
        risk_requested: request.risk,
        risk_reason: request.risk_reason,
        scheduled_start: request.scheduled_start,
        scheduled_end: request.scheduled_end,
        created_at: now,
        updated_at: now,
        submitted_at: None,
        implemented_at: None,
        previous_production: None,
        model_name: model.name.clone(),
        revision: 0,
    };
    let policy = policy(store).await?;
    store
        .create_change(change, |created| summarize(created, &policy_state(&policy, created, &[], None), now), &by.actor)
        .await
}

/// Edits a change in draft or submitted; any approvals given so far are voided.
pub async fn update(store: &Store, id: &str, request: UpdateChangeRequest, by: &Person) -> DomainResult<ChangeRecord> {
    let change = store.change(id).await?;
    if !change.status.editable() {
        return Err(DomainError::Conflict(format!(
            "CHG-{} is {}: only a draft or submitted change can be edited",
            change.number, change.status
        )));
    }
    if change.requester != by.actor.name && by.role != Role::Admin {
        return Err(DomainError::Forbidden(format!(
            "only {} (who requested it) or an admin may edit CHG-{}",
            change.requester, change.number
        )));
    }
    let mut next = change.clone();
    if let Some(title) = request.title {
        let title = title.trim().to_owned();
        if title.is_empty() {
            return Err(DomainError::field("title", "a change needs a title"));
        }
        checked_text("title", &title, MAX_TITLE)?;
        next.title = title;
    }
    for (field, value, slot) in [
        ("description", request.description, &mut next.description),
        ("implementation_plan", request.implementation_plan, &mut next.implementation_plan),
        ("rollback_plan", request.rollback_plan, &mut next.rollback_plan),
    ] {
        if let Some(value) = value {
            checked_text(field, &value, MAX_TEXT)?;
            *slot = value;
        }
    }
    if let Some(start) = request.scheduled_start {
        next.scheduled_start = Some(start);
    }
    if let Some(end) = request.scheduled_end {
        next.scheduled_end = Some(end);
    }
    if let (Some(start), Some(end)) = (next.scheduled_start, next.scheduled_end)
        && end <= start
    {
        return Err(DomainError::field("scheduled_end", "the window must end after it starts"));
    }
    if let Some(incidents) = request.linked_incidents {
        for incident in &incidents {
            if let Err(DomainError::NotFound(message)) = store.incident(incident).await {
                return Err(DomainError::field("linked_incidents", message));
            }
        }
        next.linked_incidents = incidents;
    }
    if request.risk.is_some() || request.risk_reason.is_some() {
        next.risk_requested = request.risk.or(change.risk_requested);
        next.risk_reason = request.risk_reason.unwrap_or(change.risk_reason.clone());
        checked_text("risk_reason", &next.risk_reason, MAX_TEXT)?;
        next.risk = effective_risk(change.tier, change.kind, next.risk_requested, &next.risk_reason)
            .map_err(|message| DomainError::field("risk", message))?;
    }
    if change_digest(&next) == change_digest(&change) {
        return Ok(change);
    }
    let approvals = store.approvals(id).await?;
    let counting = approvals.iter().any(|approval| approval.voided.is_none());
    let mut write = ChangeWrite {
        entries: vec![(ChangeTimelineKind::Edited, format!("Edited by {}", by.actor.name))],
        ..ChangeWrite::default()
    };
    if counting {
        let reason = format!("the change was edited by {}", by.actor.name);
        write.entries.push((ChangeTimelineKind::ApprovalsVoided, format!("Approvals voided: {reason}")));
        write.void_approvals = Some(reason);
    }
    save(store, &change, next, write, AuditAction::ChangeUpdate, &by.actor).await
}

/// Saves `next` over `change` and announces it with its approvals after the write.
async fn save(
    store: &Store,
    change: &ChangeRecord,
    next: ChangeRecord,
    write: ChangeWrite,
    action: AuditAction,
    actor: &Actor,
) -> DomainResult<ChangeRecord> {
    let policy = policy(store).await?;
    let mut approvals = store.approvals(&change.id).await?;
    if let Some(reason) = &write.void_approvals {
        for approval in approvals.iter_mut().filter(|approval| approval.voided.is_none()) {
            approval.voided = Some(reason.clone());
        }
    }
    approvals.extend(write.approval.clone());
    let now = store.clock().now();
    store
        .save_change(
            change,
            &next,
            write,
            action,
            |saved| summarize(saved, &policy_state(&policy, saved, &approvals, None), now),
            actor,
        )
        .await
}

/// Moves a change to `to`, if the state machine, the role, the policy and the conflicts
/// allow it; implementing a promotion or rollback moves the registry in the same write.
pub async fn transition(store: &Store, id: &str, to: ChangeStatus, by: &Person) -> DomainResult<ChangeRecord> {
    let change = store.change(id).await?;
    let from = change.status;
    if !from.next(change.change_type).contains(&to) {
        return Err(DomainError::Conflict(illegal_change_transition(from, change.change_type, to)));
    }
    let needed = ChangeStatus::permission_to(to);
    if !by.role.can(needed) {
        return Err(DomainError::Forbidden(format!(
            "a {} may not {} a change",
            by.role.label().to_lowercase(),
            ChangeStatus::action_label(to).to_lowercase()
        )));
    }
    let now = store.clock().now();
    let policy = policy(store).await?;
    let approvals = store.approvals(id).await?;
    let mut next = change.clone();
    next.status = to;
    let mut write = ChangeWrite::default();
    let entry = format!("{} → {} by {}", from.label(), to.label(), by.actor.name);
    write.entries.push((ChangeTimelineKind::Status, entry));
    let emergency = change.change_type == ChangeType::Emergency;
    match to {
        ChangeStatus::Submitted => {
            // Tier and risk are frozen here: re-tiering the model later cannot lower them.
            let model = store.get_model(&change.model_id).await?.model;
            next.tier = model.risk_tier;
            next.risk = effective_risk(model.risk_tier, change.kind, change.risk_requested, &change.risk_reason)
                .map_err(|message| DomainError::field("risk", message))?;
            next.submitted_at = Some(now);
        }
        ChangeStatus::Scheduled => {
            if change.scheduled_start.is_none() || change.scheduled_end.is_none() {
                return Err(DomainError::field(
                    "scheduled_start",
                    "set the change's window (scheduled_start and scheduled_end) first",
                ));
            }
        }
        ChangeStatus::Implementing | ChangeStatus::Implemented => {
            if !emergency {
                let state = policy_state(&policy, &change, &approvals, Some(&by.actor.name));
                if !state.met {
                    return Err(DomainError::Conflict(format!(
                        "CHG-{} needs {} approval(s) from people other than its requester and implementer; {} count: {}",
                        change.number,
                        state.requirement.approvals,
                        state.counted.len(),
                        if state.counted.is_empty() { "none".to_owned() } else { state.counted.join(", ") }
                    )));
                }
            }
            let blocking: Vec<String> = conflicts(store, &change, now)
                .await?
                .into_iter()
                .filter(|conflict| conflict.blocking)
                .map(|conflict| conflict.message)
                .collect();
            if !blocking.is_empty() {
                return Err(DomainError::Conflict(format!(
                    "CHG-{} cannot be implemented now: {} (only an emergency change may go ahead)",
                    change.number,
                    blocking.join("; ")
                )));
            }
            if from == ChangeStatus::Draft {
                next.submitted_at = Some(now);
            }
            next.implementer = Some(by.actor.name.clone());
            if to == ChangeStatus::Implemented {
                next.implemented_at = Some(now);
                let model = store.get_model(&change.model_id).await?.model;
                next.previous_production = model.production_version.clone();
                if let (true, Some(version), Some(stage)) =
                    (change.kind.moves_registry(), &change.version, change.target_stage)
                {
                    write.stage_moves.push(StageMoveOrder { version: version.clone(), to: stage });
                    let moved = match &model.production_version {
                        Some(previous) if stage == Stage::Production => format!(
                            "{version} is in production; {previous} is archived and kept as the rollback target"
                        ),
                        _ => format!("{version} is in {}", stage.as_str()),
                    };
                    write.entries.push((ChangeTimelineKind::Implemented, format!("Registry moved: {moved}")));
                }
                if emergency {
                    let due = now + Duration::hours(RETRO_APPROVAL_HOURS);
                    write.entries.push((
                        ChangeTimelineKind::Implemented,
                        format!("Emergency change: retrospective approval due by {}", due.format("%Y-%m-%d %H:%M UTC")),
                    ));
                }
            }
        }
        ChangeStatus::Verified => {
            let state = policy_state(&policy, &change, &approvals, change.implementer.as_deref());
            if emergency && (!state.met || rejected(&approvals)) {
                return Err(DomainError::Conflict(format!(
                    "emergency change CHG-{} needs its retrospective approval ({} of {}) before it is verified",
                    change.number,
                    state.counted.len(),
                    state.requirement.approvals
                )));
            }
        }
        ChangeStatus::RolledBack => {
            if let (true, Some(_), Some(version), Some(stage)) =
                (change.kind.moves_registry(), change.implemented_at, &change.version, change.target_stage)
            {
                let model = store.get_model(&change.model_id).await?.model;
                let (restore, to) = match (&change.previous_production, stage) {
                    (Some(previous), Stage::Production) => (previous.clone(), Stage::Production),
                    _ => (version.clone(), Stage::Staging),
                };
                if stage == Stage::Production && model.production_version.as_deref() != Some(version.as_str()) {
                    return Err(DomainError::Conflict(format!(
                        "production has moved on from {version} since CHG-{} (it is {} now): roll back with a new change",
                        change.number,
                        model.production_version.as_deref().unwrap_or("empty")
                    )));
                }
                write.entries.push((
                    ChangeTimelineKind::Implemented,
                    format!("Registry restored: {restore} is in {} again", to.as_str()),
                ));
                write.stage_moves.push(StageMoveOrder { version: restore, to });
            }
        }
        ChangeStatus::Draft | ChangeStatus::Approved | ChangeStatus::Rejected | ChangeStatus::Cancelled => {}
    }
    save(store, &change, next, write, AuditAction::ChangeTransition, &by.actor).await
}

/// Records an approval or a rejection by someone other than the requester, gated on the
/// evidence; the change is approved by itself once the policy is met.
pub async fn decide(store: &Store, id: &str, request: ApprovalRequest, by: &Person) -> DomainResult<ChangeRecord> {
    if by.via_token {
        return Err(DomainError::Forbidden(
            "API tokens can never approve or reject changes: sign in as a person".into(),
        ));
    }
    if !by.role.can(Permission::ApproveChanges) {
        return Err(DomainError::Forbidden(format!("a {} may not approve changes", by.role.label().to_lowercase())));
    }
    let change = store.change(id).await?;
    if change.requester == by.actor.name {
        return Err(DomainError::Forbidden(format!(
            "you requested CHG-{}: someone else must approve or reject it",
            change.number
        )));
    }
    let emergency_retro = change.change_type == ChangeType::Emergency
        && matches!(change.status, ChangeStatus::Implementing | ChangeStatus::Implemented);
    if change.status != ChangeStatus::Submitted && !emergency_retro {
        return Err(DomainError::Conflict(format!(
            "CHG-{} is {}: only a submitted change, or an implemented emergency change awaiting its retrospective approval, takes approvals",
            change.number, change.status
        )));
    }
    let comment = request.comment.trim().to_owned();
    checked_text("comment", &comment, MAX_TEXT)?;
    if request.decision == Decision::Reject && comment.is_empty() {
        return Err(DomainError::field("comment", "a rejection needs a reason"));
    }
    let detail_evidence = evidence::gates(store, &change).await?;
    if request.decision == Decision::Approve {
        let open: Vec<String> = detail_evidence
            .iter()
            .filter(|item| item.status != EvidenceStatus::Pass)
            .map(|item| {
                format!("{} is {} ({}); {} can provide it", item.kind.label(), item.status, item.value, item.provider)
            })
            .collect();
        if !open.is_empty() {
            return Err(DomainError::Conflict(format!(
                "CHG-{} cannot be approved until its evidence passes: {}",
                change.number,
                open.join("; ")
            )));
        }
    }
    let now = store.clock().now();
    let approval = Approval {
        approver: by.actor.name.clone(),
        approver_role: by.role,
        decision: request.decision,
        comment: comment.clone(),
        at: now,
        change_digest: change_digest(&change),
        evidence_digest: evidence::digest(store, &change).await?,
        voided: None,
    };
    let policy = policy(store).await?;
    let mut approvals = store.approvals(id).await?;
    approvals.push(approval.clone());
    let mut next = change.clone();
    let mut write = ChangeWrite { approval: Some(approval), ..ChangeWrite::default() };
    match request.decision {
        Decision::Reject => {
            write.entries.push((ChangeTimelineKind::Rejected, format!("Rejected by {}: {comment}", by.actor.name)));
            if !emergency_retro {
                next.status = ChangeStatus::Rejected;
            }
        }
        Decision::Approve => {
            let state = policy_state(&policy, &change, &approvals, None);
            let suffix = if comment.is_empty() { String::new() } else { format!(": {comment}") };
            write.entries.push((
                ChangeTimelineKind::Approved,
                format!(
                    "Approved by {} ({} of {} needed){suffix}",
                    by.actor.name,
                    state.counted.len(),
                    state.requirement.approvals
                ),
            ));
            if state.met && !emergency_retro {
                next.status = ChangeStatus::Approved;
                write.entries.push((ChangeTimelineKind::Status, "Approved: the approval policy is met".into()));
            }
        }
    }
    save(store, &change, next, write, AuditAction::ChangeApproval, &by.actor).await
}

/// Voids the approvals of every change on `model` (and `version`, when given) that is not
/// implemented yet, with `reason` on its timeline: approved changes return to submitted.
pub async fn void_approvals(
    store: &Store,
    model: &ModelId,
    version: Option<&str>,
    reason: &str,
) -> DomainResult<usize> {
    let filter = ChangeFilter {
        statuses: vec![ChangeStatus::Submitted, ChangeStatus::Approved, ChangeStatus::Scheduled],
        model: Some(model.clone()),
        ..ChangeFilter::default()
    };
    let mut voided = 0;
    for change in store.list_changes(&filter).await? {
        if version.is_some() && change.version.as_deref() != version {
            continue;
        }
        let approvals = store.approvals(&change.id).await?;
        if !approvals.iter().any(|approval| approval.voided.is_none()) {
            continue;
        }
        let mut next = change.clone();
        let mut write = ChangeWrite {
            entries: vec![(ChangeTimelineKind::ApprovalsVoided, format!("Approvals voided: {reason}"))],
            void_approvals: Some(reason.to_owned()),
            ..ChangeWrite::default()
        };
        if change.status != ChangeStatus::Submitted {
            next.status = ChangeStatus::Submitted;
            write.entries.push((ChangeTimelineKind::Status, "Back to waiting for approval".into()));
        }
        save(store, &change, next, write, AuditAction::ChangeVoidApprovals, &Actor::system()).await?;
        voided += 1;
    }
    Ok(voided)
}

/// What the change clashes with, as of `now`.
pub async fn conflicts(store: &Store, change: &ChangeRecord, now: DateTime<Utc>) -> DomainResult<Vec<Conflict>> {
    let emergency = change.change_type == ChangeType::Emergency;
    let mut found = Vec::new();
    if change.version.is_some() {
        let filter = ChangeFilter { model: Some(change.model_id.clone()), ..ChangeFilter::default() };
        for other in store.list_changes(&filter).await? {
            if other.id != change.id && other.status.is_open() && other.version == change.version {
                found.push(Conflict {
                    kind: ConflictKind::SameVersion,
                    message: format!(
                        "CHG-{} ({}) is also open on version {}",
                        other.number,
                        other.title,
                        other.version.clone().unwrap_or_default()
                    ),
                    blocking: false,
                });
            }
        }
    }
    let freeze: FreezeWindows = store.setting(FREEZE_SETTING).await?;
    let (from, to) = match (change.scheduled_start, change.scheduled_end) {
        (Some(start), Some(end)) => (start, end),
        _ => (now, now + Duration::seconds(1)),
    };
    for window in freeze.windows.iter().filter(|window| window.overlaps(from, to)) {
        found.push(Conflict {
            kind: ConflictKind::Freeze,
            message: format!(
                "the freeze window '{}' ({} – {}) covers {}",
                window.name,
                window.starts_at.format("%Y-%m-%d %H:%M"),
                window.ends_at.format("%Y-%m-%d %H:%M"),
                if change.scheduled_start.is_some() { "its window" } else { "now" }
            ),
            blocking: !emergency,
        });
    }
    let filter = IncidentFilter { model: Some(change.model_id.clone()), ..IncidentFilter::default() };
    for incident in store.list_incidents(&filter).await? {
        let same_version = incident.version.is_none() || change.version.is_none() || incident.version == change.version;
        if !same_version {
            continue;
        }
        if incident.status.is_open() && incident.severity == Severity::Sev1 {
            found.push(Conflict {
                kind: ConflictKind::OpenSev1,
                message: format!("SEV1 incident INC-{} ({}) is open on the model", incident.number, incident.title),
                blocking: !emergency,
            });
        }
        if incident.serious.as_ref().is_some_and(|serious| serious.reported_at.is_none()) {
            found.push(Conflict {
                kind: ConflictKind::SeriousIncidentHold,
                message: format!(
                    "INC-{} is an EU AI Act serious incident not yet reported: the version's evidence is on hold",
                    incident.number
                ),
                blocking: !emergency,
            });
        }
    }
    Ok(found)
}

/// Everything the change page shows.
pub async fn detail(store: &Store, id: &str) -> DomainResult<ChangeDetail> {
    let change = store.change(id).await?;
    let now = store.clock().now();
    let policy = policy(store).await?;
    let approvals = store.approvals(id).await?;
    let implementer = change.implementer.as_deref();
    let state = policy_state(&policy, &change, &approvals, implementer);
    let model = store.get_model(&change.model_id).await?.model;
    Ok(ChangeDetail {
        summary: summarize(&change, &state, now),
        description: change.description.clone(),
        implementation_plan: change.implementation_plan.clone(),
        rollback_plan: change.rollback_plan.clone(),
        linked_incidents: change.linked_incidents.clone(),
        risk_reason: change.risk_reason.clone(),
        table_risk: risk_for(model.risk_tier, change.kind),
        conflicts: conflicts(store, &change, now).await?,
        evidence: evidence::gates(store, &change).await?,
        approvals,
        policy: state,
        timeline: store.change_timeline(id).await?,
        change_digest: change_digest(&change),
        evidence_digest: evidence::digest(store, &change).await?,
        retro_due_by: (change.change_type == ChangeType::Emergency)
            .then(|| change.implemented_at.map(|at| at + Duration::hours(RETRO_APPROVAL_HOURS)))
            .flatten(),
    })
}

/// The changes matching `filter` as list entries; with `waiting_for`, only submitted ones
/// that person may approve and has not.
pub async fn list(
    store: &Store,
    filter: &ChangeFilter,
    waiting_for: Option<(&str, Role)>,
) -> DomainResult<Vec<ChangeSummary>> {
    let now = store.clock().now();
    let policy = policy(store).await?;
    let mut items = Vec::new();
    for change in store.list_changes(filter).await? {
        let approvals = store.approvals(&change.id).await?;
        if let Some((username, role)) = waiting_for {
            let waiting = change.status == ChangeStatus::Submitted
                && role.can(Permission::ApproveChanges)
                && change.requester != username
                && !approvals.iter().any(|approval| approval.approver == username && approval.voided.is_none());
            if !waiting {
                continue;
            }
        }
        let state = policy_state(&policy, &change, &approvals, change.implementer.as_deref());
        items.push(summarize(&change, &state, now));
    }
    Ok(items)
}
