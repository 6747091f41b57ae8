//! An independent load generator beside the bench's own client: `wrk` (Debian's package
//! `wrk`, not code of ours), run against the same node with the same request paths. Its figures
//! check that the bench's client neither flatters nor hobbles the node; it does not check the
//! answers (the bench's own runs do), only counts the ones that are not 2xx.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::report::round;

/// Most distinct request paths handed to wrk in one script (it cycles through them).
pub const MAX_PATHS: usize = 20_000;

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkRun {
    /// Connections (the client count).
    pub connections: usize,
    /// Requests completed.
    pub requests: u64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// Latency percentiles, in milliseconds: 50th, 90th, 99th.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
    /// Connect, read, write errors and timeouts, summed.
    pub socket_errors: u64,
}

impl WrkRun {
    /// The run as a JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "tool": "wrk",
            "connections": self.connections,
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "latency_ms": {"p50": round(self.p50_ms, 3), "p90": round(self.p90_ms, 3), "p99": round(self.p99_ms, 3)},
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
        })
    }

    /// One line for the human summary.
    pub fn summary(&self) -> String {
        format!(
            "{:>8.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms ({} requests); {} not 2xx, {} socket errors",
            self.requests_per_s,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.requests,
            self.non_2xx,
            self.socket_errors
        )
    }
}

/// Whether `wrk` can be run here.
pub fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|output| !output.stdout.is_empty() || !output.stderr.is_empty())
}

/// The Lua script that makes wrk cycle through `paths`, each thread from its own offset.
fn script(paths: &[String]) -> String {
    let mut lua = String::from("local paths = {\n");
    for path in paths.iter().take(MAX_PATHS) {
        lua.push('"');
        for character in path.chars() {
            match character {
                '"' | '\\' => {
                    lua.push('\\');
                    lua.push(character);
                }
                '\n' | '\r' => lua.push(' '),
                other => lua.push(other),
            }
        }
        lua.push_str("\",\n");
    }
    lua.push_str(
        "}\n\
         local started = 0\n\
         function setup(thread)\n  thread:set(\"offset\", started * 7919)\n  started = started + 1\nend\n\
         local counter = 0\n\
         function init(args)\n  counter = offset or 0\nend\n\
         function request()\n  counter = counter + 1\n  return wrk.format(\"GET\", paths[(counter % #paths) + 1])\nend\n",
    );
    lua
}

/// Runs wrk against `base` for `duration` with `connections` connections (on up to two
/// threads), requesting `paths` in turn; the script is written into `dir`.
pub fn run(
    base: &str,
    paths: &[String],
    connections: usize,
    duration: Duration,
    dir: &Path,
) -> anyhow::Result<WrkRun> {
    anyhow::ensure!(!paths.is_empty(), "wrk needs at least one request path");
    let connections = connections.max(1);
    let threads = connections.min(2);
    let script_path = dir.join("wrk-paths.lua");
    std::fs::File::create(&script_path)
        .and_then(|mut file| file.write_all(script(paths).as_bytes()))
        .with_context(|| format!("writing {}", script_path.display()))?;
    let seconds = duration.as_secs().max(1);
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-s")
        .arg(&script_path)
        .arg(base)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "wrk failed ({}): {}{}",
        output.status,
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&text, connections).with_context(|| format!("reading wrk's report:\n{text}"))
}

