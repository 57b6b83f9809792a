//! A version's fairness review: upload an evaluation set (CSV: truth, prediction,
//! protected attributes), read per attribute Fairlearn's metrics and per group the rates
//! with a bar chart, the four-fifths rule flagged; an approver signs it off.

use keel_shared::ErrorBody;
use keel_shared::ModelId;
use keel_shared::auth::Permission;
use keel_shared::evidence::{AttributeFairness, FairnessQuery, FairnessReview, SignOffRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use web_sys::HtmlInputElement;

use crate::api;
use crate::auth::use_auth;
use crate::components::{DataTable, EmptyState, ErrorState, FormAlert, Loading, TextField};
use crate::format;

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "— (no group selected)".to_owned(), |value| format!("{value:.3}"))
}

#[component]
pub fn FairnessPage() -> impl IntoView {
    let params = use_params_map();
    let model = Memo::new(move |_| ModelId(params.read().get("id").unwrap_or_default()));
    let tag = Memo::new(move |_| params.read().get("tag").unwrap_or_default());
    let saved = RwSignal::new(0_u32);
    let review = LocalResource::new(move || {
        saved.get();
        let (model, tag) = (model.get(), tag.get());
        async move { api::fairness(&model, &tag).await }
    });
    let auth = use_auth();
    view! {
        <div class="page-header">
            <div>
                <p class="breadcrumb"><a href=move || format!("/models/{}", model.get())>"Model"</a></p>
                <h1>{move || format!("Fairness review of {}", tag.get())}</h1>
                <p class="page-lede">"Group fairness with Fairlearn 0.15's definitions (between groups, worst case). A selection rate under four fifths of the highest group's is flagged."</p>
            </div>
        </div>
        {move || match review.get() {
            None => view! { <Loading what="the fairness review" /> }.into_any(),
            Some(Err(error)) if error.status == 404 => view! {
                <EmptyState title="No fairness review yet" message="Upload an evaluation set of this version below: one row per case with the truth, the model's prediction (0 or 1) and the protected attributes.">
                    <span></span>
                </EmptyState>
            }.into_any(),
            Some(Err(error)) => view! { <ErrorState error /> }.into_any(),
            Some(Ok(review)) => view! { <Review review saved /> }.into_any(),
        }}
        <Show when=move || auth.can(Permission::UploadEvidence)>
            <UploadForm model=model.get_untracked() tag=tag.get_untracked() saved />
        </Show>
    }
}

