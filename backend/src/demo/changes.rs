//! The demo's change management, walked through the same operations the API calls: an
//! implemented canary promotion of credit-risk-scoring (approved by three people, as its
//! high-risk tier needs), its promotion to production waiting for approval with its model
//! card still missing, and a fairness review of churn-propensity that fails the
//! four-fifths rule.

use keel_shared::ModelId;
use keel_shared::changes::{ApprovalRequest, ChangeKind, ChangeStatus, ChangeType, CreateChangeRequest, Decision};
use keel_shared::evidence::READINESS_ITEMS;
use keel_shared::models::Stage;

use crate::services::changes::{self, Person};
use crate::services::evidence::{self, EvaluationSet};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::changes::ChangeFilter;

const CREDIT: &str = "credit-risk-scoring";
const CHURN: &str = "churn-propensity";

async fn person(store: &Store, username: &str) -> anyhow::Result<Person> {
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo user {username} is missing"))?
        .user;
    Ok(Person { actor: Actor { id: Some(user.id), name: user.username }, role: user.role, via_token: false })
}

/// A JUnit report as CI writes it, every test passing.
const JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="credit-risk-scoring" tests="4" failures="0" errors="0" skipped="0">
<testcase classname="tests.test_validation" name="test_auc_above_0_80"/>
<testcase classname="tests.test_validation" name="test_calibration_error_below_0_05"/>
<testcase classname="tests.test_contract" name="test_feature_schema_matches_serving"/>
<testcase classname="tests.test_contract" name="test_latency_p95_below_100ms"/>
</testsuite></testsuites>"#;

/// An evaluation set of `rows`: truth, prediction and one protected attribute whose groups
/// are selected at the given rates (deterministic).
fn evaluation_set(attribute: &str, groups: &[(&str, f64)], rows: usize) -> EvaluationSet {
    let mut csv = format!("truth,prediction,{attribute}\n");
    for index in 0..rows {
        let (group, selection) = groups[index % groups.len()];
        let position = (index / groups.len()) as f64 / (rows / groups.len()) as f64;
        let truth = u8::from((index / groups.len()).is_multiple_of(3));
        let prediction = u8::from(position < selection);
        csv.push_str(&format!("{truth},{prediction},{group}\n"));
    }
    EvaluationSet { csv, truth: "truth".into(), prediction: "prediction".into(), attributes: vec![attribute.into()] }
}

/// Loads the demo's changes unless the store already has some.
pub async fn load(store: &Store) -> anyhow::Result<()> {
    if !store.list_changes(&ChangeFilter::default()).await?.is_empty() {
        return Ok(());
    }
    let models = store.resolve_models([CREDIT, CHURN]).await?;
    let (Some(credit), Some(churn)) = (models.get(CREDIT), models.get(CHURN)) else {
        return Ok(());
    };
    let (credit, churn) = (ModelId(credit.clone()), ModelId(churn.clone()));
    let eva = person(store, "eva.engineer").await?;
    let approvers =
        [person(store, "adam.approver").await?, person(store, "petra.approver").await?, person(store, "admin").await?];

    // History: v1.2.0 into canary, approved by three people (one an approver) as the
    // high-risk tier needs, implemented by Eva.
    let canary = CreateChangeRequest {
        kind: ChangeKind::Promotion,
        change_type: ChangeType::Normal,
        model_id: credit.clone(),
        version: Some("v1.2.0".into()),
        target_stage: Some(Stage::Canary),
        title: "Canary v1.2.0 with open-banking income features".into(),
        description: "Route 5 % of applications to v1.2.0 for two weeks and compare default predictions.".into(),
        implementation_plan: "Registry move to canary; the serving router reads the canary stage.".into(),
        rollback_plan: "Move v1.2.0 back to staging; the router sends all traffic to v1.1.0.".into(),
        scheduled_start: None,
        scheduled_end: None,
        linked_incidents: Vec::new(),
        risk: None,
        risk_reason: String::new(),
    };
    let change = changes::create(store, canary, &eva).await?;
    changes::transition(store, &change.id, ChangeStatus::Submitted, &eva).await?;
    for approver in &approvers {
        let request = ApprovalRequest { decision: Decision::Approve, comment: "Shadow results reviewed.".into() };
        changes::decide(store, &change.id, request, approver).await?;
    }
    changes::transition(store, &change.id, ChangeStatus::Implemented, &eva).await?;
    changes::transition(store, &change.id, ChangeStatus::Verified, &eva).await?;

    // Waiting: v1.2.0 into production, with its evidence in but its model card missing.
    evidence::upload_tests(store, &credit, "v1.2.0", JUNIT, &eva.actor).await?;
    super::monitoring::save_reference(store, &credit, CREDIT, "v1.2.0").await?;
    let balanced = evaluation_set("age_band", &[("18-29", 0.31), ("30-49", 0.33), ("50+", 0.30)], 3_000);
    evidence::review_fairness(store, &credit, "v1.2.0", balanced, &eva.actor).await?;
    evidence::sign_off(
        store,
        &credit,
        "v1.2.0",
        "Selection rates within 3 points across age bands.",
        &approvers[1].actor,
    )
    .await?;
    let attested: Vec<(String, Option<String>)> = READINESS_ITEMS
        .iter()
        .filter(|(.., automatic)| !automatic)
        .map(|(key, ..)| ((*key).to_owned(), Some("Agreed at the go-live review on 14 November.".to_owned())))
        .collect();
    store.attest(&credit, &attested, &eva.actor).await?;
    let production = CreateChangeRequest {
        kind: ChangeKind::Promotion,
        change_type: ChangeType::Normal,
        model_id: credit.clone(),
        version: Some("v1.2.0".into()),
        target_stage: Some(Stage::Production),
        title: "Promote v1.2.0 to production".into(),
        description: "Two weeks of canary traffic: default predictions match v1.1.0 within 0.4 points, \
                      approvals of thin-file applicants up 6 %."
            .into(),
        implementation_plan: "Registry move to production; v1.1.0 is archived and kept as the rollback target.".into(),
        rollback_plan: "Roll back to v1.1.0 from the model page (one action).".into(),
        scheduled_start: None,
        scheduled_end: None,
        linked_incidents: Vec::new(),
        risk: None,
        risk_reason: String::new(),
    };
    let waiting = changes::create(store, production, &eva).await?;
    changes::transition(store, &waiting.id, ChangeStatus::Submitted, &eva).await?;

    // Churn: a fairness review whose selection rates fail the four-fifths rule.
    let skewed = evaluation_set("plan", &[("basic", 0.42), ("plus", 0.35), ("premium", 0.18)], 3_000);
    evidence::review_fairness(store, &churn, "v3.0.2", skewed, &eva.actor).await?;
    Ok(())
}
