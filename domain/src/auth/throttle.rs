//! Sign-in throttling: failed attempts are counted per username (or, from a
//! browser holding a device cookie of that account, per device) and per IP
//! in a sliding window; past the limit, every attempt for that key (right or
//! wrong password) is refused until the oldest failure leaves the window.
//!
//! Written here rather than with `governor` because only *failures* count and
//! a success clears the username's count, which a token bucket that is
//! charged per request cannot express. Memory is bounded: stale keys are
//! swept, and each key keeps at most `limit` timestamps.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub limit: usize,
    pub window: Duration,
}

pub struct Limiter {
    policy: Policy,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(policy: Policy) -> Self {
        Limiter {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` when `key` is locked out at `now`.
    pub fn blocked_for(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().expect("throttle lock");
        let entry = map.get_mut(key)?;
        prune(entry, now, self.policy.window);
        if entry.len() >= self.policy.limit {
            let oldest = *entry.front()?;
            Some(self.policy.window.saturating_sub(now - oldest))
        } else {
            None
        }
    }

    /// Counts an attempt as a failure now, unless `key` is locked out
    /// (then `Err(wait)`, nothing counted). The check and the count are one
    /// step, so attempts made at once cannot all pass a check none of them
    /// has been counted in yet.
    pub fn charge(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 50_000 {
            let window = self.policy.window;
            map.retain(|_, v| {
                prune(v, now, window);
                !v.is_empty()
            });
        }
        let entry = map.entry(key.to_owned()).or_default();
        prune(entry, now, self.policy.window);
        if entry.len() >= self.policy.limit {
            let oldest = entry.front().copied().unwrap_or(now);
            return Err(self.policy.window.saturating_sub(now - oldest));
        }
        entry.push_back(now);
        Ok(())
    }

    /// Takes back an attempt charged at `at` (it succeeded).
    pub fn refund(&self, key: &str, at: Instant) {
        let mut map = self.failures.lock().expect("throttle lock");
        if let Some(entry) = map.get_mut(key) {
            if let Some(i) = entry.iter().rposition(|t| *t == at) {
                entry.remove(i);
            }
        }
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("throttle lock").remove(key);
    }
}

fn prune(entry: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while let Some(&t) = entry.front() {
        if now.saturating_duration_since(t) >= window {
            entry.pop_front();
        } else {
            break;
        }
    }
}

/// The limiters of a sign-in: per username and per client IP, and per
/// known device for a browser that signed in to that username before.
///
/// A known device (OWASP's "device cookie") is not held back by the
/// username's lock: whoever fails five times at `admin` locks out every
/// other client of `admin` for 15 minutes, but not the browsers `admin`
/// signed in from already. Each device has a limit of its own, like a
/// username, so a stolen device cookie buys no more guesses than that.
pub struct LoginThrottle {
    pub by_username: Limiter,
    pub by_ip: Limiter,
    pub by_device: Limiter,
}

impl Default for LoginThrottle {
    /// 5 failures per username (and per device) and 20 per IP within 15
    /// minutes.
    fn default() -> Self {
        LoginThrottle::new(
            Policy {
                limit: 5,
                window: Duration::from_secs(15 * 60),
            },
            Policy {
                limit: 20,
                window: Duration::from_secs(15 * 60),
            },
        )
    }
}

impl LoginThrottle {
    /// `username` is the policy of usernames and of devices alike.
    pub fn new(username: Policy, ip: Policy) -> Self {
        LoginThrottle {
            by_username: Limiter::new(username),
            by_ip: Limiter::new(ip),
            by_device: Limiter::new(username),
        }
    }

    /// Counts an attempt from a known device (its id) against the device
    /// and the IP, not the username; `Err(wait)` when either is locked,
    /// and then nothing is counted.
    pub fn charge_device(&self, device: &str, ip: &str, now: Instant) -> Result<(), Duration> {
        if let Err(wait) = self.by_device.charge(device, now) {
            let ip_wait = self.by_ip.blocked_for(ip, now).unwrap_or_default();
            return Err(wait.max(ip_wait));
        }
        if let Err(wait) = self.by_ip.charge(ip, now) {
            self.by_device.refund(device, now);
            return Err(wait);
        }
        Ok(())
    }

    /// The known device's attempt charged at `at` was right.
    pub fn device_succeeded(&self, device: &str, ip: &str, at: Instant) {
        self.by_device.clear(device);
        self.by_ip.refund(ip, at);
    }

    /// Counts a sign-in attempt against both keys before the password is
    /// checked (see [`Limiter::charge`]); `Err(wait)` when either is
    /// locked, and then nothing is counted.
    pub fn charge(&self, username: &str, ip: &str, now: Instant) -> Result<(), Duration> {
        let name = username.to_lowercase();
        if let Err(wait) = self.by_username.charge(&name, now) {
            let ip_wait = self.by_ip.blocked_for(ip, now).unwrap_or_default();
            return Err(wait.max(ip_wait));
        }
        if let Err(wait) = self.by_ip.charge(ip, now) {
            self.by_username.refund(&name, now);
            return Err(wait);
        }
        Ok(())
    }

    /// The attempt charged at `at` was right: the username starts afresh
    /// and the IP gets its attempt back.
    pub fn succeeded(&self, username: &str, ip: &str, at: Instant) {
        self.by_username.clear(&username.to_lowercase());
        self.by_ip.refund(ip, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> LoginThrottle {
        LoginThrottle::new(
            Policy {
                limit: 3,
                window: Duration::from_secs(60),
            },
            Policy {
                limit: 5,
                window: Duration::from_secs(60),
            },
        )
    }

    #[test]
    fn locks_after_limit_and_unlocks_after_window() {
        let t = small();
        let t0 = Instant::now();
        for i in 0..3 {
            let at = t0 + Duration::from_secs(i);
            assert_eq!(t.charge("bob", "1.1.1.1", at), Ok(()), "attempt {i}");
        }
        let wait = t.charge("bob", "1.1.1.1", t0 + Duration::from_secs(3));
        assert_eq!(wait, Err(Duration::from_secs(57)));
        // The oldest failure leaves the window at t0+60.
        assert!(t
            .charge("bob", "1.1.1.1", t0 + Duration::from_secs(59))
            .is_err());
        assert_eq!(
            t.charge("bob", "1.1.1.1", t0 + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn a_known_device_is_not_held_by_the_usernames_lock_but_by_its_own() {
        let t = small();
        let t0 = Instant::now();
        for ip in ["1.0.0.1", "1.0.0.2", "1.0.0.3"] {
            assert_eq!(t.charge("admin", ip, t0), Ok(()));
        }
        assert!(t.charge("admin", "1.0.0.4", t0).is_err());
        // The device of an earlier sign-in passes, and a right password
        // leaves the username locked for everyone else.
        assert_eq!(t.charge_device("dev-1", "2.0.0.1", t0), Ok(()));
        t.device_succeeded("dev-1", "2.0.0.1", t0);
        assert!(t.charge("admin", "2.0.0.1", t0).is_err());
        // A device that fails locks itself, not the other devices.
        for _ in 0..3 {
            assert_eq!(t.charge_device("dev-2", "3.0.0.1", t0), Ok(()));
        }
        assert!(t.charge_device("dev-2", "3.0.0.2", t0).is_err());
        assert_eq!(t.charge_device("dev-1", "2.0.0.1", t0), Ok(()));
        // The IP limit holds for devices too.
        let t = small();
        for i in 0..5 {
            assert_eq!(t.charge_device(&format!("d{i}"), "9.9.9.9", t0), Ok(()));
        }
        assert!(t.charge_device("d9", "9.9.9.9", t0).is_err());
    }

    #[test]
    fn username_is_case_insensitive_and_ip_counts_across_usernames() {
        let t = small();
        let t0 = Instant::now();
        for name in ["a", "b", "c", "d", "e"] {
            assert_eq!(t.charge(name, "9.9.9.9", t0), Ok(()));
        }
        // Five different usernames from one IP: the IP is locked.
        assert!(t.charge("zed", "9.9.9.9", t0).is_err());
        assert!(t.charge("zed", "8.8.8.8", t0).is_ok());
        for _ in 0..3 {
            assert_eq!(t.charge("Carol", "7.7.7.7", t0), Ok(()));
        }
        assert!(t.charge("carol", "6.6.6.6", t0).is_err());
    }

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let t = small();
        let t0 = Instant::now();
        // Three attempts at once pass (and are counted); the fourth waits,
        // though none of the three has been answered yet.
        for _ in 0..3 {
            assert_eq!(t.charge("bob", "1.1.1.1", t0), Ok(()));
        }
        assert_eq!(t.charge("Bob", "1.1.1.1", t0), Err(Duration::from_secs(60)));
        // One of them was right: bob starts afresh, the IP gets it back.
        t.succeeded("bob", "1.1.1.1", t0);
        for _ in 0..3 {
            assert_eq!(t.charge("bob", "1.1.1.1", t0), Ok(()));
        }
        // 3 + 3 - 1 = 5 on the IP: its limit, whatever the username.
        assert!(t.charge("eve", "1.1.1.1", t0).is_err());
        assert!(t.charge("eve", "2.2.2.2", t0).is_ok());
    }

    #[test]
    fn success_clears_the_username() {
        let t = small();
        let t0 = Instant::now();
        t.charge("bob", "1.1.1.1", t0).unwrap();
        t.charge("bob", "1.1.1.1", t0).unwrap();
        t.succeeded("bob", "1.1.1.1", t0);
        t.charge("bob", "1.1.1.1", t0).unwrap();
        t.charge("bob", "1.1.1.1", t0).unwrap();
        assert!(t.charge("bob", "2.2.2.2", t0).is_ok());
    }
}
