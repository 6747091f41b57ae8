//! The node processes: spawn `rightsnet node run`, read the line it prints once listening,
//! notice when one dies, and stop them all (SIGTERM, then SIGKILL after a deadline).
//!
//! A node's standard error is appended to its `node.log`; when a node fails, the error quotes
//! the end of what it wrote there during this run.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::layout::NodeFiles;
use crate::{Interrupted, Stop};

/// Longest listening line read from a node, in bytes.
pub const MAX_LISTENING_LINE_BYTES: u64 = 64 * 1024;
/// Most p2p addresses taken from a listening line.
pub const MAX_P2P_ADDRESSES: usize = 64;
/// Most bytes of a node's log quoted in an error.
pub const LOG_TAIL_BYTES: u64 = 4096;
/// Most lines of a node's log quoted in an error.
pub const LOG_TAIL_LINES: usize = 20;
/// How often the processes are checked.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a node's exit waits for a stop request before it counts as a death: Ctrl-C in a
/// terminal reaches the nodes too (same process group), and one may exit a moment before the
/// testnet's own signal listener has recorded the signal.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// What a node printed once listening.
#[derive(Debug, Clone, Deserialize)]
pub struct Listening {
    /// Always `listening`.
    pub event: String,
    /// Base URL of its HTTP API.
    pub api: String,
    /// Its authority's `did:key`.
    pub authority: String,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its libp2p addresses, each ending in `/p2p/<peer id>`.
    #[serde(default)]
    pub p2p: Vec<String>,
}

impl Listening {
    /// The address other nodes bootstrap from: a loopback one when there is one.
    pub fn bootstrap_address(&self) -> Option<&str> {
        self.p2p
            .iter()
            .find(|address| address.starts_with("/ip4/127.0.0.1/"))
            .or_else(|| self.p2p.first())
            .map(String::as_str)
    }
}

/// One node process.
#[derive(Debug)]
pub struct NodeProcess {
    /// The node's name.
    pub name: String,
    /// Its authority, as the layout records it.
    pub authority: String,
    /// What it printed once listening; `None` until then.
    pub listening: Option<Listening>,
    child: Child,
    exit: Option<ExitStatus>,
    first_line: mpsc::Receiver<Result<String, String>>,
    log: PathBuf,
    log_offset: u64,
}

impl NodeProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status once the process has exited (and been reaped).
    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// The end of what the node wrote to its log during this run, indented for an error.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, self.log_offset)
    }

    /// Sends `signal` (`TERM`, `KILL`) unless the process has exited. Only a process not yet
    /// reaped is signalled, so its pid cannot belong to another process.
    fn signal(&mut self, signal: &str) {
        if self.poll_exit().is_some() {
            return;
        }
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !sent {
            // No `kill` program (or it failed): SIGKILL is what std offers.
            let _ = self.child.kill();
        }
    }
}

/// How a node ended when the network was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited after SIGTERM (or had exited before), with this status.
    Exited(ExitStatus),
    /// It did not exit by the deadline and was killed with SIGKILL.
    Killed,
}

/// What the watch of a running network saw first.
#[derive(Debug)]
pub enum Watch {
    /// A stop was requested, for this reason.
    Stop(String),
    /// A node exited by itself.
    Died {
        /// The node's name.
        name: String,
        /// Its exit status.
        status: ExitStatus,
        /// The end of its log.
        log_tail: String,
    },
}

/// Every node process of the testnet. Dropping it stops them all.
#[derive(Debug, Default)]
pub struct Network {
    nodes: Vec<NodeProcess>,
}

impl Network {
    /// No processes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The processes, in start order.
    pub fn nodes(&self) -> &[NodeProcess] {
        &self.nodes
    }

