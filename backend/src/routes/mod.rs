//! The HTTP API. Every route is registered through `Api::route` with the access it
//! requires; the router and the route table (`route_table`, which the tests check for
//! every role) are both built from that one list, so they can never disagree.

mod alerting;
mod analysis;
mod audit;
mod auth;
mod changes;
mod evidence;
mod fleet;
mod health;
mod incidents;
mod integrations;
mod kpis;
mod ledger;
mod live;
mod models;
mod monitoring;
mod reports;
mod telemetry;
mod tokens;
mod users;

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::AppState;
use crate::auth::Access;
use crate::auth::principal::check_access;
use crate::error::ApiError;

/// One route and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAccess {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// The routes under construction: each endpoint with its access rule, applied when the
/// router is built (`api_router`), and listed by `route_table`.
pub struct Api {
    routes: Vec<(RouteAccess, MethodRouter<AppState>)>,
}

impl Api {
    fn new() -> Self {
        Self { routes: Vec::new() }
    }

    /// Adds `handler` for `method` on `path`, reachable only by callers satisfying `access`.
    pub fn route<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or_else(|_| panic!("unsupported method {method}"));
        self.routes.push((RouteAccess { method, path, access }, on(filter, handler)));
        self
    }
}

fn api() -> Api {
    let api = Api::new();
    let api = health::routes(api);
    let api = auth::routes(api);
    let api = models::routes(api);
    let api = users::routes(api);
    let api = tokens::routes(api);
    let api = telemetry::routes(api);
    let api = fleet::routes(api);
    let api = live::routes(api);
    let api = analysis::routes(api);
    let api = monitoring::routes(api);
    let api = incidents::routes(api);
    let api = alerting::routes(api);
    let api = integrations::routes(api);
    let api = changes::routes(api);
    let api = evidence::routes(api);
    let api = kpis::routes(api);
    let api = ledger::routes(api);
    let api = reports::routes(api);
    audit::routes(api)
}

/// Every route with its access rule.
pub fn route_table() -> Vec<RouteAccess> {
    api().routes.into_iter().map(|(route, _)| route).collect()
}

/// The API router; unknown `/api` paths and methods answer with an `ErrorBody`.
pub fn api_router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for (route, endpoint) in api().routes {
        let access = route.access;
        let guard = axum::middleware::from_fn_with_state(
            state.clone(),
            move |State(state): State<AppState>, request: Request, next: Next| {
                check_access(state, access, request, next)
            },
        );
        router = router.route(route.path, endpoint.route_layer(guard));
    }
    router
        .route("/api/{*rest}", axum::routing::any(|| async { ApiError::NotFound("no such API endpoint".into()) }))
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not accept that method".into())
        })
}
