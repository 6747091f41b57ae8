//! The testnet's directory: created on the first run, reused by every later one.
//!
//! ```text
//! DIR/layout.json               which nodes the network has, their authorities, whether seeded
//! DIR/trust.toml                one trust store for every node
//! DIR/witnesses.policy          the witness policy every node applies (c2sp.org/tlog-policy)
//! DIR/nodes/<name>/authority.json   the node's authority key (0600)
//! DIR/nodes/<name>/operator.token   its operator bearer token (0600)
//! DIR/nodes/<name>/node.toml        its configuration (edit freely; reused as is)
//! DIR/nodes/<name>/data/            its RocksDB store, and `witness.key` (its witness key, 0600)
//! DIR/nodes/<name>/node.log         its standard error, appended to on every start
//! DIR/holders/                      demo holders' keys and holders.json (see `seed`)
//! DIR/testnet.json                  the running network (see `report`), rewritten on each start
//! ```
//!
//! Secret keys are never overwritten: a key file that exists is used as it is, so a network's
//! feeds stay signed by the same authorities across runs. `layout.json` is written last, so a
//! first run that stopped half-way is completed by the next one.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use proto_types::body::Jurisdiction;
use proto_types::keys::{KeyFile, SecretKey};
use serde::{Deserialize, Serialize};

use crate::{BadInput, MAX_MARKETPLACES, MAX_OFFICES, catalog};

/// The file recording the network's nodes.
pub const LAYOUT_FILE: &str = "layout.json";
/// The witness policy every node's configuration names.
pub const WITNESS_POLICY_FILE: &str = "witnesses.policy";
/// How many nodes (the first of the layout: offices first) are the policy's witnesses.
pub const POLICY_WITNESSES: usize = 3;
/// How many of them must cosign a checkpoint for the policy to accept it.
pub const POLICY_QUORUM: usize = 2;
/// The node's witness key, in its data directory: 32 secret bytes as hex, the form the node
/// reads (`rightsnet_node::files::WITNESS_KEY_FILE`).
const WITNESS_KEY_PATH: &str = "data/witness.key";

/// The shared trust store.
pub const TRUST_FILE: &str = "trust.toml";
/// The directory holding one directory per node.
pub const NODES_DIR: &str = "nodes";
/// The version of `layout.json` this code writes and reads.
pub const LAYOUT_VERSION: u32 = 1;
/// Largest `layout.json`, key or token file read, in bytes.
pub const MAX_SMALL_FILE_BYTES: usize = 1024 * 1024;
/// Bytes of randomness in a generated operator token (written as hex).
pub const TOKEN_BYTES: usize = 32;

/// What a node signs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An IP office: registers and changes rights of its jurisdictions.
    Office,
    /// A marketplace.
    Marketplace,
}

impl Role {
    /// The role as written in the trust store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Office => "office",
            Role::Marketplace => "marketplace",
        }
    }
}

