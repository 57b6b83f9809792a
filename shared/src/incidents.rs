//! Incidents: severities and their SLAs, the lifecycle state machine (which transitions
//! are legal from which status, and who may make them), the timeline, postmortems and
//! the EU AI Act Art. 73 serious-incident deadlines.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelId;
use crate::auth::{Permission, Role};

named_enum! {
    /// How bad an incident is; SEV1 is the worst.
    Severity {
        Sev1 => "sev1",
        Sev2 => "sev2",
        Sev3 => "sev3",
        Sev4 => "sev4",
    }
}

impl Severity {
    /// "SEV1" … "SEV4".
    pub fn label(self) -> &'static str {
        match self {
            Self::Sev1 => "SEV1",
            Self::Sev2 => "SEV2",
            Self::Sev3 => "SEV3",
            Self::Sev4 => "SEV4",
        }
    }

    /// One level worse (SEV1 stays SEV1): what a high-risk-tier model's incident gets.
    pub fn raised(self) -> Self {
        match self {
            Self::Sev1 | Self::Sev2 => Self::Sev1,
            Self::Sev3 => Self::Sev2,
            Self::Sev4 => Self::Sev3,
        }
    }

    /// Whether closing needs a postmortem.
    pub fn needs_postmortem(self) -> bool {
        matches!(self, Self::Sev1 | Self::Sev2)
    }

    /// The default service levels: time to acknowledge and time to resolve.
    pub fn default_sla(self) -> Sla {
        let (acknowledge, resolve) = match self {
            Self::Sev1 => (Duration::minutes(5), Duration::hours(4)),
            Self::Sev2 => (Duration::minutes(15), Duration::hours(8)),
            Self::Sev3 => (Duration::hours(1), Duration::days(3)),
            Self::Sev4 => (Duration::days(1), Duration::days(14)),
        };
        Sla { acknowledge_seconds: acknowledge.num_seconds(), resolve_seconds: resolve.num_seconds() }
    }

    /// PagerDuty's event severity (critical, error, warning, info), else SEV3.
    pub fn from_pagerduty(severity: &str) -> Self {
        match severity {
            "critical" => Self::Sev1,
            "error" => Self::Sev2,
            "info" => Self::Sev4,
            _ => Self::Sev3,
        }
    }

    /// Alertmanager's conventional `severity` label (critical, warning, info), else SEV3.
    pub fn from_alertmanager(severity: Option<&str>) -> Self {
        match severity {
            Some("critical") => Self::Sev1,
            Some("info") => Self::Sev4,
            _ => Self::Sev3,
        }
    }
}

/// Deadlines counted from detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    pub acknowledge_seconds: i64,
    pub resolve_seconds: i64,
}

/// The service levels per severity (`GET`/`PUT /api/sla`); new incidents and severity
/// changes take their deadlines from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub sev1: Sla,
    pub sev2: Sla,
    pub sev3: Sla,
    pub sev4: Sla,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            sev1: Severity::Sev1.default_sla(),
            sev2: Severity::Sev2.default_sla(),
            sev3: Severity::Sev3.default_sla(),
            sev4: Severity::Sev4.default_sla(),
        }
    }
}

impl SlaPolicy {
    pub fn for_severity(&self, severity: Severity) -> Sla {
        match severity {
            Severity::Sev1 => self.sev1,
            Severity::Sev2 => self.sev2,
            Severity::Sev3 => self.sev3,
            Severity::Sev4 => self.sev4,
        }
    }

    /// Field → problem: every deadline positive (at most a year), acknowledging no later
    /// than resolving, and a worse severity never given more time than a milder one.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let levels = [("sev1", self.sev1), ("sev2", self.sev2), ("sev3", self.sev3), ("sev4", self.sev4)];
        for (name, sla) in levels {
            for (field, seconds) in
                [("acknowledge_seconds", sla.acknowledge_seconds), ("resolve_seconds", sla.resolve_seconds)]
            {
                if !(1..=365 * 86_400).contains(&seconds) {
                    problems.push((format!("{name}.{field}"), "give a time of 1 second to 365 days".to_owned()));
                }
            }
            if sla.acknowledge_seconds > sla.resolve_seconds {
                problems.push((
                    format!("{name}.acknowledge_seconds"),
                    "acknowledging may not take longer than resolving".to_owned(),
                ));
            }
        }
        for pair in levels.windows(2) {
            let ((worse, worse_sla), (milder, milder_sla)) = (pair[0], pair[1]);
            if worse_sla.acknowledge_seconds > milder_sla.acknowledge_seconds
                || worse_sla.resolve_seconds > milder_sla.resolve_seconds
            {
                problems.push((
                    worse.to_owned(),
                    format!("{} may not get more time than {}", worse.to_uppercase(), milder.to_uppercase()),
                ));
            }
        }
        problems
    }
}

