//! Prometheus metrics: counters kept in atomics and small bounded maps, rendered in the text
//! exposition format by `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request-latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Most distinct label sets kept per labelled metric; more are folded into `other`.
pub const MAX_LABEL_SETS: usize = 256;

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The node's metrics.
#[derive(Default)]
pub struct Metrics {
    stored: AtomicU64,
    ineffective: AtomicU64,
    equivocations: AtomicU64,
    rejected: Mutex<BTreeMap<String, u64>>,
    events: Mutex<BTreeMap<String, u64>>,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

fn bounded_key<K: Ord + Clone, V: Default>(map: &mut BTreeMap<K, V>, key: K, other: K) -> &mut V {
    let key = if map.contains_key(&key) || map.len() < MAX_LABEL_SETS {
        key
    } else {
        other
    };
    map.entry(key).or_default()
}

impl Metrics {
    /// Counts stored entries.
    pub fn entries_stored(&self, count: u64) {
        self.stored.fetch_add(count, Ordering::Relaxed);
    }
    /// Counts an entry refused, by reason code.
    pub fn entry_rejected(&self, reason: &str) {
        if let Ok(mut rejected) = self.rejected.lock() {
            *bounded_key(&mut rejected, reason.to_owned(), "other".to_owned()) += 1;
        }
    }
    /// Counts a network event (gossip accepted, sync entry stored, peer blocked, …).
    pub fn event(&self, name: &str) {
        if let Ok(mut events) = self.events.lock() {
            *bounded_key(&mut events, name.to_owned(), "other".to_owned()) += 1;
        }
    }
    /// How many times `name` was counted.
    pub fn event_count(&self, name: &str) -> u64 {
        self.events
            .lock()
            .map(|events| events.get(name).copied().unwrap_or(0))
            .unwrap_or(0)
    }
    /// Counts an entry stored that changed nothing.
    pub fn entry_ineffective(&self) {
        self.ineffective.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a detected equivocation.
    pub fn equivocation(&self) {
        self.equivocations.fetch_add(1, Ordering::Relaxed);
    }
    /// Entries stored since start.
    pub fn stored_count(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Records one HTTP request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            *bounded_key(
                &mut requests,
                (route.to_owned(), status),
                ("other".to_owned(), status),
            ) += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = bounded_key(&mut latency, route.to_owned(), "other".to_owned());
            let seconds = elapsed.as_secs_f64();
            for (bucket, bound) in histogram.buckets.iter_mut().zip(LATENCY_BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum_seconds += seconds;
        }
    }

    /// Renders every metric in the Prometheus text format, with the given gauges appended.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "rightsnet_entries_stored_total",
            "Entries verified and stored since start.",
            self.stored.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "rightsnet_entries_ineffective_total",
            "Entries stored that changed no state.",
            self.ineffective.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "rightsnet_equivocations_total",
            "Equivocations detected since start.",
            self.equivocations.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP rightsnet_entries_rejected_total Entries refused, by reason.\n# TYPE rightsnet_entries_rejected_total counter"
        );
        if let Ok(rejected) = self.rejected.lock() {
            for (reason, count) in rejected.iter() {
                let _ = writeln!(
                    out,
                    "rightsnet_entries_rejected_total{{reason=\"{reason}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP rightsnet_network_events_total Federation events, by kind.\n# TYPE rightsnet_network_events_total counter"
        );
        if let Ok(events) = self.events.lock() {
            for (event, count) in events.iter() {
                let _ = writeln!(
                    out,
                    "rightsnet_network_events_total{{event=\"{event}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP rightsnet_http_requests_total HTTP requests, by route and status.\n# TYPE rightsnet_http_requests_total counter"
        );
        if let Ok(requests) = self.requests.lock() {
            for ((route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "rightsnet_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP rightsnet_http_request_duration_seconds HTTP request latency, by route.\n# TYPE rightsnet_http_request_duration_seconds histogram"
        );
        if let Ok(latency) = self.latency.lock() {
            for (route, histogram) in latency.iter() {
                for (count, bound) in histogram.buckets.iter().zip(LATENCY_BUCKETS) {
                    let _ = writeln!(
                        out,
                        "rightsnet_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "rightsnet_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nrightsnet_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nrightsnet_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    histogram.count, histogram.sum_seconds, histogram.count
                );
            }
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
