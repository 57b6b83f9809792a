//! Evidence a promotion is gated on: JUnit test results from CI, fairness reviews of an
//! evaluation set, model cards and the readiness assessment — and the gate checklist a
//! change shows. New evidence voids the approvals of the changes it concerns.

use std::collections::BTreeMap;

use chrono::Duration;
use keel_shared::ModelId;
use keel_shared::audit::AuditAction;
use keel_shared::changes::ChangeKind;
use keel_shared::evidence::{
    EvidenceItem, EvidenceKind, EvidenceStatus, FairnessReview, FairnessThresholds, MODEL_CARD_SECTIONS, ModelCard,
    ModelCardResponse, READINESS_ITEMS, ReadinessAssessment, ReadinessItem, ReadinessRequest, ReadinessState, SignOff,
    TestResults, score_readiness,
};
use keel_shared::models::{RiskTier, Stage};

use super::changes::{self, sha256_hex};
use crate::analysis::fairness::{attribute_fairness, group_indices};
use crate::analysis::performance;
use crate::domain::{DomainError, DomainResult};
use crate::monitoring::evaluation::reference_against_traffic;
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::changes::ChangeRecord;
use crate::store::evidence::EvidenceSlot;

/// Most distinct groups one protected attribute may have.
pub const MAX_GROUPS: usize = 10_000;

fn item(
    kind: EvidenceKind,
    status: EvidenceStatus,
    value: impl Into<String>,
    source: impl Into<String>,
) -> EvidenceItem {
    EvidenceItem { kind, status, value: value.into(), source: source.into(), provider: kind.provider().to_owned() }
}

/// Whether the change is gated on evidence: a promotion to production.
fn gated(change: &ChangeRecord) -> bool {
    change.kind == ChangeKind::Promotion && change.target_stage == Some(Stage::Production)
}

