//! The router, the sign-in gate and the layout every page sits in.

use keel_shared::ErrorBody;
use keel_shared::auth::Permission;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

use crate::api;
use crate::auth::{Auth, use_auth};
use crate::components::{ConnectionIndicator, ErrorState, Loading};
use crate::pages::{
    AccountPage, AlertsPage, AuditPage, BusinessPage, ChangePage, ChangesPage, DriftPage, FairnessPage,
    FrozenReportPage, GovernanceReportPage, IncidentPage, IncidentsPage, IntegrationsPage, KpiPage, LoginPage,
    ModelCardPage, ModelPage, ModelsPage, NewChangePage, NewModelPage, NotFoundPage, OverviewPage, ReadinessPage,
    RunbooksPage, SetupPage, TokensPage, UsersPage, ValuePage,
};

#[component]
pub fn App() -> impl IntoView {
    let auth = Auth { me: RwSignal::new(None) };
    provide_context(auth);
    crate::auth::register(auth);
    // None while asking the server who is signed in; then whether it could be reached.
    let reached: RwSignal<Option<Result<(), ErrorBody>>> = RwSignal::new(None);
    let ask = move || {
        reached.set(None);
        spawn_local(async move {
            match api::me().await {
                Ok(me) => {
                    auth.me.set(Some(me));
                    reached.set(Some(Ok(())));
                }
                // Not signed in: the sign-in page.
                Err(error) if error.status == 401 => reached.set(Some(Ok(()))),
                // The server is down or failing: saying "signed out" would mislead.
                Err(error) => reached.set(Some(Err(error))),
            }
        });
    };
    ask();
    view! {
        <Router>
            {move || match reached.get() {
                None => view! { <Loading what="Keel" /> }.into_any(),
                Some(Err(error)) => view! { <Unreachable error on_retry=ask /> }.into_any(),
                Some(Ok(())) if auth.me.with(Option::is_none) => view! { <SignedOut /> }.into_any(),
                Some(Ok(())) => view! { <Shell /> }.into_any(),
            }}
        </Router>
    }
}

/// Keel's server could not be reached (or failed) at start: what happened, and a retry.
#[component]
fn Unreachable(error: ErrorBody, on_retry: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    view! {
        <main class="login" id="main">
            <div class="card login-card">
                <p class="brand brand-on-card"><span class="brand-mark" aria-hidden="true">"◆"</span>" Keel"</p>
                <ErrorState error />
                <button type="button" class="button button-primary button-wide" on:click=move |_| on_retry()>"Try again"</button>
            </div>
        </main>
    }
}

/// The one-time setup page at `/setup`, the sign-in page everywhere else (the address
/// stays, so a deep link opens its page after signing in).
#[component]
fn SignedOut() -> impl IntoView {
    let location = use_location();
    move || {
        if location.pathname.get() == "/setup" {
            view! { <SetupPage /> }.into_any()
        } else {
            view! { <LoginPage /> }.into_any()
        }
    }
}

