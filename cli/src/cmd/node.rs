//! `rightsnet node run`: the node daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use rightsnet_node::config::{Limits, NodeConfig};

use crate::{CommandError, CommandResult, Exit};

/// Node commands.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Run the node daemon until SIGINT or SIGTERM.
    Run(RunArgs),
}

/// Flags of `rightsnet node run`; each overrides the config file.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML configuration file (see docs/node.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory of the embedded RocksDB store.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// HTTP API listen address, e.g. 127.0.0.1:7070 (port 0: any free port).
    #[arg(long)]
    api_listen: Option<SocketAddr>,
    /// The URL under which outside verifiers reach the API (base of the status list URLs in
    /// issued credentials), e.g. `https://rights.office.example`.
    #[arg(long)]
    public_url: Option<String>,
    /// libp2p listen multiaddr, e.g. /ip4/127.0.0.1/tcp/7071.
    #[arg(long)]
    p2p_listen: Option<String>,
    /// A peer to connect to (multiaddr ending in /p2p/PEER_ID); repeat for several. Adds to
    /// the config file's list.
    #[arg(long)]
    bootstrap: Vec<String>,
    /// Discover peers on the local network with mDNS.
    #[arg(long)]
    mdns: bool,
    /// Multikey key file of the node's authority.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Trust store (TOML).
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Operator bearer token (prefer --operator-token-file or RIGHTSNET_OPERATOR_TOKEN).
    #[arg(long, env = "RIGHTSNET_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// File holding the operator bearer token.
    #[arg(long)]
    operator_token_file: Option<PathBuf>,
    /// Acknowledge writes before the write-ahead log is synced (faster; a power loss may lose
    /// the last acknowledged writes).
    #[arg(long)]
    no_sync: bool,
}

impl NodeCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            NodeCommand::Run(args) => run(args),
        }
    }
}

fn build_config(args: RunArgs) -> Result<NodeConfig, CommandError> {
    let mut config = match &args.config {
        Some(path) => NodeConfig::load(path).map_err(CommandError::bad_input)?,
        None => {
            let missing = |flag: &str| {
                CommandError::bad_input(format!("{flag} is required without --config"))
            };
            NodeConfig {
                data_dir: args.data_dir.clone().ok_or_else(|| missing("--data-dir"))?,
                api_listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
                public_url: None,
                p2p_listen: "/ip4/127.0.0.1/tcp/7071".to_owned(),
                bootstrap: Vec::new(),
                mdns: false,
                authority_key: args.key.clone().ok_or_else(|| missing("--key"))?,
                trust_store: args.trust.clone().ok_or_else(|| missing("--trust"))?,
                operator_token: None,
                operator_token_file: None,
                sync_writes: true,
                sync_interval_secs: 5,
                limits: Limits::default(),
                marketplace: None,
                trust: Default::default(),
                transparency: Default::default(),
                storage: Default::default(),
                screening: Default::default(),
                console: Default::default(),
            }
        }
    };
    if let Some(value) = args.data_dir {
        config.data_dir = value;
    }
    if let Some(value) = args.api_listen {
        config.api_listen = value;
    }
    if let Some(value) = args.public_url {
        config.public_url = Some(value);
    }
    if let Some(value) = args.p2p_listen {
        config.p2p_listen = value;
    }
    config.bootstrap.extend(args.bootstrap);
    if args.mdns {
        config.mdns = true;
    }
    if let Some(value) = args.key {
        config.authority_key = value;
    }
    if let Some(value) = args.trust {
        config.trust_store = value;
    }
    if let Some(value) = args.operator_token {
        config.operator_token = Some(value);
        config.operator_token_file = None;
    }
    if let Some(value) = args.operator_token_file {
        config.operator_token_file = Some(value);
        config.operator_token = None;
    }
    if args.no_sync {
        config.sync_writes = false;
    }
    config.validate().map_err(CommandError::bad_input)?;
    Ok(config)
}

fn run(args: RunArgs) -> CommandResult {
    let config = build_config(args)?;
    // Every file the configuration names is read before anything starts, so unusable input
    // exits 2 like an unusable configuration, and a node that fails later exits 3.
    let inputs = rightsnet_node::Inputs::load(&config)
        .map_err(|error| CommandError::bad_input(format!("{error:#}")))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rightsnet")
        .build()
        .map_err(CommandError::failure)?;
    runtime.block_on(async move {
        // Before the listening line: a SIGTERM sent as soon as it appears must find the handler
        // in place, or it kills the node without a clean shutdown.
        let signals = Signals::install().map_err(CommandError::failure)?;
        let node = rightsnet_node::start_with(config, inputs)
            .await
            .map_err(|error| CommandError::failure(format!("{error:#}")))?;
        // One machine-readable line so that scripts and tests can find the bound address.
        println!(
            "{}",
            serde_json::json!({
                "event": "listening",
                "api": format!("http://{}", node.api_addr),
                "authority": node.authority.to_did_key(),
                "peer_id": node.peer_id,
                "p2p": node.p2p_addrs,
            })
        );
        signals.wait().await;
        tracing::info!("shutting down");
        node.shutdown()
            .await
            .map_err(|error| CommandError::failure(format!("{error:#}")))?;
        Ok(Exit::Ok)
    })
}

/// SIGINT and SIGTERM, caught from the moment of [`Signals::install`].
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (inside the runtime).
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the first of them.
    async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