/// The gates of a promotion to production, each pass / fail / missing (none for other changes).
pub async fn gates(store: &Store, change: &ChangeRecord) -> DomainResult<Vec<EvidenceItem>> {
    let Some(version) = change.version.as_deref().filter(|_| gated(change)) else {
        return Ok(Vec::new());
    };
    let model_id = &change.model_id;
    let model = store.get_model(model_id).await?.model;
    let now = store.clock().now();
    let settings = store.monitoring_settings(model_id).await?;
    let references = store.reference_summaries(model_id).await?;
    let candidate_reference = references.iter().find(|reference| reference.version == version);
    let production = model.production_version.clone().filter(|production| production != version);
    let mut items = Vec::new();

    // Validation metrics against production's live ones (its reference's when none yet).
    items.push(match (candidate_reference.and_then(|reference| reference.baseline.as_ref()), &production) {
        (None, _) => item(
            EvidenceKind::Validation,
            EvidenceStatus::Missing,
            format!("version {version} has no reference with labels"),
            "references",
        ),
        (Some(_), None) => item(
            EvidenceKind::Validation,
            EvidenceStatus::Pass,
            "first production version: no production version to compare with",
            "registry",
        ),
        (Some(candidate), Some(production)) => {
            let latest = store.latest_drift_run(model_id).await?.filter(|run| &run.version == production);
            let live = latest.and_then(|run| run.performance).map(|report| report.current);
            let (baseline, source) = match live {
                Some(live) => (Some(live), format!("live performance of {production} (latest drift evaluation)")),
                None => (
                    references
                        .iter()
                        .find(|reference| &reference.version == production)
                        .and_then(|reference| reference.baseline.clone()),
                    format!("reference of {production} (no live labels yet)"),
                ),
            };
            match baseline {
                None => item(
                    EvidenceKind::Validation,
                    EvidenceStatus::Missing,
                    format!("production version {production} has no measured performance"),
                    source,
                ),
                Some(baseline) => {
                    let worse = performance::degradation(candidate, &baseline, settings.performance_tolerance);
                    let shown: Vec<String> =
                        candidate.metrics.iter().map(|metric| format!("{} {:.4}", metric.name, metric.value)).collect();
                    if worse.is_empty() {
                        item(
                            EvidenceKind::Validation,
                            EvidenceStatus::Pass,
                            format!(
                                "{} — not worse than production beyond the tolerance {}",
                                shown.join(", "),
                                settings.performance_tolerance
                            ),
                            source,
                        )
                    } else {
                        item(EvidenceKind::Validation, EvidenceStatus::Fail, worse.join("; "), source)
                    }
                }
            }
        }
    });

    let tests = store.evidence::<TestResults>(model_id, version, EvidenceSlot::Tests).await?;
    items.push(match tests {
        None => item(EvidenceKind::Tests, EvidenceStatus::Missing, "no JUnit results uploaded for this version", "CI"),
        Some(stored) => {
            let results = stored.value;
            let source = format!(
                "JUnit XML uploaded by {} at {}",
                stored.updated_by,
                stored.updated_at.format("%Y-%m-%d %H:%M UTC")
            );
            let value = format!(
                "{} tests, {} failures, {} errors, {} skipped",
                results.tests, results.failures, results.errors, results.skipped
            );
            let status = if results.passed() { EvidenceStatus::Pass } else { EvidenceStatus::Fail };
            item(EvidenceKind::Tests, status, value, source)
        }
    });

    let fairness = store.evidence::<FairnessReview>(model_id, version, EvidenceSlot::Fairness).await?;
    items.push(match fairness {
        None => item(
            EvidenceKind::Fairness,
            EvidenceStatus::Missing,
            "no fairness review of this version",
            "fairness reviews",
        ),
        Some(stored) => {
            let review = stored.value;
            let source = format!("evaluation set of {} rows uploaded by {}", review.rows, review.created_by);
            let breaches: Vec<String> = review
                .attributes
                .iter()
                .flat_map(|attribute| {
                    attribute.breaches.iter().map(move |breach| format!("{}: {breach}", attribute.attribute))
                })
                .collect();
            match (&review.sign_off, review.passed) {
                (_, false) => item(EvidenceKind::Fairness, EvidenceStatus::Fail, breaches.join("; "), source),
                (None, true) => item(
                    EvidenceKind::Fairness,
                    EvidenceStatus::Missing,
                    "within thresholds, waiting for a reviewer's sign-off",
                    source,
                ),
                (Some(sign_off), true) => item(
                    EvidenceKind::Fairness,
                    EvidenceStatus::Pass,
                    format!("within thresholds; signed off by {}", sign_off.reviewer),
                    source,
                ),
            }
        }
    });

    let card = store.evidence::<ModelCard>(model_id, version, EvidenceSlot::ModelCard).await?;
    items.push(match card {
        None => item(
            EvidenceKind::ModelCard,
            EvidenceStatus::Missing,
            "no model card saved for this version",
            "model cards",
        ),
        Some(stored) => {
            let missing = stored.value.missing();
            let source =
                format!("saved by {} at {}", stored.updated_by, stored.updated_at.format("%Y-%m-%d %H:%M UTC"));
            if missing.is_empty() {
                item(EvidenceKind::ModelCard, EvidenceStatus::Pass, "every section written", source)
            } else {
                item(
                    EvidenceKind::ModelCard,
                    EvidenceStatus::Fail,
                    format!("empty sections: {}", missing.join(", ")),
                    source,
                )
            }
        }
    });

    items.push(match &production {
        None => {
            item(EvidenceKind::Drift, EvidenceStatus::Pass, "no production traffic yet to compare with", "registry")
        }
        Some(production) => match reference_against_traffic(store, model_id, version, production, now).await? {
            None => item(
                EvidenceKind::Drift,
                EvidenceStatus::Missing,
                format!(
                    "needs a reference of {version} and feature rows of {production} in the last {} minutes",
                    settings.window_minutes
                ),
                "feature rows",
            ),
            Some((rows, report)) => {
                let value = format!(
                    "{} of {} columns drifted against {rows} rows of {production}",
                    report.drifted_columns, report.compared_columns
                );
                let status = if report.drifted { EvidenceStatus::Fail } else { EvidenceStatus::Pass };
                item(
                    EvidenceKind::Drift,
                    status,
                    value,
                    format!(
                        "reference of {version} vs the last {} minutes of production traffic",
                        settings.window_minutes
                    ),
                )
            }
        },
    });

    let assessment = readiness(store, model_id).await?;
    let first_promotion = model.production_version.is_none() && model.rollback_version.is_none();
    let weakest = assessment.sections.iter().min_by(|a, b| a.score.total_cmp(&b.score));
    let value = format!(
        "overall {:.2} (weakest: {}), floor {:.2}",
        assessment.overall,
        weakest.map_or("none", |section| section.section.label()),
        assessment.floor
    );
    items.push(match (assessment.ready, first_promotion) {
        (true, _) => item(EvidenceKind::Readiness, EvidenceStatus::Pass, value, "readiness assessment"),
        (false, true) => item(
            EvidenceKind::Readiness,
            EvidenceStatus::Fail,
            format!("{value}: the first production promotion needs every section at the floor"),
            "readiness assessment",
        ),
        (false, false) => item(
            EvidenceKind::Readiness,
            EvidenceStatus::Pass,
            format!("{value}; only the first production promotion needs the floor"),
            "readiness assessment",
        ),
    });
    Ok(items)
}