/// Navigation, the user menu and the page.
#[component]
fn Shell() -> impl IntoView {
    let auth = use_auth();
    crate::live::provide_live();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="shell">
            <header class="sidebar">
                <a class="brand" href="/" aria-label="Keel home">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    <span class="brand-name">"Keel"</span>
                </a>
                <nav aria-label="Main">
                    <ul class="nav-list">
                        <li><A href="/" exact=true>"Overview"</A></li>
                        <li><A href="/models">"Models"</A></li>
                        <li><A href="/incidents">"Incidents"</A></li>
                        <li><A href="/changes">"Changes"<WaitingCount /></A></li>
                        <li><A href="/business">"Business value"</A></li>
                        <li><A href="/alerts">"Alert rules"</A></li>
                        <li><A href="/runbooks">"Runbooks"</A></li>
                        <Show when=move || auth.can(Permission::ReadAudit)>
                            <li><A href="/audit">"Audit log"</A></li>
                        </Show>
                        <Show when=move || auth.can(Permission::ManageUsers)>
                            <li><A href="/users">"Users"</A></li>
                        </Show>
                        <Show when=move || auth.can(Permission::ManageIntegrations)>
                            <li><A href="/integrations">"Integrations"</A></li>
                        </Show>
                        <Show when=move || auth.can(Permission::ManageTokens)>
                            <li><A href="/tokens">"API tokens"</A></li>
                        </Show>
                    </ul>
                </nav>
                <ConnectionIndicator />
                <Bell />
                <UserMenu />
            </header>
            <main id="main" class="content" tabindex="-1">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=OverviewPage />
                    <Route path=path!("/models") view=ModelsPage />
                    <Route path=path!("/models/new") view=NewModelPage />
                    <Route path=path!("/models/:id") view=ModelPage />
                    <Route path=path!("/models/:id/drift") view=DriftPage />
                    <Route path=path!("/models/:id/readiness") view=ReadinessPage />
                    <Route path=path!("/models/:id/value") view=ValuePage />
                    <Route path=path!("/business") view=BusinessPage />
                    <Route path=path!("/kpis/:id") view=KpiPage />
                    <Route path=path!("/reports/governance") view=GovernanceReportPage />
                    <Route path=path!("/reports/frozen/:id") view=FrozenReportPage />
                    <Route path=path!("/models/:id/versions/:tag/fairness") view=FairnessPage />
                    <Route path=path!("/models/:id/versions/:tag/model-card") view=ModelCardPage />
                    <Route path=path!("/changes") view=ChangesPage />
                    <Route path=path!("/changes/new") view=NewChangePage />
                    <Route path=path!("/changes/:id") view=ChangePage />
                    <Route path=path!("/incidents") view=IncidentsPage />
                    <Route path=path!("/incidents/:id") view=IncidentPage />
                    <Route path=path!("/alerts") view=AlertsPage />
                    <Route path=path!("/runbooks") view=RunbooksPage />
                    <Route path=path!("/integrations") view=IntegrationsPage />
                    <Route path=path!("/audit") view=AuditPage />
                    <Route path=path!("/users") view=UsersPage />
                    <Route path=path!("/tokens") view=TokensPage />
                    <Route path=path!("/account") view=AccountPage />
                </Routes>
            </main>
        </div>
    }
}

/// Open incidents assigned to me or escalated, live: a link to them, with how many
/// changed since I last opened them.
#[component]
fn Bell() -> impl IntoView {
    let live = crate::live::use_live();
    let waiting = LocalResource::new(move || {
        live.incident_reads();
        api::notifications()
    });
    move || {
        let (count, waiting) = waiting
            .get()
            .and_then(Result::ok)
            .map_or((0, 0), |items| (items.iter().filter(|item| item.unread).count(), items.len()));
        let label = match (count, waiting) {
            (_, 0) => "No incidents waiting for you".to_owned(),
            (0, 1) => "1 incident waiting for you, seen".to_owned(),
            (0, n) => format!("{n} incidents waiting for you, all seen"),
            (unread, n) => format!("{unread} unread of {n} incidents waiting for you"),
        };
        let class = if count > 0 { "bell bell-active" } else { "bell" };
        view! {
            <a class=class href="/incidents?assignee=me" aria-label=label.clone() title=label>
                <svg viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" />
                </svg>
                <span class="bell-label">"For you"</span>
                {(count > 0).then(|| view! { <span class="bell-count">{count}</span> })}
            </a>
        }
    }
}

/// How many changes wait for the signed-in approver's decision, live.
#[component]
fn WaitingCount() -> impl IntoView {
    let auth = use_auth();
    let live = crate::live::use_live();
    let waiting = LocalResource::new(move || {
        live.change_request_changes();
        async move {
            let query = keel_shared::changes::ChangeQuery { waiting_for: Some("me".into()), ..Default::default() };
            api::list_changes(&query).await
        }
    });
    move || {
        let count = waiting.get().and_then(Result::ok).map_or(0, |list| list.items.len());
        (auth.can(Permission::ApproveChanges) && count > 0).then(|| {
            view! { <span class="nav-count" title=format!("{count} waiting for your approval")>{count}</span> }
        })
    }
}

#[component]
fn UserMenu() -> impl IntoView {
    let auth = use_auth();
    let sign_out = Action::new_local(move |_: &()| async move {
        // Signed out locally even if the server could not be reached.
        let _ = api::log_out().await;
        auth.me.set(None);
    });
    move || {
        auth.me.get().map(|me| {
            view! {
                <div class="user-menu">
                    <A href="/account" attr:class="user-name">{me.user.display_name}</A>
                    <span class="user-role">{me.user.role.label()}</span>
                    <button type="button" class="button button-sidebar" on:click=move |_| { sign_out.dispatch(()); }>
                        "Sign out"
                    </button>
                </div>
            }
        })
    }
}
