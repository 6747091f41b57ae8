//! `import`: an office imports its register from a CSV file with `rightsnet import`, end to
//! end: the real CLI (its CSV reader, local validation, batching, lanes) in a process of its
//! own, over HTTP (`POST /v1/registrations/batch`) to a node in another process, whose writer
//! signs and stores one registration entry per record. Then the same file again: every record
//! unchanged, nothing written (what a resumed or repeated import costs).
//!
//! Checked, not assumed: the node's own feed holds exactly one entry per record after the
//! first pass and not one more after the second, and the CLI's report agrees.

use std::ffi::OsString;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::cluster::{ApiNode, NodeFiles, NodeMode, dir_size, mib, write_trust};
use crate::cpu::{CpuSample, children_cpu_seconds};
use crate::fixtures::{Office, Registration, trust_store};
use crate::report::{Reporter, round};
use crate::stats::per_second;

/// Parameters of the `import` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Records in the register file (one new right each).
    #[arg(long, default_value_t = 200_000)]
    pub records: u64,
    /// Records per request (`rightsnet import --batch`).
    #[arg(long, default_value_t = 1000)]
    pub batch: u16,
    /// Requests in flight (`rightsnet import --concurrency`).
    #[arg(long, default_value_t = 4)]
    pub concurrency: u8,
    /// Do not sync the node's write-ahead log on each commit.
    #[arg(long)]
    pub no_sync: bool,
    /// Skip the second pass (the same file again, every record unchanged).
    #[arg(long)]
    pub skip_reimport: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            records: 200_000,
            batch: 1000,
            concurrency: 4,
            no_sync: false,
            skip_reimport: false,
        }
    }
}

/// The CSV header `rightsnet import` reads (docs/IMPORT.md).
const HEADER: &str = "jurisdiction,number,right_type,mark_text,nice_classes,holder_name,holder_country,holder_key,filing_date,registration_date,expiry_date,status,application_number";

