//! How fast one person may send chat messages over HTTP. A socket has a
//! bucket of its own (`FRAMES_PER_SECOND`, in `server::chat`); the HTTP
//! fallback had none, so a player's script could post messages as fast as
//! the server took them. Each person (player account or staff member) gets
//! the socket's rate over HTTP by default: a bucket of that many messages
//! that refills at that many a second. `KEFU_CHAT_HTTP_RATE` changes the
//! rate; 0 turns the limit off (load tools that seed long chats).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use protocol::chat::FRAMES_PER_SECOND;

use crate::{Error, Result};

/// Past this many people with a bucket, full buckets (nobody sent for a
/// second) are dropped: a full bucket is the same as none, so the map holds
/// only the people who sent in the last second.
const PRUNE_ABOVE: usize = 4096;

pub struct SendRate {
    /// Messages a second per person (and the burst); 0: no limit.
    per_second: AtomicU32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Default for SendRate {
    fn default() -> Self {
        SendRate {
            per_second: AtomicU32::new(FRAMES_PER_SECOND),
            buckets: Mutex::default(),
        }
    }
}

impl SendRate {
    pub fn set_per_second(&self, n: u32) {
        self.per_second.store(n, Ordering::Relaxed);
    }

    /// Takes one message from `who`'s bucket, or refuses (429, retry in 1 s).
    pub fn take(&self, who: &str) -> Result<()> {
        self.take_at(who, Instant::now())
    }

    fn take_at(&self, who: &str, now: Instant) -> Result<()> {
        let per_second = self.per_second.load(Ordering::Relaxed);
        if per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(per_second);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < rate
            });
        }
        let (tokens, at) = buckets.entry(who.to_owned()).or_insert((rate, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now.max(*at);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Error::RateLimited {
                retry_after_secs: 1,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn refused(r: Result<()>) -> bool {
        matches!(
            r,
            Err(Error::RateLimited {
                retry_after_secs: 1
            })
        )
    }

    #[test]
    fn a_burst_of_the_sockets_rate_then_refusals_per_person() {
        let rate = SendRate::default();
        let t0 = Instant::now();
        for _ in 0..FRAMES_PER_SECOND {
            rate.take_at("liu.bei", t0).unwrap();
        }
        assert!(refused(rate.take_at("liu.bei", t0)));
        // Someone else is not held back by it.
        rate.take_at("guan.yu", t0).unwrap();
        // One message's worth of time later, one more goes, and only one.
        let later = t0
            + Duration::from_secs_f64(1.0 / f64::from(FRAMES_PER_SECOND))
            + Duration::from_millis(1);
        rate.take_at("liu.bei", later).unwrap();
        assert!(refused(rate.take_at("liu.bei", later)));
        // A second later the bucket is full again, never fuller.
        let after = later + Duration::from_secs(5);
        for _ in 0..FRAMES_PER_SECOND {
            rate.take_at("liu.bei", after).unwrap();
        }
        assert!(refused(rate.take_at("liu.bei", after)));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let rate = SendRate::default();
        rate.set_per_second(0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            rate.take_at("liu.bei", t0).unwrap();
        }
        assert!(rate.buckets.lock().unwrap().is_empty());
    }

    #[test]
    fn the_map_keeps_only_recent_senders() {
        let rate = SendRate::default();
        let t0 = Instant::now();
        for i in 0..=PRUNE_ABOVE {
            rate.take_at(&format!("p{i}"), t0).unwrap();
        }
        rate.take_at("late", t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(rate.buckets.lock().unwrap().len(), 1);
    }
}
