//! When to try a request again and how long to wait: exponential back-off with full jitter,
//! `Retry-After` honoured (capped), and a client-side rate limit shared by every request.

use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based). A server's `Retry-After` wins
    /// (it knows when it will have room), capped at `max`; otherwise a random wait up to
    /// `base * 2^attempt`, so that many clients do not come back at the same instant.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max);
        }
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.max);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        // Half fixed, half random: never a zero wait, still spread out.
        Duration::from_millis(millis / 2 + rand::thread_rng().gen_range(0..=millis / 2))
    }
}

/// 429 and the 5xx answers that mean "try later"; 501 (not implemented) does not.
pub fn retryable(status: u16) -> bool {
    status == 429 || status == 408 || (500..600).contains(&status) && status != 501
}

/// `Retry-After` (RFC 9110 §10.2.3): seconds, or an HTTP-date (IMF-fixdate), read as the
/// time left until then (zero when it is past). Anything else is absent, which falls back to
/// the back-off.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    parse_retry_after_at(value, time::OffsetDateTime::now_utc())
}

fn parse_retry_after_at(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format).ok()?.assume_utc();
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// Spaces requests evenly: each one takes the next free slot, `1/rate` seconds after the
/// previous one.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// `per_second == 0` means no limit.
    pub fn new(per_second: u32) -> Self {
        let interval = (per_second > 0).then(|| Duration::from_secs(1) / per_second);
        Self { interval, next: Mutex::new(Instant::now()) }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let Some(interval) = self.interval else { return };
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy { retries: 5, base: Duration::from_millis(100), max: Duration::from_secs(1) };
        for _ in 0..50 {
            let d0 = p.delay(0, None);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100), "{d0:?}");
            let d3 = p.delay(3, None);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800), "{d3:?}");
            assert!(p.delay(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(p.delay(0, Some(Duration::from_secs(3))), Duration::from_secs(1));
        assert_eq!(p.delay(0, Some(Duration::from_millis(200))), Duration::from_millis(200));
    }

    #[test]
    fn which_statuses_are_retried() {
        for s in [429, 500, 502, 503, 504, 408] {
            assert!(retryable(s), "{s}");
        }
        for s in [200, 400, 401, 404, 409, 412, 501] {
            assert!(!retryable(s), "{s}");
        }
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        let now = time::macros::datetime!(2015-10-21 07:27:30 UTC);
        assert_eq!(parse_retry_after_at("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after_at("Wed, 21 Oct 2015 07:20:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_spaces_requests() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let unlimited = RateLimiter::new(0);
        let start = Instant::now();
        for _ in 0..100 {
            unlimited.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