    /// Starts `program node run --config …` for `files`, bootstrapping from `bootstrap`; does
    /// not wait for it to listen (see [`Network::await_listening`]). Returns its index.
    pub fn spawn(
        &mut self,
        program: &Path,
        files: &NodeFiles,
        bootstrap: Option<&str>,
    ) -> anyhow::Result<usize> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&files.log)
            .with_context(|| format!("cannot open {}", files.log.display()))?;
        writeln!(
            log,
            "--- started by rightsnet testnet up at {} ---",
            crate::now_rfc3339()
        )
        .with_context(|| format!("cannot write {}", files.log.display()))?;
        let log_offset = log
            .metadata()
            .with_context(|| format!("cannot read {}", files.log.display()))?
            .len();
        let mut command = Command::new(program);
        command
            .arg("node")
            .arg("run")
            .arg("--config")
            .arg(&files.config);
        if let Some(address) = bootstrap {
            command.arg("--bootstrap").arg(address);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {} for {}", program.display(), files.name))?;
        let (sender, first_line) = mpsc::sync_channel(1);
        if let Some(stdout) = child.stdout.take() {
            let spawned = std::thread::Builder::new()
                .name(format!("stdout-{}", files.name))
                .spawn(move || read_stdout(stdout, &sender));
            if let Err(error) = spawned {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error).context("cannot start a thread to read a node's output");
            }
        }
        self.nodes.push(NodeProcess {
            name: files.name.clone(),
            authority: files.authority.clone(),
            listening: None,
            child,
            exit: None,
            first_line,
            log: files.log.clone(),
            log_offset,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Waits until node `index` has printed its listening line (returning at once when it has
    /// already), until `deadline`, or until a stop is requested ([`Interrupted`]).
    pub fn await_listening(
        &mut self,
        index: usize,
        deadline: Instant,
        stop: &Stop,
    ) -> anyhow::Result<&Listening> {
        let node = self.nodes.get_mut(index).context("no such node process")?;
        if node.listening.is_none() {
            let listening = read_listening(node, deadline, stop)?;
            node.listening = Some(listening);
        }
        node.listening.as_ref().context("no listening line")
    }
    /// An error naming the first node that has exited, if one has.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for node in &mut self.nodes {
            if let Some(status) = node.poll_exit() {
                bail!(
                    "node {} exited ({status}); its log ({}) ends with:\n{}",
                    node.name,
                    node.log.display(),
                    node.log_tail()
                );
            }
        }
        Ok(())
    }

    /// Blocks until a stop is requested or a node exits by itself.
    pub fn watch(&mut self, stop: &Stop) -> Watch {
        loop {
            if let Some(reason) = stop.reason().filter(|_| stop.is_requested()) {
                return Watch::Stop(reason);
            }
            for node in &mut self.nodes {
                if let Some(status) = node.poll_exit() {
                    let grace_until = Instant::now() + EXIT_GRACE;
                    while Instant::now() < grace_until && !stop.is_requested() {
                        crate::pause(Duration::from_millis(20));
                    }
                    if stop.is_requested() {
                        return Watch::Stop(stop.reason().unwrap_or_default());
                    }
                    return Watch::Died {
                        name: node.name.clone(),
                        status,
                        log_tail: node.log_tail(),
                    };
                }
            }
            crate::pause(POLL_INTERVAL);
        }
    }

    /// Stops every node: SIGTERM to all, then waits for each until `timeout` has passed, then
    /// SIGKILL for those still running. Returns how each ended, in start order; afterwards the
    /// network holds no processes.
    pub fn shutdown(&mut self, timeout: Duration) -> Vec<(String, Ended)> {
        for node in &mut self.nodes {
            node.signal("TERM");
        }
        let deadline = Instant::now() + timeout;
        let mut ended = Vec::with_capacity(self.nodes.len());
        for mut node in self.nodes.drain(..) {
            let outcome = loop {
                if let Some(status) = node.poll_exit() {
                    break Ended::Exited(status);
                }
                if Instant::now() >= deadline {
                    node.signal("KILL");
                    let _ = node.child.wait();
                    break Ended::Killed;
                }
                crate::pause(Duration::from_millis(20));
            };
            ended.push((node.name, outcome));
        }
        ended
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if !self.nodes.is_empty() {
            self.shutdown(crate::SHUTDOWN_TIMEOUT);
        }
    }
}

