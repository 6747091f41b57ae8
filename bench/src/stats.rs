//! Latency percentiles and rates.

use std::time::Duration;

use serde_json::{Value, json};

use crate::report::round;

/// Latencies collected during a run.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples: Vec<Duration>,
}

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Latencies {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample.
    pub fn push(&mut self, latency: Duration) {
        self.samples.push(latency);
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Nearest-rank percentiles (all zero when empty).
    pub fn summary(&self) -> Summary {
        let mut sorted: Vec<Duration> = self.samples.clone();
        sorted.sort_unstable();
        let millis = |duration: Duration| duration.as_secs_f64() * 1000.0;
        let rank = |fraction: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let index = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted.get(index - 1).copied().map_or(0.0, millis)
        };
        let mean = if sorted.is_empty() {
            0.0
        } else {
            sorted.iter().copied().map(millis).sum::<f64>() / sorted.len() as f64
        };
        Summary {
            count: sorted.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: sorted.last().copied().map_or(0.0, millis),
            mean_ms: mean,
        }
    }
}

impl Summary {
    /// `{"count", "p50_ms", "p99_ms", "max_ms", "mean_ms"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
        })
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            self.p50_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

/// `count` per second over `elapsed` (zero for an empty interval).
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut latencies = Latencies::new();
        for millis in 1..=100 {
            latencies.push(Duration::from_millis(millis));
        }
        let summary = latencies.summary();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
        assert_eq!(Latencies::new().summary().p99_ms, 0.0);
    }
}
