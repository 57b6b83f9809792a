//! Incident operations: opening (by a rule, by hand, by a sender) with one open incident
//! per fingerprint, the lifecycle of `IncidentStatus`, fields, comments, runbook steps,
//! postmortems, Art. 73 serious incidents, escalation and MTTA/MTTR.

use chrono::{DateTime, Duration, Utc};
use keel_shared::ModelId;
use keel_shared::audit::AuditAction;
use keel_shared::auth::{Permission, Role};
use keel_shared::incidents::{
    CreateIncidentRequest, IncidentDetail, IncidentRunbook, IncidentSource, IncidentStats, IncidentStatus, Postmortem,
    REOPEN_WITHIN_DAYS, RunbookStepState, SeriousIncident, SeriousIncidentRequest, Severity, TimelineKind,
    UpdateIncidentRequest, illegal_transition_message, reporting_deadline, runbook_steps,
};
use keel_shared::models::RiskTier;

use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::incidents::{IncidentFilter, IncidentRecord};

/// Longest title, comment or free-text field accepted.
const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 20_000;

/// Who is acting, as the rules need it: their name for the record and their role.
pub struct Responder {
    pub actor: Actor,
    pub role: Role,
}

/// What a new incident is about, from whichever source.
pub struct Opening {
    pub title: String,
    pub severity: Severity,
    pub model: Option<ModelId>,
    /// The sender's model label when Keel does not know the model.
    pub model_label: Option<String>,
    pub version: Option<String>,
    pub source: IncidentSource,
    pub fingerprint: String,
    pub rule_id: Option<String>,
    pub runbook_id: Option<String>,
    pub impact: String,
    /// The first timeline entry (or, attached to an open incident, the note).
    pub note: String,
}

/// Opens an incident, or attaches `opening.note` to the open one with its fingerprint.
/// A model in the high-risk EU AI Act tier gets one severity level more.
pub async fn open(store: &Store, opening: Opening, actor: &Actor) -> DomainResult<(IncidentRecord, bool)> {
    let now = store.clock().now();
    let tier = match &opening.model {
        Some(model) => Some(store.get_model(model).await?.model.risk_tier),
        None => None,
    };
    let severity = if tier == Some(RiskTier::High) { opening.severity.raised() } else { opening.severity };
    let sla = store.sla_policy().await?.for_severity(severity);
    let runbook_id = match opening.runbook_id {
        Some(id) => Some(id),
        None => matching_runbook(store, opening.model.as_ref(), severity).await?,
    };
    let incident = IncidentRecord {
        id: String::new(),
        number: 0,
        title: opening.title,
        status: IncidentStatus::Triage,
        severity,
        model_id: opening.model,
        model_label: opening.model_label,
        version: opening.version,
        source: opening.source,
        fingerprint: opening.fingerprint,
        rule_id: opening.rule_id,
        impact: opening.impact,
        assignee: None,
        commander: None,
        opened_at: now,
        detected_at: now,
        acknowledged_at: None,
        mitigated_at: None,
        resolved_at: None,
        closed_at: None,
        acknowledge_by: now + Duration::seconds(sla.acknowledge_seconds),
        resolve_by: now + Duration::seconds(sla.resolve_seconds),
        escalation_level: 0,
        runbook_id,
        runbook_done: Vec::new(),
        postmortem: None,
        serious: None,
        model_name: None,
        revision: 0,
    };
    store.open_incident(incident, &opening.note, actor).await
}

/// Opens an incident by hand.
pub async fn open_by_hand(
    store: &Store,
    request: CreateIncidentRequest,
    actor: &Actor,
) -> DomainResult<IncidentRecord> {
    let title = checked_title(&request.title)?;
    checked_text("impact", &request.impact)?;
    if request.version.is_some() && request.model.is_none() {
        return Err(DomainError::field("version", "a version needs its model"));
    }
    if let (Some(model), Some(version)) = (&request.model, &request.version)
        && !store.list_versions(model).await?.iter().any(|known| &known.tag == version)
    {
        return Err(DomainError::field("version", format!("model '{model}' has no version '{version}'")));
    }
    let opening = Opening {
        note: format!("Opened by hand by {}", actor.name),
        title,
        severity: request.severity,
        model: request.model,
        model_label: None,
        version: request.version,
        source: IncidentSource::Manual,
        // Every incident opened by hand is its own.
        fingerprint: format!("manual:{}", uuid::Uuid::now_v7()),
        rule_id: None,
        runbook_id: None,
        impact: request.impact,
    };
    Ok(open(store, opening, actor).await?.0)
}