/// SHA-256 of the uploaded evidence a change is judged on (tests, fairness review, model
/// card, readiness attestations): what an approval binds to.
pub async fn digest(store: &Store, change: &ChangeRecord) -> DomainResult<String> {
    let mut parts = serde_json::Map::new();
    if let Some(version) = change.version.as_deref() {
        let tests = store.evidence::<serde_json::Value>(&change.model_id, version, EvidenceSlot::Tests).await?;
        let fairness = store.evidence::<serde_json::Value>(&change.model_id, version, EvidenceSlot::Fairness).await?;
        let card = store.evidence::<serde_json::Value>(&change.model_id, version, EvidenceSlot::ModelCard).await?;
        parts.insert("tests".into(), tests.map(|stored| stored.value).unwrap_or_default());
        parts.insert("fairness".into(), fairness.map(|stored| stored.value).unwrap_or_default());
        parts.insert("model_card".into(), card.map(|stored| stored.value).unwrap_or_default());
    }
    let attestations = store.attestations(&change.model_id).await?;
    let attested: BTreeMap<String, String> = attestations
        .into_iter()
        .map(|(item, attestation)| (item, format!("{}: {}", attestation.by, attestation.note)))
        .collect();
    parts.insert("readiness".into(), serde_json::to_value(attested).unwrap_or_default());
    Ok(sha256_hex(serde_json::Value::Object(parts).to_string().as_bytes()))
}

/// Reads a JUnit XML report as CI tools write it (`<testsuites>` or one `<testsuite>`, each
/// `<testcase>` with an optional `<failure>`, `<error>` or `<skipped>`).
pub fn parse_junit(xml: &str) -> Result<(u64, u64, u64, u64, Vec<String>), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut tests, mut failures, mut errors, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    let mut failed = Vec::new();
    let mut current: Option<String> = None;
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|error| format!("not well-formed XML at byte {}: {error}", reader.buffer_position()))?;
        match event {
            Event::Start(element) | Event::Empty(element) => {
                let name = element.name().as_ref().to_vec();
                if !seen_root {
                    if name != b"testsuites" && name != b"testsuite" {
                        return Err(format!(
                            "the root element is <{}>: JUnit XML starts with <testsuites> or <testsuite>",
                            String::from_utf8_lossy(&name)
                        ));
                    }
                    seen_root = true;
                }
                match name.as_slice() {
                    b"testcase" => {
                        tests += 1;
                        let attribute = |key: &str| {
                            element
                                .try_get_attribute(key)
                                .ok()
                                .flatten()
                                .and_then(|value| value.unescape_value().ok().map(|text| text.into_owned()))
                        };
                        let case = match (attribute("classname"), attribute("name")) {
                            (Some(class), Some(name)) => format!("{class}.{name}"),
                            (_, Some(name)) => name,
                            _ => format!("test case {tests}"),
                        };
                        current = Some(case);
                    }
                    b"failure" | b"error" | b"skipped" if current.is_some() => {
                        match name.as_slice() {
                            b"failure" => failures += 1,
                            b"error" => errors += 1,
                            _ => skipped += 1,
                        }
                        if name != b"skipped" && failed.len() < 20 {
                            failed.extend(current.clone());
                        }
                        // One outcome per test case.
                        current = None;
                    }
                    _ => {}
                }
            }
            Event::End(element) if element.name().as_ref() == b"testcase" => current = None,
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("the body holds no XML elements: upload the JUnit XML report".into());
    }
    Ok((tests, failures, errors, skipped, failed))
}

