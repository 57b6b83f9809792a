//! Alert rules: which signal a rule watches, its condition with hysteresis, its scope, its
//! pending and keep-firing periods, and the states a rule is in for each model.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelId;
use crate::incidents::Severity;
use crate::models::{RiskTier, Stage};

named_enum! {
    /// How a metric's points over the window become one value.
    Aggregation {
        Avg => "avg",
        Min => "min",
        Max => "max",
        P50 => "p50",
        P95 => "p95",
        P99 => "p99",
        Count => "count",
        /// Points per second over the window.
        Rate => "rate",
    }
}

/// What a rule watches: one signal Keel already holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A telemetry metric aggregated over the last `window_minutes`.
    Metric { metric: String, aggregation: Aggregation, window_minutes: u32 },
    /// The model's health status as a number: 0 healthy, 1 degraded, 2 critical (no data
    /// is no data).
    Health,
    /// The latest drift evaluation's dataset verdict: 1 drifted, 0 not.
    DatasetDrift,
    /// The share of compared features that drifted in the latest evaluation.
    DriftedShare,
    /// One feature's drift score in the latest evaluation.
    FeatureDrift { feature: String },
    /// One feature's share of missing values in the latest evaluation's window.
    MissingShare { feature: String },
    /// Minutes since the newest telemetry point.
    Freshness,
    /// The number of performance metrics worse than the reference's beyond its tolerance.
    Performance,
}

impl Signal {
    pub fn describe(&self) -> String {
        match self {
            Self::Metric { metric, aggregation, window_minutes } => {
                format!("{aggregation}({metric}) over {window_minutes} min")
            }
            Self::Health => "health status (0 healthy, 1 degraded, 2 critical)".into(),
            Self::DatasetDrift => "dataset drift (1 drifted)".into(),
            Self::DriftedShare => "share of drifted features".into(),
            Self::FeatureDrift { feature } => format!("drift score of {feature}"),
            Self::MissingShare { feature } => format!("missing share of {feature}"),
            Self::Freshness => "minutes since the newest point".into(),
            Self::Performance => "performance metrics worse than the reference".into(),
        }
    }

    /// Signals read from drift evaluations, which may have too few rows to judge.
    pub fn from_drift(&self) -> bool {
        matches!(self, Self::DatasetDrift | Self::DriftedShare | Self::FeatureDrift { .. } | Self::MissingShare { .. })
    }
}

/// When a value breaches, and when it has recovered: a separate recovery threshold keeps a
/// value hovering at the line from flapping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Condition {
    /// Breaches above `threshold`; recovered at or below `recovery` (default: the threshold).
    Above { threshold: f64, recovery: Option<f64> },
    /// Breaches below `threshold`; recovered at or above `recovery`.
    Below { threshold: f64, recovery: Option<f64> },
    /// Breaches outside `[low, high]`; recovered back inside it.
    Outside { low: f64, high: f64 },
}

impl Condition {
    pub fn breached(self, value: f64) -> bool {
        match self {
            Self::Above { threshold, .. } => value > threshold,
            Self::Below { threshold, .. } => value < threshold,
            Self::Outside { low, high } => value < low || value > high,
        }
    }

    pub fn recovered(self, value: f64) -> bool {
        match self {
            Self::Above { threshold, recovery } => value <= recovery.unwrap_or(threshold),
            Self::Below { threshold, recovery } => value >= recovery.unwrap_or(threshold),
            Self::Outside { low, high } => (low..=high).contains(&value),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Self::Above { threshold, recovery } => match recovery {
                Some(recovery) => format!("above {threshold} (recovers at {recovery})"),
                None => format!("above {threshold}"),
            },
            Self::Below { threshold, recovery } => match recovery {
                Some(recovery) => format!("below {threshold} (recovers at {recovery})"),
                None => format!("below {threshold}"),
            },
            Self::Outside { low, high } => format!("outside {low} … {high}"),
        }
    }

    /// What is wrong with it, if anything.
    pub fn problem(self) -> Option<&'static str> {
        let finite = |values: &[f64]| values.iter().all(|value| value.is_finite());
        match self {
            Self::Above { threshold, recovery } => {
                if !finite(&[threshold, recovery.unwrap_or(threshold)]) {
                    Some("thresholds must be finite numbers")
                } else if recovery.is_some_and(|recovery| recovery > threshold) {
                    Some("the recovery threshold of an 'above' rule must not be above its threshold")
                } else {
                    None
                }
            }
            Self::Below { threshold, recovery } => {
                if !finite(&[threshold, recovery.unwrap_or(threshold)]) {
                    Some("thresholds must be finite numbers")
                } else if recovery.is_some_and(|recovery| recovery < threshold) {
                    Some("the recovery threshold of a 'below' rule must not be below its threshold")
                } else {
                    None
                }
            }
            Self::Outside { low, high } => {
                if !finite(&[low, high]) {
                    Some("thresholds must be finite numbers")
                } else if low > high {
                    Some("the band's low end must not be above its high end")
                } else {
                    None
                }
            }
        }
    }
}

