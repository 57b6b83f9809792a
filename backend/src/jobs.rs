//! Every background job, started in one place (`start`) and supervised: a job that fails
//! or panics is logged and started again after `RESTART_DELAY`; dropping the returned
//! `JoinSet` (when the server stops) stops them all.
//!
//! Some jobs run on every replica (the live relay, the ingest writer, the health
//! monitor); the others must run once across replicas sharing a database (hourly
//! rollups, retention, scheduled drift) and run only on the replica that holds the
//! `SINGLETON_LEASE` in the store (alerting subscribes to every replica's events but
//! evaluates only on the holder). The holder renews it every `LEASE_RENEW_EVERY`; when
//! it dies, another replica takes it within `LEASE_TTL` plus one renewal. Periodic jobs
//! also run as soon as a test advances the clock.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::AppState;
use crate::clock::Clock;
use crate::ingest::upkeep;
use crate::monitoring::scheduler;
use crate::store::Store;

/// The lease behind every job that runs on one replica at a time.
pub const SINGLETON_LEASE: &str = "singleton-jobs";
const LEASE_TTL: Duration = Duration::from_secs(10);
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(3);
const RESTART_DELAY: Duration = Duration::from_secs(1);

const ROLLUP_EVERY: Duration = Duration::from_secs(2);
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
const DRIFT_SCHEDULE_EVERY: Duration = Duration::from_secs(60);
/// How often telemetry-measured KPIs are measured (a period's value appears after it ends).
const KPI_MEASURE_EVERY: Duration = Duration::from_secs(300);

/// Whether this replica holds the singleton lease now.
#[derive(Clone, Debug)]
pub struct Leadership {
    /// This process's name in the lease table.
    holder: Arc<str>,
    held: Arc<AtomicBool>,
}

impl Default for Leadership {
    fn default() -> Self {
        Self { holder: uuid::Uuid::now_v7().to_string().into(), held: Arc::default() }
    }
}

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Gives the lease up so another replica takes over at once (on shutdown).
    pub async fn release(&self, store: &Store) {
        self.held.store(false, Ordering::Release);
        if let Err(error) = store.release_lease(SINGLETON_LEASE, &self.holder).await {
            tracing::warn!(%error, "could not give up the singleton lease; another replica takes it when it expires");
        }
    }

    /// The lease job: takes or renews the lease and notes whether this replica holds it.
    async fn keep(&self, store: &Store) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(LEASE_RENEW_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = store.clock().advanced() => {}
            }
            let expires_at = store.clock().now_millis() + i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
            let held = match store.claim_lease(SINGLETON_LEASE, &self.holder, expires_at).await {
                Ok(held) => held,
                Err(error) => {
                    tracing::warn!(%error, "cannot renew the singleton lease; pausing the singleton jobs");
                    false
                }
            };
            if self.held.swap(held, Ordering::AcqRel) != held {
                if held {
                    tracing::info!("this replica now runs the singleton jobs (rollups, retention, scheduled drift)");
                } else {
                    tracing::info!("another replica runs the singleton jobs now");
                }
            }
        }
    }
}

/// Starts every background job of `state`.
pub fn start(state: &AppState) -> JoinSet<()> {
    let mut jobs = JoinSet::new();
    let store = state.store.clone();

    let (live, url) = (state.live.clone(), state.settings.database_url());
    supervise(&mut jobs, "live relay", move || {
        let (live, url) = (live.clone(), url.clone());
        async move { live.relay(&url).await }
    });
    let (writer, writer_store) = (state.ingest.clone(), store.clone());
    supervise(&mut jobs, "ingest writer", move || {
        let (writer, store) = (writer.clone(), writer_store.clone());
        async move { writer.run(&store).await }
    });
    let (board, live, monitor_store) = (state.health.clone(), state.live.clone(), store.clone());
    supervise(&mut jobs, "health monitor", move || {
        let (board, live, store) = (board.clone(), live.clone(), monitor_store.clone());
        async move { crate::health::monitor(&store, &board, &live).await }
    });
    let (leadership, lease_store) = (state.leadership.clone(), store.clone());
    supervise(&mut jobs, "singleton lease", move || {
        let (leadership, store) = (leadership.clone(), lease_store.clone());
        async move { leadership.keep(&store).await }
    });

    let (board, live, warm_store) = (state.health.clone(), state.live.clone(), store.clone());
    supervise(&mut jobs, "business figures", move || {
        let (board, live, store) = (board.clone(), live.clone(), warm_store.clone());
        async move { crate::services::reports::keep_warm(&store, &board, &live).await }
    });

    let (board, live, alerting_store, leadership) =
        (state.health.clone(), state.live.clone(), store.clone(), state.leadership.clone());
    let alert_every = Duration::from_secs(u64::from(state.settings.alert_evaluation_seconds));
    supervise(&mut jobs, "alerting", move || {
        let (board, live, store, leadership) =
            (board.clone(), live.clone(), alerting_store.clone(), leadership.clone());
        async move { crate::alerting::run(&store, &board, &live, &leadership, alert_every).await }
    });

    let retention_days = state.settings.raw_retention_days;
    let singleton = |jobs: &mut JoinSet<()>, name, every, work: SingletonWork| {
        let (store, leadership) = (store.clone(), state.leadership.clone());
        supervise(jobs, name, move || {
            let (store, leadership, work) = (store.clone(), leadership.clone(), work.clone());
            async move {
                let clock: Clock = store.clock().clone();
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        () = clock.advanced() => {}
                    }
                    if !leadership.is_leader() {
                        continue;
                    }
                    if let Err(error) = work(store.clone()).await {
                        tracing::warn!(job = name, %error, "failed; retrying on its next tick");
                    }
                }
            }
        });
    };
    singleton(
        &mut jobs,
        "hourly rollups",
        ROLLUP_EVERY,
        Arc::new(|store| Box::pin(async move { Ok(upkeep::roll_up_batch(&store).await.map(drop)?) })),
    );
    singleton(
        &mut jobs,
        "retention",
        RETENTION_EVERY,
        Arc::new(move |store| Box::pin(async move { upkeep::prune(&store, retention_days).await })),
    );
    singleton(
        &mut jobs,
        "scheduled drift",
        DRIFT_SCHEDULE_EVERY,
        Arc::new(|store| Box::pin(async move { Ok(scheduler::run_due(&store).await?) })),
    );
    singleton(
        &mut jobs,
        "measured KPIs",
        KPI_MEASURE_EVERY,
        Arc::new(|store| Box::pin(async move { Ok(crate::services::kpis::measure_all(&store).await.map(drop)?) })),
    );
    jobs
}

/// One pass of a singleton job over the store.
type SingletonWork =
    Arc<dyn Fn(Store) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

/// Runs `job()` as a task of `jobs`, starting it again whenever it fails or panics. A job
/// that returns `Ok` has no more work (its inputs are gone) and is not restarted.
fn supervise<F, Fut>(jobs: &mut JoinSet<()>, name: &'static str, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    jobs.spawn(async move {
        loop {
            // Its own task, so a panic is caught here; aborted with the supervisor.
            let mut run = AbortOnDrop(tokio::spawn(job()));
            match run.finished().await {
                Ok(Ok(())) => return,
                Ok(Err(error)) => tracing::error!(job = name, error = format!("{error:#}"), "failed; restarting"),
                Err(error) if error.is_panic() => tracing::error!(job = name, "panicked; restarting"),
                Err(_) => return,
            }
            tokio::time::sleep(RESTART_DELAY).await;
        }
    });
}

/// A task that is aborted when its handle goes (the supervisor was stopped).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn finished(&mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