/// The network a run asks for; `None` fields mean "as already on disk, or the default".
#[derive(Debug, Clone, Default)]
pub struct Requested {
    /// One office per jurisdiction, in order.
    pub offices: Option<Vec<Jurisdiction>>,
    /// How many marketplaces.
    pub marketplaces: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    version: u32,
    created: String,
    seeded: bool,
    nodes: Vec<LayoutNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutNode {
    name: String,
    role: Role,
    #[serde(default)]
    jurisdictions: Vec<String>,
    authority: String,
}

/// One node's files.
pub struct NodeFiles {
    /// Its name, e.g. `office-fr` or `marketplace-1`; also its directory's name.
    pub name: String,
    /// Office or marketplace.
    pub role: Role,
    /// For offices: the jurisdictions it registers rights of.
    pub jurisdictions: Vec<String>,
    /// Its authority's `did:key`.
    pub authority: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The file holding its operator token.
    pub token_file: PathBuf,
    /// Its log (the node's standard error).
    pub log: PathBuf,
    /// The operator token (a secret: never printed).
    token: String,
}

impl NodeFiles {
    /// The operator token, for the seeding requests.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for NodeFiles {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NodeFiles")
            .field("name", &self.name)
            .field("authority", &self.authority)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The testnet's directory, ready for its nodes to start.
#[derive(Debug)]
pub struct Layout {
    /// The directory, absolute.
    pub dir: PathBuf,
    /// The shared trust store.
    pub trust_store: PathBuf,
    /// Every node, offices first.
    pub nodes: Vec<NodeFiles>,
    /// When the network was created (RFC 3339).
    pub created: String,
    /// Whether the demo data was seeded completely.
    pub seeded: bool,
    /// Whether this run reuses a network created by an earlier one.
    pub reused: bool,
}

impl Layout {
    /// Creates the directory of a new network as `requested` (defaults for what is not), or
    /// reuses the network already in `dir`, refusing a request that contradicts it.
    pub fn prepare(dir: &Path, requested: &Requested) -> anyhow::Result<Self> {
        if dir.join(LAYOUT_FILE).exists() {
            return Self::reuse(dir, requested);
        }
        if let Ok(mut entries) = std::fs::read_dir(dir) {
            if entries.next().is_some() && !dir.join(NODES_DIR).is_dir() {
                bail!(BadInput(format!(
                    "{} is not empty and holds no testnet; choose a new or empty directory",
                    dir.display()
                )));
            }
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let offices = requested.offices.clone().unwrap_or_else(default_offices);
        let marketplaces = requested
            .marketplaces
            .unwrap_or(crate::DEFAULT_MARKETPLACES);
        let mut planned: Vec<(String, Role, Vec<String>)> = offices
            .iter()
            .map(|code| {
                (
                    format!("office-{}", code.as_str().to_ascii_lowercase()),
                    Role::Office,
                    vec![code.as_str().to_owned()],
                )
            })
            .collect();
        planned.extend((1..=marketplaces).map(|number| {
            (
                format!("marketplace-{number}"),
                Role::Marketplace,
                Vec::new(),
            )
        }));
        let office_jurisdictions: Vec<String> = offices
            .iter()
            .map(|code| code.as_str().to_owned())
            .collect();
        let mut nodes = Vec::with_capacity(planned.len());
        let mut entries = Vec::with_capacity(planned.len());
        let mut witnesses = Vec::new();
        for (name, role, jurisdictions) in planned {
            let node_dir = dir.join(NODES_DIR).join(&name);
            std::fs::create_dir_all(&node_dir)
                .with_context(|| format!("cannot create {}", node_dir.display()))?;
            // A key left by a first run that stopped half-way is kept: never replace a key.
            let authority = ensure_key(&node_dir.join("authority.json"))?;
            let witness = ensure_witness_key(&node_dir.join(WITNESS_KEY_PATH))?;
            if witnesses.len() < POLICY_WITNESSES {
                witnesses.push((name.clone(), witness));
            }
            let token = ensure_token(&node_dir.join("operator.token"))?;
            let policy = (role == Role::Marketplace).then_some(office_jurisdictions.as_slice());
            write_config(&node_dir.join("node.toml"), policy)?;
            entries.push(LayoutNode {
                name: name.clone(),
                role,
                jurisdictions: jurisdictions.clone(),
                authority: authority.clone(),
            });
            nodes.push(NodeFiles::new(
                &dir,
                name,
                role,
                jurisdictions,
                authority,
                token,
            ));
        }
        write_trust_store(&dir.join(TRUST_FILE), &entries)?;
        write_witness_policy(&dir.join(WITNESS_POLICY_FILE), &witnesses)?;
        let layout = LayoutFile {
            version: LAYOUT_VERSION,
            created: crate::now_rfc3339(),
            seeded: false,
            nodes: entries,
        };
        write_layout(&dir, &layout)?;
        Ok(Self {
            trust_store: dir.join(TRUST_FILE),
            dir,
            nodes,
            created: layout.created,
            seeded: false,
            reused: false,
        })
    }

    fn reuse(dir: &Path, requested: &Requested) -> anyhow::Result<Self> {
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let layout_path = dir.join(LAYOUT_FILE);
        let text = read_small(&layout_path)?;
        let layout: LayoutFile = serde_json::from_str(&text)
            .with_context(|| format!("invalid {}", layout_path.display()))?;
        check_layout(&layout).with_context(|| format!("invalid {}", layout_path.display()))?;
        let stored_offices: Vec<&str> = layout
            .nodes
            .iter()
            .filter(|node| node.role == Role::Office)
            .flat_map(|node| node.jurisdictions.iter().map(String::as_str))
            .collect();
        let stored_marketplaces = layout
            .nodes
            .iter()
            .filter(|node| node.role == Role::Marketplace)
            .count();
        let offices_differ = requested.offices.as_ref().is_some_and(|offices| {
            let mut asked: Vec<&str> = offices.iter().map(Jurisdiction::as_str).collect();
            let mut stored = stored_offices.clone();
            asked.sort_unstable();
            stored.sort_unstable();
            asked != stored
        });
        let marketplaces_differ = requested
            .marketplaces
            .is_some_and(|count| count != stored_marketplaces);
        if offices_differ || marketplaces_differ {
            bail!(BadInput(format!(
                "{} already holds a testnet with offices {} and {stored_marketplaces} marketplace(s); \
                 leave out --offices and --marketplaces (or repeat these values) to restart it, \
                 or use another --dir",
                dir.display(),
                stored_offices.join(",")
            )));
        }
        let office_jurisdictions: Vec<String> = stored_offices
            .iter()
            .map(|code| (*code).to_owned())
            .collect();
        // A testnet made before witnesses: its nodes get witness keys, and the policy a
        // configuration written from now on names.
        if !dir.join(WITNESS_POLICY_FILE).exists() {
            let witnesses = layout
                .nodes
                .iter()
                .take(POLICY_WITNESSES)
                .map(|node| {
                    let path = dir.join(NODES_DIR).join(&node.name).join(WITNESS_KEY_PATH);
                    Ok((node.name.clone(), ensure_witness_key(&path)?))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            write_witness_policy(&dir.join(WITNESS_POLICY_FILE), &witnesses)?;
        }
        let mut nodes = Vec::with_capacity(layout.nodes.len());
        for entry in &layout.nodes {
            let node_dir = dir.join(NODES_DIR).join(&entry.name);
            let key_path = node_dir.join("authority.json");
            let did = authority_of_key_file(&key_path)?;
            if did != entry.authority {
                bail!(
                    "{} holds the key of {did}, but {} records {} for {}",
                    key_path.display(),
                    LAYOUT_FILE,
                    entry.authority,
                    entry.name
                );
            }
            let token = ensure_token(&node_dir.join("operator.token"))?;
            let config = node_dir.join("node.toml");
            if !config.exists() {
                eprintln!(
                    "testnet: {} was missing; writing a new one",
                    config.display()
                );
                let policy =
                    (entry.role == Role::Marketplace).then_some(office_jurisdictions.as_slice());
                write_config(&config, policy)?;
            }
            nodes.push(NodeFiles::new(
                &dir,
                entry.name.clone(),
                entry.role,
                entry.jurisdictions.clone(),
                did,
                token,
            ));
        }
        let trust_store = dir.join(TRUST_FILE);
        if !trust_store.exists() {
            eprintln!(
                "testnet: {} was missing; writing a new one",
                trust_store.display()
            );
            write_trust_store(&trust_store, &layout.nodes)?;
        }
        Ok(Self {
            trust_store,
            dir,
            nodes,
            created: layout.created,
            seeded: layout.seeded,
            reused: true,
        })
    }

    /// Records that the demo data is seeded, so that later runs do not seed again.
    pub fn mark_seeded(&mut self) -> anyhow::Result<()> {
        let layout = LayoutFile {
            version: LAYOUT_VERSION,
            created: self.created.clone(),
            seeded: true,
            nodes: self
                .nodes
                .iter()
                .map(|node| LayoutNode {
                    name: node.name.clone(),
                    role: node.role,
                    jurisdictions: node.jurisdictions.clone(),
                    authority: node.authority.clone(),
                })
                .collect(),
        };
        write_layout(&self.dir, &layout)?;
        self.seeded = true;
        Ok(())
    }
}

impl NodeFiles {
    fn new(
        dir: &Path,
        name: String,
        role: Role,
        jurisdictions: Vec<String>,
        authority: String,
        token: String,
    ) -> Self {
        let node_dir = dir.join(NODES_DIR).join(&name);
        Self {
            config: node_dir.join("node.toml"),
            data_dir: node_dir.join("data"),
            token_file: node_dir.join("operator.token"),
            log: node_dir.join("node.log"),
            dir: node_dir,
            name,
            role,
            jurisdictions,
            authority,
            token,
        }
    }
}

/// The default offices: FR, CN, US, EM.
pub fn default_offices() -> Vec<Jurisdiction> {
    crate::DEFAULT_OFFICES
        .iter()
        .filter_map(|code| Jurisdiction::parse(code).ok())
        .collect()
}

/// Checks what a `layout.json` (which a person may have edited) says before any of it becomes
/// a path or a process.
fn check_layout(layout: &LayoutFile) -> anyhow::Result<()> {
    if layout.version != LAYOUT_VERSION {
        bail!(
            "version {} (this rightsnet reads version {LAYOUT_VERSION})",
            layout.version
        );
    }
    let offices = layout
        .nodes
        .iter()
        .filter(|node| node.role == Role::Office)
        .count();
    let marketplaces = layout.nodes.len() - offices;
    if offices == 0 || offices > MAX_OFFICES || marketplaces > MAX_MARKETPLACES {
        bail!(
            "{offices} offices and {marketplaces} marketplaces (1 to {MAX_OFFICES} offices, at most {MAX_MARKETPLACES} marketplaces)"
        );
    }
    if layout.nodes.first().map(|node| node.role) != Some(Role::Office) {
        bail!("the first node must be an office");
    }
    let mut names = std::collections::BTreeSet::new();
    for node in &layout.nodes {
        let safe = !node.name.is_empty()
            && node.name.len() <= 64
            && node
                .name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if !safe {
            bail!(
                "node name {:?} (lowercase letters, digits and '-', at most 64)",
                node.name.chars().take(80).collect::<String>()
            );
        }
        if !names.insert(node.name.as_str()) {
            bail!("node name {} appears twice", node.name);
        }
        match node.role {
            Role::Office if node.jurisdictions.is_empty() => {
                bail!("office {} has no jurisdictions", node.name)
            }
            Role::Marketplace if !node.jurisdictions.is_empty() => {
                bail!("marketplace {} has jurisdictions", node.name)
            }
            _ => {}
        }
        for code in &node.jurisdictions {
            Jurisdiction::parse(code).map_err(|error| anyhow::anyhow!("{}: {error}", node.name))?;
        }
    }
    Ok(())
}

/// The `did:key` of the authority whose key file is `path`: the key of a plain Multikey file
/// (`rightsnet key gen`), or, once the node rotated its key and rewrote the file as a key ring
/// (`{"rightsnet_keyring": 1, "current", "pending"?, "retired": [oldest first]}`), the
/// authority's original key: its oldest retired key, else its current one (protocol §7.6).
fn authority_of_key_file(path: &Path) -> anyhow::Result<String> {
    let text = read_small(path)?;
    let invalid = || format!("invalid key file {}", path.display());
    let value: serde_json::Value = serde_json::from_str(&text).with_context(invalid)?;
    let original = if value.get("rightsnet_keyring").is_some() {
        value
            .get("retired")
            .and_then(|retired| retired.as_array())
            .and_then(|retired| retired.first())
            .or_else(|| value.get("current"))
            .map(ToString::to_string)
            .ok_or_else(|| anyhow::anyhow!("{}: a key ring without a current key", invalid()))?
    } else {
        text
    };
    let key = KeyFile::parse(original.as_bytes()).with_context(invalid)?;
    Ok(key.public_key().to_did_key())
}

/// The `did:key` of the key in `path`, generating the key first when the file does not exist.
fn ensure_key(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        return authority_of_key_file(path);
    }
    let key = SecretKey::generate();
    write_atomic(path, KeyFile::from_secret(&key).to_json().as_bytes(), 0o600)?;
    Ok(key.public_key().to_did_key())
}

/// The public key of the witness key in `path` (hex of 32 secret bytes), generating it first
/// when the file does not exist.
fn ensure_witness_key(path: &Path) -> anyhow::Result<proto_types::keys::PublicKey> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    if path.exists() {
        let mut secret = [0u8; 32];
        hex::decode_to_slice(read_small(path)?.trim(), &mut secret)
            .with_context(|| format!("{} is not 64 hex characters", path.display()))?;
        return Ok(SecretKey::from_seed(&secret).public_key());
    }
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    write_atomic(path, hex::encode(secret).as_bytes(), 0o600)?;
    Ok(SecretKey::from_seed(&secret).public_key())
}

/// Writes the witness policy: the `witnesses` (node name, witness key) and a quorum of
/// [`POLICY_QUORUM`] of them (all of them when there are fewer).
fn write_witness_policy(
    path: &Path,
    witnesses: &[(String, proto_types::keys::PublicKey)],
) -> anyhow::Result<()> {
    let mut text = String::from(
        "# Written by `rightsnet testnet up`: the witnesses whose cosignatures a verdict wants\n\
         # on the checkpoint its registry state came from (c2sp.org/tlog-policy).\n",
    );
    for (name, key) in witnesses {
        text.push_str(&format!(
            "witness {name} {}\n",
            proto_types::checkpoint::cosignature::witness_vkey(key)
        ));
    }
    let names: Vec<&str> = witnesses.iter().map(|(name, _)| name.as_str()).collect();
    let quorum = POLICY_QUORUM.min(names.len()).max(1);
    text.push_str(&format!(
        "group testnet {quorum} {}\nquorum testnet\n",
        names.join(" ")
    ));
    proto_types::checkpoint::policy::WitnessPolicy::parse(&text)
        .map_err(|error| anyhow::anyhow!("the witness policy written would not parse: {error}"))?;
    write_atomic(path, text.as_bytes(), 0o644)
}

/// The operator token in `path`, generating a random one first when the file does not exist.
fn ensure_token(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        let token = read_small(path)?.trim().to_owned();
        if token.len() < 16 {
            bail!(
                "the operator token in {} is shorter than 16 characters",
                path.display()
            );
        }
        return Ok(token);
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let token = hex::encode(bytes);
    write_atomic(path, format!("{token}\n").as_bytes(), 0o600)?;
    Ok(token)
}

/// Reads a small text file, refusing more than [`MAX_SMALL_FILE_BYTES`].
pub fn read_small(path: &Path) -> anyhow::Result<String> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_SMALL_FILE_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() > MAX_SMALL_FILE_BYTES {
        bail!(
            "{} is larger than {MAX_SMALL_FILE_BYTES} bytes",
            path.display()
        );
    }
    Ok(text)
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    data_dir: &'a str,
    api_listen: &'a str,
    p2p_listen: &'a str,
    authority_key: &'a str,
    trust_store: &'a str,
    operator_token_file: &'a str,
    transparency: TransparencyTable<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marketplace: Option<MarketplaceTable<'a>>,
}

#[derive(Serialize)]
struct TransparencyTable<'a> {
    witness_policy: &'a str,
}

#[derive(Serialize)]
struct MarketplaceTable<'a> {
    accepted_jurisdictions: &'a [String],
}

