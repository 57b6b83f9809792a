//! Alerting: the rules (turned on and off, created with a preview of what they would say
//! now), their recent state changes, and silences.

use chrono::{Duration, Utc};
use keel_shared::ErrorBody;
use keel_shared::ModelId;
use keel_shared::alerting::{
    Aggregation, AlertRule, AlertRuleSpec, Condition, NoDataPolicy, RulePreview, RuleScope, Signal as RuleSignal,
    SilenceSpec,
};
use keel_shared::auth::Permission;
use keel_shared::incidents::{Severity, SlaPolicy};
use keel_shared::models::{RiskTier, Stage};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::incidents::SeverityBadge;
use crate::api;
use crate::auth::use_auth;
use crate::components::{DataTable, EmptyState, FormAlert, ModelSelect, TextField, loaded, use_models};
use crate::format;
use crate::live::use_live;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let can_manage = use_auth().can(Permission::ManageAlertRules);
    let live = use_live();
    let changed = RwSignal::new(0_u32);
    let error = RwSignal::new(None::<ErrorBody>);
    let creating = RwSignal::new(false);
    let rules = LocalResource::new(move || {
        changed.get();
        live.incident_changes();
        api::list_alert_rules()
    });
    let toggle = move |rule: AlertRule| {
        let mut spec = rule.spec.clone();
        spec.enabled = !spec.enabled;
        let question = format!("Turn {} the rule '{}'?", if spec.enabled { "on" } else { "off" }, spec.name);
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        spawn_local(async move {
            match api::update_alert_rule(&rule.id, &spec).await {
                Ok(_) => {
                    error.set(None);
                    changed.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    view! {
        <div class="page-header">
            <div>
                <h1>"Alert rules"</h1>
                <p class="page-lede">"Rules watch every model's signals and open an incident when one breaches. Every model gets the three default rules unless they are turned off."</p>
            </div>
            <Show when=move || can_manage>
                <button type="button" class="button button-primary" on:click=move |_| creating.update(|open| *open = !*open)>
                    {move || if creating.get() { "Close form" } else { "New rule" }}
                </button>
            </Show>
        </div>
        <Show when=move || creating.get()>
            <RuleForm on_created=move || { creating.set(false); changed.update(|count| *count += 1); } />
        </Show>
        <FormAlert error=Signal::from(error) />
        {loaded(rules, "alert rules", move |rules| view! {
                <DataTable label="Alert rules" columns=&["Rule", "Watches", "Fires when", "Severity", "Covers", "Firing", "State"]>
                            {rules.into_iter().map(|rule| {
                                let spec = &rule.spec;
                                let pending = if spec.for_seconds > 0 { format!(" for {}", format::span(i64::from(spec.for_seconds))) } else { String::new() };
                                let enabled = spec.enabled;
                                let label = format!("{} {}", if enabled { "Turn off" } else { "Turn on" }, spec.name);
                                let row = rule.clone();
                                view! {
                                    <tr>
                                        <td>{spec.name.clone()}<div class="cell-sub">{spec.description.clone()}{rule.builtin.then_some(" (default)")}</div></td>
                                        <td>{spec.signal.describe()}</td>
                                        <td>{spec.condition.describe()}{pending}</td>
                                        <td><SeverityBadge severity=spec.severity /></td>
                                        <td>{scope_text(&spec.scope)}</td>
                                        <td>{rule.firing}</td>
                                        <td>
                                            {if enabled { "On" } else { "Off" }}" "
                                            <Show when=move || can_manage>
                                                <button type="button" class="button button-quiet" aria-label=label.clone() on:click={
                                                    let row = row.clone();
                                                    move |_| toggle(row.clone())
                                                }>{if enabled { "Turn off" } else { "Turn on" }}</button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
            }.into_any())}
        <History changed />
        <Silences can_manage />
        <ServiceLevels can_manage />
    }
}

fn scope_text(scope: &RuleScope) -> String {
    let mut parts = Vec::new();
    if scope.model.is_some() {
        parts.push("one model".to_owned());
    }
    if let Some(tier) = scope.risk_tier {
        parts.push(format!("every {} model", tier.label().to_lowercase()));
    }
    if let Some(stage) = scope.stage {
        parts.push(format!("with a {} version", stage.label().to_lowercase()));
    }
    if let Some(pattern) = &scope.name_pattern {
        parts.push(format!("named {pattern}"));
    }
    if parts.is_empty() { "every model".to_owned() } else { parts.join(", ") }
}

#[component]
fn History(changed: RwSignal<u32>) -> impl IntoView {
    let live = use_live();
    let history = LocalResource::new(move || {
        changed.get();
        live.incident_changes();
        api::alert_history()
    });
    view! {
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"Recent state changes"</h2>
            {loaded(history, "alert history", move |value| match value {
                entries if entries.is_empty() => view! { <p>"No rule has changed state yet."</p> }.into_any(),
                entries => view! {
                    <DataTable label="Alert history" columns=&["When", "Rule", "Model", "Change", "Value"]>
                            {entries.into_iter().take(50).map(|entry| view! {
                                <tr>
                                    <td>{format::timestamp(&entry.at)}</td>
                                    <td>{entry.rule_name}</td>
                                    <td><a class="table-link" href=format!("/models/{}", entry.model)>{entry.model_name}</a></td>
                                    <td>{format!("{} → {}", entry.from.as_str().replace('_', " "), entry.to.as_str().replace('_', " "))}{entry.silenced.then_some(" (silenced)")}</td>
                                    <td>{entry.value.map_or_else(|| "—".to_owned(), |value| format!("{value:.4}"))}</td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                }.into_any(),
            })}
        </section>
    }
}

/// The kinds of signal the form offers.
const SIGNALS: [(&str, &str); 8] = [
    ("metric", "A telemetry metric"),
    ("health", "Health status"),
    ("dataset_drift", "Dataset drift"),
    ("drifted_share", "Share of drifted features"),
    ("feature_drift", "One feature's drift score"),
    ("missing_share", "One feature's missing share"),
    ("freshness", "Minutes since the newest point"),
    ("performance", "Metrics worse than the reference"),
];

#[component]
fn RuleForm(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let signal = RwSignal::new("metric".to_owned());
    let metric = RwSignal::new("error_rate".to_owned());
    let aggregation = RwSignal::new(Aggregation::Avg);
    let window = RwSignal::new("5".to_owned());
    let feature = RwSignal::new(String::new());
    let op = RwSignal::new("above".to_owned());
    let threshold = RwSignal::new(String::new());
    let recovery = RwSignal::new(String::new());
    let for_minutes = RwSignal::new("0".to_owned());
    let severity = RwSignal::new(Severity::Sev3);
    let model = RwSignal::new(String::new());
    let keep_firing_minutes = RwSignal::new("0".to_owned());
    let no_data = RwSignal::new(NoDataPolicy::KeepState);
    let min_rows = RwSignal::new("30".to_owned());
    // "model" (one model, or the fleet when none is chosen), "tier", "stage" or "pattern".
    let scope_kind = RwSignal::new("model".to_owned());
    let tier = RwSignal::new(RiskTier::High);
    let stage = RwSignal::new(Stage::Production);
    let pattern = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let preview = RwSignal::new(None::<Vec<RulePreview>>);
    let models = use_models();
    let spec = move || -> AlertRuleSpec {
        let number = |text: String| text.trim().parse::<f64>().unwrap_or(f64::NAN);
        let threshold_value = number(threshold.get());
        let recovery_value = Some(recovery.get()).filter(|text| !text.trim().is_empty()).map(number);
        AlertRuleSpec {
            name: name.get(),
            description: String::new(),
            scope: match scope_kind.get().as_str() {
                "tier" => RuleScope { risk_tier: Some(tier.get()), ..RuleScope::default() },
                "stage" => RuleScope { stage: Some(stage.get()), ..RuleScope::default() },
                "pattern" => RuleScope { name_pattern: Some(pattern.get()), ..RuleScope::default() },
                _ => RuleScope {
                    model: Some(model.get()).filter(|model| !model.is_empty()).map(ModelId),
                    ..RuleScope::default()
                },
            },
            signal: match signal.get().as_str() {
                "health" => RuleSignal::Health,
                "dataset_drift" => RuleSignal::DatasetDrift,
                "drifted_share" => RuleSignal::DriftedShare,
                "feature_drift" => RuleSignal::FeatureDrift { feature: feature.get() },
                "missing_share" => RuleSignal::MissingShare { feature: feature.get() },
                "freshness" => RuleSignal::Freshness,
                "performance" => RuleSignal::Performance,
                _ => RuleSignal::Metric {
                    metric: metric.get(),
                    aggregation: aggregation.get(),
                    window_minutes: window.get().parse().unwrap_or(0),
                },
            },
            condition: match op.get().as_str() {
                "below" => Condition::Below { threshold: threshold_value, recovery: recovery_value },
                "outside" => Condition::Outside { low: threshold_value, high: recovery_value.unwrap_or(f64::NAN) },
                _ => Condition::Above { threshold: threshold_value, recovery: recovery_value },
            },
            for_seconds: for_minutes.get().parse::<u32>().unwrap_or(0).saturating_mul(60),
            keep_firing_for_seconds: keep_firing_minutes.get().parse::<u32>().unwrap_or(0).saturating_mul(60),
            severity: severity.get(),
            no_data: no_data.get(),
            min_rows: min_rows.get().parse().unwrap_or(0),
            runbook: None,
            enabled: true,
        }
    };
    let check = move |_| {
        let spec = spec();
        spawn_local(async move {
            match api::preview_alert_rule(&spec).await {
                Ok(result) => {
                    error.set(None);
                    preview.set(Some(result));
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let spec = spec();
        spawn_local(async move {
            match api::create_alert_rule(&spec).await {
                Ok(_) => on_created(),
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let error_signal = Signal::from(error);
    let is = move |kinds: &'static [&'static str]| move || kinds.contains(&signal.get().as_str());
    view! {
        <form class="card form" aria-label="New alert rule" on:submit=submit>
            <h2>"New alert rule"</h2>
            <FormAlert error=error_signal />
            <TextField id="rule-name" label="Name" field="name" value=name error=error_signal required=true />
            <div class="field">
                <label for="rule-scope">"Covers"</label>
                <select id="rule-scope" prop:value=scope_kind on:change=move |event| scope_kind.set(event_target_value(&event))>
                    <option value="model">"One model, or every model"</option>
                    <option value="tier">"Every model in a risk tier"</option>
                    <option value="stage">"Every model with a version in a stage"</option>
                    <option value="pattern">"Every model whose name matches"</option>
                </select>
            </div>
            <Show when=move || scope_kind.get() == "model">
                <div class="field">
                    <label for="rule-model">"Model"</label>
                    <select id="rule-model" prop:value=model on:change=move |event| model.set(event_target_value(&event))>
                        <option value="">"Every model (the fleet, new ones included)"</option>
                        {move || {
                            models.get().and_then(Result::ok).map(|list| {
                                list.items
                                    .into_iter()
                                    .map(|item| view! { <option value=item.id.0>{item.name}</option> })
                                    .collect_view()
                            })
                        }}
                    </select>
                </div>
            </Show>
            <Show when=move || scope_kind.get() == "tier">
                <div class="field">
                    <label for="rule-tier">"Risk tier"</label>
                    <select id="rule-tier" prop:value=move || tier.get().as_str().to_owned()
                        on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { tier.set(chosen) } }>
                        {RiskTier::ALL.map(|option| view! { <option value=option.as_str()>{option.label()}</option> })}
                    </select>
                </div>
            </Show>
            <Show when=move || scope_kind.get() == "stage">
                <div class="field">
                    <label for="rule-stage">"Stage"</label>
                    <select id="rule-stage" prop:value=move || stage.get().as_str().to_owned()
                        on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { stage.set(chosen) } }>
                        {Stage::ALL.map(|option| view! { <option value=option.as_str()>{option.label()}</option> })}
                    </select>
                </div>
            </Show>
            <Show when=move || scope_kind.get() == "pattern">
                <TextField id="rule-pattern" label="Name pattern (* matches anything, e.g. credit-*)" field="scope.name_pattern" value=pattern error=error_signal />
            </Show>
            <div class="field">
                <label for="rule-signal">"Watches"</label>
                <select id="rule-signal" prop:value=signal on:change=move |event| signal.set(event_target_value(&event))>
                    {SIGNALS.map(|(value, label)| view! { <option value=value>{label}</option> })}
                </select>
            </div>
            <Show when=is(&["metric"])>
                <TextField id="rule-metric" label="Metric" field="signal.metric" value=metric error=error_signal />
                <div class="field">
                    <label for="rule-aggregation">"Aggregation"</label>
                    <select id="rule-aggregation" prop:value=move || aggregation.get().as_str().to_owned()
                        on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { aggregation.set(chosen) } }>
                        {Aggregation::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <TextField id="rule-window" label="Window (minutes)" field="signal.window_minutes" value=window error=error_signal kind="number" />
            </Show>
            <Show when=is(&["feature_drift", "missing_share"])>
                <TextField id="rule-feature" label="Feature" field="signal.feature" value=feature error=error_signal />
            </Show>
            <div class="field">
                <label for="rule-op">"Fires when the value is"</label>
                <select id="rule-op" prop:value=op on:change=move |event| op.set(event_target_value(&event))>
                    <option value="above">"above the threshold"</option>
                    <option value="below">"below the threshold"</option>
                    <option value="outside">"outside a band (low … high)"</option>
                </select>
            </div>
            <TextField id="rule-threshold" label="Threshold (low end of a band)" field="condition" value=threshold error=error_signal />
            <TextField id="rule-recovery" label="Recovers at (high end of a band; empty: the threshold)" field="condition.recovery" value=recovery error=error_signal />
            <TextField id="rule-for" label="Pending period (minutes)" field="for_seconds" value=for_minutes error=error_signal kind="number" />
            <TextField id="rule-keep" label="Keep firing after recovery (minutes)" field="keep_firing_for_seconds" value=keep_firing_minutes error=error_signal kind="number" />
            <div class="field">
                <label for="rule-no-data">"When the window has no data"</label>
                <select id="rule-no-data" prop:value=move || no_data.get().as_str().to_owned()
                    on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { no_data.set(chosen) } }>
                    <option value="keep_state">"Keep the state it was in"</option>
                    <option value="alert">"Fire, as a breach would"</option>
                    <option value="ok">"Count it as normal"</option>
                </select>
            </div>
            <Show when=is(&["dataset_drift", "drifted_share", "feature_drift", "missing_share"])>
                <TextField id="rule-min-rows" label="Fewest rows an evaluation needs (fewer: insufficient data)" field="min_rows" value=min_rows error=error_signal kind="number" />
            </Show>
            <div class="field">
                <label for="rule-severity">"Severity"</label>
                <select id="rule-severity" prop:value=move || severity.get().as_str().to_owned()
                    on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { severity.set(chosen) } }>
                    {Severity::ALL.iter().map(|option| view! { <option value=option.as_str()>{option.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="form-actions">
                <button type="button" class="button" on:click=check>"Preview"</button>
                <button type="submit" class="button button-primary">"Create rule"</button>
            </div>
            {move || preview.get().map(|results| view! {
                <DataTable label="Preview" columns=&["Model", "Value now", "Would be"]>
                        {results.into_iter().map(|result| view! {
                            <tr>
                                <td>{result.model_name}</td>
                                <td>{result.value.map_or_else(|| "—".to_owned(), |value| format!("{value:.4}"))}</td>
                                <td>{result.verdict.replace('_', " ")}</td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
            })}
        </form>
    }
}

#[component]
fn Silences(can_manage: bool) -> impl IntoView {
    let changed = RwSignal::new(0_u32);
    let error = RwSignal::new(None::<ErrorBody>);
    let silences = LocalResource::new(move || {
        changed.get();
        api::list_silences()
    });
    let models = use_models();
    let model = RwSignal::new(String::new());
    let hours = RwSignal::new("2".to_owned());
    let reason = RwSignal::new(String::new());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let now = Utc::now();
        let spec = SilenceSpec {
            model: Some(model.get()).filter(|model| !model.is_empty()).map(ModelId),
            rule: None,
            severity: None,
            labels: Default::default(),
            starts_at: now,
            ends_at: now + Duration::minutes((hours.get().trim().parse::<f64>().unwrap_or(0.0) * 60.0) as i64),
            reason: reason.get(),
        };
        spawn_local(async move {
            match api::create_silence(&spec).await {
                Ok(_) => {
                    error.set(None);
                    reason.set(String::new());
                    changed.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let expire = move |id: String| {
        if !window()
            .confirm_with_message("End this silence now? Alerts it held back can open incidents again.")
            .unwrap_or(false)
        {
            return;
        }
        spawn_local(async move {
            match api::expire_silence(&id).await {
                Ok(()) => changed.update(|count| *count += 1),
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let error_signal = Signal::from(error);
    view! {
        <section class="card" aria-labelledby="silences-heading">
            <h2 id="silences-heading">"Silences"</h2>
            <p class="field-hint">"A silenced firing is recorded but opens no incident and notifies nobody: for maintenance windows."</p>
            <FormAlert error=error_signal />
            {loaded(silences, "silences", move |value| match value {
                list if list.is_empty() => view! { <EmptyState title="No active silences" message="Every firing rule opens its incident."><span></span></EmptyState> }.into_any(),
                list => view! {
                    <ul class="silence-list">
                        {list.into_iter().map(|silence| {
                            let id = silence.id.clone();
                            view! {
                                <li>
                                    {format!("{} — until {} ({}), by {}", silence.spec.reason, format::timestamp(&silence.spec.ends_at),
                                        silence.spec.model.as_ref().map_or_else(|| "matchers".to_owned(), |model| format!("model {model}")), silence.author)}
                                    <Show when=move || can_manage>
                                        <button type="button" class="button button-quiet" on:click={
                                            let id = id.clone();
                                            move |_| expire(id.clone())
                                        }>"End now"</button>
                                    </Show>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
            <Show when=move || can_manage>
                <form class="form form-inline" aria-label="New silence" on:submit=submit>
                    <div class="field">
                        <label for="silence-model">"Model"</label>
                        <ModelSelect models value=model empty="Choose a model" id="silence-model" />
                    </div>
                    <TextField id="silence-hours" label="For (hours)" field="ends_at" value=hours error=error_signal kind="number" />
                    <TextField id="silence-reason" label="Reason" field="reason" value=reason error=error_signal />
                    <div class="form-actions"><button type="submit" class="button">"Silence"</button></div>
                </form>
            </Show>
        </section>
    }
}

/// The service levels per severity, in minutes; new incidents take their deadlines from them.
#[component]
fn ServiceLevels(can_manage: bool) -> impl IntoView {
    let error = RwSignal::new(None::<ErrorBody>);
    let saved = RwSignal::new(false);
    let policy = RwSignal::new(None::<SlaPolicy>);
    spawn_local(async move {
        match api::get_sla().await {
            Ok(loaded) => policy.set(Some(loaded)),
            Err(body) => error.set(Some(body)),
        }
    });
    let set = move |severity: Severity, resolve: bool, text: String| {
        let Ok(minutes) = text.trim().parse::<i64>() else { return };
        policy.update(|policy| {
            if let Some(policy) = policy {
                let sla = match severity {
                    Severity::Sev1 => &mut policy.sev1,
                    Severity::Sev2 => &mut policy.sev2,
                    Severity::Sev3 => &mut policy.sev3,
                    Severity::Sev4 => &mut policy.sev4,
                };
                if resolve { sla.resolve_seconds = minutes * 60 } else { sla.acknowledge_seconds = minutes * 60 }
            }
        });
        saved.set(false);
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(current) = policy.get() else { return };
        spawn_local(async move {
            match api::set_sla(&current).await {
                Ok(_) => {
                    error.set(None);
                    saved.set(true);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    view! {
        <form class="card" aria-labelledby="sla-heading" on:submit=submit>
            <h2 id="sla-heading">"Service levels"</h2>
            <p class="field-hint">"Minutes from detection to acknowledge and to resolve; an incident not acknowledged in time escalates. New incidents (and re-graded ones) take these."</p>
            <FormAlert error=Signal::from(error) />
            <Show when=move || saved.get()>
                <div class="alert alert-success" role="status">"Saved."</div>
            </Show>
            {move || policy.get().map(|current| view! {
                <DataTable label="Service levels" columns=&["Severity", "Acknowledge within (min)", "Resolve within (min)"]>
                        {Severity::ALL.iter().map(|severity| {
                            let severity = *severity;
                            let sla = current.for_severity(severity);
                            view! {
                                <tr>
                                    <td><SeverityBadge severity /></td>
                                    <td><input type="number" min="1" aria-label=format!("{} acknowledge minutes", severity.label()) disabled=!can_manage
                                        prop:value=(sla.acknowledge_seconds / 60).to_string() on:change=move |event| set(severity, false, event_target_value(&event)) /></td>
                                    <td><input type="number" min="1" aria-label=format!("{} resolve minutes", severity.label()) disabled=!can_manage
                                        prop:value=(sla.resolve_seconds / 60).to_string() on:change=move |event| set(severity, true, event_target_value(&event)) /></td>
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
            })}
            <Show when=move || can_manage>
                <div class="form-actions"><button type="submit" class="button">"Save service levels"</button></div>
            </Show>
        </form>
    }
}
