//! The evidence a promotion to production is gated on: test results, fairness reviews,
//! model cards and readiness assessments, and the checklist item each becomes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

named_enum! {
    /// One gate of a promotion to production.
    EvidenceKind {
        /// The candidate's validation metrics against the production version's live ones.
        Validation => "validation",
        /// JUnit XML from CI.
        Tests => "tests",
        Fairness => "fairness",
        ModelCard => "model_card",
        /// The candidate's reference against current production traffic.
        Drift => "drift",
        Readiness => "readiness",
    }
}

impl EvidenceKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Validation => "Validation metrics vs production",
            Self::Tests => "Test results",
            Self::Fairness => "Fairness review",
            Self::ModelCard => "Model card",
            Self::Drift => "Reference vs production traffic",
            Self::Readiness => "Readiness assessment",
        }
    }

    /// Who can provide it, as the blocked approval says.
    pub fn provider(self) -> &'static str {
        match self {
            Self::Validation => "an engineer, by uploading the candidate's reference with labels",
            Self::Tests => "CI, with an evidence-scoped token: PUT /api/models/{id}/versions/{tag}/evidence/junit",
            Self::Fairness => "an engineer uploads the evaluation set; an approver signs the review off",
            Self::ModelCard => "an engineer, on the version's model card page",
            Self::Drift => "an engineer, by uploading a reference that matches production traffic",
            Self::Readiness => "an engineer or approver, by attesting the open items on the readiness page",
        }
    }
}

named_enum! {
    EvidenceStatus {
        Pass => "pass",
        Fail => "fail",
        Missing => "missing",
    }
}

/// One gate with its value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub kind: EvidenceKind,
    pub status: EvidenceStatus,
    /// What was found, in a sentence.
    pub value: String,
    /// Where it came from (an upload, a reference, a drift comparison).
    pub source: String,
    /// Who can provide or fix it.
    pub provider: String,
}

/// What a JUnit XML report said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResults {
    pub tests: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
    /// Names of the failed or erroring test cases (at most 20).
    pub failed: Vec<String>,
    pub uploaded_at: DateTime<Utc>,
    pub uploaded_by: String,
}

impl TestResults {
    pub fn passed(&self) -> bool {
        self.tests > 0 && self.failures == 0 && self.errors == 0
    }
}

/// One group's rates, named as Fairlearn names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    pub group: String,
    pub count: u64,
    pub selection_rate: f64,
    pub true_positive_rate: f64,
    pub false_positive_rate: f64,
}

/// One protected attribute's metrics, with Fairlearn 0.15's definitions
/// (`method="between_groups"`, `agg="worst_case"`). A ratio is `None` where Fairlearn's is
/// NaN (every group's rate is 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeFairness {
    pub attribute: String,
    pub groups: Vec<GroupRates>,
    pub demographic_parity_difference: f64,
    pub demographic_parity_ratio: Option<f64>,
    pub equalized_odds_difference: f64,
    pub equalized_odds_ratio: Option<f64>,
    pub equal_opportunity_difference: f64,
    /// The lowest group selection rate is under four fifths of the highest.
    #[serde(default)]
    pub four_fifths_violated: bool,
    /// Each threshold this attribute breaks, in a sentence.
    #[serde(default)]
    pub breaches: Vec<String>,
}

/// The limits a model's fairness review is judged against (`PUT …/fairness-thresholds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessThresholds {
    pub max_demographic_parity_difference: f64,
    pub max_equalized_odds_difference: f64,
    /// The four-fifths rule: 0.8.
    pub min_demographic_parity_ratio: f64,
}

impl Default for FairnessThresholds {
    fn default() -> Self {
        Self {
            max_demographic_parity_difference: 0.1,
            max_equalized_odds_difference: 0.1,
            min_demographic_parity_ratio: 0.8,
        }
    }
}

impl FairnessThresholds {
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (field, value) in [
            ("max_demographic_parity_difference", self.max_demographic_parity_difference),
            ("max_equalized_odds_difference", self.max_equalized_odds_difference),
            ("min_demographic_parity_ratio", self.min_demographic_parity_ratio),
        ] {
            if !(0.0..=1.0).contains(&value) {
                problems.push((field.to_owned(), "must be between 0 and 1".to_owned()));
            }
        }
        problems
    }
}