/// One level of an escalation chain: who is told when an incident is still not
/// acknowledged. Level 1 is told at the acknowledge deadline, each next level one
/// acknowledge period later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationLevel {
    /// Usernames whose bell shows the incident.
    #[serde(default)]
    pub users: Vec<String>,
    /// A URL sent a JSON notification signed with HMAC-SHA256 (`X-Keel-Signature`).
    #[serde(default)]
    pub webhook_url: Option<String>,
}

/// `GET`/`PUT /api/escalation`: the fleet's chain and per-model chains (by model id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationChains {
    #[serde(default)]
    pub fleet: Vec<EscalationLevel>,
    #[serde(default)]
    pub models: std::collections::BTreeMap<String, Vec<EscalationLevel>>,
}

impl EscalationChains {
    /// Level `level` (from 1) of the model's chain, else of the fleet's.
    pub fn level(&self, model: Option<&ModelId>, level: u32) -> Option<&EscalationLevel> {
        let chain = model.and_then(|model| self.models.get(&model.0)).unwrap_or(&self.fleet);
        chain.get(usize::try_from(level).ok()?.checked_sub(1)?)
    }
}

/// After a failed webhook delivery, the next attempt waits this long (then gives up).
pub const WEBHOOK_RETRY_SECONDS: [i64; 5] = [1, 5, 30, 120, 600];

named_enum! {
    /// Where a webhook notification stands.
    DeliveryStatus {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
}

/// One webhook notification of an incident, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub level: u32,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

named_enum! {
    /// Where an incident is in its lifecycle.
    IncidentStatus {
        Triage => "triage",
        Investigating => "investigating",
        Mitigated => "mitigated",
        Resolved => "resolved",
        Closed => "closed",
        Cancelled => "cancelled",
    }
}

/// How long after resolving an incident may be reopened.
pub const REOPEN_WITHIN_DAYS: i64 = 7;

impl IncidentStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Triage => "Triage",
            Self::Investigating => "Investigating",
            Self::Mitigated => "Mitigated",
            Self::Resolved => "Resolved",
            Self::Closed => "Closed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Still being worked on: later alerts with its fingerprint attach to it.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Triage | Self::Investigating | Self::Mitigated)
    }

    /// The statuses reachable from this one in one step.
    pub fn next(self) -> &'static [IncidentStatus] {
        use IncidentStatus::*;
        match self {
            Triage => &[Investigating, Mitigated, Resolved, Cancelled],
            Investigating => &[Mitigated, Resolved, Cancelled],
            Mitigated => &[Investigating, Resolved],
            Resolved => &[Closed, Investigating],
            Closed | Cancelled => &[],
        }
    }

    /// The permission a move from this status to `to` needs: acknowledging and cancelling
    /// are triage; mitigating, resolving, reopening and closing are resolution.
    pub fn permission_to(self, to: IncidentStatus) -> Permission {
        match (self, to) {
            (_, IncidentStatus::Cancelled) | (IncidentStatus::Triage, IncidentStatus::Investigating) => {
                Permission::TriageIncidents
            }
            _ => Permission::ResolveIncidents,
        }
    }

    /// What the button for the move from this status to `to` says.
    pub fn action_label(self, to: IncidentStatus) -> &'static str {
        match (self, to) {
            (IncidentStatus::Triage, IncidentStatus::Investigating) => "Acknowledge",
            (_, IncidentStatus::Investigating) => "Reopen",
            (_, IncidentStatus::Mitigated) => "Mark mitigated",
            (_, IncidentStatus::Resolved) => "Resolve",
            (_, IncidentStatus::Closed) => "Close",
            (_, IncidentStatus::Cancelled) => "Cancel incident",
            (_, IncidentStatus::Triage) => "Back to triage",
        }
    }

    /// The moves `role` may make from this status.
    pub fn actions_for(self, role: Role) -> Vec<IncidentStatus> {
        self.next().iter().copied().filter(|to| role.can(self.permission_to(*to))).collect()
    }
}