/// Reads the listening line of `node` (see [`Network::await_listening`]).
fn read_listening(
    node: &mut NodeProcess,
    deadline: Instant,
    stop: &Stop,
) -> anyhow::Result<Listening> {
    let line = loop {
        if stop.is_requested() {
            bail!(Interrupted);
        }
        let reason = match node.first_line.recv_timeout(POLL_INTERVAL) {
            Ok(Ok(line)) => break line,
            Ok(Err(reason)) => reason,
            Err(mpsc::RecvTimeoutError::Disconnected) => "closed its output".to_owned(),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() < deadline {
                    continue;
                }
                node.signal("KILL");
                let _ = node.child.wait();
                bail!(
                    "node {} did not report listening in time and was killed; its log ({}) ends with:\n{}",
                    node.name,
                    node.log.display(),
                    node.log_tail()
                );
            }
        };
        // Without its listening line the node is of no use: it is exiting, or is stopped.
        let waited_until = Instant::now() + Duration::from_secs(2);
        while node.poll_exit().is_none() && Instant::now() < waited_until {
            crate::pause(Duration::from_millis(20));
        }
        let status = match node.poll_exit() {
            Some(status) => status.to_string(),
            None => {
                node.signal("KILL");
                let _ = node.child.wait();
                "killed".to_owned()
            }
        };
        bail!(
            "node {} {reason} before it was listening ({status}); its log ({}) ends with:\n{}",
            node.name,
            node.log.display(),
            node.log_tail()
        );
    };
    let listening: Listening = serde_json::from_str(&line).with_context(|| {
        format!(
            "node {} printed {:?} instead of its listening line",
            node.name,
            line.chars().take(200).collect::<String>()
        )
    })?;
    if listening.event != "listening" {
        bail!(
            "node {} printed event {:?} instead of \"listening\"",
            node.name,
            listening.event
        );
    }
    if listening.authority != node.authority {
        bail!(
            "node {} signs as {}, not as {} that the testnet layout records",
            node.name,
            listening.authority,
            node.authority
        );
    }
    if !listening.api.starts_with("http://") || listening.p2p.len() > MAX_P2P_ADDRESSES {
        bail!(
            "node {} printed an unusable listening line: {:?}",
            node.name,
            line.chars().take(200).collect::<String>()
        );
    }
    Ok(listening)
}

/// Reads a node's standard output: sends its first line (or why there is none), then discards
/// the rest so that the node never blocks on a full pipe.
fn read_stdout(stdout: impl Read, sender: &mpsc::SyncSender<Result<String, String>>) {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let first = match reader
        .by_ref()
        .take(MAX_LISTENING_LINE_BYTES)
        .read_line(&mut line)
    {
        Ok(0) => Err("closed its output".to_owned()),
        Ok(_) if !line.ends_with('\n') => {
            Err("printed an overlong or unterminated first line".to_owned())
        }
        Ok(_) => Ok(line.trim_end().to_owned()),
        Err(error) => Err(error.to_string()),
    };
    let _ = sender.send(first);
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
}

/// The last [`LOG_TAIL_LINES`] lines (at most [`LOG_TAIL_BYTES`]) written to `path` after
/// `offset`, each indented.
pub fn log_tail(path: &Path, offset: u64) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let length = file.metadata()?.len();
        let start = offset.max(length.saturating_sub(LOG_TAIL_BYTES));
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.take(LOG_TAIL_BYTES).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) if text.trim().is_empty() => "    (nothing)".to_owned(),
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
            lines[skip..]
                .iter()
                .map(|line| format!("    {line}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Err(error) => format!("    (cannot read the log: {error})"),
    }
}
