//! Time as a dependency: every time-dependent rule (health, freshness, schedules,
//! retention, leases, and next SLA timers and escalation) reads `Clock::now`, never
//! `Utc::now()`, so tests move time forward instead of sleeping.
//!
//! A test clock runs with the system clock plus an offset that the test advances; the
//! background jobs wake as soon as it moves (`Clock::advanced`), so a test that jumps
//! sixteen minutes sees what sixteen minutes of silence cause, at once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `None`: the system clock. Otherwise how far a test has moved time forward.
    offset: Option<Arc<watch::Sender<Duration>>>,
}

impl Clock {
    /// The system clock, as production runs.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that tests advance; it starts at the system time.
    pub fn manual() -> Self {
        Self { offset: Some(Arc::new(watch::Sender::new(Duration::zero()))) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.offset.as_ref().map_or_else(Duration::zero, |offset| *offset.borrow());
        Utc::now() + offset
    }

    /// Now as stored: Unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Moves a manual clock forward by `by`; the system clock cannot be moved.
    pub fn advance(&self, by: Duration) -> Result<(), &'static str> {
        let offset = self.offset.as_ref().ok_or("the system clock cannot be advanced")?;
        offset.send_modify(|offset| *offset += by);
        Ok(())
    }

    /// Completes when a test advances the clock (never for the system clock), so a job
    /// waiting for its next tick runs at once.
    pub async fn advanced(&self) {
        match &self.offset {
            Some(offset) => {
                let mut receiver = offset.subscribe();
                // Only a later change counts, not the value as it is now.
                receiver.borrow_and_update();
                if receiver.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_when_advanced_and_wakes_its_waiters() {
        let clock = Clock::manual();
        let before = clock.now();
        let waiter = tokio::spawn({
            let clock = clock.clone();
            async move { clock.advanced().await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::minutes(16)).expect("manual");
        waiter.await.expect("woken");
        assert!(clock.now() - before >= Duration::minutes(16));
        assert!(Clock::system().advance(Duration::minutes(1)).is_err());
    }
}
