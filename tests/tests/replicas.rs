//! Several `keel serve` processes on one PostgreSQL database: the jobs that must run once
//! across replicas run on the holder of the singleton lease, and move to another replica
//! when the holder dies.

use std::time::{Duration, Instant};

use keel_e2e::{Keel, create_postgres_database};
use keel_shared::models::HealthResponse;

async fn runs_singleton_jobs(keel: &Keel) -> anyhow::Result<bool> {
    let health: HealthResponse = reqwest::get(keel.url("/api/health")).await?.json().await?;
    Ok(health.singleton_jobs)
}

/// Waits until `keel` reports `expected`, for at most `limit`.
async fn until_singleton_jobs(keel: &Keel, expected: bool, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while runs_singleton_jobs(keel).await? != expected {
        anyhow::ensure!(started.elapsed() < limit, "singleton_jobs is not {expected} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(started.elapsed())
}

#[tokio::test]
async fn a_killed_lease_holders_jobs_move_to_the_other_replica_within_seconds() -> anyhow::Result<()> {
    let database = create_postgres_database()?;
    let mut first = Keel::start_replica(&database)?;
    until_singleton_jobs(&first, true, Duration::from_secs(10)).await?;
    let second = Keel::start_replica(&database)?;
    // One renewal later the first still holds the lease and the second runs none of the jobs.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(runs_singleton_jobs(&first).await?, "the holder keeps its lease");
    assert!(!runs_singleton_jobs(&second).await?, "never two holders at once");

    first.kill()?;
    // The lease lasts 10 s and is tried every 3 s.
    let took = until_singleton_jobs(&second, true, Duration::from_secs(16)).await?;
    println!("the second replica took over {took:?} after the first was killed");
    Ok(())
}
