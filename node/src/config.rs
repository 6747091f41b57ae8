//! Node configuration: a TOML file (unknown fields rejected), then command-line overrides.
//! `docs/node.example.toml` is the annotated example; keep the two in step.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Largest configuration file read, in bytes.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// Most bootstrap peers a configuration may list.
pub const MAX_BOOTSTRAP_PEERS: usize = 256;
/// Longest `public_url`, in bytes: it is part of every status list URL a credential carries.
pub const MAX_PUBLIC_URL_LEN: usize = 200;

/// Everything a node needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Directory of the embedded RocksDB store (created if missing).
    pub data_dir: PathBuf,
    /// Address of the HTTP API. Port 0 picks a free port (printed at start).
    #[serde(default = "default_api_listen")]
    pub api_listen: SocketAddr,
    /// The URL under which verifiers outside the federation reach this node's API: the base of
    /// the Bitstring Status List URLs in the credentials it issues (protocol.md §7.5), so it
    /// must stay stable for the life of those credentials. An `http` or `https` URL without
    /// query, fragment or user info, at most [`MAX_PUBLIC_URL_LEN`] bytes; a trailing `/` is
    /// dropped. Default: `http://` and the bound API address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// libp2p listen address for the federation (multiaddr).
    #[serde(default = "default_p2p_listen")]
    pub p2p_listen: String,
    /// Peers to connect to at start and whenever the connection is lost: multiaddrs ending in
    /// `/p2p/<peer id>`, e.g. `/ip4/192.0.2.7/tcp/7071/p2p/12D3KooW…`.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Discover peers on the local network with mDNS (off by default: a node joins the
    /// federations it is told about, not whatever it finds on the LAN).
    #[serde(default)]
    pub mdns: bool,
    /// Multikey JSON file of the authority key this node signs with.
    pub authority_key: PathBuf,
    /// TOML trust store: the authorities this node accepts.
    pub trust_store: PathBuf,
    /// The operator's bearer token for writes that sign as the node's authority. Prefer
    /// `operator_token_file`; exactly one of the two must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_token: Option<String>,
    /// File holding the operator token (first line, surrounding whitespace ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_token_file: Option<PathBuf>,
    /// Sync the write-ahead log before acknowledging a write (default true). With false, a
    /// process crash loses nothing but a power loss may lose the last acknowledged writes.
    #[serde(default = "default_true")]
    pub sync_writes: bool,
    /// Seconds between the catch-up sync rounds in which every connected peer is asked for its
    /// heads (default 5, in 1..=3600). Head announcements start a sync at once when a peer
    /// writes in bulk; this round is the guarantee behind them (protocol.md §10).
    #[serde(default = "default_sync_interval_secs")]
    pub sync_interval_secs: u64,
    /// Request and rate limits.
    #[serde(default)]
    pub limits: Limits,
    /// Marketplace policy: set on marketplace nodes, which verify notices and record
    /// decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<MarketplacePolicy>,
    /// Trust policy beyond the trust store: admission by endorsement.
    #[serde(default)]
    pub trust: TrustPolicy,
    /// Checkpoints, witnessing and the witness policy (protocol.md §14.3–14.4).
    #[serde(default)]
    pub transparency: TransparencyConfig,
    /// The store's memory (`docs/OPERATIONS.md`, storage).
    #[serde(default)]
    pub storage: StorageConfig,
    /// Screening of listings (`POST /v1/screen`, docs/SCREENING.md).
    #[serde(default)]
    pub screening: ScreeningConfig,
    /// The web console (docs/CONSOLE.md).
    #[serde(default)]
    pub console: ConsoleConfig,
}

/// The web console served at `/` (docs/CONSOLE.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// True when browsers reach the node through a reverse proxy that terminates TLS: the
    /// operator's session cookie is then marked `Secure` (it is also when `public_url` starts
    /// with `https://`). Default false.
    #[serde(default)]
    pub behind_tls: bool,
}