/// Stores a version's JUnit results and voids the approvals they concern.
pub async fn upload_tests(
    store: &Store,
    model_id: &ModelId,
    version: &str,
    xml: &str,
    actor: &Actor,
) -> DomainResult<TestResults> {
    let (tests, failures, errors, skipped, failed) =
        parse_junit(xml).map_err(|message| DomainError::field("body", message))?;
    let results = TestResults {
        tests,
        failures,
        errors,
        skipped,
        failed,
        uploaded_at: store.clock().now(),
        uploaded_by: actor.name.clone(),
    };
    store.put_evidence(model_id, version, EvidenceSlot::Tests, &results, None, actor).await?;
    let reason = format!("new test results for {version} ({tests} tests, {failures} failures, {errors} errors)");
    changes::void_approvals(store, model_id, Some(version), &reason).await?;
    Ok(results)
}

/// One 0/1 label of the evaluation set.
fn binary(text: &str) -> Option<bool> {
    match text.trim() {
        "1" | "1.0" | "true" | "True" | "TRUE" => Some(true),
        "0" | "0.0" | "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// An evaluation set: CSV text with a header, and which of its columns hold the
/// ground truth, the prediction and the protected attributes.
#[derive(Debug, Clone)]
pub struct EvaluationSet {
    pub csv: String,
    pub truth: String,
    pub prediction: String,
    pub attributes: Vec<String>,
}

/// Reviews an evaluation set per protected attribute.
pub async fn review_fairness(
    store: &Store,
    model_id: &ModelId,
    version: &str,
    set: EvaluationSet,
    actor: &Actor,
) -> DomainResult<FairnessReview> {
    store.version(model_id, version).await?;
    if set.attributes.is_empty() {
        return Err(DomainError::field("attributes", "name at least one protected attribute column"));
    }
    let thresholds: FairnessThresholds = store.setting(&thresholds_setting(model_id)).await?;
    let thresholds_for_review = thresholds.clone();
    let (set, rows, results) = tokio::task::spawn_blocking(move || {
        fairness_of_csv(&set, &thresholds_for_review).map(|(rows, results)| (set, rows, results))
    })
    .await
    .map_err(|error| DomainError::Internal(anyhow::anyhow!("the fairness review failed: {error}")))??;
    let review = FairnessReview {
        model_id: model_id.clone(),
        version: version.to_owned(),
        rows,
        truth: set.truth,
        prediction: set.prediction,
        passed: results.iter().all(|attribute| attribute.breaches.is_empty()),
        attributes: results,
        thresholds,
        created_at: store.clock().now(),
        created_by: actor.name.clone(),
        sign_off: None,
    };
    store.put_evidence(model_id, version, EvidenceSlot::Fairness, &review, None, actor).await?;
    changes::void_approvals(store, model_id, Some(version), &format!("a new fairness review of {version}")).await?;
    Ok(review)
}

/// The review's numbers from the CSV text: pure, on a blocking thread.
pub fn fairness_of_csv(
    set: &EvaluationSet,
    thresholds: &FairnessThresholds,
) -> DomainResult<(u64, Vec<keel_shared::evidence::AttributeFairness>)> {
    let (truth, prediction, attributes) = (set.truth.as_str(), set.prediction.as_str(), set.attributes.as_slice());
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(set.csv.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| DomainError::field("body", format!("the CSV header cannot be read: {error}")))?
        .clone();
    let column = |name: &str, field: &str| {
        headers.iter().position(|header| header == name).ok_or_else(|| {
            DomainError::field(
                field,
                format!("the CSV has no column '{name}' (it has: {})", headers.iter().collect::<Vec<_>>().join(", ")),
            )
        })
    };
    let truth_at = column(truth, "truth")?;
    let prediction_at = column(prediction, "prediction")?;
    let attribute_at: Vec<usize> =
        attributes.iter().map(|name| column(name, "attributes")).collect::<DomainResult<_>>()?;
    let mut truths = Vec::new();
    let mut predictions = Vec::new();
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); attributes.len()];
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|error| DomainError::field("body", format!("line {line}: {error}")))?;
        let label = |at: usize, name: &str| {
            binary(record.get(at).unwrap_or_default()).ok_or_else(|| {
                DomainError::field(
                    "body",
                    format!(
                        "line {line}: '{name}' must be 0 or 1 (or true/false), not '{}'",
                        record.get(at).unwrap_or_default()
                    ),
                )
            })
        };
        truths.push(label(truth_at, truth)?);
        predictions.push(label(prediction_at, prediction)?);
        for (slot, at) in groups.iter_mut().zip(&attribute_at) {
            slot.push(record.get(*at).unwrap_or_default().to_owned());
        }
    }
    if truths.is_empty() {
        return Err(DomainError::field("body", "the evaluation set has no rows"));
    }
    let mut results = Vec::new();
    for (name, values) in attributes.iter().zip(&groups) {
        let (indices, names) = group_indices(values.iter().map(String::as_str));
        if names.len() > MAX_GROUPS {
            return Err(DomainError::field(
                "attributes",
                format!("'{name}' has {} groups; at most {MAX_GROUPS} are reviewed", names.len()),
            ));
        }
        results.push(attribute_fairness(name, &truths, &predictions, &indices, &names, thresholds));
    }
    Ok((truths.len() as u64, results))
}