/// Why a transition is refused, as the 409 says it.
pub fn illegal_transition_message(from: IncidentStatus, to: IncidentStatus) -> String {
    let allowed: Vec<&str> = from.next().iter().map(|status| status.as_str()).collect();
    if allowed.is_empty() {
        format!("the incident is {from}, which is final: it cannot move to {to}")
    } else {
        format!("an incident in {from} cannot move to {to}; from {from} it may move to: {}", allowed.join(", "))
    }
}

named_enum! {
    /// EU AI Act Art. 73 serious-incident categories, each with its reporting deadline.
    SeriousCategory {
        /// The death of a person: 10 days.
        Death => "death",
        /// A widespread infringement: 2 days.
        WidespreadInfringement => "widespread_infringement",
        /// A serious and irreversible disruption of critical infrastructure: 2 days.
        CriticalInfrastructure => "critical_infrastructure",
        /// Any other serious incident: 15 days.
        OtherSerious => "other_serious",
    }
}

impl SeriousCategory {
    pub fn deadline_days(self) -> i64 {
        match self {
            Self::Death => 10,
            Self::WidespreadInfringement | Self::CriticalInfrastructure => 2,
            Self::OtherSerious => 15,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Death => "Death of a person (10 days)",
            Self::WidespreadInfringement => "Widespread infringement (2 days)",
            Self::CriticalInfrastructure => "Critical infrastructure disruption (2 days)",
            Self::OtherSerious => "Other serious incident (15 days)",
        }
    }
}

/// The Art. 73 reporting deadline: the shortest of the categories' deadlines, counted
/// from when the team became aware.
pub fn reporting_deadline(aware_at: DateTime<Utc>, categories: &[SeriousCategory]) -> Option<DateTime<Utc>> {
    categories.iter().map(|category| category.deadline_days()).min().map(|days| aware_at + Duration::days(days))
}

/// An incident marked a serious incident under EU AI Act Art. 73.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriousIncident {
    pub categories: Vec<SeriousCategory>,
    /// When the team became aware: the deadline counts from here.
    pub aware_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// When the report was filed with the market surveillance authority; until then the
    /// model version is under an evidence hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<Utc>>,
}

named_enum! {
    /// Where an incident came from.
    IncidentSource {
        Manual => "manual",
        AlertRule => "alert_rule",
        Alertmanager => "alertmanager",
        PagerDuty => "pagerduty",
    }
}

/// One incident in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: String,
    /// Human-friendly number: INC-1, INC-2, …
    pub number: u64,
    pub title: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    /// The model's id; `None` for a fleet-wide incident.
    pub model: Option<ModelId>,
    /// The model's name, or the sender's model label for a model Keel does not know.
    pub model_name: Option<String>,
    pub version: Option<String>,
    pub source: IncidentSource,
    pub assignee: Option<String>,
    pub commander: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub acknowledge_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    /// Escalation levels notified because nobody acknowledged in time.
    pub escalation_level: u32,
}

/// `GET /api/notifications` item: an open incident assigned or escalated to the signed-in
/// user, unread when it changed since the user last opened it (or was never opened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    #[serde(flatten)]
    pub incident: IncidentSummary,
    pub unread: bool,
}

impl IncidentSummary {
    /// Whether the acknowledge deadline passed without an acknowledgement.
    pub fn acknowledge_breached(&self, now: DateTime<Utc>) -> bool {
        self.acknowledged_at.map_or(now > self.acknowledge_by, |at| at > self.acknowledge_by)
    }

    pub fn resolve_breached(&self, now: DateTime<Utc>) -> bool {
        self.resolved_at.map_or(now > self.resolve_by, |at| at > self.resolve_by)
    }
}

named_enum! {
    /// What a timeline entry records.
    TimelineKind {
        Opened => "opened",
        Status => "status",
        Field => "field",
        Comment => "comment",
        AlertFiring => "alert_firing",
        AlertResolved => "alert_resolved",
        RunbookStep => "runbook_step",
        Escalated => "escalated",
        Notification => "notification",
        Postmortem => "postmortem",
        SeriousIncident => "serious_incident",
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// A username, `system`, or the sending integration's name.
    pub actor: String,
    pub kind: TimelineKind,
    pub text: String,
}

/// An action item of a postmortem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    pub text: String,
    pub owner: String,
    pub due: Option<chrono::NaiveDate>,
}

/// What was learnt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postmortem {
    pub summary: String,
    pub impact: String,
    pub root_cause: String,
    #[serde(default)]
    pub contributing_factors: String,
    #[serde(default)]
    pub action_items: Vec<ActionItem>,
}

