//! Output: a human summary on one writer (stderr for the binary) and one JSON object per result
//! line on another (stdout), each carrying the scenario, its parameters, its figures and where
//! and when it ran, so that runs can be appended to a file and compared over time.

use std::io::Write;

use serde_json::{Value, json};

/// Where results go.
pub struct Reporter<'a> {
    json: &'a mut dyn Write,
    human: &'a mut dyn Write,
    results: Vec<Value>,
}

impl<'a> Reporter<'a> {
    /// Writes JSON result lines to `json` and the human summary to `human`.
    pub fn new(json: &'a mut dyn Write, human: &'a mut dyn Write) -> Self {
        Self {
            json,
            human,
            results: Vec::new(),
        }
    }

    /// One line of the human summary.
    pub fn say(&mut self, line: impl std::fmt::Display) {
        // The human summary is best effort; a closed stderr must not stop a benchmark.
        let _ = writeln!(self.human, "{line}");
        let _ = self.human.flush();
    }

    /// Writes one result: `{"scenario", "date", "machine", "build", "parameters", "figures"}`.
    pub fn result(
        &mut self,
        scenario: &str,
        parameters: Value,
        figures: Value,
    ) -> std::io::Result<()> {
        let line = json!({
            "scenario": scenario,
            "date": rightsnet_node::clock::now().as_str(),
            "machine": machine(),
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "version": env!("CARGO_PKG_VERSION"),
            "parameters": parameters,
            "figures": figures,
        });
        writeln!(self.json, "{line}")?;
        self.json.flush()?;
        self.results.push(line);
        Ok(())
    }

    /// Every result written so far.
    pub fn results(&self) -> &[Value] {
        &self.results
    }
}

/// The cores this process may use and, on Linux, the CPU model.
pub fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_default();
    json!({"cores": cores, "cpu": cpu})
}

/// Rounds a figure for display and JSON (three significant decimals are plenty).
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