/// A reviewer signs the version's fairness review off.
pub async fn sign_off(
    store: &Store,
    model_id: &ModelId,
    version: &str,
    comment: &str,
    actor: &Actor,
) -> DomainResult<FairnessReview> {
    let stored = store
        .evidence::<FairnessReview>(model_id, version, EvidenceSlot::Fairness)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("version '{version}' has no fairness review to sign off")))?;
    if comment.trim().is_empty() {
        return Err(DomainError::field("comment", "a sign-off needs a comment"));
    }
    if stored.value.created_by == actor.name {
        return Err(DomainError::Forbidden(
            "the person who uploaded the evaluation set cannot sign its review off".into(),
        ));
    }
    let mut review = stored.value;
    review.sign_off =
        Some(SignOff { reviewer: actor.name.clone(), comment: comment.trim().to_owned(), at: store.clock().now() });
    store
        .put_evidence(model_id, version, EvidenceSlot::Fairness, &review, Some(AuditAction::FairnessSignOff), actor)
        .await?;
    Ok(review)
}

pub fn thresholds_setting(model_id: &ModelId) -> String {
    format!("fairness_thresholds:{model_id}")
}

/// The version's model card: the stored one, or a draft pre-filled from what Keel knows.
pub async fn model_card(store: &Store, model_id: &ModelId, version: &str) -> DomainResult<ModelCardResponse> {
    let model = store.get_model(model_id).await?.model;
    let found = store.version(model_id, version).await?;
    let stored = store.evidence::<ModelCard>(model_id, version, EvidenceSlot::ModelCard).await?;
    let (card, saved, updated_at, updated_by) = match stored {
        Some(stored) => (stored.value, true, Some(stored.updated_at), Some(stored.updated_by)),
        None => {
            let mut sections = BTreeMap::new();
            sections.insert(
                "model_details".into(),
                format!(
                    "**{}** version `{}` ({}), owned by {}.\n\n{}",
                    model.name,
                    found.tag,
                    found.stage.label(),
                    model.owner,
                    model.description
                ),
            );
            sections.insert(
                "intended_use".into(),
                format!("{}\n\nEU AI Act risk tier: {}.", model.use_case, model.risk_tier.label()),
            );
            if !found.training_data_ref.is_empty() {
                sections.insert(
                    "training_data".into(),
                    format!("Training data: `{}`. {}", found.training_data_ref, found.notes),
                );
            }
            if let Some(reference) =
                store.reference_summaries(model_id).await?.into_iter().find(|reference| reference.version == version)
            {
                sections.insert(
                    "evaluation_data".into(),
                    format!(
                        "Reference of {} rows ({}), uploaded by {}.",
                        reference.rows, reference.source, reference.created_by
                    ),
                );
                if let Some(baseline) = reference.baseline {
                    let metrics: Vec<String> = baseline
                        .metrics
                        .iter()
                        .map(|metric| format!("- {}: {:.4}", metric.name, metric.value))
                        .collect();
                    sections.insert(
                        "metrics".into(),
                        format!("On {} labelled reference rows:\n\n{}", baseline.labelled_rows, metrics.join("\n")),
                    );
                }
            }
            if let Some(review) = store.evidence::<FairnessReview>(model_id, version, EvidenceSlot::Fairness).await? {
                let review = review.value;
                let factors: Vec<&str> =
                    review.attributes.iter().map(|attribute| attribute.attribute.as_str()).collect();
                sections.insert("factors".into(), format!("Protected attributes reviewed: {}.", factors.join(", ")));
                let lines: Vec<String> = review
                    .attributes
                    .iter()
                    .map(|attribute| {
                        format!(
                            "- {}: demographic parity difference {:.3}, equalized odds difference {:.3}{}",
                            attribute.attribute,
                            attribute.demographic_parity_difference,
                            attribute.equalized_odds_difference,
                            if attribute.four_fifths_violated { " — fails the four-fifths rule" } else { "" }
                        )
                    })
                    .collect();
                sections.insert(
                    "quantitative_analyses".into(),
                    format!("Fairness review of {} rows:\n\n{}", review.rows, lines.join("\n")),
                );
            }
            (ModelCard { sections }, false, None, None)
        }
    };
    let annex_iv = if model.risk_tier == RiskTier::High { card.annex_iv() } else { Vec::new() };
    Ok(ModelCardResponse {
        missing: card.missing().into_iter().map(str::to_owned).collect(),
        annex_iv,
        card,
        saved,
        updated_at,
        updated_by,
    })
}