/// Screening of listings against the marks the node holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningConfig {
    /// A file of counterfeit indicators to add to the shipped ones: one phrase per line, `#`
    /// comments, at most 1 MiB. Relative to the configuration file's directory like other
    /// paths. Read at start: a bad file stops the node with the line at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicators_file: Option<PathBuf>,
}

/// The store's memory. Compression and filters are chosen per column family by the node
/// (`node/src/storage/options.rs`) and are not configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Size of the block cache all column families share, in MiB: data blocks, and the index
    /// and filter blocks of every table file, so the store's memory stays within it however
    /// large the store grows. Default 256 (with the memtables' 256 MiB, about half of a 1 GB
    /// resident-memory budget). 1 to 65536.
    #[serde(default = "default_block_cache_mb")]
    pub block_cache_mb: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            block_cache_mb: default_block_cache_mb(),
        }
    }
}

impl StorageConfig {
    /// The store's open options for this section.
    pub fn options(&self) -> crate::storage::StorageOptions {
        crate::storage::StorageOptions {
            block_cache_mb: self.block_cache_mb,
            ..crate::storage::StorageOptions::default()
        }
    }
}

fn default_block_cache_mb() -> usize {
    crate::storage::options::DEFAULT_BLOCK_CACHE_MB
}

/// Checkpoints of the own feed and the witness policy verdicts apply (protocol.md §14.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransparencyConfig {
    /// Sign and store a checkpoint covering the own feed's head in the same write as the own
    /// entries of each write, before any 2xx answers them (default false: a checkpoint at most
    /// one second after the write). With true, every acknowledged own entry is covered by a
    /// signed checkpoint at once, at the cost of one signature per write.
    #[serde(default)]
    pub checkpoint_before_ack: bool,
    /// A witness policy file (`c2sp.org/tlog-policy` text, at most
    /// `proto_types::checkpoint::policy::MAX_POLICY_BYTES`): which witnesses' cosignatures a
    /// verdict requires of the checkpoint its registry state came from. Read at start; none: no
    /// policy, verdicts name the checkpoint and its cosigners without judging them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_policy: Option<PathBuf>,
}

/// How this node extends its trust store (protocol.md §13.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// Admit an authority that at least this many offices of the trust store endorse, for the
    /// jurisdictions they endorse it for (`authority` v2 entries). 0 (the default) turns
    /// admission off. At most [`MAX_ENDORSEMENT_THRESHOLD`].
    #[serde(default)]
    pub endorsement_threshold: usize,
}

/// Largest `[trust] endorsement_threshold` (the most authorities a trust store may list).
pub const MAX_ENDORSEMENT_THRESHOLD: usize = crate::trust::MAX_AUTHORITIES;