#[component]
fn Review(review: FairnessReview, saved: RwSignal<u32>) -> impl IntoView {
    let auth = use_auth();
    let username = auth.me.with_untracked(|me| me.as_ref().map(|me| me.user.username.clone())).unwrap_or_default();
    let can_sign = auth.can(Permission::ApproveChanges) && review.sign_off.is_none() && review.created_by != username;
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let (model, tag) = (review.model_id.clone(), review.version.clone());
    let sign = move |_| {
        let (model, tag) = (model.clone(), tag.clone());
        let request = SignOffRequest { comment: comment.get_untracked() };
        spawn_local(async move {
            match api::sign_off_fairness(&model, &tag, &request).await {
                Ok(_) => saved.update(|count| *count += 1),
                Err(body) => error.set(Some(body)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="verdict-heading">
            <h2 id="verdict-heading">
                {if review.passed { "Within thresholds" } else { "Thresholds breached" }}
            </h2>
            <p class="muted">{format!(
                "{} rows uploaded by {} on {}; truth '{}', prediction '{}'. Limits: demographic parity difference ≤ {}, equalized odds difference ≤ {}, demographic parity ratio ≥ {}.",
                review.rows, review.created_by, format::timestamp(&review.created_at), review.truth, review.prediction,
                review.thresholds.max_demographic_parity_difference, review.thresholds.max_equalized_odds_difference,
                review.thresholds.min_demographic_parity_ratio
            )}</p>
            {match &review.sign_off {
                Some(sign_off) => view! { <p>{format!("Signed off by {} on {}: {}", sign_off.reviewer, format::timestamp(&sign_off.at), sign_off.comment)}</p> }.into_any(),
                None if can_sign => view! {
                    <form class="form" aria-label="Sign off" on:submit=|event| event.prevent_default()>
                        <FormAlert error=Signal::from(error) />
                        <div class="field"><label for="sign-off-comment">"Reviewer's comment"</label>
                            <textarea id="sign-off-comment" rows="2" prop:value=comment on:input=move |event| comment.set(event_target_value(&event))></textarea></div>
                        <div class="form-actions"><button type="button" class="button button-primary" on:click=sign>"Sign off"</button></div>
                    </form>
                }.into_any(),
                None => view! { <p class="muted">"Not signed off yet: an approver other than the uploader signs it off."</p> }.into_any(),
            }}
        </section>
        {review.attributes.into_iter().map(|attribute| view! { <AttributeCard attribute /> }).collect_view()}
    }
}

#[component]
fn AttributeCard(attribute: AttributeFairness) -> impl IntoView {
    let heading = format!("fairness-{}", attribute.attribute);
    let labelled_by = heading.clone();
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading>
                {attribute.attribute.clone()}" "
                {attribute.four_fifths_violated.then(|| view! { <span class="badge health-critical">"Fails the four-fifths rule"</span> })}
            </h2>
            <dl class="facts">
                <div><dt>"Demographic parity difference"</dt><dd>{format!("{:.3}", attribute.demographic_parity_difference)}</dd></div>
                <div><dt>"Demographic parity ratio"</dt><dd>{ratio(attribute.demographic_parity_ratio)}</dd></div>
                <div><dt>"Equalized odds difference"</dt><dd>{format!("{:.3}", attribute.equalized_odds_difference)}</dd></div>
                <div><dt>"Equalized odds ratio"</dt><dd>{ratio(attribute.equalized_odds_ratio)}</dd></div>
                <div><dt>"Equal opportunity difference"</dt><dd>{format!("{:.3}", attribute.equal_opportunity_difference)}</dd></div>
            </dl>
            {(!attribute.breaches.is_empty()).then(|| view! {
                <ul class="conflicts">{attribute.breaches.iter().map(|breach| view! { <li class="conflict conflict-blocking">{breach.clone()}</li> }).collect_view()}</ul>
            })}
            <GroupChart attribute=attribute.clone() />
            <DataTable label=format!("Groups of {}", attribute.attribute) columns=&["Group", "Rows", "Selection rate", "True positive rate", "False positive rate"]>
                    {attribute.groups.iter().map(|group| view! {
                        <tr>
                            <td>{group.group.clone()}</td>
                            <td>{group.count}</td>
                            <td>{format!("{:.3}", group.selection_rate)}</td>
                            <td>{format!("{:.3}", group.true_positive_rate)}</td>
                            <td>{format!("{:.3}", group.false_positive_rate)}</td>
                        </tr>
                    }).collect_view()}
                </DataTable>
        </section>
    }
}

/// Bars per group: selection rate, TPR and FPR, with the four-fifths line of the
/// highest selection rate.
#[component]
fn GroupChart(attribute: AttributeFairness) -> impl IntoView {
    let rows = attribute.groups.len().max(1);
    let (label_width, width, row_height) = (140.0, 560.0, 54.0);
    let height = rows as f64 * row_height + 30.0;
    let scale = move |value: f64| label_width + value.clamp(0.0, 1.0) * (width - label_width - 20.0);
    let best = attribute.groups.iter().map(|group| group.selection_rate).fold(0.0, f64::max);
    let line = scale(best * 0.8);
    view! {
        <figure class="group-chart">
            <svg viewBox=format!("0 0 {width} {height}") role="img" aria-label=format!("Rates per group of {}", attribute.attribute)>
                {attribute.groups.iter().enumerate().map(|(index, group)| {
                    let y = index as f64 * row_height + 6.0;
                    let bars = [("bar-selection", group.selection_rate, "selection"), ("bar-tpr", group.true_positive_rate, "TPR"), ("bar-fpr", group.false_positive_rate, "FPR")];
                    view! {
                        <g>
                            <text x="0" y=y + 24.0 class="chart-label">{group.group.clone()}</text>
                            {bars.into_iter().enumerate().map(|(row, (class, value, name))| {
                                let top = y + row as f64 * 15.0;
                                view! {
                                    <rect x=label_width y=top width=scale(value) - label_width height="12" class=class>
                                        <title>{format!("{name} {value:.3}")}</title>
                                    </rect>
                                }
                            }).collect_view()}
                        </g>
                    }
                }).collect_view()}
                <line x1=line x2=line y1="0" y2=height - 20.0 class="four-fifths-line" />
                <text x=line y=height - 6.0 class="chart-label" text-anchor="middle">"4/5 of the best selection rate"</text>
            </svg>
            <figcaption class="legend">
                <span class="legend-item"><span class="legend-swatch bar-selection"></span>"Selection rate"</span>
                <span class="legend-item"><span class="legend-swatch bar-tpr"></span>"True positive rate"</span>
                <span class="legend-item"><span class="legend-swatch bar-fpr"></span>"False positive rate"</span>
            </figcaption>
        </figure>
    }
}

#[component]
fn UploadForm(model: ModelId, tag: String, saved: RwSignal<u32>) -> impl IntoView {
    let truth = RwSignal::new("truth".to_owned());
    let prediction = RwSignal::new("prediction".to_owned());
    let attributes = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let sending = RwSignal::new(false);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(input) = file_input.get_untracked() else { return };
        let input: &HtmlInputElement = &input;
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            error.set(Some(ErrorBody {
                kind: "/problems/client".into(),
                title: "No file".into(),
                status: 0,
                detail: "Choose the evaluation set (a CSV file) first.".into(),
                fields: Default::default(),
            }));
            return;
        };
        let query = FairnessQuery { truth: truth.get(), prediction: prediction.get(), attributes: attributes.get() };
        let (model, tag) = (model.clone(), tag.clone());
        sending.set(true);
        spawn_local(async move {
            let answer = api::upload_fairness(&model, &tag, &query, file).await;
            sending.set(false);
            match answer {
                Ok(_) => {
                    error.set(None);
                    saved.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let signal = Signal::from(error);
    view! {
        <form class="card form" aria-label="Upload an evaluation set" on:submit=submit>
            <h2>"Review an evaluation set"</h2>
            <p class="muted">"A new review replaces the last one and voids the approvals of changes to this version."</p>
            <FormAlert error=signal />
            <div class="field"><label for="fairness-file">"Evaluation set (CSV with a header row)"</label>
                <input id="fairness-file" type="file" accept=".csv,text/csv" node_ref=file_input /></div>
            <div class="field-row">
                <TextField id="fairness-truth" label="Truth column" field="truth" value=truth error=signal />
                <TextField id="fairness-prediction" label="Prediction column" field="prediction" value=prediction error=signal />
                <TextField id="fairness-attributes" label="Protected attributes (comma-separated)" field="attributes" value=attributes error=signal required=true />
            </div>
            <div class="form-actions"><button type="submit" class="button button-primary" disabled=move || sending.get()>
                {move || if sending.get() { "Reviewing…" } else { "Review" }}
            </button></div>
        </form>
    }
}
