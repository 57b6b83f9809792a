//! Inbound alert integrations (admins): keys for Alertmanager and PagerDuty Events v2
//! senders, each shown once.

use keel_shared::ErrorBody;
use keel_shared::ModelId;
use keel_shared::alerting::{CreateIntegrationRequest, IntegrationKind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::components::{DataTable, EmptyState, FormAlert, ModelSelect, TextField, loaded, use_models};
use crate::format;

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let changed = RwSignal::new(0_u32);
    let error = RwSignal::new(None::<ErrorBody>);
    let created = RwSignal::new(None::<(String, IntegrationKind, String)>);
    let integrations = LocalResource::new(move || {
        changed.get();
        api::list_integrations()
    });
    let models = use_models();
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new(IntegrationKind::Alertmanager);
    let model = RwSignal::new(String::new());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let request = CreateIntegrationRequest {
            name: name.get(),
            kind: kind.get(),
            model: Some(model.get()).filter(|model| !model.is_empty()).map(ModelId),
        };
        spawn_local(async move {
            match api::create_integration(&request).await {
                Ok(answer) => {
                    error.set(None);
                    name.set(String::new());
                    created.set(Some((answer.integration.name, answer.integration.kind, answer.key)));
                    changed.update(|count| *count += 1);
                }
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let revoke = move |id: String, name: String| {
        if !window()
            .confirm_with_message(&format!("Revoke '{name}'? Its sender's alerts are refused from now on."))
            .unwrap_or(false)
        {
            return;
        }
        spawn_local(async move {
            match api::revoke_integration(&id).await {
                Ok(()) => changed.update(|count| *count += 1),
                Err(body) => error.set(Some(body)),
            }
        });
    };
    let error_signal = Signal::from(error);
    let origin = window().location().origin().unwrap_or_default();
    view! {
        <div class="page-header">
            <div>
                <h1>"Integrations"</h1>
                <p class="page-lede">"Let Alertmanager and PagerDuty Events v2 senders open incidents in Keel."</p>
            </div>
        </div>
        {move || created.get().map(|(name, kind, key)| {
            let how = match kind {
                IntegrationKind::Alertmanager => format!("In alertmanager.yml: webhook_configs url {origin}/api/integrations/alertmanager with http_config.authorization.credentials set to this key."),
                IntegrationKind::PagerDuty => format!("Use it as the routing_key; point the client's base URL at {origin} (events go to /v2/enqueue)."),
            };
            view! {
                <div class="alert alert-success" role="status">
                    <strong>{format!("Key for '{name}' — copy it now, it is not shown again:")}</strong>
                    <code class="secret">{key}</code>
                    <p>{how}</p>
                </div>
            }
        })}
        <form class="card form form-inline" aria-label="New integration" on:submit=submit>
            <FormAlert error=error_signal />
            <TextField id="integration-name" label="Name" field="name" value=name error=error_signal required=true />
            <div class="field">
                <label for="integration-kind">"Sender"</label>
                <select id="integration-kind" prop:value=move || kind.get().as_str().to_owned()
                    on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { kind.set(chosen) } }>
                    <option value="alertmanager">"Alertmanager"</option>
                    <option value="pagerduty">"PagerDuty Events v2"</option>
                </select>
            </div>
            <div class="field">
                <label for="integration-model">"Model"</label>
                <ModelSelect models value=model empty="From each event (the fleet)" id="integration-model" />
            </div>
            <div class="form-actions"><button type="submit" class="button button-primary">"Create key"</button></div>
        </form>
        {loaded(integrations, "integrations", move |value| match value {
            list if list.is_empty() => view! {
                <EmptyState title="No integrations yet" message="Create a key for each sender."><span></span></EmptyState>
            }.into_any(),
            list => view! {
                <DataTable label="Integrations" columns=&["col", "col", "col", "col", "col"]>
                            {list.into_iter().map(|integration| {
                                let (id, name) = (integration.id.clone(), integration.name.clone());
                                view! {
                                    <tr>
                                        <td>{integration.name.clone()}</td>
                                        <td>{integration.kind.as_str()}</td>
                                        <td>{format!("{} by {}", format::timestamp(&integration.created_at), integration.created_by)}</td>
                                        <td>{integration.last_used_at.map_or_else(|| "never".to_owned(), |at| format::timestamp(&at))}</td>
                                        <td><button type="button" class="button button-danger" on:click=move |_| revoke(id.clone(), name.clone())>"Revoke"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
            }.into_any(),
        })}
    }
}