/// How a marketplace judges notices and sellers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplacePolicy {
    /// Jurisdictions whose rights this marketplace enforces (a CN store: `["CN", "WO"]`; an FR
    /// store: `["FR", "EM", "WO"]`).
    pub accepted_jurisdictions: Vec<String>,
    /// Oldest notice accepted, in hours since its `created` time.
    #[serde(default = "default_notice_max_age_hours")]
    pub notice_max_age_hours: u32,
    /// How far in the future a notice's `created` may lie (clock skew), in seconds. The same
    /// tolerance applies to the `created` of the credential's proof.
    #[serde(default = "default_notice_max_skew_seconds")]
    pub notice_max_skew_seconds: u32,
    /// Whether every listing of a notice must give its Nice `class` (verdict reason
    /// `listing_class`). On by default: a listing without a class escapes the `classes` check.
    #[serde(default = "default_true")]
    pub require_listing_class: bool,
    /// Days a seller has to file a counter-notice after a removal.
    #[serde(default = "default_counter_notice_days")]
    pub counter_notice_days: u32,
    /// Window of the holder accuracy view, in days.
    #[serde(default = "default_accuracy_window_days")]
    pub accuracy_window_days: u32,
    /// Good-faith policy: least share of a holder's notices that end in a removal.
    #[serde(default = "default_min_success_ratio")]
    pub min_success_ratio: f64,
    /// Good-faith policy: largest share of a holder's removals reversed after a
    /// counter-notice.
    #[serde(default = "default_max_reversal_ratio")]
    pub max_reversal_ratio: f64,
    /// Days a seller's strike points count.
    #[serde(default = "default_strike_expiry_days")]
    pub strike_expiry_days: u32,
    /// Sanction tiers by active strike points, lowest first.
    #[serde(default = "default_strike_tiers")]
    pub strike_tiers: Vec<StrikeTier>,
    /// What the verdict does with a credential its issuer never logged (protocol §13.4):
    /// `reject` (the default) or `accept_before` [`MarketplacePolicy::unlogged_cutoff`].
    #[serde(default)]
    pub unlogged_credentials: UnloggedCredentials,
    /// With `accept_before`: an unlogged credential whose proof was created before this time
    /// (and whose issuer key has not rotated away) passes `credential_logged`.
    #[serde(default)]
    pub unlogged_cutoff: Option<proto_types::timestamp::Timestamp>,
}

/// The marketplace policy for credentials that are in no credential log (issued before offices
/// logged them, protocol §13.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnloggedCredentials {
    /// An unlogged credential fails `credential_logged`.
    #[default]
    Reject,
    /// An unlogged credential created before `unlogged_cutoff` passes, by policy.
    AcceptBefore,
}

/// A sanction that applies from a number of active strike points on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrikeTier {
    /// Points from which the sanction applies.
    pub points: u32,
    /// `warning`, `restriction`, `termination`, or a name of the marketplace's own.
    pub sanction: String,
}

pub(crate) fn default_notice_max_age_hours() -> u32 {
    72
}
pub(crate) fn default_notice_max_skew_seconds() -> u32 {
    300
}
fn default_counter_notice_days() -> u32 {
    10
}
fn default_accuracy_window_days() -> u32 {
    90
}
fn default_min_success_ratio() -> f64 {
    0.9
}
fn default_max_reversal_ratio() -> f64 {
    0.05
}
fn default_strike_expiry_days() -> u32 {
    365
}
fn default_strike_tiers() -> Vec<StrikeTier> {
    vec![
        StrikeTier {
            points: 2,
            sanction: "warning".to_owned(),
        },
        StrikeTier {
            points: 6,
            sanction: "restriction".to_owned(),
        },
        StrikeTier {
            points: 12,
            sanction: "termination".to_owned(),
        },
    ]
}

/// Bounds on what clients may send and ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Largest page a list endpoint returns.
    #[serde(default = "default_max_page_size")]
    pub max_page_size: usize,
    /// Sustained requests per second allowed per client address on public endpoints.
    #[serde(default = "default_rate_per_second")]
    pub rate_limit_per_second: u32,
    /// Burst allowed per client address on public endpoints.
    #[serde(default = "default_rate_burst")]
    pub rate_limit_burst: u32,
    /// Requests handled at once; more wait.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: default_max_body_bytes(),
            max_page_size: default_max_page_size(),
            rate_limit_per_second: default_rate_per_second(),
            rate_limit_burst: default_rate_burst(),
            max_concurrent_requests: default_max_concurrent_requests(),
        }
    }
}