/// One CSV cell, quoted when it must be (RFC 4180).
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Writes the register of `office`: records 1..=`count` as CSV rows; returns the file's size.
pub fn write_register(path: &Path, office: &Office, count: u64) -> anyhow::Result<u64> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "{HEADER}")?;
    for seq in 1..=count {
        let body = Registration::new(office, seq).body_json();
        let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
        let classes = body["nice_classes"]
            .as_array()
            .map(|classes| {
                classes
                    .iter()
                    .map(|class| class.to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default();
        let holder = &body["holder"];
        let row = [
            text("jurisdiction"),
            text("number"),
            text("right_type"),
            text("mark_text"),
            classes,
            holder["name"].as_str().unwrap_or_default().to_owned(),
            holder["country"].as_str().unwrap_or_default().to_owned(),
            holder["key"].as_str().unwrap_or_default().to_owned(),
            text("filing_date"),
            text("registration_date"),
            text("expiry_date"),
            text("status"),
            text("application_number"),
        ];
        let line: Vec<String> = row.iter().map(|value| cell(value)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()?;
    drop(out);
    Ok(std::fs::metadata(path)?.len())
}

/// How the CLI runs: as this program's hidden `cli` subcommand in a child process (its CPU is
/// its own), or in this process (the smoke test, which has no such program).
enum Cli {
    Child(PathBuf),
    InProcess,
}

/// One `rightsnet import` run: its exit code, its JSON report (child only), its CPU seconds.
struct ImportRun {
    exit: i32,
    report: Option<Value>,
    seconds: f64,
    cli_cpu_s: f64,
    node_cpu_s: f64,
    others_share: f64,
}

fn run_import(cli: &Cli, args: &[OsString], node_pids: &[u32]) -> anyhow::Result<ImportRun> {
    let sample = CpuSample::now(node_pids);
    let children_before = children_cpu_seconds();
    let started = Instant::now();
    let (exit, report) = match cli {
        Cli::Child(program) => {
            let output = Command::new(program)
                .arg("cli")
                .args(args)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .with_context(|| format!("running {} cli import", program.display()))?;
            let report = serde_json::from_slice::<Value>(&output.stdout).ok();
            (output.status.code().unwrap_or(-1), report)
        }
        Cli::InProcess => {
            // The smoke test: the CLI's CPU is counted with the node's (one process).
            let mut argv: Vec<OsString> = vec!["rightsnet".into()];
            argv.extend(args.iter().cloned());
            (rightsnet_cli::run_args(argv), None)
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let used = sample.elapsed();
    Ok(ImportRun {
        exit,
        report,
        seconds,
        cli_cpu_s: (children_cpu_seconds() - children_before).max(0.0),
        node_cpu_s: used.ours_s,
        others_share: used.others_share(),
    })
}

/// The seq of `author`'s feed at the node (0 when it holds none).
fn own_head(base: &str, author: &str) -> anyhow::Result<u64> {
    let status: Value = reqwest::blocking::get(format!("{base}/v1/status"))?
        .error_for_status()?
        .json()?;
    Ok(status["feeds"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|feed| feed["author"] == author)
        .and_then(|feed| feed["seq"].as_u64())
        .unwrap_or(0))
}

/// Runs the scenario: writes the register, starts the node, imports twice, checks, reports.
pub fn run(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    ensure!(params.records > 0, "--records must be at least 1");
    let directory = tempfile::tempdir()?;
    let office = Office::new("import-office", 3);
    let trust_path = directory.path().join("trust.toml");
    write_trust(&trust_path, &trust_store(vec![office.authority()?])?)?;
    let files = NodeFiles::create(directory.path().join("node"), &office.key)?;

    let register = directory.path().join("register.csv");
    let writing = Instant::now();
    let file_bytes = write_register(&register, &office, params.records)?;
    reporter.say(format!(
        "import: a register of {} records ({:.0} MiB of CSV) written in {:.1} s",
        params.records,
        mib(file_bytes),
        writing.elapsed().as_secs_f64()
    ));

    let node = ApiNode::start(
        mode,
        files.config(&trust_path, &[], !params.no_sync, None)?,
        super::cores(),
    )?;
    let base = node.base_url();
    let pids = node.pids();
    let cli = match mode {
        NodeMode::Child(program) => Cli::Child(program.clone()),
        NodeMode::InProcess => Cli::InProcess,
    };
    let author = office.key.public_key().to_did_key();
    let args: Vec<OsString> = [
        "import",
        "--format",
        "csv",
        &register.to_string_lossy(),
        "--node",
        &base,
        "--token-file",
        &files.dir.join("token").to_string_lossy(),
        "--batch",
        &params.batch.to_string(),
        "--concurrency",
        &params.concurrency.to_string(),
        "--json",
    ]
    .iter()
    .map(OsString::from)
    .collect();

    let first = run_import(&cli, &args, &pids)?;
    ensure!(
        first.exit == 0,
        "rightsnet import exited with {}",
        first.exit
    );
    let stored = own_head(&base, &author)?;
    ensure!(
        stored == params.records,
        "the node's feed holds {stored} entries after importing {} records",
        params.records
    );
    if let Some(report) = &first.report {
        ensure!(
            report["entries_written"] == params.records,
            "the import reported {report}"
        );
    }
    let (memory_after, _) = node.memory();
    let disk = dir_size(&files.data_dir());
    let rate = per_second(
        params.records,
        std::time::Duration::from_secs_f64(first.seconds),
    );
    reporter.say(format!(
        "import: {} records through `rightsnet import` in {:.1} s: {:.0} records/s; CPU per record {:.0} µs at the node, {:.0} µs in the CLI; store {:.0} MiB ({:.0} bytes per registration, not compacted)",
        params.records,
        first.seconds,
        rate,
        first.node_cpu_s * 1e6 / params.records as f64,
        first.cli_cpu_s * 1e6 / params.records as f64,
        mib(disk),
        disk as f64 / params.records as f64,
    ));
    let mut figures = json!({
        "records": params.records,
        "file_bytes": file_bytes,
        "seconds": round(first.seconds, 2),
        "records_per_s": round(rate, 0),
        "node_cpu_us_per_record": round(first.node_cpu_s * 1e6 / params.records as f64, 1),
        "cli_cpu_us_per_record": round(first.cli_cpu_s * 1e6 / params.records as f64, 1),
        "cores_busy": round((first.node_cpu_s + first.cli_cpu_s) / first.seconds, 2),
        "others_cpu_share": round(first.others_share, 3),
        "disk_bytes": disk,
        "disk_bytes_per_registration": round(disk as f64 / params.records as f64, 0),
        "node_rss_bytes": memory_after.map(|memory| memory.rss_bytes),
        "node_peak_rss_bytes": memory_after.map(|memory| memory.peak_rss_bytes),
    });

    if !params.skip_reimport {
        let second = run_import(&cli, &args, &pids)?;
        ensure!(
            second.exit == 0,
            "the second import exited with {}",
            second.exit
        );
        let after = own_head(&base, &author)?;
        if after != stored {
            bail!(
                "importing the same file again wrote {} entries",
                after - stored
            );
        }
        if let Some(report) = &second.report {
            ensure!(
                report["unchanged"] == params.records && report["entries_written"] == 0,
                "the second import reported {report}"
            );
        }
        let again = per_second(
            params.records,
            std::time::Duration::from_secs_f64(second.seconds),
        );
        reporter.say(format!(
            "import: the same file again, every record unchanged: {:.0} records/s ({:.1} s)",
            again, second.seconds
        ));
        figures["reimport"] = json!({
            "seconds": round(second.seconds, 2),
            "records_per_s": round(again, 0),
            "node_cpu_us_per_record": round(second.node_cpu_s * 1e6 / params.records as f64, 1),
            "cli_cpu_us_per_record": round(second.cli_cpu_s * 1e6 / params.records as f64, 1),
        });
    }
    node.stop()?;
    reporter.result(
        "import",
        json!({
            "records": params.records,
            "batch": params.batch,
            "concurrency": params.concurrency,
            "sync_writes": !params.no_sync,
        }),
        figures,
    )?;
    Ok(())
}
