//! What stakeholders read: the stakeholder page (models in production with their health,
//! incidents, approvals, KPI lights and ROI) and the monthly governance report, which can
//! be frozen so that what the board saw can be shown again unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelId;
use crate::changes::{ChangeKind, ChangeStatus, RiskLevel};
use crate::health::HealthStatus;
use crate::incidents::{IncidentStatus, Severity};
use crate::kpis::{KpiStatus, KpiUnit, KpiValue};
use crate::ledger::{MonthFigures, NetValueRange, ReportCurrency, RoiFigures, YearMonth, default_currency};
use crate::models::RiskTier;

named_enum! {
    /// The language a report is written in.
    ReportLanguage {
        English => "en",
        Czech => "cs",
    }
}

/// `GET /api/stakeholder` and `GET /api/reports/governance` query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StakeholderQuery {
    #[serde(default = "default_currency")]
    pub currency: ReportCurrency,
    /// The time range in months back from now: incidents and changes within it, the chart.
    #[serde(default = "default_months")]
    pub months: u32,
}

fn default_months() -> u32 {
    12
}

impl Default for StakeholderQuery {
    fn default() -> Self {
        Self { currency: default_currency(), months: default_months() }
    }
}

/// The headline figures of a ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoiSummary {
    pub total_cost: f64,
    pub total_benefit: f64,
    pub net_value: f64,
    pub roi: Option<f64>,
    pub payback_months: Option<f64>,
    pub planned_payback_months: Option<f64>,
    pub months_covered: u32,
}

impl From<&RoiFigures> for RoiSummary {
    fn from(figures: &RoiFigures) -> Self {
        Self {
            total_cost: figures.total_cost,
            total_benefit: figures.total_benefit,
            net_value: figures.net_value,
            roi: figures.roi,
            payback_months: figures.payback_months,
            planned_payback_months: figures.planned_payback_months,
            months_covered: figures.months_covered,
        }
    }
}

/// A KPI's traffic light.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiLight {
    /// The KPI's id; empty for a programme's sum of its models' KPIs.
    pub id: String,
    pub name: String,
    pub unit: KpiUnit,
    pub status: KpiStatus,
    pub latest: Option<KpiValue>,
    pub planned_now: f64,
    pub target: f64,
    /// For a programme's sum (`kpis::programme_sum`): how many models' KPIs it adds up.
    #[serde(default)]
    pub models_summed: u32,
}

/// One model on the stakeholder page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelValue {
    pub model_id: ModelId,
    pub name: String,
    pub risk_tier: RiskTier,
    pub production_version: Option<String>,
    pub health: Option<HealthStatus>,
    pub open_incidents: u32,
    /// Open incidents past their acknowledge or resolve deadline.
    pub sla_breaches: u32,
    /// Submitted changes waiting for approval.
    pub approvals_waiting: u32,
    pub kpis: Vec<KpiLight>,
    /// `None` without a ledger.
    pub roi: Option<RoiSummary>,
    /// Why the figures cannot be shown in this currency, if so.
    pub roi_problem: Option<String>,
}

/// A programme (or the whole fleet) on the stakeholder page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgrammeValue {
    pub name: String,
    pub models: Vec<ModelId>,
    pub roi: Option<RoiSummary>,
    pub range: Option<NetValueRange>,
    pub problem: Option<String>,
    /// Cumulative net value per month, for the chart.
    pub months: Vec<MonthFigures>,
    /// The programme's own KPIs, then the sums of its models' KPIs that add up.
    #[serde(default)]
    pub kpis: Vec<KpiLight>,
}

/// `GET /api/stakeholder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StakeholderView {
    pub currency: ReportCurrency,
    pub months: u32,
    pub generated_at: DateTime<Utc>,
    pub models: Vec<ModelValue>,
    pub programmes: Vec<ProgrammeValue>,
    pub fleet: ProgrammeValue,
    pub open_incidents: u32,
    pub sla_breaches: u32,
    pub approvals_waiting: u32,
}

/// A change in the report's month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportChange {
    pub number: u64,
    pub title: String,
    pub model_name: String,
    pub kind: ChangeKind,
    pub status: ChangeStatus,
    pub risk: RiskLevel,
    pub approved_by: Vec<String>,
    pub implemented_at: Option<DateTime<Utc>>,
}

/// An incident in the report's month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportIncident {
    pub number: u64,
    pub title: String,
    pub model_name: Option<String>,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub detected_at: DateTime<Utc>,
    pub acknowledge_seconds: Option<f64>,
    pub resolve_seconds: Option<f64>,
    /// The EU AI Act Art. 73 reporting deadline of a serious incident.
    pub art73_deadline: Option<DateTime<Utc>>,
    pub art73_reported_at: Option<DateTime<Utc>>,
}

/// A model in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportModel {
    pub name: String,
    pub risk_tier: RiskTier,
    pub production_version: Option<String>,
    pub health: Option<HealthStatus>,
    pub kpis: Vec<KpiLight>,
    pub roi: Option<RoiSummary>,
}

/// `GET /api/reports/governance?month=YYYY-MM`: the monthly governance report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GovernanceReport {
    pub month: YearMonth,
    pub language: ReportLanguage,
    pub currency: ReportCurrency,
    pub generated_at: DateTime<Utc>,
    pub models: Vec<ReportModel>,
    pub changes: Vec<ReportChange>,
    pub incidents: Vec<ReportIncident>,
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    pub programme: ProgrammeValue,
}

/// `GET /api/reports/governance` query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Default: the previous month.
    #[serde(default)]
    pub month: Option<YearMonth>,
    #[serde(default = "default_language")]
    pub language: ReportLanguage,
    #[serde(default = "default_currency")]
    pub currency: ReportCurrency,
}

fn default_language() -> ReportLanguage {
    ReportLanguage::English
}

/// A frozen report: the report as the board saw it, its digest (SHA-256 of the stored
/// JSON) and who froze it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenReport {
    pub id: String,
    pub month: String,
    pub language: ReportLanguage,
    pub digest: String,
    pub frozen_at: DateTime<Utc>,
    pub frozen_by: String,
    /// Absent in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<GovernanceReport>,
}
