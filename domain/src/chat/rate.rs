//! How fast one person may send chat messages over HTTP. A socket has a
//! bucket of its own (`FRAMES_PER_SECOND`, in `server::chat`); the HTTP
//! fallback had none, so a player's script could post messages as fast as
//! the server took them. Each person (player account or staff member) gets
//! the socket's rate over HTTP: a bucket of `FRAMES_PER_SECOND` messages
//! that refills at that many a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use protocol::chat::FRAMES_PER_SECOND;

use crate::{Error, Result};

/// Past this many people with a bucket, full buckets (nobody sent for a
/// second) are dropped: a full bucket is the same as none, so the map holds
/// only the people who sent in the last second.
const PRUNE_ABOVE: usize = 4096;

#[derive(Default)]
pub struct SendRate {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl SendRate {
    /// Takes one message from `who`'s bucket, or refuses (429, retry in 1 s).
    pub fn take(&self, who: &str) -> Result<()> {
        let rate = f64::from(FRAMES_PER_SECOND);
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < rate
            });
        }
        let (tokens, at) = buckets.entry(who.to_owned()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
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

    #[test]
    fn a_burst_of_the_sockets_rate_then_refusals_per_person() {
        let rate = SendRate::default();
        for _ in 0..FRAMES_PER_SECOND {
            rate.take("liu.bei").unwrap();
        }
        assert!(matches!(
            rate.take("liu.bei"),
            Err(Error::RateLimited {
                retry_after_secs: 1
            })
        ));
        // Someone else is not held back by it.
        rate.take("guan.yu").unwrap();
        // One message's worth of time later, one more goes.
        std::thread::sleep(std::time::Duration::from_millis(
            1000 / u64::from(FRAMES_PER_SECOND) + 5,
        ));
        rate.take("liu.bei").unwrap();
        assert!(rate.take("liu.bei").is_err());
    }

    #[test]
    fn the_map_keeps_only_recent_senders() {
        let rate = SendRate::default();
        for i in 0..=PRUNE_ABOVE {
            rate.take(&format!("p{i}")).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(1100));
        rate.take("late").unwrap();
        assert_eq!(rate.buckets.lock().unwrap().len(), 1);
    }
}
