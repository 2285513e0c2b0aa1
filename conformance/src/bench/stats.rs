//! Latency and outcome counts of one scenario, and how they are printed.

use std::time::Duration;

use serde_json::{json, Value};

/// What one worker saw; merged across workers at the end.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// Latencies in microseconds.
    pub latencies: Vec<u32>,
    pub non_2xx: u64,
    pub errors: u64,
}

impl Samples {
    pub fn record(&mut self, elapsed: Duration, ok: bool) {
        self.latencies.push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        if !ok {
            self.non_2xx += 1;
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
    }
}

/// The figures of one scenario.
#[derive(Debug, Clone)]
pub struct Summary {
    pub scenario: String,
    pub requests: u64,
    /// Items (users) per request, for scenarios where one request carries many (Bulk).
    pub items_per_request: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
    pub errors: u64,
    /// For jobs timed as totals: how many items (users) the job handled in `seconds`.
    pub items: Option<u64>,
}

impl Summary {
    pub fn new(scenario: &str, mut samples: Samples, elapsed: Duration, items_per_request: u64) -> Self {
        samples.latencies.sort_unstable();
        let pct = |p: f64| -> f64 {
            if samples.latencies.is_empty() {
                return 0.0;
            }
            let rank = ((p * samples.latencies.len() as f64).ceil() as usize).clamp(1, samples.latencies.len());
            f64::from(samples.latencies[rank - 1]) / 1000.0
        };
        Self {
            scenario: scenario.to_owned(),
            requests: samples.latencies.len() as u64,
            items_per_request,
            seconds: elapsed.as_secs_f64(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            non_2xx: samples.non_2xx,
            errors: samples.errors,
            items: None,
        }
    }

    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Items per second: counted items for totals, requests times items per request otherwise.
    pub fn items_per_second(&self) -> f64 {
        match self.items {
            Some(n) if self.seconds > 0.0 => n as f64 / self.seconds,
            _ => self.per_second() * self.items_per_request as f64,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "total_items": self.items,
            "scenario": self.scenario,
            "requests": self.requests,
            "seconds": self.seconds,
            "requests_per_second": self.per_second(),
            "items_per_second": self.items_per_second(),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "non_2xx": self.non_2xx,
            "errors": self.errors,
        })
    }
}

/// The results as a plain-text table.
pub fn table(rows: &[Summary]) -> String {
    let mut out = format!(
        "{:<22} {:>9} {:>11} {:>11} {:>9} {:>9} {:>8} {:>7} {:>9}\n",
        "scenario", "requests", "req/s", "items/s", "p50 ms", "p99 ms", "non-2xx", "errors", "total s"
    );
    for r in rows {
        let total = if r.items.is_some() { format!("{:.2}", r.seconds) } else { String::new() };
        out.push_str(&format!(
            "{:<22} {:>9} {:>11.0} {:>11.0} {:>9.2} {:>9.2} {:>8} {:>7} {:>9}\n",
            r.scenario,
            r.requests,
            r.per_second(),
            r.items_per_second(),
            r.p50_ms,
            r.p99_ms,
            r.non_2xx,
            r.errors,
            total
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rates() {
        let mut s = Samples::default();
        for ms in 1..=100u64 {
            s.record(Duration::from_millis(ms), ms != 100);
        }
        let sum = Summary::new("x", s, Duration::from_secs(2), 1);
        assert_eq!(sum.requests, 100);
        assert_eq!(sum.p50_ms, 50.0);
        assert_eq!(sum.p99_ms, 99.0);
        assert_eq!(sum.non_2xx, 1);
        assert_eq!(sum.per_second(), 50.0);
        assert!(table(&[sum]).contains("x "));
    }
}
