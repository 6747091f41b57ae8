//! An HTTP load generator: a fixed number of workers, each sending one request at a time over
//! its own kept-alive connection, for a fixed time or number of requests; latency is measured
//! per request, from sending to the last byte of the answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::stats::Latencies;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// GET or POST.
    pub method: reqwest::Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// JSON body (POST).
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A GET.
    pub fn get(path: String) -> Self {
        Self {
            method: reqwest::Method::GET,
            path,
            body: None,
        }
    }

    /// A POST of JSON bytes.
    pub fn post(path: &str, body: Vec<u8>) -> Self {
        Self {
            method: reqwest::Method::POST,
            path: path.to_owned(),
            body: Some(body),
        }
    }
}

/// How an answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// As expected, with a result (a right found, a verdict as predicted).
    Hit,
    /// As expected, but empty (a search with no match).
    Miss,
    /// Not as expected (status, body or verdict).
    Wrong,
}

/// Builds request number `n` (from 0).
pub type MakeRequest = Arc<dyn Fn(u64) -> Request + Send + Sync>;
/// Judges the answer to request number `n`: `(n, status, body)`.
pub type CheckAnswer = Arc<dyn Fn(u64, u16, &[u8]) -> Check + Send + Sync>;

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// Requests answered (any status).
    pub requests: u64,
    /// Answers judged [`Check::Hit`].
    pub hits: u64,
    /// Answers judged [`Check::Miss`].
    pub misses: u64,
    /// Answers judged [`Check::Wrong`] and transport errors.
    pub wrong: u64,
    /// The first wrong answer, for the report.
    pub first_wrong: Option<String>,
    /// From the first request sent to the last answer.
    pub elapsed: Duration,
    /// Per-request latencies.
    pub latencies: Latencies,
}

/// Runs `workers` workers against `base` until `duration` has passed or `max_requests` were
/// sent, whichever comes first. Call inside a tokio runtime.
pub async fn run(
    base: &str,
    workers: usize,
    duration: Duration,
    max_requests: u64,
    make: MakeRequest,
    check: CheckAnswer,
) -> anyhow::Result<LoadOutcome> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .timeout(Duration::from_secs(30))
        .build()?;
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        let client = client.clone();
        let base = base.to_owned();
        let counter = counter.clone();
        let make = make.clone();
        let check = check.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcome = LoadOutcome::default();
            loop {
                let number = counter.fetch_add(1, Ordering::Relaxed);
                if number >= max_requests || Instant::now() >= deadline {
                    break;
                }
                let request = make(number);
                let mut builder = client.request(request.method, format!("{base}{}", request.path));
                if let Some(body) = request.body {
                    builder = builder
                        .header("content-type", "application/json")
                        .body(body);
                }
                let sent = Instant::now();
                let answer = match builder.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        response.bytes().await.map(|body| (status, body))
                    }
                    Err(error) => Err(error),
                };
                outcome.latencies.push(sent.elapsed());
                outcome.requests += 1;
                let verdict = match &answer {
                    Ok((status, body)) => check(number, *status, body),
                    Err(_) => Check::Wrong,
                };
                match verdict {
                    Check::Hit => outcome.hits += 1,
                    Check::Miss => outcome.misses += 1,
                    Check::Wrong => {
                        outcome.wrong += 1;
                        if outcome.first_wrong.is_none() {
                            outcome.first_wrong = Some(match answer {
                                Ok((status, body)) => format!(
                                    "request {number}: status {status}: {}",
                                    String::from_utf8_lossy(&body)
                                        .chars()
                                        .take(300)
                                        .collect::<String>()
                                ),
                                Err(error) => format!("request {number}: {error}"),
                            });
                        }
                    }
                }
            }
            outcome
        }));
    }
    let mut total = LoadOutcome::default();
    for task in tasks {
        let outcome = task.await?;
        total.requests += outcome.requests;
        total.hits += outcome.hits;
        total.misses += outcome.misses;
        total.wrong += outcome.wrong;
        if total.first_wrong.is_none() {
            total.first_wrong = outcome.first_wrong;
        }
        total.latencies.extend(outcome.latencies);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}