/// A sender or a rule says the condition behind `fingerprint` is over: the incident it
/// opened is resolved if nobody has acknowledged it; otherwise the recovery is recorded
/// and the responder resolves.
pub async fn condition_cleared(store: &Store, fingerprint: &str, note: &str, actor: &Actor) -> DomainResult<()> {
    let Some(incident) = store.open_incident_with_fingerprint(fingerprint).await? else {
        return Ok(());
    };
    if incident.acknowledged_at.is_some() {
        let text = format!("{note}; it stays open because a responder is on it");
        return store.add_timeline_entry(&incident, TimelineKind::AlertResolved, &text, &actor.name).await;
    }
    let now = store.clock().now();
    let mut resolved = incident.clone();
    resolved.status = IncidentStatus::Resolved;
    resolved.mitigated_at.get_or_insert(now);
    resolved.resolved_at = Some(now);
    let entries = [
        (TimelineKind::AlertResolved, note.to_owned()),
        (TimelineKind::Status, "Resolved by itself: the condition cleared before anyone acknowledged".to_owned()),
    ];
    store.save_incident(&incident, &resolved, &entries, AuditAction::IncidentTransition, actor).await?;
    Ok(())
}

/// A sender acknowledges the incident behind `fingerprint` (PagerDuty `acknowledge`).
pub async fn acknowledge_by_sender(store: &Store, fingerprint: &str, actor: &Actor) -> DomainResult<()> {
    let Some(incident) = store.open_incident_with_fingerprint(fingerprint).await? else {
        return Ok(());
    };
    if incident.status != IncidentStatus::Triage {
        return Ok(());
    }
    let mut acknowledged = incident.clone();
    acknowledged.status = IncidentStatus::Investigating;
    acknowledged.acknowledged_at = Some(store.clock().now());
    let entries = [(TimelineKind::Status, format!("Acknowledged through {}", actor.name))];
    store.save_incident(&incident, &acknowledged, &entries, AuditAction::IncidentTransition, actor).await?;
    Ok(())
}

/// Moves an incident to `to`, if the state machine and the responder's role allow it.
/// When a background job (escalation, a sender's note) wrote the incident between the
/// read and the write, the move is judged again on what is stored now.
pub async fn transition(store: &Store, id: &str, to: IncidentStatus, by: &Responder) -> DomainResult<IncidentRecord> {
    let mut attempts = 0;
    loop {
        let seen = store.incident(id).await?.revision;
        match transition_once(store, id, to, by).await {
            Err(DomainError::Conflict(message)) if attempts < 3 && store.incident(id).await?.revision != seen => {
                attempts += 1;
                tracing::debug!(incident = id, %message, "the incident changed meanwhile; judging the move again");
            }
            outcome => return outcome,
        }
    }
}

