//! Incident response for the demo fleet: runbooks, one extra alert rule, an escalation
//! chain (the on-call engineer, then the administrator), and a few past
//! incidents worked through to the end (with postmortems) so MTTA and MTTR mean
//! something. Loaded once: a store that already has incidents is left alone. The live
//! one comes by itself: churn-propensity's drift opens it through the default rules.

use chrono::Duration;
use keel_shared::ModelId;
use keel_shared::alerting::{Aggregation, AlertRuleSpec, Condition, NoDataPolicy, RuleScope, RunbookSpec, Signal};
use keel_shared::auth::Role;
use keel_shared::incidents::{
    ActionItem, EscalationChains, EscalationLevel, IncidentSource, IncidentStatus, Postmortem, Severity,
};

use crate::clock::Clock;
use crate::services::incidents::{self, Opening, Responder};
use crate::store::Store;
use crate::store::audit::Actor;

const HEALTH_RUNBOOK: &str = "## A model's health is critical\n\nCustomers are getting bad or slow answers now.\n\n\
- [ ] Open the model's health page and see which signal breached\n\
- [ ] Check the version in production and any change in the last 24 hours\n\
- [ ] If a change caused it, request an emergency rollback\n\
- [ ] Tell the business owner what users see and when it will be fixed\n\
- [ ] Record the mitigation on the incident\n";

const DRIFT_RUNBOOK: &str = "## The live data no longer looks like the training data\n\n\
Drift alone is not an outage: judge whether predictions got worse.\n\n\
- [ ] Open the drift page: which features drifted, and by how much?\n\
- [ ] Compare accuracy against the reference (late labels may lag)\n\
- [ ] Ask the data owners whether the population or a pipeline changed\n\
- [ ] Decide: accept, retrain, or roll back — and request the change\n\n\
See the [retraining checklist](/runbooks).\n";

/// Loads the demo's runbooks and incident history unless the store already has runbooks
/// (not "incidents": alerting may open the live drift incident before this runs).
pub async fn load(store: &Store) -> anyhow::Result<()> {
    if !store.runbooks().await?.is_empty() {
        return Ok(());
    }
    let system = Actor::system();
    store
        .save_runbook(
            None,
            &RunbookSpec {
                title: "Model health critical".into(),
                body: HEALTH_RUNBOOK.into(),
                model: None,
                severity: Some(Severity::Sev2),
            },
            &system,
        )
        .await?;
    store
        .save_runbook(
            None,
            &RunbookSpec {
                title: "Data drift".into(),
                body: DRIFT_RUNBOOK.into(),
                model: None,
                severity: Some(Severity::Sev3),
            },
            &system,
        )
        .await?;
    let rule = AlertRuleSpec {
        name: "Error rate above 5 %".into(),
        description: "More than one request in twenty fails, for ten minutes.".into(),
        scope: RuleScope::default(),
        signal: Signal::Metric { metric: "error_rate".into(), aggregation: Aggregation::Avg, window_minutes: 10 },
        condition: Condition::Above { threshold: 0.05, recovery: Some(0.03) },
        for_seconds: 600,
        keep_firing_for_seconds: 300,
        severity: Severity::Sev2,
        no_data: NoDataPolicy::KeepState,
        min_rows: 30,
        runbook: None,
        enabled: true,
    };
    store.create_alert_rule(&rule, &system).await?;
    // The on-call engineer first, then the administrator.
    let level = |user: &str| EscalationLevel { users: vec![user.into()], webhook_url: None };
    let chains = EscalationChains {
        fleet: vec![level("eva.engineer"), level(crate::FIRST_ADMIN)],
        ..EscalationChains::default()
    };
    store.set_escalation_chains(&chains, &system).await?;

    let models = store.resolve_models(["credit-risk-scoring", "demand-forecast-cz", "support-ticket-router"]).await?;
    let past = [
        // (model, days ago, title, severity, minutes to acknowledge, to mitigate, to resolve, postmortem)
        ("credit-risk-scoring", 12, "p95 latency above 1 s after a node pool upgrade", Severity::Sev3, 6, 35, 95, true),
        ("demand-forecast-cz", 6, "Forecast inputs missing for Brno stores", Severity::Sev2, 11, 80, 240, true),
        ("support-ticket-router", 2, "Misrouted Slovak tickets", Severity::Sev4, 140, 600, 1500, false),
    ];
    for (name, days_ago, title, severity, acknowledge, mitigate, resolve, with_postmortem) in past {
        let Some(id) = models.get(name) else { continue };
        // A clock set back to the incident, moved on as the responders worked.
        let clock = Clock::manual();
        clock.advance(-Duration::days(days_ago)).map_err(anyhow::Error::msg)?;
        let then = store.clone().with_clock(clock.clone());
        let opening = Opening {
            title: title.into(),
            severity,
            model: Some(ModelId(id.clone())),
            model_label: None,
            version: None,
            source: IncidentSource::Manual,
            fingerprint: format!("demo:{name}:{days_ago}"),
            rule_id: None,
            runbook_id: None,
            impact: "Found in the weekly review.".into(),
            note: "Opened by the on-call engineer".into(),
        };
        let responder = Responder { actor: Actor { id: None, name: "eva.engineer".into() }, role: Role::Engineer };
        let (incident, _) = incidents::open(&then, opening, &responder.actor).await?;
        for (minutes, to) in [
            (acknowledge, IncidentStatus::Investigating),
            (mitigate - acknowledge, IncidentStatus::Mitigated),
            (resolve - mitigate, IncidentStatus::Resolved),
        ] {
            clock.advance(Duration::minutes(minutes)).map_err(anyhow::Error::msg)?;
            incidents::transition(&then, &incident.id, to, &responder).await?;
        }
        if with_postmortem {
            let postmortem = Postmortem {
                summary: title.into(),
                impact: "Scores were late or missing for part of the day.".into(),
                root_cause: "An upstream change was rolled out without a canary.".into(),
                contributing_factors: "No alert on the upstream pipeline's lag.".into(),
                action_items: vec![ActionItem {
                    text: "Alert on pipeline lag".into(),
                    owner: "eva.engineer".into(),
                    due: Some((clock.now() + Duration::days(14)).date_naive()),
                }],
            };
            incidents::save_postmortem(&then, &incident.id, postmortem, &responder.actor).await?;
        }
        clock.advance(Duration::hours(2)).map_err(anyhow::Error::msg)?;
        incidents::transition(&then, &incident.id, IncidentStatus::Closed, &responder).await?;
    }
    Ok(())
}