/// A reviewer's sign-off of a fairness review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    pub reviewer: String,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// `PUT /api/models/{id}/versions/{tag}/fairness`: the review of one evaluation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReview {
    pub model_id: crate::ModelId,
    pub version: String,
    pub rows: u64,
    pub truth: String,
    pub prediction: String,
    pub attributes: Vec<AttributeFairness>,
    pub thresholds: FairnessThresholds,
    /// No attribute breaks a threshold.
    pub passed: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub sign_off: Option<SignOff>,
}

/// `POST …/fairness/sign-off`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOffRequest {
    pub comment: String,
}

/// `PUT …/fairness` query: which columns are what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairnessQuery {
    pub truth: String,
    pub prediction: String,
    /// Comma-separated protected attributes.
    pub attributes: String,
}

/// The judged sections of a model card (Mitchell et al., "Model Cards for Model Reporting").
pub const MODEL_CARD_SECTIONS: [(&str, &str); 9] = [
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats_and_recommendations", "Caveats and recommendations"),
];

/// EU AI Act Annex IV technical documentation headings, each with the card sections that
/// cover it.
pub const ANNEX_IV_HEADINGS: [(&str, &[&str]); 7] = [
    ("1. General description of the AI system", &["model_details", "intended_use"]),
    ("2. Elements of the system and its development process", &["training_data", "model_details"]),
    ("3. Monitoring, functioning and control", &["metrics", "caveats_and_recommendations"]),
    ("4. Appropriateness of the performance metrics", &["metrics", "quantitative_analyses"]),
    ("5. Risk management system (Art. 9)", &["ethical_considerations", "factors"]),
    ("6. Changes through the lifecycle", &["caveats_and_recommendations"]),
    ("7. Data and data governance (Art. 10)", &["training_data", "evaluation_data"]),
];

/// A version's model card: Markdown per section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub sections: BTreeMap<String, String>,
}

