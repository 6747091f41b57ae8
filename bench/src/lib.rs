//! Rightsnet benchmarks: the scenarios of issue #7, run against the real node library.
//!
//! Layers, each with one job:
//! - [`fixtures`]: synthetic but realistic data — office keys, trust stores, registrations of a
//!   plausible size and spread, signed feeds generated in chunks on every core.
//! - [`cluster`]: node files and configurations; nodes in this process, or one node in a child
//!   process (so that its memory can be measured on its own).
//! - [`load`]: an HTTP load generator (a fixed number of workers for a fixed time).
//! - [`stats`]: latency percentiles and rates; [`cpu`]: CPU time used by us and by the rest of
//!   the machine (shared machines are noisy: every result says how disturbed it was).
//! - [`report`]: the output — a human summary on one writer, one JSON object per result on
//!   another, so that results can be compared over time.
//! - [`scenarios`]: `ingest`, `propagation`, `catchup`, `query`, `verify-notice`,
//!   `transparency`, `import`, `screen`; [`screen_eval`]: the screening evaluation set.
//!
//! The `rightsnet-bench` binary only parses arguments and calls [`scenarios`]; the smoke test in
//! `tests/tests/integration/bench_smoke.rs` calls the same functions at tiny sizes.

/// Waits `duration` between two polls of a loop that has its own deadline. The only place this
/// crate sleeps: clippy refuses `std::thread::sleep` elsewhere (`clippy.toml`).
#[allow(
    clippy::disallowed_methods,
    reason = "the one pause of the benchmark's deadline-poll loops"
)]
pub fn pause(duration: std::time::Duration) {
    std::thread::sleep(duration);
}

pub mod cluster;
pub mod cpu;
pub mod fixtures;
pub mod load;
pub mod report;
pub mod scenarios;
pub mod screen_eval;
pub mod stats;
pub mod wrk;

pub use report::Reporter;