async fn transition_once(store: &Store, id: &str, to: IncidentStatus, by: &Responder) -> DomainResult<IncidentRecord> {
    let incident = store.incident(id).await?;
    let from = incident.status;
    if !from.next().contains(&to) {
        return Err(DomainError::Conflict(illegal_transition_message(from, to)));
    }
    let needed = from.permission_to(to);
    if !by.role.can(needed) {
        return Err(DomainError::Forbidden(format!(
            "a {} may not {} an incident",
            by.role.label().to_lowercase(),
            from.action_label(to).to_lowercase()
        )));
    }
    let now = store.clock().now();
    let mut next = incident.clone();
    next.status = to;
    match to {
        IncidentStatus::Investigating if from == IncidentStatus::Resolved => {
            let resolved_at = incident.resolved_at.unwrap_or(now);
            if now - resolved_at > Duration::days(REOPEN_WITHIN_DAYS) {
                return Err(DomainError::Conflict(format!(
                    "INC-{} was resolved more than {REOPEN_WITHIN_DAYS} days ago: open a new incident instead",
                    incident.number
                )));
            }
            next.resolved_at = None;
        }
        IncidentStatus::Investigating => {
            next.acknowledged_at.get_or_insert(now);
        }
        IncidentStatus::Mitigated => {
            next.acknowledged_at.get_or_insert(now);
            next.mitigated_at.get_or_insert(now);
        }
        IncidentStatus::Resolved => {
            next.acknowledged_at.get_or_insert(now);
            next.mitigated_at.get_or_insert(now);
            next.resolved_at = Some(now);
        }
        IncidentStatus::Closed => {
            if incident.severity.needs_postmortem() {
                let missing = incident
                    .postmortem
                    .as_ref()
                    .map_or_else(|| vec!["summary", "impact", "root_cause"], Postmortem::missing);
                if !missing.is_empty() {
                    return Err(DomainError::Conflict(format!(
                        "a {} incident needs its postmortem before it can close (missing: {})",
                        incident.severity.label(),
                        missing.join(", ")
                    )));
                }
            }
            next.closed_at = Some(now);
        }
        IncidentStatus::Cancelled => next.closed_at = Some(now),
        IncidentStatus::Triage => {}
    }
    let text = format!("{} → {}", from.label(), to.label());
    store
        .save_incident(&incident, &next, &[(TimelineKind::Status, text)], AuditAction::IncidentTransition, &by.actor)
        .await
}

/// Changes the given fields; assignee and commander must be active users.
pub async fn update(
    store: &Store,
    id: &str,
    request: UpdateIncidentRequest,
    actor: &Actor,
) -> DomainResult<IncidentRecord> {
    let incident = store.incident(id).await?;
    if !incident.status.is_open() && incident.status != IncidentStatus::Resolved {
        return Err(DomainError::Conflict(format!(
            "INC-{} is {}: it can no longer be edited",
            incident.number, incident.status
        )));
    }
    let mut next = incident.clone();
    let mut entries = Vec::new();
    if let Some(title) = request.title {
        next.title = checked_title(&title)?;
        if next.title != incident.title {
            entries.push((TimelineKind::Field, format!("Title: {}", next.title)));
        }
    }
    if let Some(impact) = request.impact {
        checked_text("impact", &impact)?;
        if impact != incident.impact {
            entries.push((TimelineKind::Field, "Impact updated".to_owned()));
        }
        next.impact = impact;
    }
    if let Some(severity) = request.severity
        && severity != incident.severity
    {
        let sla = store.sla_policy().await?.for_severity(severity);
        next.severity = severity;
        next.acknowledge_by = incident.detected_at + Duration::seconds(sla.acknowledge_seconds);
        next.resolve_by = incident.detected_at + Duration::seconds(sla.resolve_seconds);
        entries.push((TimelineKind::Field, format!("Severity {} → {}", incident.severity.label(), severity.label())));
    }
    for (field, value, current, target) in [
        ("assignee", request.assignee, incident.assignee.clone(), &mut next.assignee),
        ("commander", request.commander, incident.commander.clone(), &mut next.commander),
    ] {
        let Some(value) = value else { continue };
        let value = (!value.trim().is_empty()).then(|| value.trim().to_owned());
        if let Some(username) = &value {
            let active = store.user_by_username(username).await?.is_some_and(|user| user.user.deactivated_at.is_none());
            if !active {
                return Err(DomainError::field(field, format!("'{username}' is not an active user")));
            }
        }
        if value != current {
            let label = if field == "assignee" { "Assignee" } else { "Incident commander" };
            entries.push((TimelineKind::Field, format!("{label}: {}", value.as_deref().unwrap_or("nobody"))));
        }
        *target = value;
    }
    if entries.is_empty() {
        return Ok(incident);
    }
    store.save_incident(&incident, &next, &entries, AuditAction::IncidentUpdate, actor).await
}

