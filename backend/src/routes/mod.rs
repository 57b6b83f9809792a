//! The HTTP API. Every route is registered through `Api::route` with the access it
//! requires, so the router and the route table (`route_table`, which the tests check
//! for every role) can never disagree.

mod audit;
mod auth;
mod health;
mod models;
mod telemetry;
mod tokens;
mod users;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

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

/// The router under construction and the table of what it holds.
pub struct Api {
    router: Router<AppState>,
    table: Vec<RouteAccess>,
}

impl Api {
    fn new() -> Self {
        Self { router: Router::new(), table: Vec::new() }
    }

    /// Adds `handler` for `method` on `path`, reachable only by callers satisfying `access`.
    pub fn route<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or_else(|_| panic!("unsupported method {method}"));
        let endpoint = on(filter, handler)
            .route_layer(axum::middleware::from_fn(move |request, next| check_access(access, request, next)));
        self.router = self.router.route(path, endpoint);
        self.table.push(RouteAccess { method, path, access });
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
    audit::routes(api)
}

/// Every route with its access rule.
pub fn route_table() -> Vec<RouteAccess> {
    api().table
}

/// The API router; unknown `/api` paths and methods answer with an `ErrorBody`.
pub fn api_router() -> Router<AppState> {
    api()
        .router
        .route("/api/{*rest}", axum::routing::any(|| async { ApiError::NotFound("no such API endpoint".into()) }))
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not accept that method".into())
        })
}
