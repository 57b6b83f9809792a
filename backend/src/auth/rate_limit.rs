//! Login rate limits: failed attempts per account and per client address within a window.
//!
//! An attempt is counted as a failure when it starts (`begin`), in the same step as the
//! check, so parallel attempts cannot all pass the check before any of them is recorded;
//! a success takes its own count back. Memory is bounded: a key keeps at most its
//! limit's worth of times, and beyond `MAX_KEYS` keys expired ones are dropped first and
//! then the least recently failed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account within `WINDOW`.
pub const ACCOUNT_FAILURES: usize = 5;
/// Failures allowed per client address within `WINDOW` (several people may share one).
pub const ADDRESS_FAILURES: usize = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Accounts and addresses remembered at most.
pub const MAX_KEYS: usize = 10_000;

/// Remembers recent failed logins in memory (per process; an attacker spreading over
/// replicas gets at most one limit per replica).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// An attempt under way, counted as failed until `LoginLimiter::succeeded`.
#[must_use]
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    at: Instant,
}

impl LoginLimiter {
    /// Counts an attempt for the account and the address, or `Err(retry_after)` (counting
    /// nothing) when either is locked out now.
    pub fn begin(&self, account: &str, address: &str) -> Result<Attempt, Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys = [(account_key(account), ACCOUNT_FAILURES), (address_key(address), ADDRESS_FAILURES)];
        let mut wait = Duration::ZERO;
        for (key, limit) in &keys {
            let Some(times) = failures.get_mut(key) else { continue };
            times.retain(|at| now.duration_since(*at) < WINDOW);
            if times.len() >= *limit {
                let oldest = times[times.len() - limit];
                wait = wait.max(WINDOW.saturating_sub(now.duration_since(oldest)));
            }
        }
        if !wait.is_zero() {
            return Err(wait.max(Duration::from_secs(1)));
        }
        if failures.len() + keys.len() > MAX_KEYS {
            make_room(&mut failures, now);
        }
        for (key, limit) in keys {
            let times = failures.entry(key).or_default();
            times.push(now);
            if times.len() > limit {
                times.remove(0);
            }
        }
        Ok(Attempt { at: now })
    }

    /// The attempt succeeded: the account's failures are cleared and the address's count
    /// of this attempt is taken back.
    pub fn succeeded(&self, attempt: Attempt, account: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.remove(&account_key(account));
        let key = address_key(address);
        if let Some(times) = failures.get_mut(&key) {
            if let Some(index) = times.iter().rposition(|at| *at == attempt.at) {
                times.remove(index);
            }
            if times.is_empty() {
                failures.remove(&key);
            }
        }
    }

    /// How many accounts and addresses are remembered.
    pub fn remembered(&self) -> usize {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

/// Drops expired keys, then (if still full) the half that failed least recently.
fn make_room(failures: &mut HashMap<String, Vec<Instant>>, now: Instant) {
    failures.retain(|_, times| times.last().is_some_and(|at| now.duration_since(*at) < WINDOW));
    if failures.len() + 2 > MAX_KEYS {
        let mut latest: Vec<Instant> = failures.values().filter_map(|times| times.last().copied()).collect();
        latest.sort_unstable();
        let cutoff = latest[latest.len() / 2];
        failures.retain(|_, times| times.last().is_some_and(|at| *at > cutoff));
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
    fn an_account_locks_after_its_failures_and_a_success_clears_them() {
        let limiter = LoginLimiter::default();
        for _ in 0..ACCOUNT_FAILURES - 1 {
            let _ = limiter.begin("Ana", "10.0.0.1").expect("not locked yet");
        }
        let attempt = limiter.begin("ana", "10.0.0.1").expect("not locked yet");
        limiter.succeeded(attempt, "ana", "10.0.0.1");
        for _ in 0..ACCOUNT_FAILURES {
            let _ = limiter.begin("ana", "10.0.0.1").expect("the success cleared the account");
        }
        let wait = limiter.begin("ana", "10.0.0.2").expect_err("locked");
        assert!(wait > Duration::from_secs(14 * 60) && wait <= WINDOW);
        assert!(limiter.begin("bob", "10.0.0.1").is_ok(), "the address is below its own limit");
    }

    #[test]
    fn an_address_locks_after_its_failures_across_accounts() {
        let limiter = LoginLimiter::default();
        for attempt in 0..ADDRESS_FAILURES {
            let _ = limiter.begin(&format!("user{attempt}"), "10.0.0.9").expect("below the limit");
        }
        assert!(limiter.begin("someone-new", "10.0.0.9").is_err());
        assert!(limiter.begin("someone-new", "10.0.0.10").is_ok());
    }

    #[test]
    fn many_distinct_usernames_leave_the_limiter_bounded() {
        let limiter = LoginLimiter::default();
        for attempt in 0..(3 * MAX_KEYS) {
            let _ = limiter.begin(&format!("user{attempt}"), &format!("10.1.{}.{}", attempt / 250, attempt % 250));
        }
        assert!(limiter.remembered() <= MAX_KEYS, "{} keys kept", limiter.remembered());
    }
}