impl ModelCard {
    /// The sections with no text.
    pub fn missing(&self) -> Vec<&'static str> {
        MODEL_CARD_SECTIONS
            .iter()
            .filter(|(key, _)| self.sections.get(*key).is_none_or(|text| text.trim().is_empty()))
            .map(|(_, label)| *label)
            .collect()
    }

    /// Unknown section names.
    pub fn unknown_sections(&self) -> Vec<String> {
        self.sections.keys().filter(|key| !MODEL_CARD_SECTIONS.iter().any(|(known, _)| known == key)).cloned().collect()
    }

    /// Annex IV headings, each with whether the card covers it.
    pub fn annex_iv(&self) -> Vec<AnnexIvHeading> {
        ANNEX_IV_HEADINGS
            .iter()
            .map(|(heading, sections)| AnnexIvHeading {
                heading: (*heading).to_owned(),
                covered: sections.iter().all(|key| self.sections.get(*key).is_some_and(|text| !text.trim().is_empty())),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnexIvHeading {
    pub heading: String,
    pub covered: bool,
}

/// `GET …/model-card`: the stored card, or one pre-filled from what Keel knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCardResponse {
    pub card: ModelCard,
    /// False when nothing is stored yet and the card is Keel's draft.
    pub saved: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    pub missing: Vec<String>,
    /// For a model in the high-risk tier: the Annex IV headings and which are covered.
    pub annex_iv: Vec<AnnexIvHeading>,
}

named_enum! {
    /// The four gaps of moving a pilot to production, and governance.
    ReadinessSection {
        DataInfrastructure => "data_infrastructure",
        ModelOperations => "model_operations",
        Monitoring => "monitoring",
        TeamHandover => "team_handover",
        Governance => "governance",
    }
}

impl ReadinessSection {
    pub fn label(self) -> &'static str {
        match self {
            Self::DataInfrastructure => "Data infrastructure",
            Self::ModelOperations => "Model operations",
            Self::Monitoring => "Monitoring and observability",
            Self::TeamHandover => "Team handover",
            Self::Governance => "Governance",
        }
    }
}

/// Every readiness item: (key, section, what it asks, whether Keel checks it itself).
pub const READINESS_ITEMS: [(&str, ReadinessSection, &str, bool); 15] = [
    ("telemetry_arriving", ReadinessSection::DataInfrastructure, "Telemetry arrives from the serving system", true),
    ("reference_uploaded", ReadinessSection::DataInfrastructure, "A reference dataset is uploaded", true),
    (
        "data_pipeline_documented",
        ReadinessSection::DataInfrastructure,
        "Feature pipelines are documented and owned",
        false,
    ),
    ("rollback_target", ReadinessSection::ModelOperations, "A rollback target is registered", true),
    ("deployment_automated", ReadinessSection::ModelOperations, "Deployment is automated and repeatable", false),
    ("training_reproducible", ReadinessSection::ModelOperations, "Training is reproducible from versioned data", false),
    ("alert_rules", ReadinessSection::Monitoring, "Alert rules cover the model", true),
    ("drift_monitored", ReadinessSection::Monitoring, "Drift was evaluated in the last 7 days", true),
    ("runbook_attached", ReadinessSection::TeamHandover, "An incident runbook applies to the model", true),
    ("on_call_named", ReadinessSection::TeamHandover, "An on-call rotation is named", false),
    ("handover_done", ReadinessSection::TeamHandover, "The operating team took the handover", false),
    ("owner_set", ReadinessSection::Governance, "An owner answers for the model", true),
    ("approval_process", ReadinessSection::Governance, "The approval process is agreed", false),
    ("retraining_trigger", ReadinessSection::Governance, "A retraining trigger is defined", false),
    ("rollback_plan", ReadinessSection::Governance, "A rollback plan is written", false),
];

named_enum! {
    ReadinessState {
        /// Keel checked it: 1.
        Checked => "checked",
        /// A named person attested it: 0.5.
        Attested => "attested",
        Missing => "missing",
    }
}

impl ReadinessState {
    pub fn score(self) -> f64 {
        match self {
            Self::Checked => 1.0,
            Self::Attested => 0.5,
            Self::Missing => 0.0,
        }
    }
}

/// One attestation by a named person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub by: String,
    pub note: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessItem {
    pub key: String,
    pub section: ReadinessSection,
    pub question: String,
    pub automatic: bool,
    pub state: ReadinessState,
    /// What Keel found, for an automatic item.
    pub detail: String,
    pub attestation: Option<Attestation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionScore {
    pub section: ReadinessSection,
    /// Its share of the maximum, 0..=1.
    pub score: f64,
}

/// `GET /api/models/{id}/readiness`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessAssessment {
    pub items: Vec<ReadinessItem>,
    pub sections: Vec<SectionScore>,
    /// The weakest section's score (as the ML Test Score takes the minimum).
    pub overall: f64,
    pub floor: f64,
    /// Every section at or above the floor.
    pub ready: bool,
}

/// Scores `items`: each section's share of its maximum; overall the weakest.
pub fn score_readiness(items: Vec<ReadinessItem>, floor: f64) -> ReadinessAssessment {
    let sections: Vec<SectionScore> = ReadinessSection::ALL
        .iter()
        .map(|section| {
            let scores: Vec<f64> =
                items.iter().filter(|item| item.section == *section).map(|item| item.state.score()).collect();
            let score = if scores.is_empty() { 1.0 } else { scores.iter().sum::<f64>() / scores.len() as f64 };
            SectionScore { section: *section, score }
        })
        .collect();
    let overall = sections.iter().map(|section| section.score).fold(1.0, f64::min);
    let ready = sections.iter().all(|section| section.score >= floor);
    ReadinessAssessment { items, sections, overall, floor, ready }
}

/// `PUT /api/models/{id}/readiness`: attest items (a note each), or withdraw them (`null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessRequest {
    pub attestations: BTreeMap<String, Option<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weakest_section_is_the_overall_score() {
        let items = READINESS_ITEMS
            .iter()
            .map(|(key, section, question, automatic)| ReadinessItem {
                key: (*key).into(),
                section: *section,
                question: (*question).into(),
                automatic: *automatic,
                state: if *automatic { ReadinessState::Checked } else { ReadinessState::Attested },
                detail: String::new(),
                attestation: None,
            })
            .collect();
        let assessment = score_readiness(items, 0.5);
        let governance = assessment
            .sections
            .iter()
            .find(|s| s.section == ReadinessSection::Governance)
            .expect("a governance section");
        assert!((governance.score - (1.0 + 0.5 * 3.0) / 4.0).abs() < 1e-12);
        assert!((assessment.overall - 0.625).abs() < 1e-12, "{}", assessment.overall);
        assert!(assessment.ready);
    }

    #[test]
    fn a_card_covers_an_annex_iv_heading_only_with_all_its_sections() {
        let mut card = ModelCard::default();
        card.sections.insert("model_details".into(), "GBM".into());
        assert_eq!(card.missing().len(), 8);
        assert!(!card.annex_iv()[0].covered);
        card.sections.insert("intended_use".into(), "Credit scoring".into());
        assert!(card.annex_iv()[0].covered);
    }
}