pub async fn comment(store: &Store, id: &str, text: &str, actor: &Actor) -> DomainResult<()> {
    if text.trim().is_empty() {
        return Err(DomainError::field("text", "write a comment"));
    }
    checked_text("text", text)?;
    let incident = store.incident(id).await?;
    store.add_timeline_entry(&incident, TimelineKind::Comment, text.trim(), &actor.name).await
}

/// Ticks or unticks step `step` of the incident's runbook.
pub async fn set_runbook_step(store: &Store, id: &str, step: usize, done: bool, actor: &Actor) -> DomainResult<()> {
    let incident = store.incident(id).await?;
    let runbook = incident_runbook(store, &incident)
        .await?
        .ok_or_else(|| DomainError::Conflict(format!("INC-{} has no runbook", incident.number)))?;
    let Some(text) = runbook.steps.get(step).map(|step| step.text.clone()) else {
        return Err(DomainError::field(
            "step",
            format!("the runbook has {} steps, numbered from 0", runbook.steps.len()),
        ));
    };
    let mut next = incident.clone();
    next.runbook_done.retain(|ticked| *ticked != step);
    if done {
        next.runbook_done.push(step);
        next.runbook_done.sort_unstable();
    }
    if next.runbook_done == incident.runbook_done {
        return Ok(());
    }
    let entry = if done { format!("Runbook step done: {text}") } else { format!("Runbook step reopened: {text}") };
    store
        .save_incident(&incident, &next, &[(TimelineKind::RunbookStep, entry)], AuditAction::IncidentUpdate, actor)
        .await?;
    Ok(())
}

pub async fn save_postmortem(store: &Store, id: &str, postmortem: Postmortem, actor: &Actor) -> DomainResult<()> {
    for (field, text) in [
        ("summary", &postmortem.summary),
        ("impact", &postmortem.impact),
        ("root_cause", &postmortem.root_cause),
        ("contributing_factors", &postmortem.contributing_factors),
    ] {
        checked_text(field, text)?;
    }
    for (index, item) in postmortem.action_items.iter().enumerate() {
        if item.text.trim().is_empty() || item.owner.trim().is_empty() {
            return Err(DomainError::field(
                &format!("action_items[{index}]"),
                "an action item needs its text and owner",
            ));
        }
    }
    let incident = store.incident(id).await?;
    let text = if incident.postmortem.is_some() { "Postmortem updated" } else { "Postmortem written" };
    let mut next = incident.clone();
    next.postmortem = Some(postmortem);
    store
        .save_incident(
            &incident,
            &next,
            &[(TimelineKind::Postmortem, text.into())],
            AuditAction::IncidentPostmortem,
            actor,
        )
        .await?;
    Ok(())
}

/// Marks an incident of a high-risk model a serious incident under Art. 73, or records
/// that its report was filed.
pub async fn mark_serious(store: &Store, id: &str, request: SeriousIncidentRequest, actor: &Actor) -> DomainResult<()> {
    let incident = store.incident(id).await?;
    if !is_high_risk(store, &incident).await? {
        return Err(DomainError::Conflict(
            "Art. 73 serious-incident reporting applies to models in the high-risk EU AI Act tier only".into(),
        ));
    }
    let Some(deadline) = reporting_deadline(request.aware_at, &request.categories) else {
        return Err(DomainError::field("categories", "choose at least one serious-incident category"));
    };
    if request.reported_at.is_some_and(|reported| reported < request.aware_at) {
        return Err(DomainError::field("reported_at", "the report cannot be filed before the team became aware"));
    }
    let serious = SeriousIncident {
        categories: request.categories,
        aware_at: request.aware_at,
        deadline,
        reported_at: request.reported_at,
    };
    let text = match serious.reported_at {
        Some(reported) => {
            format!("Serious incident reported to the market surveillance authority on {}", reported.to_rfc3339())
        }
        None => format!("Marked a serious incident (EU AI Act Art. 73): report due by {}", deadline.to_rfc3339()),
    };
    let mut next = incident.clone();
    next.serious = Some(serious);
    store
        .save_incident(&incident, &next, &[(TimelineKind::SeriousIncident, text)], AuditAction::IncidentUpdate, actor)
        .await?;
    Ok(())
}

