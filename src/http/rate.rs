//! Rate limits on mutations, per token and per client address: the generic cell rate algorithm
//! (GCRA), which keeps one instant per key — when the key's allowance is next fully spent —
//! instead of a window of timestamps. A key may burst up to its whole allowance per minute and
//! then proceeds at the steady rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Mutations allowed per minute (0 switches a limit off).
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_token: u32,
    pub per_address: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_token: 120,
            per_address: 600,
        }
    }
}

/// One limiter: keys to their theoretical arrival time.
pub struct Limiter {
    per_minute: u32,
    arrivals: Mutex<HashMap<String, Instant>>,
}

/// Entries kept before stale ones are swept out.
const SWEEP_AT: usize = 10_000;

impl Limiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one unit for `key` at `now`: Ok, or Err with how long to wait.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let interval = Duration::from_secs(60) / self.per_minute;
        let burst = Duration::from_secs(60);
        let Ok(mut arrivals) = self.arrivals.lock() else {
            return Ok(());
        };
        if arrivals.len() >= SWEEP_AT {
            arrivals.retain(|_, tat| *tat > now);
        }
        let tat = arrivals.get(key).copied().unwrap_or(now).max(now);
        let next = tat + interval;
        // Allowed while the allowance spent ahead of now stays within one minute.
        if next.duration_since(now) > burst {
            return Err(next.duration_since(now) - burst);
        }
        arrivals.insert(key.to_string(), next);
        Ok(())
    }
}

/// The two limiters of the server.
pub struct MutationLimiter {
    token: Limiter,
    address: Limiter,
}

impl MutationLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            token: Limiter::new(limits.per_token),
            address: Limiter::new(limits.per_address),
        }
    }

    /// Charges a mutation to its token (if any) and its client address; Err carries the
    /// message for the client.
    pub fn check(
        &self,
        token: Option<&str>,
        address: Option<std::net::IpAddr>,
    ) -> Result<(), String> {
        let now = Instant::now();
        if let Some(ip) = address {
            if let Err(wait) = self.address.check(&ip.to_string(), now) {
                return Err(format!(
                    "too many mutations from this address; try again in {} s",
                    wait.as_secs() + 1
                ));
            }
        }
        if let Some(token) = token {
            if let Err(wait) = self.token.check(token, now) {
                return Err(format!(
                    "too many mutations with this token; try again in {} s",
                    wait.as_secs() + 1
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_allowance_then_the_steady_rate() {
        let limiter = Limiter::new(6); // one every 10 s, six at once
        let t0 = Instant::now();
        for _ in 0..6 {
            assert!(limiter.check("k", t0).is_ok());
        }
        let wait = limiter
            .check("k", t0)
            .expect_err("the seventh at once is refused");
        assert_eq!(wait, Duration::from_secs(10));
        // 10 s later one more is allowed, and only one.
        let t1 = t0 + Duration::from_secs(10);
        assert!(limiter.check("k", t1).is_ok());
        assert!(limiter.check("k", t1).is_err());
        // Other keys are independent.
        assert!(limiter.check("other", t1).is_ok());
        // After a quiet minute the whole allowance is back.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..6 {
            assert!(limiter.check("k", t2).is_ok());
        }
        assert!(limiter.check("k", t2).is_err());
    }

    #[test]
    fn zero_switches_the_limit_off() {
        let limiter = Limiter::new(0);
        let now = Instant::now();
        for _ in 0..1_000 {
            assert!(limiter.check("k", now).is_ok());
        }
    }
}
