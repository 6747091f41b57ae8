//! Nodes for the scenarios: their files (authority key, operator token, shared trust store),
//! their configurations, nodes started in this process, and one node run as a child process of
//! this binary (`rightsnet-bench serve`), so that its memory and CPU are its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use proto_types::keys::{KeyFile, PublicKey, SecretKey};
use rightsnet_node::RunningNode;
use rightsnet_node::config::NodeConfig;
use rightsnet_node::trust::TrustStore;

/// The operator token of every benchmark node.
pub const TOKEN: &str = "bench-operator-token-0123456789abcdef";
/// How long a child node may take to start or stop.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// A node's files in its own directory.
pub struct NodeFiles {
    /// The node's directory (`data/` holds its store).
    pub dir: PathBuf,
    /// Its authority.
    pub authority: PublicKey,
}

impl NodeFiles {
    /// Writes `authority.json` (the key) and `token` into `dir` (created).
    pub fn create(dir: PathBuf, key: &SecretKey) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(
            dir.join("authority.json"),
            KeyFile::from_secret(key).to_json(),
        )?;
        std::fs::write(dir.join("token"), TOKEN)?;
        Ok(Self {
            dir,
            authority: key.public_key(),
        })
    }

    /// The store's directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A configuration: API and federation on 127.0.0.1 port 0, rate limits out of the way,
    /// bootstrapping to `bootstrap`, a marketplace when `marketplace` lists jurisdictions.
    pub fn config(
        &self,
        trust_store: &Path,
        bootstrap: &[String],
        sync_writes: bool,
        marketplace: Option<&[&str]>,
    ) -> anyhow::Result<NodeConfig> {
        let path = |path: PathBuf| toml::Value::String(path.to_string_lossy().into_owned());
        let mut table = toml::Table::new();
        table.insert("data_dir".into(), path(self.data_dir()));
        table.insert("api_listen".into(), "127.0.0.1:0".into());
        table.insert("p2p_listen".into(), "/ip4/127.0.0.1/tcp/0".into());
        table.insert(
            "bootstrap".into(),
            toml::Value::Array(bootstrap.iter().map(|a| a.as_str().into()).collect()),
        );
        table.insert(
            "authority_key".into(),
            path(self.dir.join("authority.json")),
        );
        table.insert("trust_store".into(), path(trust_store.to_path_buf()));
        table.insert("operator_token_file".into(), path(self.dir.join("token")));
        table.insert("sync_writes".into(), sync_writes.into());
        let mut limits = toml::Table::new();
        limits.insert("rate_limit_per_second".into(), 1_000_000.into());
        limits.insert("rate_limit_burst".into(), 1_000_000.into());
        table.insert("limits".into(), limits.into());
        if let Some(accepted) = marketplace {
            let mut policy = toml::Table::new();
            policy.insert(
                "accepted_jurisdictions".into(),
                toml::Value::Array(accepted.iter().map(|code| (*code).into()).collect()),
            );
            // The bench signs its credentials itself, as its offices' keys; no office node
            // issues and logs them (protocol §6.10), so its marketplaces accept unlogged
            // credentials by policy (§13.4). The log lookup is made all the same.
            policy.insert("unlogged_credentials".into(), "accept_before".into());
            policy.insert("unlogged_cutoff".into(), "2100-01-01T00:00:00Z".into());
            table.insert("marketplace".into(), policy.into());
        }
        let config: NodeConfig = toml::Value::Table(table)
            .try_into()
            .context("building a node configuration")?;
        Ok(config)
    }
}

/// Writes `trust` to `DIR/trust.toml` and the files of one node per office under
/// `DIR/node<index>`; returns the trust store's path and the nodes' files, in order.
pub fn office_network(
    dir: &Path,
    trust: &TrustStore,
    offices: &[crate::fixtures::Office],
) -> anyhow::Result<(PathBuf, Vec<NodeFiles>)> {
    let trust_path = dir.join("trust.toml");
    write_trust(&trust_path, trust)?;
    let files = offices
        .iter()
        .map(|office| NodeFiles::create(dir.join(format!("node{}", office.index)), &office.key))
        .collect::<anyhow::Result<_>>()?;
    Ok((trust_path, files))
}

/// Writes a trust store file.
pub fn write_trust(path: &Path, trust: &TrustStore) -> anyhow::Result<()> {
    std::fs::write(path, trust.to_toml()).with_context(|| format!("writing {}", path.display()))
}

/// Starts a node in this process, retrying while a previous node on the same data directory
/// still holds it (a restart in the same process: the data directory lock is released when the
/// last handle on the previous store is dropped).
pub async fn start_in_process(config: NodeConfig) -> anyhow::Result<RunningNode> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match rightsnet_node::start(config.clone()).await {
            Ok(node) => return Ok(node),
            Err(error) if Instant::now() < deadline && data_dir_in_use(&error) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Whether starting failed because the data directory is locked by another store: read from
/// the error's type, not its text.
fn data_dir_in_use(error: &anyhow::Error) -> bool {
    use rightsnet_node::files::LockError;
    use rightsnet_node::storage::StorageError;
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<StorageError>(),
            Some(StorageError::Locked(LockError::InUse { .. }))
        ) || matches!(
            cause.downcast_ref::<LockError>(),
            Some(LockError::InUse { .. })
        )
    })
}

/// Where a scenario runs the node it measures over HTTP.
#[derive(Debug, Clone)]
pub enum NodeMode {
    /// In this process, on its own runtime (the smoke test).
    InProcess,
    /// In a child process: this program (`rightsnet-bench serve`), so that the node's resident
    /// memory is its own.
    Child(PathBuf),
}

