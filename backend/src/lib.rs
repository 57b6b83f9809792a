//! Keel's server as a library: `Application::build(settings)` gives a bound, migrated
//! server that `main` runs and the tests start on port 0.

pub mod alerting;
pub mod analysis;
pub mod auth;
pub mod charts;
pub mod clock;
pub mod config;
pub mod dataset_drift;
pub mod demo;
pub mod domain;
pub mod error;
pub mod extract;
pub mod health;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod monitoring;
pub mod routes;
pub mod security;
pub mod serve;
pub mod services;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::auth::rate_limit::LoginLimiter;
use crate::clock::Clock;
use crate::config::Settings;
use crate::health::HealthBoard;
use crate::ingest::IngestWriter;
use crate::jobs::Leadership;
use crate::live::LiveHub;
use crate::metrics::RequestMetrics;
use crate::store::Store;

/// Largest request body accepted; larger ones get a 413.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// Inbound alert requests handled at once.
const INBOUND_ALERTS_AT_ONCE: usize = 16;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Where every time-dependent rule reads the time (the store's clock).
    pub clock: Clock,
    pub settings: Arc<Settings>,
    pub metrics: Arc<RequestMetrics>,
    pub login_limiter: Arc<LoginLimiter>,
    /// The telemetry writer task's queue.
    pub ingest: IngestWriter,
    /// Events for `GET /api/live`.
    pub live: LiveHub,
    /// Every model's latest health, kept current by the health monitor.
    pub health: HealthBoard,
    /// Whether this replica runs the jobs that run once across replicas.
    pub leadership: Leadership,
    /// SHA-256 of the one-time setup secret, while the store has no administrator.
    pub setup_secret_hash: Arc<std::sync::Mutex<Option<String>>>,
    /// Inbound alert requests (Alertmanager, PagerDuty) handled at once; more are told to retry.
    pub inbound_alerts: Arc<tokio::sync::Semaphore>,
    /// Computed once at start from the console's index.html.
    pub content_security_policy: Arc<str>,
}

/// A migrated store and a bound listener, ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    setup_secret: Option<String>,
    /// The background jobs; they stop when the application is dropped.
    jobs: tokio::task::JoinSet<()>,
}

impl Application {
    /// Connects to the store, brings its schema up to date and binds `settings.addr`
    /// (port 0 picks a free port; see `local_addr`).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// `build`, with time read from `clock` (tests pass a manual one).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let store = Store::connect(&settings.database_url()).await?.with_clock(clock.clone());
        store.migrate().await?;
        let listener =
            TcpListener::bind(settings.addr).await.with_context(|| format!("cannot listen on {}", settings.addr))?;
        if !settings.dist_dir.join("index.html").exists() {
            tracing::warn!(
                dist_dir = %settings.dist_dir.display(),
                "the console is not built there (run `trunk build --release`); only the API is served"
            );
        }
        let setup_secret = bootstrap_admin(&store, settings.admin_password.as_deref()).await?;
        // Exchange-rate files placed in the data directory (no network at run time).
        services::exchange_rates::import_directory(&store, &settings.data_dir.join("rates")).await;
        let index_html = std::fs::read_to_string(settings.dist_dir.join("index.html")).ok();
        let live = LiveHub::new(store.clone()).await?;
        let health = HealthBoard::default();
        health::evaluate_models(&store, &health, None).await?;
        let state = AppState {
            content_security_policy: security::content_security_policy(index_html.as_deref()).into(),
            settings: Arc::new(settings),
            metrics: Arc::default(),
            login_limiter: Arc::default(),
            ingest: IngestWriter::default(),
            live,
            health,
            leadership: Leadership::default(),
            inbound_alerts: Arc::new(tokio::sync::Semaphore::new(INBOUND_ALERTS_AT_ONCE)),
            store,
            setup_secret_hash: Arc::new(std::sync::Mutex::new(setup_secret.as_deref().map(auth::secrets::secret_hash))),
            clock,
        };
        let jobs = jobs::start(&state);
        Ok(Self { listener, state, setup_secret, jobs })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.settings.addr)
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// A handle on the telemetry writer (the demo simulator writes through it).
    pub fn ingest_writer(&self) -> IngestWriter {
        self.state.ingest.clone()
    }

    /// Judges every model's health now (after loading data behind the server's back).
    pub async fn evaluate_health(&self) -> anyhow::Result<()> {
        Ok(health::evaluate_models(&self.state.store, &self.state.health, None).await?)
    }

    /// When the store has no administrator and no password was configured: the path of
    /// the one-time link (`/setup#<secret>`) that creates one. `main` prints it.
    pub fn setup_path(&self) -> Option<String> {
        self.setup_secret.as_ref().map(|secret| format!("/setup#{secret}"))
    }

    /// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish, stops the
    /// background jobs and gives up the singleton lease.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { listener, state, jobs, .. } = self;
        let (store, leadership) = (state.store.clone(), state.leadership.clone());
        // Client addresses (for the login rate limit) are added by `serve`.
        let http_timeout = std::time::Duration::from_secs(u64::from(state.settings.http_timeout_seconds));
        let served = serve::serve(listener, router(state), http_timeout, shutdown_signal()).await;
        drop(jobs);
        leadership.release(&store).await;
        Ok(served?)
    }
}

/// The whole HTTP surface: `/api`, `/metrics`, and the console with an SPA fallback.
pub fn router(state: AppState) -> Router {
    let dist = &state.settings.dist_dir;
    // Deep links such as /models/<id> get index.html (200), and the console's router shows the page.
    let console = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    routes::api_router(&state)
        .fallback_service(console)
        // Layers run bottom-up: the last added sees the request first.
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::add_security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track_requests))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        // The default predicate already leaves text/event-stream uncompressed.
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or("static", axum::extract::MatchedPath::as_str);
            tracing::info_span!("request", method = %request.method(), route)
        }))
        .with_state(state)
}

/// Username of the administrator created on first start.
pub const FIRST_ADMIN: &str = "admin";

/// On a store without an administrator (a first start, also after `keel user add` of
/// other roles): creates `admin` with the configured password, or else returns the
/// secret of a one-time setup link through which the first visitor chooses it.
async fn bootstrap_admin(store: &Store, configured_password: Option<&str>) -> anyhow::Result<Option<String>> {
    if store.count_admins().await? > 0 {
        return Ok(None);
    }
    let Some(password) = configured_password else {
        return Ok(Some(auth::secrets::random_secret()));
    };
    auth::passwords::check_new_password(password)
        .map_err(|message| anyhow::anyhow!("KEEL_ADMIN_PASSWORD {message}"))?;
    store.create_first_admin(&auth::passwords::hash_password(password)?).await?;
    Ok(None)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
