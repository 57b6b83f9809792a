//! User management (admins): who can sign in, with which role.

use keel_shared::ErrorBody;
use keel_shared::auth::{CreateUserRequest, Role, UserSummary};
use leptos::prelude::*;

use crate::api;
use crate::components::{DataTable, FieldError, FormAlert, field_message, loaded};
use crate::format;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = LocalResource::new(api::list_users);
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let password = RwSignal::new(String::new());
    let create = Action::new_local(|request: &CreateUserRequest| {
        let request = request.clone();
        async move { api::create_user(&request).await }
    });
    let error: Signal<Option<ErrorBody>> = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move || {
        if let Some(Ok(_)) = create.value().get() {
            username.set(String::new());
            display_name.set(String::new());
            password.set(String::new());
            users.refetch();
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        create.dispatch(CreateUserRequest {
            username: username.get(),
            display_name: display_name.get(),
            role: Some(role.get()),
            password: password.get(),
        });
    };
    let invalid = move |field: &'static str| field_message(error, field);
    let set_active = Action::new_local(|(id, active): &(String, bool)| {
        let (id, active) = (id.clone(), *active);
        async move { api::set_user_active(&id, active).await }
    });
    Effect::new(move || {
        if let Some(Ok(_)) = set_active.value().get() {
            users.refetch();
        }
    });
    let activity_error: Signal<Option<ErrorBody>> =
        Signal::derive(move || set_active.value().get().and_then(Result::err));
    let confirm_and_set = move |user: &UserSummary, active: bool| {
        let question = if active {
            format!("Let {} sign in again? Their API tokens work again too.", user.username)
        } else {
            format!("Deactivate {}? They are signed out everywhere and their API tokens stop working.", user.username)
        };
        if window().confirm_with_message(&question).unwrap_or(false) {
            set_active.dispatch((user.id.clone(), active));
        }
    };

    view! {
        <div class="page-header">
            <div>
                <h1>"Users"</h1>
                <p class="page-lede">"People who can sign in. Roles decide what they may do; approvals need people other than the requester."</p>
            </div>
        </div>
        {loaded(users, "users", move |list| view! {
                <DataTable label="Users" columns=&["Username", "Name", "Role", "Added", "Status", "Access"]>
                            {list.into_iter().map(|user| {
                                let active = user.deactivated_at.is_none();
                                let label = format!("{} {}", if active { "Deactivate" } else { "Reactivate" }, user.username);
                                let status = user.deactivated_at.as_ref().map_or_else(|| "Active".to_owned(), |at| format!("Deactivated {}", format::timestamp(at)));
                                view! {
                                    <tr>
                                        <td class="mono">{user.username.clone()}</td>
                                        <td>{user.display_name.clone()}</td>
                                        <td>{user.role.label()}</td>
                                        <td>{format::timestamp(&user.created_at)}</td>
                                        <td>{status}</td>
                                        <td>
                                            <button type="button" class=if active { "button button-danger" } else { "button" } aria-label=label
                                                disabled=move || set_active.pending().get()
                                                on:click=move |_| confirm_and_set(&user, !active)>
                                                {if active { "Deactivate" } else { "Reactivate" }}
                                            </button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </DataTable>
                <FormAlert error=activity_error />
            }.into_any())}
        <form class="card form form-spaced" on:submit=submit aria-labelledby="new-user-heading">
            <h2 id="new-user-heading">"Add a user"</h2>
            <FormAlert error />
            <div class="form-row">
                <div class="field">
                    <label for="user-username">"Username"</label>
                    <input id="user-username" name="username" required autocomplete="off"
                        aria-describedby="user-username-error"
                        aria-invalid=move || invalid("username").get().is_some().to_string()
                        prop:value=username on:input=move |event| username.set(event_target_value(&event)) />
                    <FieldError id="user-username-error" message=invalid("username") />
                </div>
                <div class="field field-grow">
                    <label for="user-display-name">"Full name " <span class="optional">"(optional)"</span></label>
                    <input id="user-display-name" name="display_name" autocomplete="off"
                        aria-describedby="user-display-name-error"
                        prop:value=display_name on:input=move |event| display_name.set(event_target_value(&event)) />
                    <FieldError id="user-display-name-error" message=invalid("display_name") />
                </div>
                <div class="field">
                    <label for="user-role">"Role"</label>
                    <select id="user-role" name="role"
                        on:change=move |event| { if let Ok(chosen) = event_target_value(&event).parse() { role.set(chosen); } }
                        prop:value=move || role.get().as_str()>
                        {Role::ALL.map(|option| view! { <option value=option.as_str()>{option.label()}</option> })}
                    </select>
                </div>
                <div class="field">
                    <label for="user-password">"Password"</label>
                    <input id="user-password" name="password" type="password" required autocomplete="new-password"
                        aria-describedby="user-password-error"
                        aria-invalid=move || invalid("password").get().is_some().to_string()
                        prop:value=password on:input=move |event| password.set(event_target_value(&event)) />
                    <FieldError id="user-password-error" message=invalid("password") />
                </div>
            </div>
            <div class="form-actions">
                <button type="submit" class="button button-primary" disabled=move || create.pending().get()>"Add user"</button>
            </div>
        </form>
    }
}
