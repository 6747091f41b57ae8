//! The demo's transparency steps (protocol §14): waiting until a registry entry is covered by a
//! checkpoint the testnet's witness policy accepts, checking offline the registration proof a
//! credential carries, and catching a split view.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use proto_types::body::{Body, EntryKind};
use proto_types::checkpoint::policy::WitnessPolicy;
use proto_types::checkpoint::sign_feed_checkpoint;
use proto_types::checkpoint::tlog_proof::TlogProof;
use proto_types::claims::evidence::registration_proof;
use proto_types::entry::{Entry, UnsignedEntry};
use proto_types::keys::SecretKey;
use proto_types::tlog::{TreeHash, leaf_hash};
use serde_json::{Value, json};

use super::{Http, Node, now, wait_for};
use crate::layout::WITNESS_POLICY_FILE;

/// Largest witness policy file read.
const MAX_POLICY_FILE_BYTES: u64 = 64 * 1024;

/// The testnet's witness policy (`DIR/witnesses.policy`).
pub(super) struct Witnessing {
    policy: WitnessPolicy,
}

impl Witnessing {
    /// Reads the policy; a testnet made before witnesses has none.
    pub(super) fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = dir.join(WITNESS_POLICY_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let file =
            std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(file, MAX_POLICY_FILE_BYTES),
            &mut text,
        )?;
        let policy =
            WitnessPolicy::parse(&text).map_err(|error| anyhow!("{}: {error}", path.display()))?;
        Ok(Some(Self { policy }))
    }

    /// The witnesses of `node`'s proof of entry `entry_id` that the policy counted, once the
    /// proof verifies and the policy accepts its checkpoint; `None` before.
    fn witnessed(
        &self,
        http: &Http,
        node: &Node,
        entry_id: &str,
    ) -> anyhow::Result<Option<(u64, Vec<String>)>> {
        let (status, text) = http.raw(
            "GET",
            node,
            &format!("/v1/entries/{entry_id}/proof"),
            None,
            false,
        )?;
        if status == 409 {
            return Ok(None);
        }
        if status != 200 {
            bail!("GET /v1/entries/{entry_id}/proof answered {status}");
        }
        let (_, entry) = http.call("GET", node, &format!("/v1/entries/{entry_id}"), None, false)?;
        let entry = Entry::decode(&serde_json::to_vec(&entry["entry"])?)?;
        let proof = TlogProof::parse(std::str::from_utf8(&text)?)?
            .verify(&leaf_hash(entry.canonical_bytes()))?;
        let verdict = self.policy.check(proof.checkpoint());
        Ok(verdict.satisfied().then(|| {
            (
                proof.checkpoint().checkpoint().size(),
                verdict.counted().to_vec(),
            )
        }))
    }

    /// Waits until `node` proves entry `entry_id` under a checkpoint the policy accepts.
    pub(super) fn wait_witnessed(
        &self,
        http: &Http,
        node: &Node,
        entry_id: &str,
        what: &str,
    ) -> anyhow::Result<()> {
        let mut seen = None;
        wait_for(
            &format!(
                "{what} covered by a checkpoint the witness policy accepts, at {}",
                node.name
            ),
            || {
                seen = self.witnessed(http, node, entry_id)?;
                Ok(seen.is_some())
            },
        )?;
        if let Some((size, counted)) = seen {
            println!(
                "    {}'s proof: the office's checkpoint of size {size}, cosigned by {}",
                node.name,
                counted.join(", ")
            );
        }
        Ok(())
    }

    /// Checks offline the registration proof `credential` carries, and writes what an outside
    /// verifier needs to check it with `rightsnet proof verify` into `demo_dir`.
    pub(super) fn check_credential(
        &self,
        credential: &Value,
        office_signing_key: &str,
        testnet_dir: &Path,
        demo_dir: &Path,
        stamp: i64,
    ) -> anyhow::Result<()> {
        let (entry, proof) = registration_proof(credential)
            .ok_or_else(|| anyhow!("the credential carries no registration proof"))??;
        let verdict = self.policy.check(proof.checkpoint());
        if !verdict.satisfied() {
            bail!("the credential's registration proof is not cosigned as the policy wants");
        }
        println!(
            "    the credential carries its registration's proof: entry {} is leaf {} of the office's log (checkpoint of size {}, cosigned by {}), checked offline",
            entry.id(),
            proof.index(),
            proof.checkpoint().checkpoint().size(),
            verdict.counted().join(", ")
        );
        let text = registration_text(credential)?;
        let proof_file = demo_dir.join(format!("registration-{stamp}.tlog-proof"));
        let entry_file = demo_dir.join(format!("registration-{stamp}.json"));
        let trust_file = demo_dir.join(format!("office-key-{stamp}.toml"));
        std::fs::write(&proof_file, text)?;
        std::fs::write(&entry_file, entry.canonical_bytes())?;
        // An outside verifier trusts the office's current signing key, which it learned from
        // the office (its status or its log's rotations).
        std::fs::write(
            &trust_file,
            format!(
                "[[authority]]\ndid = \"{office_signing_key}\"\nname = \"the office\"\nrole = \"office\"\njurisdictions = [\"FR\"]\n"
            ),
        )?;
        println!(
            "    check it yourself: rightsnet proof verify --entry {} --proof {} --trust {} --witnesses {}",
            entry_file.display(),
            proof_file.display(),
            trust_file.display(),
            testnet_dir.join(WITNESS_POLICY_FILE).display()
        );
        Ok(())
    }
}

