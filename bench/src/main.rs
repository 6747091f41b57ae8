//! `rightsnet-bench`: runs one benchmark scenario; the human summary goes to stderr, one JSON
//! object per result to stdout (append it to a file to compare runs over time). Build it with
//! `--release`: a debug build measures the compiler, not the node.

/// Rust allocations go through mimalloc (docs/PERFORMANCE.md, "Allocator"): it keeps freed
/// memory per thread instead of in glibc's arenas, which the node's many short-lived
/// allocations (request bodies, JSON values, canonical bytes) contend on.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rightsnet_bench::Reporter;
use rightsnet_bench::cluster::{self, NodeMode};
use rightsnet_bench::scenarios::{
    catchup, import, ingest, propagation, query, screen, transparency, vc_verify, verify_notice,
};

#[derive(Parser)]
#[command(
    name = "rightsnet-bench",
    version,
    about = "Rightsnet benchmarks (issue #7)"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Signed entries through the ingest path, next to raw Ed25519 verification.
    Ingest(ingest::Params),
    /// Publish-to-stored latency over a federation of nodes on loopback.
    Propagation(propagation::Params),
    /// A node rejoins after missing many entries and catches up over sync.
    Catchup(catchup::Params),
    /// HTTP queries over a million loaded registrations; store size and node memory.
    Query(query::Params),
    /// Listings screened against the brands of the evaluation set and a million generated
    /// marks: recall per obfuscation technique, generic titles matched, titles per second.
    Screen(screen::Params),
    /// Verdicts per second on POST /v1/verify with a mix of valid and invalid notices.
    VerifyNotice(verify_notice::Params),
    /// Every feed a verifiable log: proofs and tiles at 10 M leaves, then tiles and proofs over
    /// HTTP from a node.
    Transparency(transparency::Params),
    /// A register imported from a CSV file with `rightsnet import`, end to end, into a node in
    /// its own process; then the same file again (every record unchanged).
    Import(import::Params),
    /// Bulk credential verification with `rightsnet vc verify --jsonl`, next to raw Ed25519
    /// verification of the same signatures on every core.
    VcVerify(vc_verify::Params),
    /// Runs the `rightsnet` command line with the arguments that follow (used by `import` to
    /// run the real CLI in a process of its own).
    #[command(hide = true)]
    Cli {
        /// The `rightsnet` arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Runs a node from a configuration file until stdin closes (used by `query`,
    /// `verify-notice` and `transparency` to measure a node in its own process).
    #[command(hide = true)]
    Serve {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Kademlia warns about lone nodes, which the benchmarks start on purpose.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,libp2p_kad=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cfg!(debug_assertions) && !matches!(cli.scenario, Scenario::Serve { .. }) {
        eprintln!("warning: a debug build; run with `cargo run --release -p rightsnet-bench`");
    }
    let child = || -> anyhow::Result<NodeMode> {
        Ok(NodeMode::Child(
            std::env::current_exe().context("locating this program")?,
        ))
    };
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut reporter = Reporter::new(&mut stdout, &mut stderr);
    match cli.scenario {
        Scenario::Ingest(params) => ingest::run(&params, &mut reporter),
        Scenario::Propagation(params) => propagation::run(&params, &mut reporter),
        Scenario::Catchup(params) => catchup::run(&params, &mut reporter),
        Scenario::Query(params) => query::run(&params, &child()?, &mut reporter),
        Scenario::Screen(params) => screen::run(&params, &child()?, &mut reporter),
        Scenario::VerifyNotice(params) => verify_notice::run(&params, &child()?, &mut reporter),
        Scenario::Transparency(params) => transparency::run(&params, &child()?, &mut reporter),
        Scenario::Import(params) => import::run(&params, &child()?, &mut reporter),
        Scenario::VcVerify(params) => vc_verify::run(&params, &child()?, &mut reporter),
        Scenario::Cli { args } => {
            let argv = std::iter::once(std::ffi::OsString::from("rightsnet")).chain(args);
            std::process::exit(rightsnet_cli::run_args(argv));
        }
        Scenario::Serve { config } => cluster::serve(&config),
    }
}