pub async fn save_model_card(
    store: &Store,
    model_id: &ModelId,
    version: &str,
    card: ModelCard,
    actor: &Actor,
) -> DomainResult<ModelCardResponse> {
    let unknown = card.unknown_sections();
    if !unknown.is_empty() {
        let known: Vec<&str> = MODEL_CARD_SECTIONS.iter().map(|(key, _)| *key).collect();
        return Err(DomainError::field(
            "sections",
            format!("unknown sections: {}; the sections are: {}", unknown.join(", "), known.join(", ")),
        ));
    }
    if card.sections.values().any(|text| text.chars().count() > 50_000) {
        return Err(DomainError::field("sections", "a section may hold at most 50,000 characters"));
    }
    store.put_evidence(model_id, version, EvidenceSlot::ModelCard, &card, None, actor).await?;
    changes::void_approvals(store, model_id, Some(version), &format!("the model card of {version} was edited")).await?;
    model_card(store, model_id, version).await
}

/// The model card as a Markdown document.
pub fn model_card_markdown(model_name: &str, version: &str, response: &ModelCardResponse) -> String {
    let mut text = format!("# Model card: {model_name} {version}\n\n");
    for (key, label) in MODEL_CARD_SECTIONS {
        let body = response.card.sections.get(key).map(String::as_str).unwrap_or("").trim();
        text.push_str(&format!("## {label}\n\n{}\n\n", if body.is_empty() { "_Not written yet._" } else { body }));
    }
    if !response.annex_iv.is_empty() {
        text.push_str("## EU AI Act Annex IV coverage\n\n");
        for heading in &response.annex_iv {
            text.push_str(&format!("- [{}] {}\n", if heading.covered { "x" } else { " " }, heading.heading));
        }
    }
    text
}