/// Writes a node's configuration: every path relative to the node's directory (so the testnet
/// directory can move), any free port (the addresses bound are printed at start). A
/// marketplace gets a `[marketplace]` policy that enforces the rights of `accepted`
/// jurisdictions (every office of the testnet), with the node's defaults for the rest.
fn write_config(path: &Path, accepted: Option<&[String]>) -> anyhow::Result<()> {
    let config = ConfigFile {
        data_dir: "data",
        api_listen: "127.0.0.1:0",
        p2p_listen: "/ip4/127.0.0.1/tcp/0",
        authority_key: "authority.json",
        trust_store: "../../trust.toml",
        operator_token_file: "operator.token",
        transparency: TransparencyTable {
            witness_policy: "../../witnesses.policy",
        },
        marketplace: accepted.map(|accepted_jurisdictions| MarketplaceTable {
            accepted_jurisdictions,
        }),
    };
    let text = format!(
        "# Written by `rightsnet testnet up`; see docs/node.example.toml for every field.\n\
         # Bootstrap peers are passed with --bootstrap at each start, since ports change.\n\
         {}",
        toml::to_string(&config).context("cannot write a node configuration")?
    );
    write_atomic(path, text.as_bytes(), 0o644)
}

#[derive(Serialize)]
struct TrustFile {
    authority: Vec<TrustEntry>,
}