/// Which models a rule covers: one model, or every model matching all the given filters
/// (a model registered later is covered at once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_tier: Option<RiskTier>,
    /// Models with a version in this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// `*` matches any run of characters, e.g. `credit-*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_pattern: Option<String>,
}

impl RuleScope {
    /// Whether a model with this id, name, tier and stages is covered.
    pub fn covers(&self, id: &ModelId, name: &str, tier: RiskTier, stages: &[Stage]) -> bool {
        self.model.as_ref().is_none_or(|model| model == id)
            && self.risk_tier.is_none_or(|wanted| wanted == tier)
            && self.stage.is_none_or(|wanted| stages.contains(&wanted))
            && self.name_pattern.as_deref().is_none_or(|pattern| glob_matches(pattern, name))
    }
}

/// `*` as any run of characters; everything else literal.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

named_enum! {
    /// What a rule does when its window holds no points.
    NoDataPolicy {
        /// Fire, as a breach would.
        Alert => "alert",
        /// Stay in the state it was in.
        KeepState => "keep_state",
        /// Count it as normal.
        Ok => "ok",
    }
}

named_enum! {
    /// A rule's state for one model.
    AlertState {
        Normal => "normal",
        /// Breaching, for less than the rule's `for`.
        Pending => "pending",
        Firing => "firing",
        /// Recovered, for less than the rule's `keep_firing_for`.
        Recovering => "recovering",
        NoData => "no_data",
        /// A drift rule whose latest evaluation had fewer rows than its minimum.
        InsufficientData => "insufficient_data",
    }
}

impl AlertState {
    /// Whether an incident is (or would be) open for it.
    pub fn is_firing(self) -> bool {
        matches!(self, Self::Firing | Self::Recovering)
    }
}

/// A rule as created or replaced (`POST /api/alert-rules`, `PUT /api/alert-rules/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scope: RuleScope,
    pub signal: Signal,
    pub condition: Condition,
    /// Seconds a breach must last before the rule fires.
    #[serde(default)]
    pub for_seconds: u32,
    /// Seconds a recovered value must stay recovered before the rule stops firing.
    #[serde(default)]
    pub keep_firing_for_seconds: u32,
    pub severity: Severity,
    #[serde(default = "default_no_data")]
    pub no_data: NoDataPolicy,
    /// Drift rules: fewer rows than this in the evaluation's window is insufficient data.
    #[serde(default = "default_min_rows")]
    pub min_rows: u32,
    /// The runbook an incident of this rule shows.
    #[serde(default)]
    pub runbook: Option<String>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_no_data() -> NoDataPolicy {
    NoDataPolicy::KeepState
}

fn default_min_rows() -> u32 {
    30
}

fn default_enabled() -> bool {
    true
}

impl AlertRuleSpec {
    /// Field → problem, as a 422 lists them.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            problems.push(("name", "give the rule a name of 1 to 120 characters".to_owned()));
        }
        if let Some(problem) = self.condition.problem() {
            problems.push(("condition", problem.to_owned()));
        }
        match &self.signal {
            Signal::Metric { metric, window_minutes, .. } => {
                if metric.trim().is_empty() {
                    problems.push(("signal.metric", "name the metric to watch".to_owned()));
                }
                if !(1..=1440).contains(window_minutes) {
                    problems.push(("signal.window_minutes", "the window is 1 to 1440 minutes".to_owned()));
                }
            }
            Signal::FeatureDrift { feature } | Signal::MissingShare { feature } if feature.trim().is_empty() => {
                problems.push(("signal.feature", "name the feature to watch".to_owned()));
            }
            _ => {}
        }
        if self.for_seconds > 7 * 86_400 || self.keep_firing_for_seconds > 7 * 86_400 {
            problems.push(("for_seconds", "pending and keep-firing periods are at most 7 days".to_owned()));
        }
        problems
    }
}

/// `GET /api/alert-rules` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: String,
    #[serde(flatten)]
    pub spec: AlertRuleSpec,
    /// One of the default rules every model gets.
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many models the rule is firing for now.
    pub firing: u32,
}