/// The model's readiness: Keel's own checks, the attestations, the section scores.
pub async fn readiness(store: &Store, model_id: &ModelId) -> DomainResult<ReadinessAssessment> {
    let model = store.get_model(model_id).await?.model;
    let now = store.clock().now();
    let signals = store.health_signals(model_id, now).await?;
    let references = store.reference_summaries(model_id).await?;
    let facts = store.model_facts().await?;
    let fact = facts.iter().find(|fact| &fact.id == model_id);
    let rules = store.alert_rules().await?;
    let covering = fact.map_or(0, |fact| {
        rules
            .iter()
            .filter(|rule| {
                rule.spec.enabled && rule.spec.scope.covers(&fact.id, &fact.name, fact.risk_tier, &fact.stages)
            })
            .count()
    });
    let latest_run = store.latest_drift_run(model_id).await?;
    let runbooks = store.runbooks().await?;
    let runbook = runbooks.iter().find(|runbook| runbook.spec.model.as_ref().is_none_or(|model| model == model_id));
    let versions = store.list_versions(model_id).await?;
    let rollback_target = model.rollback_version.clone().or_else(|| {
        versions
            .iter()
            .find(|version| matches!(version.stage, Stage::Staging | Stage::Archived))
            .map(|version| version.tag.clone())
    });
    let attestations: BTreeMap<String, _> = store.attestations(model_id).await?.into_iter().collect();
    let check = |key: &str| -> Option<(bool, String)> {
        Some(match key {
            "telemetry_arriving" => match signals.last_point_at {
                Some(at) if now - at < Duration::hours(24) => {
                    (true, format!("last point at {}", at.format("%Y-%m-%d %H:%M UTC")))
                }
                Some(at) => (false, format!("no point since {}", at.format("%Y-%m-%d %H:%M UTC"))),
                None => (false, "no telemetry yet".into()),
            },
            "reference_uploaded" => match references.first() {
                Some(reference) => (true, format!("reference of {} ({} rows)", reference.version, reference.rows)),
                None => (false, "no reference uploaded".into()),
            },
            "rollback_target" => match &rollback_target {
                Some(tag) => (true, format!("{tag} can take production back")),
                None => (false, "no earlier version to roll back to".into()),
            },
            "alert_rules" => (covering > 0, format!("{covering} enabled rule(s) cover the model")),
            "drift_monitored" => match &latest_run {
                Some(run) if now - run.evaluated_at < Duration::days(7) => {
                    (true, format!("evaluated at {}", run.evaluated_at.format("%Y-%m-%d %H:%M UTC")))
                }
                Some(run) => (false, format!("last evaluated at {}", run.evaluated_at.format("%Y-%m-%d"))),
                None => (false, "never evaluated".into()),
            },
            "runbook_attached" => match runbook {
                Some(runbook) => (true, format!("runbook '{}'", runbook.spec.title)),
                None => (false, "no runbook applies".into()),
            },
            "owner_set" => (
                !model.owner.trim().is_empty(),
                if model.owner.trim().is_empty() { "no owner".into() } else { format!("owner: {}", model.owner) },
            ),
            _ => return None,
        })
    };
    let items = READINESS_ITEMS
        .iter()
        .map(|(key, section, question, automatic)| {
            let checked = if *automatic { check(key) } else { None };
            let attestation = attestations.get(*key).cloned();
            let state = match (&checked, &attestation) {
                (Some((true, _)), _) => ReadinessState::Checked,
                (_, Some(_)) => ReadinessState::Attested,
                _ => ReadinessState::Missing,
            };
            ReadinessItem {
                key: (*key).to_owned(),
                section: *section,
                question: (*question).to_owned(),
                automatic: *automatic,
                state,
                detail: checked.map(|(_, detail)| detail).unwrap_or_default(),
                attestation,
            }
        })
        .collect();
    let floor = changes::policy(store).await?.readiness_floor;
    Ok(score_readiness(items, floor))
}

