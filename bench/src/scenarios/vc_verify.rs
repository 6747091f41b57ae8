//! `vc-verify`: bulk credential verification with `rightsnet vc verify --jsonl` (issue 15), next
//! to raw Ed25519 verification of the same signatures on every core, measured in the same run.
//!
//! The credentials are `IPRightCredential`s as offices issue them (`eddsa-jcs-2022` proofs), from
//! a few issuers, one per line of a JSONL file; one in twenty is changed after signing and must
//! be refused. The CLI runs as this program's hidden `cli` subcommand in a process of its own,
//! reading the file on standard input; its answers are checked line by line. The raw rate is
//! `ed25519-dalek`'s `verify_strict` over the 64-byte messages the proofs sign, spread over
//! every core: what the CLI would reach if JSON, canonicalisation and hashing cost nothing.
//! Rounds alternate the two, so that a noisy neighbour weighs on both.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, ensure};
use proto_types::claims;
use proto_types::data_integrity;
use proto_types::entry::EntryId;
use proto_types::keys::{PublicKey, Signature};
use proto_types::timestamp::Timestamp;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::cluster::NodeMode;
use crate::fixtures::{Office, Registration, holder_key};
use crate::report::{Reporter, round};
use crate::stats::per_second;

/// Parameters of the `vc-verify` scenario.
#[derive(Debug, Clone, clap::Args)]
pub struct Params {
    /// Credentials in the file.
    #[arg(long, default_value_t = 20_000)]
    pub credentials: usize,
    /// Offices that issued them.
    #[arg(long, default_value_t = 8)]
    pub issuers: usize,
    /// Rounds (each: raw verification, then the CLI over the whole file).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Another build of this program whose hidden `cli` subcommand runs the CLI (an A/B
    /// comparison of two builds on the same file); default: this program.
    #[arg(long)]
    pub cli_from: Option<std::path::PathBuf>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            credentials: 20_000,
            issuers: 8,
            rounds: 3,
            cli_from: None,
        }
    }
}

/// One credential of the file: its line, whether it must verify, and its signature as raw
/// Ed25519 (message, signature, key).
struct Credential {
    line: Vec<u8>,
    valid: bool,
    message: [u8; 64],
    signature: Signature,
    key: PublicKey,
}

fn credential(office: &Office, number: u64, now: &Timestamp) -> anyhow::Result<Credential> {
    let registration = Registration::new(office, number);
    let entry = EntryId::from_hex(&hex::encode(crate::fixtures::seed("vc-entry", number)))?;
    let claims = registration.claims(entry)?;
    let document = claims::credential_document(
        &format!("urn:rightsnet:credential:{}", &entry.to_hex()[..32]),
        &office.key.public_key(),
        &holder_key(registration.holder).public_key(),
        &claims,
        now,
        None,
    );
    let mut signed = claims::sign_credential(&document, &office.key, now)?;
    // The raw message and signature, computed from the signed document as a verifier would.
    let proof = signed["proof"].clone();
    let mut proof_options = proof.as_object().cloned().unwrap_or_default();
    let proof_value = proof_options
        .remove("proofValue")
        .and_then(|value| value.as_str().map(str::to_owned))
        .context("a signed credential has a proofValue")?;
    let mut unsecured = signed.as_object().cloned().unwrap_or_default();
    unsecured.remove("proof");
    let message =
        data_integrity::hash_data(&Value::Object(proof_options), &Value::Object(unsecured))?;
    let signature = Signature::from_multibase(&proof_value)?;
    let valid = number % 20 != 7;
    if !valid {
        signed["credentialSubject"]["right"]["mark"] = json!("CHANGED AFTER SIGNING");
    }
    Ok(Credential {
        line: serde_json::to_vec(&signed)?,
        valid,
        message,
        signature,
        key: office.key.public_key(),
    })
}

/// Raw verification of every credential's signature on every core: signatures per second.
fn raw_round(credentials: &[Credential]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let all = credentials.par_iter().all(|credential| {
        credential
            .key
            .verify_strict_reference(&credential.message, &credential.signature)
            .is_ok()
    });
    let elapsed = started.elapsed();
    ensure!(all, "a generated signature did not verify");
    Ok(per_second(credentials.len() as u64, elapsed))
}

