//! API tokens for machines (admins): created with scopes, shown once, revocable.

use keel_shared::ErrorBody;
use keel_shared::auth::{CreateTokenRequest, TokenScope, TokenSummary};
use leptos::prelude::*;

use crate::api;
use crate::components::{DataTable, FieldError, FormAlert, field_message, loaded};
use crate::format;

#[component]
pub fn TokensPage() -> impl IntoView {
    let tokens = LocalResource::new(api::list_tokens);
    let name = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let ingest = RwSignal::new(true);
    let read = RwSignal::new(false);
    let create = Action::new_local(|request: &CreateTokenRequest| {
        let request = request.clone();
        async move { api::create_token(&request).await }
    });
    let revoke = Action::new_local(|id: &String| {
        let id = id.clone();
        async move { api::revoke_token(&id).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || create.value().get().and_then(Result::err));
    let revoke_error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            tokens.refetch();
        }
    });
    Effect::new(move || {
        if let Some(Ok(_)) = revoke.value().get() {
            tokens.refetch();
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let scopes = [(TokenScope::Ingest, ingest.get()), (TokenScope::Read, read.get())]
            .into_iter()
            .filter_map(|(scope, chosen)| chosen.then_some(scope))
            .collect();
        create.dispatch(CreateTokenRequest { name: name.get(), scopes, owner: Some(owner.get()) });
    };
    let invalid = move |field: &'static str| field_message(error, field);
    let confirm_and_revoke = move |token: &TokenSummary| {
        let question = format!("Revoke the token '{}'? Machines using it will be refused at once.", token.name);
        if window().confirm_with_message(&question).unwrap_or(false) {
            revoke.dispatch(token.id.clone());
        }
    };

    view! {
        <div class="page-header">
            <div>
                <h1>"API tokens"</h1>
                <p class="page-lede">"Tokens let model servers push telemetry (ingest) or scripts read data (read). A token acts as its owner and never exceeds the owner's role."</p>
            </div>
        </div>
        {move || create.value().get().and_then(Result::ok).map(|created| view! {
            <div class="alert alert-success" role="status">
                <p><strong>{format!("Token '{}' created.", created.summary.name)}</strong>" Copy it now: it will not be shown again."</p>
                <code class="secret" id="new-token-secret">{created.token}</code>
            </div>
        })}
        {move || revoke_error.get().map(|body| view! { <div class="alert alert-error" role="alert">{body.detail}</div> })}
        {loaded(tokens, "tokens", move |value| match value {
            list if list.is_empty() => view! { <p class="muted">"No API tokens yet."</p> }.into_any(),
            list => view! {
                <DataTable label="API tokens" columns=&["Name", "Token", "Scopes", "Owner", "Last used", "Status"]>
                            {list.into_iter().map(|token| {
                                let scopes = token.scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(", ");
                                let last_used = token.last_used_at.as_ref().map_or_else(|| "Never".to_owned(), format::timestamp);
                                let revoked = token.revoked_at.is_some();
                                let for_revoke = token.clone();
                                view! {
                                    <tr>
                                        <td>{token.name.clone()}</td>
                                        <td class="mono">{format!("{}…", token.prefix)}</td>
                                        <td>{scopes}</td>
                                        <td class="mono">{token.owner}</td>
                                        <td>{last_used}</td>
                                        <td>
                                            {if revoked {
                                                view! { <span class="badge stage-archived">"Revoked"</span> }.into_any()
                                            } else {
                                                view! {
                                                    <button type="button" class="button button-danger" on:click=move |_| confirm_and_revoke(&for_revoke)>
                                                        "Revoke"
                                                    </button>
                                                }.into_any()
                                            }}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
            }.into_any(),
        })}
        <form class="card form form-spaced" on:submit=submit aria-labelledby="new-token-heading">
            <h2 id="new-token-heading">"Create a token"</h2>
            <FormAlert error />
            <div class="form-row">
                <div class="field field-grow">
                    <label for="token-name">"Name"</label>
                    <input id="token-name" name="name" required placeholder="fraud-model-server"
                        aria-describedby="token-name-error"
                        aria-invalid=move || invalid("name").get().is_some().to_string()
                        prop:value=name on:input=move |event| name.set(event_target_value(&event)) />
                    <FieldError id="token-name-error" message=invalid("name") />
                </div>
                <div class="field">
                    <label for="token-owner">"Acts as " <span class="optional">"(username; default: you)"</span></label>
                    <input id="token-owner" name="owner" autocomplete="off" aria-describedby="token-owner-error"
                        prop:value=owner on:input=move |event| owner.set(event_target_value(&event)) />
                    <FieldError id="token-owner-error" message=invalid("owner") />
                </div>
            </div>
            <fieldset class="field" aria-describedby="token-scopes-error">
                <legend>"Scopes"</legend>
                <label class="check"><input type="checkbox" name="scope-ingest" prop:checked=ingest on:change=move |event| ingest.set(event_target_checked(&event)) />" ingest — push telemetry and features"</label>
                <label class="check"><input type="checkbox" name="scope-read" prop:checked=read on:change=move |event| read.set(event_target_checked(&event)) />" read — read models and reports"</label>
                <FieldError id="token-scopes-error" message=invalid("scopes") />
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || create.pending().get()>"Create token"</button>
            </div>
        </form>
    }
}