fn default_api_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7070))
}
fn default_p2p_listen() -> String {
    "/ip4/127.0.0.1/tcp/7071".to_owned()
}
fn default_sync_interval_secs() -> u64 {
    5
}
fn default_true() -> bool {
    true
}
fn default_max_body_bytes() -> usize {
    1024 * 1024
}
fn default_max_page_size() -> usize {
    500
}
fn default_rate_per_second() -> u32 {
    500
}
fn default_rate_burst() -> u32 {
    1000
}
fn default_max_concurrent_requests() -> usize {
    1024
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The TOML is invalid or has unknown fields.
    #[error("invalid configuration {path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Reads a file of at most `limit` bytes as UTF-8.
pub fn read_bounded(path: &Path, limit: usize) -> Result<String, ConfigError> {
    use std::io::Read;
    let error = |reason: String| ConfigError::Read {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| error(e.to_string()))?;
    let mut text = String::new();
    file.take(limit as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| error(e.to_string()))?;
    if text.len() > limit {
        return Err(error(format!("larger than {limit} bytes")));
    }
    Ok(text)
}

/// Checks a `public_url`: `http://` or `https://`, a host (a name, an IPv4 address or a
/// bracketed IPv6 address) with an optional port, then an optional path of URL characters; no
/// user info, query or fragment, nothing to escape, at most [`MAX_PUBLIC_URL_LEN`] bytes.
pub fn check_public_url(url: &str) -> Result<(), ConfigError> {
    let invalid = |reason: &str| {
        ConfigError::Invalid(format!(
            "public_url {:?}: {reason}",
            url.chars().take(60).collect::<String>()
        ))
    };
    if url.len() > MAX_PUBLIC_URL_LEN {
        return Err(invalid(&format!("longer than {MAX_PUBLIC_URL_LEN} bytes")));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with http:// or https://"))?;
    if url.contains(['?', '#']) {
        return Err(invalid("must not have a query or a fragment"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(invalid("must not carry user info"));
    }
    // A bracketed IPv6 host may hold ':'; the port is what follows the host.
    let host_end = match authority.strip_prefix('[') {
        Some(inner) => inner.find(']').map_or(authority.len(), |end| end + 2),
        None => authority.find(':').unwrap_or(authority.len()),
    };
    let (host, port) = authority.split_at(host_end);
    if let Some(port) = port.strip_prefix(':') {
        if port.parse::<u16>().map_or(true, |port| port == 0) {
            return Err(invalid("the port must be 1 to 65535"));
        }
    } else if !port.is_empty() {
        return Err(invalid("the host must be a DNS name or an IP address"));
    }
    let host_ok = match host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
    {
        Some(inner) => inner.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    if !host_ok {
        return Err(invalid("the host must be a DNS name or an IP address"));
    }
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@%".contains(&b))
        && !path.contains("//");
    if !path_ok {
        return Err(invalid(
            "the path may hold only URL characters (letters, digits, -._~/!$&'()*+,;=:@%), without //",
        ));
    }
    Ok(())
}

impl NodeConfig {
    /// The base of this node's public URLs: `public_url` without a trailing `/`, or `http://`
    /// and `api_addr` (the bound API address) when it is not set.
    pub fn public_base_url(&self, api_addr: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{api_addr}"),
        }
    }

    /// Loads a config file; relative paths in it are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path, MAX_CONFIG_BYTES)?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.data_dir);
        resolve(&mut config.authority_key);
        resolve(&mut config.trust_store);
        if let Some(file) = &mut config.operator_token_file {
            resolve(file);
        }
        if let Some(file) = &mut config.screening.indicators_file {
            resolve(file);
        }
        if let Some(file) = &mut config.transparency.witness_policy {
            resolve(file);
        }
        Ok(config)
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=crate::storage::options::MAX_BLOCK_CACHE_MB).contains(&self.storage.block_cache_mb)
        {
            return Err(ConfigError::Invalid(format!(
                "storage.block_cache_mb must be in 1..={}",
                crate::storage::options::MAX_BLOCK_CACHE_MB
            )));
        }
        let limits = &self.limits;
        if !(1024..=64 * 1024 * 1024).contains(&limits.max_body_bytes) {
            return Err(ConfigError::Invalid(
                "limits.max_body_bytes must be in 1024..=67108864".into(),
            ));
        }
        if !(1..=10_000).contains(&limits.max_page_size) {
            return Err(ConfigError::Invalid(
                "limits.max_page_size must be in 1..=10000".into(),
            ));
        }
        if limits.rate_limit_per_second == 0 || limits.rate_limit_burst == 0 {
            return Err(ConfigError::Invalid("rate limits must be positive".into()));
        }
        if !(1..=3600).contains(&self.sync_interval_secs) {
            return Err(ConfigError::Invalid(
                "sync_interval_secs must be in 1..=3600".into(),
            ));
        }
        if let Some(policy) = &self.marketplace {
            for code in &policy.accepted_jurisdictions {
                proto_types::body::Jurisdiction::parse(code).map_err(|error| {
                    ConfigError::Invalid(format!("marketplace.accepted_jurisdictions: {error}"))
                })?;
            }
            if !(0.0..=1.0).contains(&policy.min_success_ratio)
                || !(0.0..=1.0).contains(&policy.max_reversal_ratio)
            {
                return Err(ConfigError::Invalid(
                    "marketplace ratios must be between 0 and 1".into(),
                ));
            }
            if policy.notice_max_age_hours == 0 || policy.counter_notice_days == 0 {
                return Err(ConfigError::Invalid(
                    "marketplace.notice_max_age_hours and counter_notice_days must be positive"
                        .into(),
                ));
            }
            if policy.unlogged_credentials == UnloggedCredentials::AcceptBefore
                && policy.unlogged_cutoff.is_none()
            {
                return Err(ConfigError::Invalid(
                    "marketplace.unlogged_credentials = \"accept_before\" requires marketplace.unlogged_cutoff (a timestamp)".into(),
                ));
            }
            if policy.strike_tiers.len() > 16
                || policy.strike_tiers.windows(2).any(|pair| match pair {
                    [low, high] => low.points >= high.points,
                    _ => false,
                })
            {
                return Err(ConfigError::Invalid(
                    "marketplace.strike_tiers: at most 16, in increasing points".into(),
                ));
            }
        }
        if self.trust.endorsement_threshold > MAX_ENDORSEMENT_THRESHOLD {
            return Err(ConfigError::Invalid(format!(
                "trust.endorsement_threshold must be at most {MAX_ENDORSEMENT_THRESHOLD} (0 turns admission off)"
            )));
        }
        if let Some(url) = &self.public_url {
            check_public_url(url)?;
        }
        if self.bootstrap.len() > MAX_BOOTSTRAP_PEERS {
            return Err(ConfigError::Invalid(format!(
                "at most {MAX_BOOTSTRAP_PEERS} bootstrap peers"
            )));
        }
        if limits.max_concurrent_requests == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_concurrent_requests must be positive".into(),
            ));
        }
        match (&self.operator_token, &self.operator_token_file) {
            (Some(_), Some(_)) => Err(ConfigError::Invalid(
                "set operator_token or operator_token_file, not both".into(),
            )),
            (None, None) => Err(ConfigError::Invalid(
                "an operator token is required: set operator_token_file (or operator_token)".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The operator token, read from the file when configured that way.
    pub fn load_operator_token(&self) -> Result<String, ConfigError> {
        let token = match (&self.operator_token, &self.operator_token_file) {
            (Some(token), _) => token.clone(),
            (None, Some(file)) => read_bounded(file, 4096)?.trim().to_owned(),
            (None, None) => String::new(),
        };
        if token.len() < 16 {
            return Err(ConfigError::Invalid(
                "the operator token must be at least 16 characters".into(),
            ));
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annotated_example_parses_with_and_without_its_marketplace_table() {
        let text = include_str!("../../docs/node.example.toml");
        let config: NodeConfig = toml::from_str(text).unwrap();
        config.validate().unwrap();
        assert!(config.marketplace.is_none());
        // Uncommenting the marketplace table gives a valid marketplace configuration.
        let marketplace = with_uncommented(text, "# [marketplace]", None);
        marketplace.validate().unwrap();
        let policy = marketplace.marketplace.unwrap();
        assert_eq!(policy.accepted_jurisdictions, vec!["CN", "WO"]);
        assert_eq!(policy.strike_tiers.len(), 3);
        assert!(policy.require_listing_class);
    }

    /// The example configuration with the commented table from `start` (up to `end`, or the
    /// end of the file) uncommented, and nothing after it.
    fn with_uncommented(text: &str, start: &str, end: Option<&str>) -> NodeConfig {
        let start = text.find(start).unwrap();
        let end = end.map_or(text.len(), |end| text.find(end).unwrap());
        let uncommented: String = text[start..end]
            .lines()
            .map(|line| line.strip_prefix("# ").unwrap_or(line))
            .filter(|line| !line.starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect();
        toml::from_str(&format!("{}{uncommented}", &text[..start])).unwrap()
    }

    #[test]
    fn the_trust_table_turns_admission_on_within_bounds() {
        let text = include_str!("../../docs/node.example.toml");
        let config: NodeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.trust.endorsement_threshold, 0, "off by default");
        let admitting = with_uncommented(text, "# [trust]", Some("# Marketplace nodes only"));
        admitting.validate().unwrap();
        assert_eq!(admitting.trust.endorsement_threshold, 2);
        let mut too_high = admitting.clone();
        too_high.trust.endorsement_threshold = MAX_ENDORSEMENT_THRESHOLD + 1;
        assert!(too_high.validate().is_err());
        assert!(
            toml::from_str::<TrustPolicy>("endorsement_threshold = -1\n").is_err(),
            "not a count"
        );
        assert!(
            toml::from_str::<TrustPolicy>("threshold = 2\n").is_err(),
            "unknown field"
        );
    }

    #[test]
    fn the_storage_table_sizes_the_block_cache_within_bounds() {
        let text = include_str!("../../docs/node.example.toml");
        let config: NodeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.storage, StorageConfig::default());
        assert_eq!(config.storage.options().block_cache_mb, 256);
        let sized = with_uncommented(text, "# [storage]", Some("# Marketplace nodes only"));
        sized.validate().unwrap();
        assert_eq!(sized.storage.block_cache_mb, 256);
        for bad in [0, crate::storage::options::MAX_BLOCK_CACHE_MB + 1] {
            let mut wrong = sized.clone();
            wrong.storage.block_cache_mb = bad;
            let error = wrong.validate().unwrap_err().to_string();
            assert!(error.contains("storage.block_cache_mb"), "{error}");
        }
        assert!(toml::from_str::<StorageConfig>("block_cache_mb = -1\n").is_err());
        assert!(toml::from_str::<StorageConfig>("compression = \"zstd\"\n").is_err());
    }

    #[test]
    fn listing_classes_are_required_unless_the_policy_says_otherwise() {
        let required: MarketplacePolicy =
            toml::from_str("accepted_jurisdictions = [\"FR\"]\n").unwrap();
        assert!(required.require_listing_class);
        let optional: MarketplacePolicy =
            toml::from_str("accepted_jurisdictions = [\"FR\"]\nrequire_listing_class = false\n")
                .unwrap();
        assert!(!optional.require_listing_class);
    }

    #[test]
    fn unknown_fields_are_rejected_and_defaults_filled() {
        let text = "data_dir = \"d\"\nauthority_key = \"k\"\ntrust_store = \"t\"\noperator_token_file = \"tok\"\n";
        let config: NodeConfig = toml::from_str(text).unwrap();
        assert!(config.sync_writes);
        assert_eq!(config.limits.max_page_size, 500);
        config.validate().unwrap();
        assert!(toml::from_str::<NodeConfig>(&format!("{text}bogus = 1\n")).is_err());
        assert_eq!(config.public_url, None);
        let mut both = config.clone();
        both.operator_token = Some("x".repeat(20));
        assert!(both.validate().is_err());
    }

    #[test]
    fn public_urls_are_http_urls_without_query_or_fragment() {
        for good in [
            "http://127.0.0.1:7070",
            "https://office.example",
            "https://office.example/",
            "https://rights.office.example:8443/rightsnet",
            "http://[::1]:7070",
            "http://[::1]/x",
            "https://xn--bcher-kva.example/a/b~c",
        ] {
            check_public_url(good).unwrap_or_else(|error| panic!("{good}: {error}"));
        }
        for (bad, why) in [
            ("ftp://office.example", "http"),
            ("office.example", "http"),
            ("https://", "host"),
            ("https:///path", "host"),
            ("https://user:pw@office.example", "user info"),
            ("https://office.example/?q=1", "query"),
            ("https://office.example/#top", "fragment"),
            ("https://office.example:0", "port"),
            ("https://office.example:99999", "port"),
            ("https://office.example:", "port"),
            ("https://::1:7070", "port"),
            ("https://[::1", "host"),
            ("https://[::1]x", "host"),
            ("https://office.example?x", "query"),
            ("https://[not-ip]:7070", "host"),
            ("https://office example", "host"),
            ("https://-office.example", "host"),
            ("https://office.example/a b", "path"),
            ("https://office.example/a\\b", "path"),
            ("https://office.example//a", "path"),
            ("https://office.example/\u{e9}", "path"),
        ] {
            let error = check_public_url(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
        let long = format!("https://office.example/{}", "a".repeat(MAX_PUBLIC_URL_LEN));
        assert!(
            check_public_url(&long)
                .unwrap_err()
                .to_string()
                .contains("longer")
        );
    }

    #[test]
    fn the_public_base_url_defaults_to_the_bound_api_address() {
        let text = "data_dir = \"d\"\nauthority_key = \"k\"\ntrust_store = \"t\"\noperator_token_file = \"tok\"\n";
        let mut config: NodeConfig = toml::from_str(text).unwrap();
        let bound: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        assert_eq!(config.public_base_url(bound), "http://127.0.0.1:40123");
        config.public_url = Some("https://office.example/rightsnet/".to_owned());
        config.validate().unwrap();
        assert_eq!(
            config.public_base_url(bound),
            "https://office.example/rightsnet"
        );
        config.public_url = Some("https://office.example/?x".to_owned());
        assert!(config.validate().is_err());
    }

    #[test]
    fn the_unlogged_policy_defaults_to_reject_and_accept_before_needs_a_cutoff() {
        let base = "data_dir = \"d\"\nauthority_key = \"k\"\ntrust_store = \"t\"\noperator_token_file = \"tok\"\n[marketplace]\naccepted_jurisdictions = [\"FR\"]\n";
        let config: NodeConfig = toml::from_str(base).unwrap();
        let policy = config.marketplace.clone().unwrap();
        assert_eq!(policy.unlogged_credentials, UnloggedCredentials::Reject);
        assert_eq!(policy.unlogged_cutoff, None);
        config.validate().unwrap();
        let no_cutoff: NodeConfig =
            toml::from_str(&format!("{base}unlogged_credentials = \"accept_before\"\n")).unwrap();
        let error = no_cutoff.validate().expect_err("a cutoff is required");
        assert!(error.to_string().contains("unlogged_cutoff"), "{error}");
        let with_cutoff: NodeConfig = toml::from_str(&format!(
            "{base}unlogged_credentials = \"accept_before\"\nunlogged_cutoff = \"2026-12-01T00:00:00Z\"\n"
        ))
        .unwrap();
        with_cutoff.validate().unwrap();
        assert!(
            toml::from_str::<NodeConfig>(&format!("{base}unlogged_credentials = \"accept\"\n"))
                .is_err()
        );
        assert!(
            toml::from_str::<NodeConfig>(&format!("{base}unlogged_cutoff = \"yesterday\"\n"))
                .is_err()
        );
    }
}
