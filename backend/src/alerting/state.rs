//! One rule's state machine for one model: Normal → Pending → Firing → Recovering →
//! Normal, with NoData and InsufficientData beside them. Pure: the engine hands in the
//! previous state, what was observed and the time.

use chrono::{DateTime, Duration, Utc};
use keel_shared::alerting::{AlertRuleSpec, AlertState, NoDataPolicy};

use crate::store::alerting::StoredState;

/// What the rule's signal showed this time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    Value(f64),
    /// No points in the window (or no evaluation yet).
    NoData,
    /// A drift rule's latest evaluation had fewer rows than its minimum.
    InsufficientData,
}

/// What the engine does about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    /// Started firing: open an incident (or attach to the open one).
    Fire,
    /// Stopped firing: resolve the incident it opened if nobody acknowledged it.
    Recover,
}

/// The next state after `observation` at `now`.
pub fn step(
    rule: &AlertRuleSpec,
    previous: Option<StoredState>,
    observation: Observation,
    now: DateTime<Utc>,
) -> (StoredState, Outcome) {
    let previous = previous.unwrap_or(StoredState { state: AlertState::Normal, since: now, value: None });
    let was_firing =
        previous.state.is_firing() || previous.state == AlertState::NoData && rule.no_data == NoDataPolicy::Alert;
    let enter = |state: AlertState, value: Option<f64>| StoredState { state, since: now, value };
    let stay = |value: Option<f64>| StoredState { value, ..previous };
    let held_for = |seconds: u32| now - previous.since >= Duration::seconds(i64::from(seconds));
    let value = match observation {
        Observation::Value(value) => value,
        Observation::NoData => {
            return match rule.no_data {
                NoDataPolicy::KeepState => (stay(previous.value), Outcome::Unchanged),
                NoDataPolicy::Alert if previous.state == AlertState::NoData => (previous, Outcome::Unchanged),
                NoDataPolicy::Alert => {
                    (enter(AlertState::NoData, None), if was_firing { Outcome::Unchanged } else { Outcome::Fire })
                }
                NoDataPolicy::Ok if previous.state == AlertState::Normal => (previous, Outcome::Unchanged),
                NoDataPolicy::Ok => {
                    (enter(AlertState::Normal, None), if was_firing { Outcome::Recover } else { Outcome::Unchanged })
                }
            };
        }
        // Too few rows to judge: neither a breach nor a recovery, so a firing rule fires on.
        Observation::InsufficientData if previous.state == AlertState::InsufficientData || was_firing => {
            return (previous, Outcome::Unchanged);
        }
        Observation::InsufficientData => return (enter(AlertState::InsufficientData, None), Outcome::Unchanged),
    };
    let (breached, recovered) = (rule.condition.breached(value), rule.condition.recovered(value));
    let fire = |since_breach: StoredState| {
        if was_firing {
            (enter(AlertState::Firing, Some(value)), Outcome::Unchanged)
        } else {
            (since_breach, Outcome::Fire)
        }
    };
    match previous.state {
        AlertState::Normal | AlertState::InsufficientData | AlertState::NoData if breached => {
            if rule.for_seconds == 0 {
                fire(enter(AlertState::Firing, Some(value)))
            } else {
                (enter(AlertState::Pending, Some(value)), Outcome::Unchanged)
            }
        }
        AlertState::Normal => (stay(Some(value)), Outcome::Unchanged),
        AlertState::InsufficientData | AlertState::NoData => {
            if was_firing && !recovered {
                (enter(AlertState::Firing, Some(value)), Outcome::Unchanged)
            } else {
                (enter(AlertState::Normal, Some(value)), if was_firing { Outcome::Recover } else { Outcome::Unchanged })
            }
        }
        AlertState::Pending if breached && held_for(rule.for_seconds) => fire(enter(AlertState::Firing, Some(value))),
        AlertState::Pending if breached => (stay(Some(value)), Outcome::Unchanged),
        AlertState::Pending => (enter(AlertState::Normal, Some(value)), Outcome::Unchanged),
        AlertState::Firing if recovered && rule.keep_firing_for_seconds == 0 => {
            (enter(AlertState::Normal, Some(value)), Outcome::Recover)
        }
        AlertState::Firing if recovered => (enter(AlertState::Recovering, Some(value)), Outcome::Unchanged),
        AlertState::Firing => (stay(Some(value)), Outcome::Unchanged),
        AlertState::Recovering if !recovered => (enter(AlertState::Firing, Some(value)), Outcome::Unchanged),
        AlertState::Recovering if held_for(rule.keep_firing_for_seconds) => {
            (enter(AlertState::Normal, Some(value)), Outcome::Recover)
        }
        AlertState::Recovering => (stay(Some(value)), Outcome::Unchanged),
    }
}