/// One model's state under a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInstance {
    pub rule_id: String,
    pub model: ModelId,
    pub model_name: String,
    pub state: AlertState,
    pub since: DateTime<Utc>,
    pub value: Option<f64>,
}

/// One state change of a rule for a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub at: DateTime<Utc>,
    pub rule_id: String,
    pub rule_name: String,
    pub model: ModelId,
    pub model_name: String,
    pub from: AlertState,
    pub to: AlertState,
    pub value: Option<f64>,
    /// The firing was silenced: recorded, but it opened nothing.
    pub silenced: bool,
}

/// `GET /api/alert-rules/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleDetail {
    pub rule: AlertRule,
    pub instances: Vec<RuleInstance>,
    pub history: Vec<AlertHistoryEntry>,
}

/// `POST /api/alert-rules/preview`: what the rule would say for each model it covers now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulePreview {
    pub model: ModelId,
    pub model_name: String,
    pub value: Option<f64>,
    /// `breached`, `recovered` (inside the recovery line), `between` (hysteresis band),
    /// `no_data` or `insufficient_data`.
    pub verdict: String,
}

/// A silence: firings matching all its matchers between `starts_at` and `ends_at` are
/// recorded but open nothing and notify nobody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceSpec {
    #[serde(default)]
    pub model: Option<ModelId>,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Label name → value that the alert's labels must hold (inbound alerts).
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

impl SilenceSpec {
    /// Whether it silences a firing of `rule` for `model` with `severity` and `labels` at `at`.
    pub fn matches(
        &self,
        model: Option<&ModelId>,
        rule: Option<&str>,
        severity: Severity,
        labels: &std::collections::BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> bool {
        (self.starts_at..self.ends_at).contains(&at)
            && self.model.as_ref().is_none_or(|wanted| Some(wanted) == model)
            && self.rule.as_deref().is_none_or(|wanted| Some(wanted) == rule)
            && self.severity.is_none_or(|wanted| wanted == severity)
            && self.labels.iter().all(|(name, value)| labels.get(name) == Some(value))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    #[serde(flatten)]
    pub spec: SilenceSpec,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

named_enum! {
    /// What kind of sender an integration key is for.
    IntegrationKind {
        Alertmanager => "alertmanager",
        PagerDuty => "pagerduty",
    }
}

/// `POST /api/integrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateIntegrationRequest {
    pub name: String,
    pub kind: IntegrationKind,
    /// The model its events are about; `None`: the fleet (the model from the event).
    #[serde(default)]
    pub model: Option<ModelId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub id: String,
    pub name: String,
    pub kind: IntegrationKind,
    pub model: Option<ModelId>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The answer to `POST /api/integrations`: the key is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedIntegration {
    pub integration: Integration,
    pub key: String,
}

/// A Markdown runbook, shown on incidents of the rules, models or severities it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookSpec {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub model: Option<ModelId>,
    #[serde(default)]
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runbook {
    pub id: String,
    #[serde(flatten)]
    pub spec: RunbookSpec,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_leaves_a_band_that_is_neither_breached_nor_recovered() {
        let condition = Condition::Above { threshold: 0.1, recovery: Some(0.05) };
        assert!(condition.breached(0.11));
        assert!(!condition.breached(0.08) && !condition.recovered(0.08));
        assert!(condition.recovered(0.05));
        let band = Condition::Outside { low: 1.0, high: 2.0 };
        assert!(band.breached(0.5) && band.breached(2.5) && band.recovered(1.5));
        assert!(Condition::Above { threshold: 1.0, recovery: Some(2.0) }.problem().is_some());
    }

    #[test]
    fn a_fleet_scope_covers_models_by_tier_stage_and_name() {
        let id = ModelId("m".into());
        let scope = RuleScope { name_pattern: Some("credit-*".into()), ..RuleScope::default() };
        assert!(scope.covers(&id, "credit-risk", RiskTier::High, &[]));
        assert!(!scope.covers(&id, "churn", RiskTier::High, &[]));
        let scope =
            RuleScope { risk_tier: Some(RiskTier::High), stage: Some(Stage::Production), ..RuleScope::default() };
        assert!(scope.covers(&id, "x", RiskTier::High, &[Stage::Production]));
        assert!(!scope.covers(&id, "x", RiskTier::High, &[Stage::Staging]));
        assert!(RuleScope::default().covers(&id, "anything", RiskTier::Minimal, &[]));
    }

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*c*e", "abcde"));
        assert!(!glob_matches("a*c*e", "abde"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("ab*ba", "aba"));
    }
}