/// A duration as wrk prints it (`635.91us`, `1.20ms`, `2.00s`, `1.00m`), in milliseconds.
fn milliseconds(text: &str) -> Option<f64> {
    let split = text.find(|character: char| character.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(value * factor)
}

/// Reads wrk's text report (with `--latency`).
fn parse(text: &str, connections: usize) -> anyhow::Result<WrkRun> {
    let mut run = WrkRun {
        connections,
        requests: 0,
        requests_per_s: 0.0,
        p50_ms: f64::NAN,
        p90_ms: f64::NAN,
        p99_ms: f64::NAN,
        non_2xx: 0,
        socket_errors: 0,
    };
    let mut requests_seen = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [percent, value] if percent.ends_with('%') => {
                let latency = milliseconds(value);
                match *percent {
                    "50%" => run.p50_ms = latency.unwrap_or(f64::NAN),
                    "90%" => run.p90_ms = latency.unwrap_or(f64::NAN),
                    "99%" => run.p99_ms = latency.unwrap_or(f64::NAN),
                    _ => {}
                }
            }
            ["Requests/sec:", value] => run.requests_per_s = value.parse()?,
            [count, "requests", "in", ..] => {
                run.requests = count.parse()?;
                requests_seen = true;
            }
            ["Non-2xx", "or", "3xx", "responses:", count] => run.non_2xx = count.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                run.socket_errors = rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    anyhow::ensure!(
        requests_seen && run.p99_ms.is_finite(),
        "no request count or latency distribution"
    );
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 2s test @ http://127.0.0.1:4000
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  517.00us  30.00ms   90.00%
    Req/Sec     3.00k   200.00     3.50k    70.00%
  Latency Distribution
     50%  635.91us
     75%  712.34us
     90%    1.20ms
     99%    2.05s
  12000 requests in 2.00s, 10.00MB read
  Socket errors: connect 1, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:   6000.50
Transfer/sec:      5.00MB
";

    #[test]
    fn reads_every_figure_of_a_report() {
        let run = parse(REPORT, 8).expect("a report");
        assert_eq!(run.requests, 12_000);
        assert!((run.requests_per_s - 6000.5).abs() < 1e-9);
        assert!((run.p50_ms - 0.63591).abs() < 1e-9);
        assert!((run.p90_ms - 1.2).abs() < 1e-9);
        assert!((run.p99_ms - 2050.0).abs() < 1e-9);
        assert_eq!(run.non_2xx, 5);
        assert_eq!(run.socket_errors, 6);
    }

    #[test]
    fn refuses_a_report_without_figures() {
        assert!(parse("unable to connect to 127.0.0.1:4000 Connection refused", 1).is_err());
        assert!(parse("  10 requests in 1.00s, 1.00KB read\n", 1).is_err());
    }

    /// A real wrk against a minimal HTTP server on 127.0.0.1 (when wrk is installed: `.ci/run`
    /// installs it): every path of the script is requested, and the report is read.
    #[test]
    fn runs_wrk_against_a_local_server() {
        use std::io::{BufRead, BufReader};
        use std::net::TcpListener;
        use std::sync::{Arc, Mutex};

        if !available() {
            eprintln!("wrk is not installed: skipped (apt-get install wrk)");
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let address = listener.local_addr().expect("an address");
        let seen: Arc<Mutex<std::collections::BTreeSet<String>>> = Arc::default();
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let record = record.clone();
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().expect("a clone");
                    let mut lines = BufReader::new(stream).lines();
                    while let Some(Ok(line)) = lines.next() {
                        if let Some(path) = line.strip_prefix("GET ") {
                            let path = path.split(' ').next().unwrap_or_default().to_owned();
                            let status = if path == "/missing" {
                                "404 Not Found"
                            } else {
                                "200 OK"
                            };
                            record.lock().expect("a lock").insert(path);
                            let answer =
                                format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nok");
                            if writer.write_all(answer.as_bytes()).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let directory = tempfile::tempdir().expect("a directory");
        let paths: Vec<String> = ["/a", "/b?x=1", "/missing"].map(str::to_owned).to_vec();
        let run = run(
            &format!("http://{address}"),
            &paths,
            2,
            Duration::from_secs(1),
            directory.path(),
        )
        .expect("wrk runs");
        assert!(run.requests > 3, "{run:?}");
        assert!(run.non_2xx > 0, "the 404s are counted: {run:?}");
        assert!(run.p99_ms.is_finite() && run.p50_ms <= run.p99_ms);
        let seen = seen.lock().expect("a lock").clone();
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["/a", "/b?x=1", "/missing"]
        );
    }

    #[test]
    fn the_script_quotes_every_path() {
        let lua = script(&["/v1/rights?mark=a\"b\\c".to_owned(), "/x".to_owned()]);
        assert!(lua.contains(r#""/v1/rights?mark=a\"b\\c","#));
        assert!(lua.contains("\"/x\","));
        assert!(lua.contains("function request()"));
    }
}