impl Postmortem {
    /// What must be filled in before it counts as written.
    pub fn missing(&self) -> Vec<&'static str> {
        [("summary", &self.summary), ("impact", &self.impact), ("root_cause", &self.root_cause)]
            .into_iter()
            .filter(|(_, text)| text.trim().is_empty())
            .map(|(name, _)| name)
            .collect()
    }
}

/// A runbook's checklist as the incident shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRunbook {
    pub id: String,
    pub title: String,
    pub body: String,
    /// The checklist steps, in order, and which are ticked.
    pub steps: Vec<RunbookStepState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookStepState {
    pub text: String,
    pub done: bool,
}

/// `GET /api/incidents/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentSummary,
    pub impact: String,
    pub fingerprint: String,
    pub timeline: Vec<TimelineEntry>,
    pub runbook: Option<IncidentRunbook>,
    pub postmortem: Option<Postmortem>,
    pub serious: Option<SeriousIncident>,
    /// The model's EU AI Act tier is high: Art. 73 applies.
    pub high_risk: bool,
    /// Escalation webhooks and their attempts.
    pub deliveries: Vec<WebhookDelivery>,
}

/// `GET /api/incidents` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

/// `GET /api/incidents`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentListResponse {
    pub items: Vec<IncidentSummary>,
    pub total: u64,
}

/// `POST /api/incidents`: an incident opened by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateIncidentRequest {
    pub title: String,
    pub severity: Severity,
    #[serde(default)]
    pub model: Option<ModelId>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub impact: String,
}

/// `PATCH /api/incidents/{id}`: the fields to change (absent: unchanged; `""` for an
/// assignee or commander clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateIncidentRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commander: Option<String>,
}

/// `POST /api/incidents/{id}/transitions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRequest {
    pub to: IncidentStatus,
}

/// `POST /api/incidents/{id}/comments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentRequest {
    pub text: String,
}

/// `POST /api/incidents/{id}/runbook-steps`: tick or untick step `step` (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookStepRequest {
    pub step: usize,
    pub done: bool,
}

/// `PUT /api/incidents/{id}/serious`: mark an incident of a high-risk model serious
/// (Art. 73), or record that its report was filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriousIncidentRequest {
    pub categories: Vec<SeriousCategory>,
    pub aware_at: DateTime<Utc>,
    #[serde(default)]
    pub reported_at: Option<DateTime<Utc>>,
}

/// `GET /api/incidents/stats`: mean time to acknowledge and to resolve, in seconds, over
/// incidents detected in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentStats {
    pub incidents: u64,
    pub open: u64,
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
}

/// `GET /api/incidents/stats` query: `from`/`to` (RFC 3339; default the last 30 days) and
/// an optional model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentStatsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The steps of a Markdown runbook: its task-list items (`- [ ] step`) in order, or, if
/// it has none, its list items.
pub fn runbook_steps(markdown: &str) -> Vec<String> {
    let items: Vec<(bool, String)> = markdown
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("- ").or_else(|| line.trim_start().strip_prefix("* "))?;
            let task = ["[ ] ", "[x] ", "[X] "].iter().find_map(|mark| rest.strip_prefix(mark));
            Some((task.is_some(), task.unwrap_or(rest).trim().to_owned()))
        })
        .collect();
    let has_tasks = items.iter().any(|(task, _)| *task);
    items.into_iter().filter(|(task, _)| *task || !has_tasks).map(|(_, text)| text).collect()
}