/// The `tlogProof` text of a credential's registration evidence.
fn registration_text(credential: &Value) -> anyhow::Result<String> {
    credential["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|item| item["tlogProof"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no tlogProof in the credential"))
}

/// A throwaway office, trusted by every node for the step, shows two nodes two histories of its
/// log; every node proves the split view and flags it; the office is then removed from every
/// trust store again.
pub(super) fn split_view(http: &Http, nodes: &[Node], stamp: i64) -> anyhow::Result<()> {
    let [first, second, ..] = nodes else {
        bail!("a split view needs two nodes");
    };
    let office = SecretKey::generate();
    let did = office.public_key().to_did_key();
    let name = format!("Demo two-faced office {stamp}");
    for node in nodes {
        let body = json!({"did": did, "name": name, "role": "office", "jurisdictions": ["LU"]});
        let (status, answer) = http.call("POST", node, "/v1/trust", Some(&body), true)?;
        if status != 201 {
            bail!(
                "{} refused to trust the demo office: {status} {answer}",
                node.name
            );
        }
    }
    println!("    every node trusts a new office {did} (LU) for this step");
    let entry = UnsignedEntry {
        seq: 1,
        prev: None,
        timestamp: now()?,
        body: Body::decode(
            EntryKind::Registration,
            &json!({"v": 1, "right_id": format!("LU-TM-{stamp}"), "right_type": "trademark",
                    "jurisdiction": "LU", "number": stamp.to_string(), "mark_text": "Deux Visages",
                    "nice_classes": [25], "holder": {"name": "Deux Visages SA", "country": "LU"},
                    "filing_date": "2024-01-01", "status": "filed"}),
        )?,
    }
    .sign(&office)?;
    let (status, answer) = http.call("POST", first, "/v1/entries", Some(entry.value()), false)?;
    if status != 201 {
        bail!("the demo office's entry was refused: {status} {answer}");
    }
    for node in nodes {
        wait_for(&format!("the office's entry at {}", node.name), || {
            let (status, _) = http.call(
                "GET",
                node,
                &format!("/v1/entries/{}", entry.id()),
                None,
                false,
            )?;
            Ok(status == 200)
        })?;
    }
    let honest = sign_feed_checkpoint(&office, 1, &leaf_hash(entry.canonical_bytes()));
    let forged = sign_feed_checkpoint(&office, 1, &TreeHash(leaf_hash(b"another history").0));
    println!(
        "    the office signs two checkpoints of size 1 with different roots, and shows {} one and {} the other",
        first.name, second.name
    );
    for (node, note) in [(first, &honest), (second, &forged)] {
        let body = format!("old 0\n\n{note}").into_bytes();
        let (status, answer) = http.raw(
            "POST",
            node,
            "/v1/witness/add-checkpoint",
            Some(body),
            false,
        )?;
        println!(
            "    POST /v1/witness/add-checkpoint at {}: {status} {}",
            node.name,
            String::from_utf8_lossy(&answer).trim()
        );
    }
    for node in nodes {
        wait_for(&format!("the split view proved at {}", node.name), || {
            let (_, listed) = http.call("GET", node, "/v1/equivocations", None, false)?;
            Ok(listed["checkpoint_equivocations"]
                .as_array()
                .is_some_and(|proofs| proofs.iter().any(|proof| proof["author"] == did.as_str())))
        })?;
    }
    let (_, status) = http.call("GET", second, "/v1/status", None, false)?;
    let flagged = status["feeds"].as_array().is_some_and(|feeds| {
        feeds
            .iter()
            .any(|feed| feed["author"] == did.as_str() && feed["split_view"] == true)
    });
    if !flagged {
        bail!("{} does not flag the office's feed", second.name);
    }
    println!("    every node holds the proof (GET /v1/equivocations) and flags the office's feed");
    for node in nodes {
        let (status, _) = http.raw("DELETE", node, &format!("/v1/trust/{did}"), None, true)?;
        if status != 200 {
            bail!("{} did not remove the demo office: {status}", node.name);
        }
    }
    println!("    the demo office is removed from every trust store again");
    Ok(())
}
