//! What a running testnet tells its user: `DIR/testnet.json` for scripts (written atomically)
//! and a table for people.
//!
//! `testnet.json`:
//!
//! ```json
//! {"pid": 4242, "created": "…", "started": "…", "trust_store": "/…/trust.toml",
//!  "holders": "/…/holders/holders.json",
//!  "nodes": [{"name": "office-fr", "role": "office", "jurisdictions": ["FR"],
//!             "authority": "did:key:…", "api": "http://127.0.0.1:…", "peer_id": "12D3…",
//!             "p2p": ["/ip4/127.0.0.1/tcp/…/p2p/12D3…"], "pid": 4243,
//!             "data_dir": "/…", "operator_token_file": "/…", "config": "/…", "log": "/…"}]}
//! ```

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::layout::{Layout, write_atomic};
use crate::process::Network;

/// The file describing the running network, in the testnet directory.
pub const TESTNET_FILE: &str = "testnet.json";

#[derive(Debug, Serialize)]
struct TestnetFile<'a> {
    pid: u32,
    created: &'a str,
    started: String,
    trust_store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    holders: Option<String>,
    nodes: Vec<NodeReport<'a>>,
}

#[derive(Debug, Serialize)]
struct NodeReport<'a> {
    name: &'a str,
    role: &'static str,
    jurisdictions: &'a [String],
    authority: &'a str,
    api: &'a str,
    peer_id: &'a str,
    p2p: &'a [String],
    pid: u32,
    data_dir: String,
    operator_token_file: String,
    config: String,
    log: String,
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Writes `DIR/testnet.json` for the running `network`.
pub fn write_testnet_file(layout: &Layout, network: &Network) -> anyhow::Result<()> {
    let holders = layout
        .dir
        .join(crate::seed::HOLDERS_DIR)
        .join(crate::seed::HOLDERS_INDEX);
    let mut nodes = Vec::with_capacity(layout.nodes.len());
    for (files, process) in layout.nodes.iter().zip(network.nodes()) {
        let listening = process
            .listening
            .as_ref()
            .with_context(|| format!("node {} is not listening", files.name))?;
        nodes.push(NodeReport {
            name: &files.name,
            role: files.role.as_str(),
            jurisdictions: &files.jurisdictions,
            authority: &files.authority,
            api: &listening.api,
            peer_id: &listening.peer_id,
            p2p: &listening.p2p,
            pid: process.pid(),
            data_dir: path_text(&files.data_dir),
            operator_token_file: path_text(&files.token_file),
            config: path_text(&files.config),
            log: path_text(&files.log),
        });
    }
    let file = TestnetFile {
        pid: std::process::id(),
        created: &layout.created,
        started: crate::now_rfc3339(),
        trust_store: path_text(&layout.trust_store),
        holders: holders.exists().then(|| path_text(&holders)),
        nodes,
    };
    let mut text = serde_json::to_string_pretty(&file).context("cannot encode testnet.json")?;
    text.push('\n');
    write_atomic(&layout.dir.join(TESTNET_FILE), text.as_bytes(), 0o644)
}

/// The table of every node: name, role, jurisdictions, API URL, authority.
pub fn table(layout: &Layout, network: &Network) -> String {
    let header = ["NAME", "ROLE", "JURISDICTIONS", "API", "AUTHORITY"];
    let mut rows: Vec<[String; 5]> = vec![header.map(str::to_owned)];
    for (files, process) in layout.nodes.iter().zip(network.nodes()) {
        let jurisdictions = if files.jurisdictions.is_empty() {
            "-".to_owned()
        } else {
            files.jurisdictions.join(",")
        };
        rows.push([
            files.name.clone(),
            files.role.as_str().to_owned(),
            jurisdictions,
            process
                .listening
                .as_ref()
                .map_or_else(|| "-".to_owned(), |listening| listening.api.clone()),
            files.authority.clone(),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Quotes `text` for a POSIX shell: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:@+,=".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The `export` line that points the client commands (`RIGHTSNET_NODE`,
/// `RIGHTSNET_TOKEN_FILE`) at one node.
pub fn export_line(api: &str, token_file: &str) -> String {
    format!(
        "export RIGHTSNET_NODE={} RIGHTSNET_TOKEN_FILE={}",
        shell_quote(api),
        shell_quote(token_file)
    )
}

/// For people: the line to paste to talk to each node (ports change on every start).
pub fn env_hint(layout: &Layout, network: &Network) -> String {
    let mut text = String::from(
        "\nTo use a node from another shell, paste its line (or run `eval \"$(rightsnet testnet env NAME)\"`):\n",
    );
    let width = layout
        .nodes
        .iter()
        .map(|files| files.name.chars().count())
        .max()
        .unwrap_or(0);
    for (files, process) in layout.nodes.iter().zip(network.nodes()) {
        if let Some(listening) = &process.listening {
            text.push_str(&format!(
                "  {:<width$}  {}\n",
                files.name,
                export_line(&listening.api, &path_text(&files.token_file))
            ));
        }
    }
    text
}

/// Most bytes of `testnet.json` read back.
pub const MAX_TESTNET_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, serde::Deserialize)]
struct TestnetNode {
    name: String,
    api: String,
    operator_token_file: String,
}

#[derive(Debug, serde::Deserialize)]
struct TestnetNodes {
    nodes: Vec<TestnetNode>,
}

/// `rightsnet testnet env NAME`: the `export` lines for node `name` of the testnet running in
/// `dir`, read from its `testnet.json`. An unknown name is [`crate::BadInput`] and lists the
/// names there are.
pub fn env(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(TESTNET_FILE);
    let file = std::fs::File::open(&path).map_err(|error| {
        anyhow::anyhow!(crate::BadInput(format!(
            "cannot read {}: {error} (is `rightsnet testnet up` running with --dir {}?)",
            path.display(),
            dir.display()
        )))
    })?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_TESTNET_FILE_BYTES),
        &mut text,
    )
    .with_context(|| format!("cannot read {}", path.display()))?;
    let testnet: TestnetNodes =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let Some(node) = testnet.nodes.iter().find(|node| node.name == name) else {
        let names: Vec<&str> = testnet
            .nodes
            .iter()
            .map(|node| node.name.as_str())
            .collect();
        anyhow::bail!(crate::BadInput(format!(
            "the testnet in {} has no node {name:?}; its nodes: {}",
            dir.display(),
            names.join(", ")
        )));
    };
    Ok(format!(
        "export RIGHTSNET_NODE={}\nexport RIGHTSNET_TOKEN_FILE={}\n",
        shell_quote(&node.api),
        shell_quote(&node.operator_token_file)
    ))
}

/// Prints `text` on standard output. A closed standard output must not bring the network down,
/// so a failure to print is only reported on standard error.
pub fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("testnet: cannot print the node table: {error}");
    }
}