/// Whether a runbook link's target may be followed: web and mail links and paths of this
/// site; never `javascript:`, `data:` or another scheme.
pub fn safe_link_target(target: &str) -> bool {
    let lower = target.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || (lower.starts_with('/') && !lower.starts_with("//"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn closed_and_cancelled_are_final_and_every_open_status_can_be_resolved() {
        assert!(Closed.next().is_empty());
        assert!(Cancelled.next().is_empty());
        for status in [Triage, Investigating, Mitigated] {
            assert!(status.next().contains(&Resolved), "{status}");
        }
        assert_eq!(Resolved.next(), &[Closed, Investigating]);
    }

    #[test]
    fn the_refusal_names_the_allowed_moves() {
        assert_eq!(
            illegal_transition_message(Triage, Closed),
            "an incident in triage cannot move to closed; from triage it may move to: investigating, mitigated, resolved, cancelled"
        );
        assert!(illegal_transition_message(Closed, Triage).contains("final"));
    }

    #[test]
    fn only_engineers_and_admins_act_on_incidents() {
        for role in [Role::Viewer, Role::Approver] {
            assert!(Triage.actions_for(role).is_empty(), "{role:?}");
        }
        assert_eq!(Triage.actions_for(Role::Engineer), Triage.next());
        assert_eq!(Triage.action_label(Investigating), "Acknowledge");
    }

    #[test]
    fn severities_raise_by_one_and_map_from_senders() {
        assert_eq!(Severity::Sev3.raised(), Severity::Sev2);
        assert_eq!(Severity::Sev1.raised(), Severity::Sev1);
        assert_eq!(Severity::from_pagerduty("critical"), Severity::Sev1);
        assert_eq!(Severity::from_pagerduty("error"), Severity::Sev2);
        assert_eq!(Severity::from_pagerduty("warning"), Severity::Sev3);
        assert_eq!(Severity::from_pagerduty("info"), Severity::Sev4);
        assert_eq!(Severity::from_alertmanager(Some("critical")), Severity::Sev1);
        assert_eq!(Severity::from_alertmanager(None), Severity::Sev3);
        assert_eq!(Severity::Sev1.default_sla(), Sla { acknowledge_seconds: 300, resolve_seconds: 4 * 3600 });
        assert_eq!(Severity::Sev4.default_sla().resolve_seconds, 14 * 86_400);
    }

    #[test]
    fn the_default_sla_policy_is_valid_and_a_worse_severity_never_gets_more_time() {
        assert!(SlaPolicy::default().problems().is_empty());
        let mut policy = SlaPolicy::default();
        policy.sev1.acknowledge_seconds = 7_200;
        let problems = policy.problems();
        assert!(problems.iter().any(|(field, _)| field == "sev1"), "{problems:?}");
        policy = SlaPolicy::default();
        policy.sev3.resolve_seconds = 0;
        assert!(policy.problems().iter().any(|(field, _)| field == "sev3.resolve_seconds"));
    }

    #[test]
    fn a_model_s_own_chain_wins_over_the_fleet_s() {
        let level = |user: &str| EscalationLevel { users: vec![user.into()], webhook_url: None };
        let mut chains = EscalationChains { fleet: vec![level("ops"), level("head")], ..EscalationChains::default() };
        chains.models.insert("m1".into(), vec![level("credit-team")]);
        assert_eq!(
            chains.level(Some(&ModelId("m1".into())), 1).map(|level| level.users[0].as_str()),
            Some("credit-team")
        );
        assert_eq!(chains.level(Some(&ModelId("m1".into())), 2), None);
        assert_eq!(chains.level(Some(&ModelId("m2".into())), 2).map(|level| level.users[0].as_str()), Some("head"));
        assert_eq!(chains.level(None, 0), None);
    }

    #[test]
    fn the_shortest_art_73_deadline_counts_from_awareness() {
        let aware = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").expect("a time").to_utc();
        let days = |categories: &[SeriousCategory]| {
            (reporting_deadline(aware, categories).expect("a deadline") - aware).num_days()
        };
        assert_eq!(days(&[SeriousCategory::Death]), 10);
        assert_eq!(days(&[SeriousCategory::OtherSerious]), 15);
        assert_eq!(days(&[SeriousCategory::WidespreadInfringement]), 2);
        assert_eq!(days(&[SeriousCategory::CriticalInfrastructure]), 2);
        assert_eq!(days(&[SeriousCategory::Death, SeriousCategory::CriticalInfrastructure]), 2);
        assert_eq!(reporting_deadline(aware, &[]), None);
    }

    #[test]
    fn only_web_mail_and_local_links_are_followed() {
        for safe in ["https://wiki/x", "http://a", "mailto:ops@example.com", "/models/1"] {
            assert!(safe_link_target(safe), "{safe}");
        }
        for target in
            ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil.example", "vbscript:x"]
        {
            assert!(!safe_link_target(target), "{target}");
        }
    }

    #[test]
    fn runbook_steps_are_the_task_list_items() {
        let markdown = "# Drift\nCheck first.\n- [ ] Open the drift page\n- [x] Compare with the reference\n* note\n";
        assert_eq!(runbook_steps(markdown), ["Open the drift page", "Compare with the reference"]);
        assert_eq!(runbook_steps("- one\n- two"), ["one", "two"]);
    }
}