/// Attests or withdraws readiness items, then voids approvals of the model's open changes.
pub async fn attest(
    store: &Store,
    model_id: &ModelId,
    request: ReadinessRequest,
    actor: &Actor,
) -> DomainResult<ReadinessAssessment> {
    store.get_model(model_id).await?;
    let mut items = Vec::new();
    for (key, note) in request.attestations {
        if !READINESS_ITEMS.iter().any(|(known, ..)| *known == key) {
            let known: Vec<&str> = READINESS_ITEMS.iter().map(|(known, ..)| *known).collect();
            return Err(DomainError::field(
                "attestations",
                format!("unknown item '{key}'; the items are: {}", known.join(", ")),
            ));
        }
        if let Some(note) = &note
            && (note.trim().is_empty() || note.chars().count() > 2_000)
        {
            return Err(DomainError::field(
                "attestations",
                format!("attesting '{key}' needs a note of at most 2,000 characters"),
            ));
        }
        items.push((key, note.map(|note| note.trim().to_owned())));
    }
    if items.is_empty() {
        return Err(DomainError::field("attestations", "name at least one item"));
    }
    store.attest(model_id, &items, actor).await?;
    changes::void_approvals(store, model_id, None, "the readiness assessment changed").await?;
    readiness(store, model_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        csv: String,
        truth: String,
        prediction: String,
        attributes: Vec<keel_shared::evidence::AttributeFairness>,
    }

    fn close(name: &str, what: &str, ours: f64, theirs: f64) {
        let scale = theirs.abs().max(f64::MIN_POSITIVE);
        assert!(
            (ours - theirs).abs() / scale <= 1e-12 || ours == theirs,
            "{name}: {what} is {ours}, Fairlearn says {theirs}"
        );
    }

    #[test]
    fn fairness_equals_fairlearn_on_its_fixtures() {
        let cases: Vec<Case> =
            serde_json::from_str(include_str!("../../tests/fixtures/fairness/fairness.json")).expect("the fixture");
        for case in cases {
            let set = EvaluationSet {
                csv: case.csv.clone(),
                truth: case.truth.clone(),
                prediction: case.prediction.clone(),
                attributes: case.attributes.iter().map(|attribute| attribute.attribute.clone()).collect(),
            };
            let (_, ours) = fairness_of_csv(&set, &FairnessThresholds::default()).expect("a review");
            for (ours, theirs) in ours.iter().zip(&case.attributes) {
                let name = format!("{} / {}", case.name, theirs.attribute);
                assert_eq!(ours.groups.len(), theirs.groups.len(), "{name}");
                for (group, expected) in ours.groups.iter().zip(&theirs.groups) {
                    assert_eq!((&group.group, group.count), (&expected.group, expected.count), "{name}");
                    close(&name, "selection rate", group.selection_rate, expected.selection_rate);
                    close(&name, "TPR", group.true_positive_rate, expected.true_positive_rate);
                    close(&name, "FPR", group.false_positive_rate, expected.false_positive_rate);
                }
                close(&name, "DP difference", ours.demographic_parity_difference, theirs.demographic_parity_difference);
                close(&name, "EO difference", ours.equalized_odds_difference, theirs.equalized_odds_difference);
                close(&name, "EOpp difference", ours.equal_opportunity_difference, theirs.equal_opportunity_difference);
                for (what, mine, expected) in [
                    ("DP ratio", ours.demographic_parity_ratio, theirs.demographic_parity_ratio),
                    ("EO ratio", ours.equalized_odds_ratio, theirs.equalized_odds_ratio),
                ] {
                    match (mine, expected) {
                        (Some(mine), Some(expected)) => close(&name, what, mine, expected),
                        (mine, expected) => assert_eq!(mine, expected, "{name}: {what}"),
                    }
                }
            }
        }
    }

    #[test]
    fn junit_as_pytest_writes_it_is_counted_per_test_case() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3">
            <testcase classname="tests.test_model" name="test_auc" time="0.1"/>
            <testcase classname="tests.test_model" name="test_bias" time="0.1"><failure message="assert 0.7 &gt; 0.8">trace</failure></testcase>
            <testcase classname="tests.test_model" name="test_slow"><skipped message="slow"/></testcase>
            </testsuite></testsuites>"#;
        let (tests, failures, errors, skipped, failed) = parse_junit(xml).expect("JUnit XML");
        assert_eq!((tests, failures, errors, skipped), (3, 1, 0, 1));
        assert_eq!(failed, ["tests.test_model.test_bias"]);
        assert!(parse_junit("<html/>").expect_err("not JUnit").contains("<html>"));
        assert!(parse_junit("<testsuite><testcase").is_err());
        assert!(parse_junit("").is_err());
    }
}