#[derive(Serialize)]
struct TrustEntry {
    did: String,
    name: String,
    role: Role,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    jurisdictions: Vec<String>,
}

/// Writes the trust store every node shares: each office trusted for its own jurisdictions,
/// each marketplace as a marketplace.
fn write_trust_store(path: &Path, nodes: &[LayoutNode]) -> anyhow::Result<()> {
    let mut marketplace_number = 0;
    let authority = nodes
        .iter()
        .map(|node| TrustEntry {
            did: node.authority.clone(),
            name: match node.role {
                Role::Office => catalog::office_name(&node.jurisdictions.join("+")),
                Role::Marketplace => {
                    marketplace_number += 1;
                    format!("Marketplace {marketplace_number} (testnet)")
                }
            },
            role: node.role,
            jurisdictions: node.jurisdictions.clone(),
        })
        .collect();
    let text = format!(
        "# Written by `rightsnet testnet up`: the trust store of every node of this testnet.\n\n{}",
        toml::to_string(&TrustFile { authority }).context("cannot write the trust store")?
    );
    write_atomic(path, text.as_bytes(), 0o644)
}

fn write_layout(dir: &Path, layout: &LayoutFile) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(layout).context("cannot encode the layout")?;
    text.push('\n');
    write_atomic(&dir.join(LAYOUT_FILE), text.as_bytes(), 0o644)
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory with `mode`,
/// synced, then renamed over `path`, then the directory synced. A reader sees the old file or
/// the new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let parent = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    let file_name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let temporary = parent.join(format!(".{}.tmp", file_name.to_string_lossy()));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    // The mode applies only when the file is created; a temporary file left by a crash keeps
    // its old one, so set it again.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", temporary.display()))?;
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    drop(file);
    std::fs::rename(&temporary, path).with_context(|| {
        format!(
            "cannot rename {} to {}",
            temporary.display(),
            path.display()
        )
    })?;
    // The rename is durable once the directory is synced; where directories cannot be opened
    // (not Unix) there is nothing more to do.
    #[cfg(unix)]
    std::fs::File::open(parent)
        .and_then(|directory| directory.sync_all())
        .with_context(|| format!("cannot sync {}", parent.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_json(key: &SecretKey) -> serde_json::Value {
        serde_json::from_str(&KeyFile::from_secret(key).to_json()).expect("a key file is JSON")
    }

    #[test]
    fn the_authority_of_a_rotated_key_ring_is_its_original_key() {
        let dir = std::env::temp_dir().join(format!("rightsnet-layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path = dir.join("authority.json");
        let (original, second, third) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        // A plain Multikey file: its key.
        std::fs::write(&path, KeyFile::from_secret(&original).to_json()).expect("written");
        assert_eq!(
            authority_of_key_file(&path).expect("read"),
            original.public_key().to_did_key()
        );
        // After two rotations: the oldest retired key.
        let ring = serde_json::json!({
            "rightsnet_keyring": 1,
            "current": key_json(&third),
            "retired": [key_json(&original), key_json(&second)],
        });
        std::fs::write(&path, ring.to_string()).expect("written");
        assert_eq!(
            authority_of_key_file(&path).expect("read"),
            original.public_key().to_did_key()
        );
        // A ring that never rotated (a pending key only): its current key.
        let pending = serde_json::json!({
            "rightsnet_keyring": 1,
            "current": key_json(&original),
            "pending": key_json(&second),
        });
        std::fs::write(&path, pending.to_string()).expect("written");
        assert_eq!(
            authority_of_key_file(&path).expect("read"),
            original.public_key().to_did_key()
        );
        std::fs::write(&path, "{\"rightsnet_keyring\": 1}").expect("written");
        assert!(authority_of_key_file(&path).is_err());
        std::fs::write(&path, "not json").expect("written");
        assert!(authority_of_key_file(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_new_testnet_names_three_of_its_witness_keys_in_a_two_of_three_policy() {
        let dir = std::env::temp_dir().join(format!("rightsnet-witnesses-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let layout = Layout::prepare(&dir, &Requested::default()).expect("prepared");
        let text = read_small(&layout.dir.join(WITNESS_POLICY_FILE)).expect("written");
        let policy = proto_types::checkpoint::policy::WitnessPolicy::parse(&text).expect("parses");
        assert_eq!(policy.witnesses().len(), POLICY_WITNESSES);
        assert!(
            text.contains(&format!("group testnet {POLICY_QUORUM} ")),
            "{text}"
        );
        // The policy names the keys the nodes will load from their data directories.
        for node in layout.nodes.iter().take(POLICY_WITNESSES) {
            let key = ensure_witness_key(&node.dir.join(WITNESS_KEY_PATH)).expect("read back");
            let vkey = proto_types::checkpoint::cosignature::witness_vkey(&key);
            assert!(text.contains(&vkey), "{vkey} missing from {text}");
        }
        // Every configuration names the policy; a reused testnet without one gets it again.
        let config = read_small(&layout.nodes[0].config).expect("a config");
        assert!(
            config.contains("witness_policy = \"../../witnesses.policy\""),
            "{config}"
        );
        std::fs::remove_file(layout.dir.join(WITNESS_POLICY_FILE)).expect("removed");
        Layout::prepare(&dir, &Requested::default()).expect("reused");
        assert_eq!(
            read_small(&layout.dir.join(WITNESS_POLICY_FILE)).expect("rewritten"),
            text
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