/// A node serving the HTTP API, in this process or in a child.
pub enum ApiNode {
    /// In this process.
    InProcess(Box<InProcessNode>),
    /// A child process.
    Child(ChildNode),
}

/// A node in this process, on its own runtime (separate from the load generator's).
pub struct InProcessNode {
    runtime: tokio::runtime::Runtime,
    node: RunningNode,
}

impl ApiNode {
    /// Starts a node with `config` (written next to its data directory for a child). Call from
    /// outside any async runtime.
    pub fn start(
        mode: &NodeMode,
        config: NodeConfig,
        worker_threads: usize,
    ) -> anyhow::Result<Self> {
        match mode {
            NodeMode::InProcess => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(worker_threads.max(1))
                    .thread_name("bench-node")
                    .enable_all()
                    .build()?;
                let node = runtime.block_on(start_in_process(config))?;
                Ok(Self::InProcess(Box::new(InProcessNode { runtime, node })))
            }
            NodeMode::Child(program) => {
                let path = config.data_dir.with_extension("toml");
                let text = toml::to_string(&config).context("writing the child's configuration")?;
                std::fs::write(&path, text)?;
                Ok(Self::Child(ChildNode::spawn(program, &path)?))
            }
        }
    }

    /// The API's address.
    pub fn api_addr(&self) -> SocketAddr {
        match self {
            Self::InProcess(in_process) => in_process.node.api_addr,
            Self::Child(child) => child.api_addr,
        }
    }

    /// The child's process id (none in process), for CPU accounting.
    pub fn pids(&self) -> Vec<u32> {
        match self {
            Self::InProcess(_) => Vec::new(),
            Self::Child(child) => vec![child.child.id()],
        }
    }

    /// `http://address`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.api_addr())
    }

    /// The resident memory of the process that runs the node (this one when in process), and
    /// which process that is.
    pub fn memory(&self) -> (Option<Memory>, &'static str) {
        match self {
            Self::InProcess(_) => (Memory::of(None), "benchmark process (node in process)"),
            Self::Child(child) => (Memory::of(Some(child.child.id())), "node process"),
        }
    }

    /// Stops the node and waits for it.
    pub fn stop(self) -> anyhow::Result<()> {
        match self {
            Self::InProcess(in_process) => {
                let InProcessNode { runtime, node } = *in_process;
                runtime.block_on(node.shutdown())?;
                runtime.shutdown_timeout(Duration::from_secs(10));
                Ok(())
            }
            Self::Child(child) => child.stop(),
        }
    }
}

/// A node in a child process; it stops when its stdin closes.
pub struct ChildNode {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The child's API address.
    pub api_addr: SocketAddr,
}

impl ChildNode {
    /// Runs `program serve --config config` and waits for its API address.
    pub fn spawn(program: &Path, config: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(program)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("child stdout")?;
        // One line travels; a bound of one is all it needs.
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = sender.send(first);
            // Keep draining so that the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match receiver.recv_timeout(CHILD_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                bail!("the node process did not report its address: {other:?}");
            }
        };
        let api_addr = line
            .strip_prefix("api ")
            .and_then(|address| address.trim().parse().ok())
            .with_context(|| format!("unexpected first line from the node process: {line:?}"))?;
        Ok(Self {
            child,
            stdin,
            api_addr,
        })
    }

    /// Closes the child's stdin (it shuts down cleanly) and waits; kills it after
    /// [`CHILD_TIMEOUT`].
    pub fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let deadline = Instant::now() + CHILD_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the node process exited with {status}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                bail!("the node process did not stop in time and was killed");
            }
            crate::pause(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The body of `rightsnet-bench serve`: runs a node with the configuration file, prints
/// `api <address>` on stdout, and shuts down cleanly when stdin closes.
pub fn serve(config: &Path) -> anyhow::Result<()> {
    let config = NodeConfig::load(config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let node = rightsnet_node::start(config).await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "api {}", node.api_addr)?;
        stdout.flush()?;
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await?;
        node.shutdown().await
    })
}

/// Resident memory of a process.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident set size now, bytes.
    pub rss_bytes: u64,
    /// Peak resident set size, bytes.
    pub peak_rss_bytes: u64,
}

impl Memory {
    /// Reads `/proc/<pid>/status` (this process when `pid` is none); none off Linux.
    pub fn of(pid: Option<u32>) -> Option<Self> {
        let path = match pid {
            Some(pid) => format!("/proc/{pid}/status"),
            None => "/proc/self/status".to_owned(),
        };
        let text = std::fs::read_to_string(path).ok()?;
        let field = |name: &str| -> Option<u64> {
            text.lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
                .map(|kib| kib * 1024)
        };
        Some(Self {
            rss_bytes: field("VmRSS:")?,
            peak_rss_bytes: field("VmHWM:")?,
        })
    }
}

/// Total size of the files under `path`, in bytes.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => dir_size(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Megabytes, for display.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rightsnet_node::files::LockError;
    use rightsnet_node::storage::StorageError;

    #[test]
    fn a_locked_data_directory_is_recognised_by_type_through_context() {
        let locked = StorageError::Locked(LockError::InUse {
            path: "/data".to_owned(),
            holder: "pid 7".to_owned(),
        });
        let error = anyhow::Error::from(locked).context("opening the store");
        assert!(data_dir_in_use(&error));
        let other = anyhow::anyhow!("data directory /data is in use by another rightsnet process");
        assert!(!data_dir_in_use(&other), "text alone is not the type");
    }
}