/// Escalates every open incident whose acknowledge deadline passed unacknowledged: one
/// level per elapsed acknowledge period, each level telling the people and the webhook
/// of the model's escalation chain (else the fleet's; with no chain, everyone who may
/// triage). Returns how many were escalated.
pub async fn escalate_due(store: &Store) -> DomainResult<usize> {
    let now = store.clock().now();
    let filter = IncidentFilter { statuses: vec![IncidentStatus::Triage], ..IncidentFilter::default() };
    let chains = store.escalation_chains().await?;
    let mut escalated = 0;
    for incident in store.list_incidents(&filter).await? {
        let period = incident.acknowledge_by - incident.detected_at;
        if incident.acknowledged_at.is_some() || now <= incident.acknowledge_by || period <= Duration::zero() {
            continue;
        }
        let due = u32::try_from(1 + (now - incident.acknowledge_by).num_seconds() / period.num_seconds().max(1))
            .unwrap_or(u32::MAX);
        if due <= incident.escalation_level {
            continue;
        }
        let mut next = incident.clone();
        next.escalation_level = due;
        let level = chains.level(incident.model_id.as_ref(), due);
        let told = match level {
            Some(level) if !level.users.is_empty() => format!("notified {}", level.users.join(", ")),
            Some(_) => "notified".to_owned(),
            None if chains.level(incident.model_id.as_ref(), 1).is_none() => {
                "every engineer and admin is notified".to_owned()
            }
            None => "the chain has no further level".to_owned(),
        };
        let webhook = level.and_then(|level| level.webhook_url.clone());
        let text = format!(
            "Not acknowledged within {} min: escalated to level {due} ({told}{})",
            period.num_minutes(),
            if webhook.is_some() { "; webhook queued" } else { "" }
        );
        match store
            .save_incident(
                &incident,
                &next,
                &[(TimelineKind::Escalated, text)],
                AuditAction::IncidentUpdate,
                &Actor::system(),
            )
            .await
        {
            Ok(saved) => {
                escalated += 1;
                if let Some(url) = webhook {
                    let body =
                        serde_json::json!({ "event": "incident.escalated", "level": due, "incident": saved.summary() });
                    store.queue_webhook(&saved.id, due, &url, &body.to_string()).await?;
                }
            }
            // Someone acted on it meanwhile: the next pass sees the new state.
            Err(DomainError::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(escalated)
}

/// Everything the incident page shows.
pub async fn detail(store: &Store, id: &str) -> DomainResult<IncidentDetail> {
    let incident = store.incident(id).await?;
    Ok(IncidentDetail {
        timeline: store.timeline(id).await?,
        runbook: incident_runbook(store, &incident).await?,
        high_risk: is_high_risk(store, &incident).await?,
        deliveries: store.webhook_deliveries(id).await?,
        impact: incident.impact.clone(),
        fingerprint: incident.fingerprint.clone(),
        postmortem: incident.postmortem.clone(),
        serious: incident.serious.clone(),
        incident: incident.summary(),
    })
}

/// MTTA and MTTR over incidents detected in `[from, to)`, for one model or the fleet.
pub async fn stats(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    model: Option<ModelId>,
) -> DomainResult<IncidentStats> {
    let filter = IncidentFilter {
        model,
        detected_from: Some(from.timestamp_millis()),
        detected_to: Some(to.timestamp_millis()),
        ..IncidentFilter::default()
    };
    let incidents = store.list_incidents(&filter).await?;
    let mean = |durations: Vec<Duration>| {
        (!durations.is_empty()).then(|| {
            durations.iter().map(|duration| duration.num_milliseconds() as f64 / 1000.0).sum::<f64>()
                / durations.len() as f64
        })
    };
    Ok(IncidentStats {
        incidents: incidents.len() as u64,
        open: incidents.iter().filter(|incident| incident.status.is_open()).count() as u64,
        mtta_seconds: mean(
            incidents.iter().filter_map(|incident| Some(incident.acknowledged_at? - incident.detected_at)).collect(),
        ),
        mttr_seconds: mean(
            incidents.iter().filter_map(|incident| Some(incident.resolved_at? - incident.detected_at)).collect(),
        ),
    })
}

/// Open incidents that ask for `user`'s attention: assigned to them, or escalated to a
/// level of the chain naming them (with no chain, escalated incidents go to everyone who
/// may triage).
pub async fn notifications(store: &Store, username: &str, role: Role) -> DomainResult<Vec<IncidentRecord>> {
    let filter = IncidentFilter {
        statuses: vec![IncidentStatus::Triage, IncidentStatus::Investigating, IncidentStatus::Mitigated],
        ..IncidentFilter::default()
    };
    let chains = store.escalation_chains().await?;
    let may_triage = role.can(Permission::TriageIncidents);
    Ok(store
        .list_incidents(&filter)
        .await?
        .into_iter()
        .filter(|incident| {
            let escalated_to_me = incident.acknowledged_at.is_none()
                && match chains.level(incident.model_id.as_ref(), 1) {
                    None => may_triage && incident.escalation_level > 0,
                    Some(_) => (1..=incident.escalation_level).any(|level| {
                        chains
                            .level(incident.model_id.as_ref(), level)
                            .is_some_and(|level| level.users.iter().any(|user| user == username))
                    }),
                };
            incident.assignee.as_deref() == Some(username) || escalated_to_me
        })
        .collect())
}

async fn is_high_risk(store: &Store, incident: &IncidentRecord) -> DomainResult<bool> {
    Ok(match &incident.model_id {
        Some(model) => store.get_model(model).await?.model.risk_tier == RiskTier::High,
        None => false,
    })
}

/// The runbook for a new incident: the model's at this severity, else the model's, else
/// the severity's.
async fn matching_runbook(store: &Store, model: Option<&ModelId>, severity: Severity) -> DomainResult<Option<String>> {
    let runbooks = store.runbooks().await?;
    let score = |spec: &keel_shared::alerting::RunbookSpec| -> Option<u8> {
        let model_matches = match (&spec.model, model) {
            (Some(wanted), Some(model)) => (wanted == model).then_some(2),
            (Some(_), None) => None,
            (None, _) => Some(0),
        }?;
        let severity_matches = match spec.severity {
            Some(wanted) => (wanted == severity).then_some(1)?,
            None => 0,
        };
        Some(model_matches + severity_matches).filter(|score| *score > 0)
    };
    Ok(runbooks
        .iter()
        .filter_map(|runbook| Some((score(&runbook.spec)?, runbook)))
        .max_by_key(|(score, _)| *score)
        .map(|(_, runbook)| runbook.id.clone()))
}

async fn incident_runbook(store: &Store, incident: &IncidentRecord) -> DomainResult<Option<IncidentRunbook>> {
    let Some(id) = &incident.runbook_id else { return Ok(None) };
    let Some(runbook) = store.runbooks().await?.into_iter().find(|runbook| &runbook.id == id) else {
        return Ok(None);
    };
    let steps = runbook_steps(&runbook.spec.body)
        .into_iter()
        .enumerate()
        .map(|(index, text)| RunbookStepState { text, done: incident.runbook_done.contains(&index) })
        .collect();
    Ok(Some(IncidentRunbook { id: runbook.id, title: runbook.spec.title, body: runbook.spec.body, steps }))
}

fn checked_title(title: &str) -> DomainResult<String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(DomainError::field("title", format!("give a title of 1 to {MAX_TITLE} characters")));
    }
    Ok(title.to_owned())
}

fn checked_text(field: &str, text: &str) -> DomainResult<()> {
    if text.chars().count() > MAX_TEXT {
        return Err(DomainError::field(field, format!("at most {MAX_TEXT} characters")));
    }
    Ok(())
}