/// One run of `vc verify --jsonl` over the file: lines per second, and the answers checked
/// against what each credential was built to get (the number of wrong answers).
fn cli_round(
    mode: &NodeMode,
    file: &Path,
    credentials: &[Credential],
) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let output = match mode {
        NodeMode::Child(program) => {
            let input = std::fs::File::open(file)?;
            let output = Command::new(program)
                .args(["cli", "vc", "verify", "--jsonl"])
                .stdin(Stdio::from(input))
                .stderr(Stdio::inherit())
                .output()
                .with_context(|| format!("running {} cli vc verify --jsonl", program.display()))?;
            // Exit 1: some lines (the changed ones) did not verify, as built.
            ensure!(
                output.status.code() == Some(1),
                "vc verify --jsonl exited with {:?}",
                output.status.code()
            );
            output.stdout
        }
        NodeMode::InProcess => {
            let mut input = std::io::BufReader::new(std::fs::File::open(file)?);
            let mut output = Vec::new();
            rightsnet_cli::cmd::vc::verify_lines_from(&mut input, &mut output)
                .map_err(|error| anyhow::anyhow!("vc verify --jsonl: {error:?}"))?;
            output
        }
    };
    let elapsed = started.elapsed();
    let answers: Vec<Value> = output
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(serde_json::from_slice)
        .collect::<Result<_, _>>()?;
    ensure!(
        answers.len() == credentials.len(),
        "{} answers for {} lines",
        answers.len(),
        credentials.len()
    );
    let wrong = answers
        .iter()
        .zip(credentials)
        .enumerate()
        .filter(|(index, (answer, credential))| {
            answer["line"] != json!(index + 1)
                || answer["verified"] != json!(credential.valid)
                || (credential.valid && answer["signer"] != json!(credential.key.to_did_key()))
        })
        .count() as u64;
    Ok((per_second(credentials.len() as u64, elapsed), wrong))
}

/// Runs the scenario; the CLI runs as a child of this program in `NodeMode::Child`.
pub fn run(params: &Params, mode: &NodeMode, reporter: &mut Reporter<'_>) -> anyhow::Result<()> {
    let offices = Office::set("vc-issuer", params.issuers.max(1));
    let now = rightsnet_node::clock::now();
    let count = params.credentials.max(20);
    let generating = Instant::now();
    let credentials: Vec<Credential> = (0..count)
        .into_par_iter()
        .map(|index| {
            let office = &offices[index % offices.len()];
            credential(office, 1 + (index / offices.len()) as u64, &now)
        })
        .collect::<anyhow::Result<_>>()?;
    let directory = tempfile::tempdir()?;
    let file = directory.path().join("credentials.jsonl");
    let mut writer = BufWriter::new(std::fs::File::create(&file)?);
    for credential in &credentials {
        writer.write_all(&credential.line)?;
        writer.write_all(b"\n")?;
    }
    writer.flush()?;
    drop(writer);
    let bytes: usize = credentials.iter().map(|c| c.line.len() + 1).sum();
    reporter.say(format!(
        "vc-verify: {count} credentials from {} issuers ({:.1} MiB, one in twenty changed after signing) generated in {:.1} s",
        offices.len(),
        bytes as f64 / 1_048_576.0,
        generating.elapsed().as_secs_f64()
    ));
    let mode = match &params.cli_from {
        Some(program) => &NodeMode::Child(program.clone()),
        None => mode,
    };
    let mut rounds = Vec::new();
    for round_number in 1..=params.rounds.max(1) {
        let raw = raw_round(&credentials)?;
        let (cli, wrong) = cli_round(mode, &file, &credentials)?;
        reporter.say(format!(
            "  round {round_number}: raw verify_strict on every core {raw:.0} signatures/s; vc verify --jsonl {cli:.0} credentials/s ({:.2} of raw); {wrong} wrong answers",
            cli / raw
        ));
        rounds.push((raw, cli, wrong));
    }
    let mut ratios: Vec<f64> = rounds.iter().map(|(raw, cli, _)| cli / raw).collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let wrong: u64 = rounds.iter().map(|(_, _, wrong)| wrong).sum();
    reporter.say(format!(
        "  median ratio {median:.2} of raw over {} rounds; {wrong} wrong answers",
        rounds.len()
    ));
    reporter.result(
        "vc-verify",
        json!({
            "credentials": count,
            "issuers": offices.len(),
            "rounds": rounds.len(),
        }),
        json!({
            "mean_line_bytes": round(bytes as f64 / count as f64, 0),
            "rounds": rounds.iter().map(|(raw, cli, wrong)| json!({
                "raw_per_s": round(*raw, 0),
                "cli_per_s": round(*cli, 0),
                "ratio": round(cli / raw, 3),
                "wrong": wrong,
            })).collect::<Vec<_>>(),
            "median_ratio": round(median, 3),
            "wrong": wrong,
        }),
    )?;
    Ok(())
}
