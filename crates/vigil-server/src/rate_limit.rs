//! Rate limits on the public methods (tips and their status), held in
//! memory only and never persisted. A source is known by a keyed hash of
//! its address under a key drawn at start and never stored, so the limiter
//! holds no address and its table names nobody, even in a memory dump
//! taken after a restart.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests a public caller may make: a burst, refilled at a steady rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PublicRate {
    /// Per source address.
    pub per_source_burst: f64,
    pub per_source_per_second: f64,
    /// All sources together, so that many addresses cannot flood either.
    pub total_burst: f64,
    pub total_per_second: f64,
}

impl Default for PublicRate {
    fn default() -> Self {
        // A person submits a tip and checks its status a few times; a
        // public web form behind one proxy address shares the source limit,
        // so the total is the limit that matters there.
        PublicRate { per_source_burst: 20.0, per_source_per_second: 0.5, total_burst: 200.0, total_per_second: 50.0 }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, burst: f64, per_second: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Sources tracked at most; past it, buckets idle long enough to be full
/// again are dropped, so a flood from many addresses cannot grow memory.
const MAX_SOURCES: usize = 100_000;

#[derive(Debug)]
pub struct PublicLimiter {
    rate: PublicRate,
    /// Drawn at start, never stored: the source hashes mean nothing later.
    hasher: RandomState,
    state: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    total: Bucket,
    sources: HashMap<u64, Bucket>,
}

impl PublicLimiter {
    pub fn new(rate: PublicRate) -> PublicLimiter {
        let now = Instant::now();
        PublicLimiter {
            rate,
            hasher: RandomState::new(),
            state: Mutex::new(LimiterState {
                total: Bucket { tokens: rate.total_burst, at: now },
                sources: HashMap::new(),
            }),
        }
    }

    pub fn rate(&self) -> PublicRate {
        self.rate
    }

    /// Whether a request from `source` may go ahead now. An unknown source
    /// (no address) shares one bucket.
    pub fn admit(&self, source: Option<IpAddr>) -> bool {
        self.admit_at(source, Instant::now())
    }

    fn admit_at(&self, source: Option<IpAddr>, now: Instant) -> bool {
        let mut hasher = self.hasher.build_hasher();
        // One bucket per IPv6 /64: one host holds a whole one.
        match source {
            Some(IpAddr::V4(v4)) => hasher.write(&v4.octets()),
            Some(IpAddr::V6(v6)) => hasher.write(&v6.octets()[..8]),
            None => hasher.write_u8(0),
        }
        let key = hasher.finish();
        let rate = self.rate;
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.sources.len() >= MAX_SOURCES && !state.sources.contains_key(&key) {
            let full_after = Duration::from_secs_f64(rate.per_source_burst / rate.per_source_per_second);
            state.sources.retain(|_, bucket| now.saturating_duration_since(bucket.at) < full_after);
            if state.sources.len() >= MAX_SOURCES {
                return false;
            }
        }
        let bucket = state.sources.entry(key).or_insert(Bucket { tokens: rate.per_source_burst, at: now });
        if !bucket.take(rate.per_source_burst, rate.per_source_per_second, now) {
            return false;
        }
        state.total.take(rate.total_burst, rate.total_per_second, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> PublicLimiter {
        PublicLimiter::new(PublicRate {
            per_source_burst: 3.0,
            per_source_per_second: 1.0,
            total_burst: 5.0,
            total_per_second: 2.0,
        })
    }

    #[test]
    fn a_source_gets_its_burst_then_its_rate() {
        let limiter = limiter();
        let start = Instant::now();
        let source = Some("192.0.2.1".parse().unwrap());
        let admitted = (0..10).filter(|_| limiter.admit_at(source, start)).count();
        assert_eq!(admitted, 3);
        assert!(!limiter.admit_at(source, start + Duration::from_millis(500)));
        assert!(limiter.admit_at(source, start + Duration::from_millis(1_100)));
    }

    #[test]
    fn many_sources_together_meet_the_total() {
        let limiter = limiter();
        let start = Instant::now();
        let admitted =
            (1..=20u8).filter(|last| limiter.admit_at(Some(IpAddr::from([192, 0, 2, *last])), start)).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn an_ipv6_host_is_one_source_across_its_prefix() {
        let limiter = limiter();
        let start = Instant::now();
        let admitted = (1..=10u16)
            .filter(|last| {
                let address = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, *last]);
                limiter.admit_at(Some(address), start)
            })
            .count();
        assert_eq!(admitted, 3);
    }
}