#[cfg(test)]
mod tests {
    use keel_shared::alerting::{Condition, RuleScope, Signal};
    use keel_shared::incidents::Severity;

    use super::*;

    fn rule(for_seconds: u32, keep_firing_for_seconds: u32, no_data: NoDataPolicy) -> AlertRuleSpec {
        AlertRuleSpec {
            name: "error rate".into(),
            description: String::new(),
            scope: RuleScope::default(),
            signal: Signal::Health,
            condition: Condition::Above { threshold: 0.10, recovery: Some(0.05) },
            for_seconds,
            keep_firing_for_seconds,
            severity: Severity::Sev3,
            no_data,
            min_rows: 30,
            runbook: None,
            enabled: true,
        }
    }

    /// Feeds `values` one a minute from a fresh state; the outcomes and the last state.
    fn run(rule: &AlertRuleSpec, observations: &[Observation]) -> (Vec<Outcome>, AlertState) {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("a time").to_utc();
        let mut state = None;
        let mut outcomes = Vec::new();
        for (minute, observation) in observations.iter().enumerate() {
            let (next, outcome) = step(rule, state, *observation, start + Duration::minutes(minute as i64));
            state = Some(next);
            outcomes.push(outcome);
        }
        (outcomes, state.map(|state| state.state).unwrap_or(AlertState::Normal))
    }

    use Observation::{InsufficientData as Few, NoData as Empty, Value as V};
    use Outcome::{Fire, Recover, Unchanged as U};

    #[test]
    fn a_breach_fires_only_after_it_has_lasted_for_the_pending_period() {
        let (outcomes, state) = run(&rule(120, 0, NoDataPolicy::KeepState), &[V(0.2), V(0.2), V(0.2)]);
        assert_eq!(outcomes, [U, U, Fire]);
        assert_eq!(state, AlertState::Firing);
        let (outcomes, state) = run(&rule(120, 0, NoDataPolicy::KeepState), &[V(0.2), V(0.2), V(0.01), V(0.2)]);
        assert_eq!(outcomes, [U, U, U, U], "the breach was interrupted before its two minutes");
        assert_eq!(state, AlertState::Pending);
    }

    #[test]
    fn a_value_hovering_at_the_line_does_not_flap() {
        let values = [V(0.11), V(0.09), V(0.11), V(0.09), V(0.11), V(0.04)];
        let (outcomes, state) = run(&rule(0, 0, NoDataPolicy::KeepState), &values);
        assert_eq!(outcomes, [Fire, U, U, U, U, Recover], "fires once, recovers only below 0.05");
        assert_eq!(state, AlertState::Normal);
    }

    #[test]
    fn keep_firing_for_holds_the_alert_after_recovery() {
        let values = [V(0.2), V(0.01), V(0.01), V(0.2), V(0.01), V(0.01), V(0.01)];
        let (outcomes, state) = run(&rule(0, 120, NoDataPolicy::KeepState), &values);
        assert_eq!(outcomes, [Fire, U, U, U, U, U, Recover], "a relapse while recovering is the same firing");
        assert_eq!(state, AlertState::Normal);
    }

    #[test]
    fn no_data_follows_the_rule_s_choice() {
        let (outcomes, state) = run(&rule(0, 0, NoDataPolicy::Alert), &[V(0.0), Empty, Empty, V(0.0)]);
        assert_eq!(outcomes, [U, Fire, U, Recover]);
        assert_eq!(state, AlertState::Normal);
        let (outcomes, state) = run(&rule(0, 0, NoDataPolicy::KeepState), &[V(0.2), Empty, V(0.2)]);
        assert_eq!((outcomes, state), (vec![Fire, U, U], AlertState::Firing));
        let (outcomes, state) = run(&rule(0, 0, NoDataPolicy::Ok), &[V(0.2), Empty]);
        assert_eq!((outcomes, state), (vec![Fire, Recover], AlertState::Normal));
    }

    #[test]
    fn insufficient_data_neither_fires_nor_recovers() {
        let (outcomes, state) = run(&rule(0, 0, NoDataPolicy::KeepState), &[Few, Few, V(0.2)]);
        assert_eq!(outcomes, [U, U, Fire]);
        assert_eq!(state, AlertState::Firing);
        let (outcomes, state) = run(&rule(0, 0, NoDataPolicy::KeepState), &[V(0.2), Few, V(0.08), V(0.01)]);
        assert_eq!(outcomes, [Fire, U, U, Recover], "still firing after the gap, until it really recovers");
        assert_eq!(state, AlertState::Normal);
    }
}
