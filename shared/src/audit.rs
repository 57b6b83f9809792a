//! The audit trail: what changed, who changed it, and proof that the record is intact.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

named_enum! {
    /// What an audit entry records.
    AuditAction {
        ModelCreate => "model.create",
        ModelUpdate => "model.update",
        ModelHealthThresholds => "model.health_thresholds",
        ModelMonitoringSettings => "model.monitoring_settings",
        ModelReference => "model.reference",
        VersionCreate => "version.create",
        /// A version moved from one stage to another.
        VersionStage => "version.stage",
        /// A drift evaluation ran (on demand or on schedule) and was stored.
        DriftEvaluate => "drift.evaluate",
        UserCreate => "user.create",
        UserDeactivate => "user.deactivate",
        UserReactivate => "user.reactivate",
        /// A user changed their own password.
        UserPassword => "user.password",
        SessionLogin => "session.login",
        SessionLoginFailed => "session.login_failed",
        SessionLogout => "session.logout",
        TokenCreate => "token.create",
        TokenRevoke => "token.revoke",
        IncidentOpen => "incident.open",
        IncidentUpdate => "incident.update",
        /// An incident moved along its lifecycle.
        IncidentTransition => "incident.transition",
        IncidentPostmortem => "incident.postmortem",
        AlertRuleCreate => "alert_rule.create",
        AlertRuleUpdate => "alert_rule.update",
        SilenceCreate => "silence.create",
        SilenceExpire => "silence.expire",
        RunbookSave => "runbook.save",
        SlaUpdate => "sla.update",
        EscalationUpdate => "escalation.update",
        IntegrationCreate => "integration.create",
        IntegrationRevoke => "integration.revoke",
        ChangeCreate => "change.create",
        ChangeUpdate => "change.update",
        ChangeTransition => "change.transition",
        ChangeApproval => "change.approval",
        ChangeVoidApprovals => "change.void_approvals",
        ChangePolicy => "change.policy",
        FreezeWindows => "change.freeze_windows",
        EvidenceTests => "evidence.tests",
        FairnessReview => "evidence.fairness",
        FairnessSignOff => "evidence.fairness_sign_off",
        FairnessThresholds => "evidence.fairness_thresholds",
        ModelCardSave => "evidence.model_card",
        ReadinessAttest => "evidence.readiness",
        DeploymentObserved => "change.deployment_observed",
        KpiCreate => "kpi.create",
        KpiValues => "kpi.values",
        LedgerReplace => "ledger.replace",
        /// The cost of a minute of an incident's downtime was set for a model.
        IncidentCost => "ledger.incident_cost",
        ExchangeRatesImport => "exchange_rates.import",
        ProgrammeSave => "programme.save",
        /// A governance report was frozen: its digest is in the entry.
        ReportFreeze => "report.freeze",
    }
}

named_enum! {
    /// The kind of thing an audit entry is about.
    AuditTarget {
        Model => "model",
        ModelVersion => "model_version",
        DriftRun => "drift_run",
        User => "user",
        ApiToken => "api_token",
        Incident => "incident",
        AlertRule => "alert_rule",
        Silence => "silence",
        Runbook => "runbook",
        Settings => "settings",
        Integration => "integration",
        Change => "change",
        Kpi => "kpi",
        Ledger => "ledger",
        Programme => "programme",
        Report => "report",
    }
}

/// One field's value before and after a change (`None`: it did not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Field name → its change.
pub type Changes = BTreeMap<String, FieldChange>;

/// One entry of the append-only, hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Who did it: a username, or `system` for Keel itself.
    pub actor: String,
    /// What was done.
    pub action: AuditAction,
    /// The kind of thing changed.
    pub target_type: AuditTarget,
    pub target_id: String,
    pub changes: Changes,
    /// Hash of the entry before (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of this entry's canonical encoding.
    pub hash: String,
}

/// `GET /api/audit` query; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<AuditAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<AuditTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}

/// `GET /api/audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditListResponse {
    pub items: Vec<AuditEntry>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// `GET /api/audit/verify`: the chain recomputed from the first entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerifyResponse {
    /// True when every entry's hash and link are as written.
    pub intact: bool,
    /// Entries checked.
    pub checked: u64,
    /// The first entry that does not match, if any.
    pub first_broken: Option<BrokenEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenEntry {
    /// The sequence number where the chain breaks.
    pub seq: u64,
    /// What is wrong there, e.g. "its content does not match its hash".
    pub reason: String,
}
