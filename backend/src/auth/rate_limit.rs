//! Login rate limits: failed attempts per account and per client address within a window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account within `WINDOW`.
pub const ACCOUNT_FAILURES: usize = 5;
/// Failures allowed per client address within `WINDOW` (several people may share one).
pub const ADDRESS_FAILURES: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Remembers recent failed logins in memory (per process; an attacker spreading over
/// replicas gets at most one limit per replica).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// `Err(retry_after)` when the account or the address is locked out now.
    pub fn check(&self, account: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = Duration::ZERO;
        for (key, limit) in [(account_key(account), ACCOUNT_FAILURES), (address_key(address), ADDRESS_FAILURES)] {
            let times = failures.entry(key).or_default();
            times.retain(|at| now.duration_since(*at) < WINDOW);
            if times.len() >= limit {
                let oldest = times[times.len() - limit];
                wait = wait.max(WINDOW.saturating_sub(now.duration_since(oldest)));
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait.max(Duration::from_secs(1))) }
    }

    pub fn record_failure(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.entry(account_key(account)).or_default().push(now);
        failures.entry(address_key(address)).or_default().push(now);
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn record_success(&self, account: &str) {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&account_key(account));
    }
}

fn account_key(account: &str) -> String {
    format!("account:{}", account.to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_its_failures_and_success_unlocks_it() {
        let limiter = LoginLimiter::default();
        for _ in 0..ACCOUNT_FAILURES {
            assert!(limiter.check("ana", "10.0.0.1").is_ok());
            limiter.record_failure("Ana", "10.0.0.1");
        }
        let wait = limiter.check("ana", "10.0.0.2").expect_err("locked");
        assert!(wait > Duration::from_secs(14 * 60) && wait <= WINDOW);
        assert!(limiter.check("bob", "10.0.0.1").is_ok(), "the address is below its own limit");
        limiter.record_success("ana");
        assert!(limiter.check("ana", "10.0.0.1").is_ok());
    }

    #[test]
    fn an_address_locks_after_its_failures_across_accounts() {
        let limiter = LoginLimiter::default();
        for attempt in 0..ADDRESS_FAILURES {
            limiter.record_failure(&format!("user{attempt}"), "10.0.0.9");
        }
        assert!(limiter.check("someone-new", "10.0.0.9").is_err());
        assert!(limiter.check("someone-new", "10.0.0.10").is_ok());
    }
}
