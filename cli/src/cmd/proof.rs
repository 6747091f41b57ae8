//! `rightsnet proof verify`: checks offline that an entry is in its author's feed, from the
//! entry, its C2SP tlog-proof (`GET /v1/entries/{id}/proof`), a trust store and optionally a
//! witness policy (protocol §14.6). No node is asked anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use clap::Subcommand;
use proto_types::checkpoint::policy::{MAX_POLICY_BYTES, WitnessPolicy};
use proto_types::checkpoint::tlog_proof::{MAX_TLOG_PROOF_BYTES, TlogProof};
use proto_types::entry::Entry;
use proto_types::jcs;
use rightsnet_node::transparency::proofs::check_entry_proof;
use rightsnet_node::trust::{Trust, TrustStore};
use serde_json::{Value, json};

use super::notice::MAX_TRUST_FILE_BYTES;
use super::read_file;
use crate::{CommandError, CommandResult, Exit};

/// Largest entry file read: an entry is at most 65 535 canonical bytes; the file may be
/// pretty-printed or the `{"id", "entry", …}` answer of `GET /v1/entries/{id}`.
pub const MAX_ENTRY_FILE_BYTES: usize = 1024 * 1024;

/// Proof commands.
#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Verify offline that an entry is in its author's feed: the entry's signature, the
    /// checkpoint's signature by the feed's key (which the trust store must trust), the proof's
    /// index (seq − 1) and inclusion path to the checkpoint's root, and with --witnesses the
    /// cosignatures the policy asks for. Exit 0 when valid, 1 when a check fails (each is
    /// listed), 2 for unusable input (a file missing, too large or that does not parse), 3 when
    /// a file cannot be read.
    Verify {
        /// The entry: its JSON, or the answer of `GET /v1/entries/{id}`.
        #[arg(long)]
        entry: PathBuf,
        /// The proof: C2SP tlog-proof text (`GET /v1/entries/{id}/proof`).
        #[arg(long)]
        proof: PathBuf,
        /// Trust store (TOML, the node's format) naming the authorities whose feeds to accept.
        #[arg(long)]
        trust: PathBuf,
        /// Witness policy (C2SP tlog-policy text): the cosignatures the checkpoint needs.
        #[arg(long)]
        witnesses: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl ProofCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            ProofCommand::Verify {
                entry,
                proof,
                trust,
                witnesses,
                json,
            } => verify(&entry, &proof, &trust, witnesses.as_deref(), json),
        }
    }
}

fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, CommandError> {
    String::from_utf8(bytes)
        .map_err(|_| CommandError::bad_input(format!("{} is not UTF-8", path.display())))
}

/// The entry in the file: the entry itself, or the `entry` member of a `GET /v1/entries/{id}`
/// answer. Unusable input (exit 2) unless it decodes as an entry; its signature is checked
/// later, as a check.
fn read_entry(path: &Path) -> Result<Entry, CommandError> {
    let bytes = read_file(path, MAX_ENTRY_FILE_BYTES)?;
    let mut value = jcs::parse(&bytes)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))?;
    if value.get("seq").is_none() && value.get("entry").is_some_and(Value::is_object) {
        value = value["entry"].take();
    }
    Entry::from_value(value).map_err(|error| {
        CommandError::bad_input(format!("{} is not an entry: {error}", path.display()))
    })
}

fn read_trust(path: &Path) -> Result<Trust, CommandError> {
    let text = utf8(path, read_file(path, MAX_TRUST_FILE_BYTES)?)?;
    let store = TrustStore::from_toml(&text)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))?;
    Ok(Trust::new(store, &[]))
}

fn read_policy(path: &Path) -> Result<WitnessPolicy, CommandError> {
    let text = utf8(path, read_file(path, MAX_POLICY_BYTES)?)?;
    WitnessPolicy::parse(&text)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))
}

fn verify(
    entry_path: &Path,
    proof_path: &Path,
    trust_path: &Path,
    policy_path: Option<&Path>,
    as_json: bool,
) -> CommandResult {
    let entry = read_entry(entry_path)?;
    let proof_bytes = read_file(proof_path, MAX_TLOG_PROOF_BYTES)?;
    let proof = TlogProof::parse_bytes(&proof_bytes).map_err(|error| {
        CommandError::bad_input(format!(
            "{} is not a tlog-proof: {error}",
            proof_path.display()
        ))
    })?;
    let trust = read_trust(trust_path)?;
    let policy = policy_path.map(read_policy).transpose()?;

    let (author, seq) = (*entry.author(), entry.seq());
    let entry_id = entry.id();
    let report = check_entry_proof(&entry, &proof, &trust, policy.as_ref());
    let checks = &report.checks;
    let witnesses = match &report.witnesses {
        Some(summary) => json!({
            "satisfied": summary.satisfied,
            "counted": summary.counted,
            "invalid": summary.invalid,
        }),
        None => Value::Null,
    };
    let (origin, size, root) = (&report.origin, report.size, report.root);
    let valid = report.valid();
    let mut out = std::io::stdout().lock();
    let written = if as_json {
        let report = json!({
            "valid": valid,
            "entry": {"id": entry_id.to_hex(), "author": author.to_did_key(), "seq": seq},
            "checkpoint": {"origin": origin, "size": size, "root": base64::engine::general_purpose::STANDARD.encode(root)},
            "witnesses": witnesses,
            "checks": checks.iter().map(|check| json!({"code": check.code, "ok": check.ok, "message": check.message})).collect::<Vec<_>>(),
        });
        writeln!(out, "{report}")
    } else {
        let mut text = String::new();
        for check in checks {
            text.push_str(&format!(
                "{} {:<21} {}\n",
                if check.ok { "ok  " } else { "FAIL" },
                check.code,
                check.message
            ));
        }
        text.push_str(if valid { "valid\n" } else { "not valid\n" });
        out.write_all(text.as_bytes())
    };
    written
        .map_err(|error| CommandError::failure(format!("cannot write standard output: {error}")))?;
    Ok(if valid { Exit::Ok } else { Exit::CheckFailed })
}
