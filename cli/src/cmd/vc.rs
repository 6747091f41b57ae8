//! `rightsnet vc …`: RFC 8785 canonicalisation and `eddsa-jcs-2022` proofs on standard input.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Subcommand;
use proto_types::data_integrity::{self, ProofOptions};
use proto_types::jcs;
use proto_types::keys::KeyFile;
use proto_types::timestamp::Timestamp;
use rayon::prelude::*;
use serde_json::json;

use super::{read_file, read_stdin};
use crate::{CommandError, CommandResult, Exit};

/// Largest document read from standard input (and largest line with `--jsonl`).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Largest key file read.
pub const MAX_KEY_FILE_BYTES: usize = 16 * 1024;
/// Lines verified together with `--jsonl`: enough to keep every core busy, bounded in memory
/// (at most this many lines of at most [`MAX_DOCUMENT_BYTES`] each are held at once).
pub const JSONL_CHUNK_LINES: usize = 1024;

/// Verifiable Credential commands.
#[derive(Debug, Subcommand)]
pub enum VcCommand {
    /// Print the RFC 8785 canonical form of the JSON on standard input, byte for byte.
    Canonicalize,
    /// Add an eddsa-jcs-2022 DataIntegrityProof to the unsigned JSON document on standard input.
    Sign {
        /// Multikey key file (publicKeyMultibase + secretKeyMultibase or privateKeyMultibase).
        #[arg(long)]
        key: PathBuf,
        /// The proof's `created` (RFC 3339, UTC, `Z`); default: now.
        #[arg(long)]
        created: Option<String>,
        /// The proof's verification method; default: the key's `did:key:…#…`.
        #[arg(long)]
        verification_method: Option<String>,
    },
    /// Verify the eddsa-jcs-2022 proof of the document on standard input.
    /// Exit 0 when valid, 1 with the reason when not, 2 for unusable input (not JSON, not an
    /// object, no `proof` at all).
    Verify {
        /// Standard input holds one document per line; print one JSON result per line, in order,
        /// verifying on every core. Exit 0 when every line verified, 1 when any did not (its
        /// result says why), 2 when standard input cannot be read.
        #[arg(long)]
        jsonl: bool,
    },
}

impl VcCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            VcCommand::Canonicalize => canonicalize(),
            VcCommand::Sign {
                key,
                created,
                verification_method,
            } => sign(&key, created.as_deref(), verification_method),
            VcCommand::Verify { jsonl: false } => verify_one(),
            VcCommand::Verify { jsonl: true } => verify_lines(),
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), CommandError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| CommandError::failure(format!("cannot write standard output: {error}")))
}

fn canonicalize() -> CommandResult {
    let input = read_stdin(MAX_DOCUMENT_BYTES)?;
    let canonical = jcs::canonicalize_bytes(&input)
        .map_err(|error| CommandError::bad_input(format!("invalid input: {error}")))?;
    write_stdout(&canonical)?;
    Ok(Exit::Ok)
}

fn sign(
    key: &std::path::Path,
    created: Option<&str>,
    verification_method: Option<String>,
) -> CommandResult {
    let key_bytes = read_file(key, MAX_KEY_FILE_BYTES)?;
    let secret = KeyFile::parse(&key_bytes)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", key.display())))?;
    let created = match created {
        Some(text) => Timestamp::parse(text)
            .map_err(|error| CommandError::bad_input(format!("--created: {error}")))?,
        None => now()?,
    };
    let input = read_stdin(MAX_DOCUMENT_BYTES)?;
    let document = jcs::parse(&input)
        .map_err(|error| CommandError::bad_input(format!("invalid input: {error}")))?;
    let options = ProofOptions {
        created: Some(created),
        verification_method,
        ..ProofOptions::default()
    };
    let secured = data_integrity::sign(&document, &secret, &options)
        .map_err(|error| CommandError::bad_input(format!("cannot sign: {error}")))?;
    let mut text = serde_json::to_vec_pretty(&secured)
        .map_err(|error| CommandError::failure(format!("cannot encode output: {error}")))?;
    text.push(b'\n');
    write_stdout(&text)?;
    Ok(Exit::Ok)
}

fn now() -> Result<Timestamp, CommandError> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| CommandError::failure("system clock is before 1970"))?
        .as_secs();
    let millis = i64::try_from(seconds)
        .ok()
        .and_then(|seconds| seconds.checked_mul(1000))
        .ok_or_else(|| CommandError::failure("system clock out of range"))?;
    Timestamp::from_unix_millis(millis).map_err(CommandError::failure)
}

/// The outcome of verifying one document.
enum Outcome {
    Verified(Box<data_integrity::VerifiedDocument>),
    NotVerified(String),
    Unusable(String),
}

fn check(bytes: &[u8]) -> Outcome {
    let document = match jcs::parse(bytes) {
        Ok(document) => document,
        Err(error) => return Outcome::Unusable(format!("invalid json: {error}")),
    };
    if !document.is_object() {
        return Outcome::Unusable("document must be a JSON object".to_owned());
    }
    // A document without a proof is not a secured document: there is nothing to verify.
    if document.get("proof").is_none() {
        return Outcome::Unusable("the document has no proof: nothing to verify".to_owned());
    }
    match data_integrity::verify(&document) {
        Ok(verified) => Outcome::Verified(Box::new(verified)),
        Err(error) => Outcome::NotVerified(error.to_string()),
    }
}

fn verify_one() -> CommandResult {
    let input = read_stdin(MAX_DOCUMENT_BYTES)?;
    match check(&input) {
        Outcome::Verified(verified) => {
            let mut report = format!(
                "verified: {} proof by {} for {}",
                data_integrity::CRYPTOSUITE,
                verified.signer().to_did_key(),
                verified.proof_purpose()
            );
            if let Some(created) = verified.created() {
                report.push_str(&format!(", created {created}"));
            }
            if let Some(expires) = verified.expires() {
                report.push_str(&format!(", expires {expires}"));
            }
            report.push('\n');
            write_stdout(report.as_bytes())?;
            Ok(Exit::Ok)
        }
        Outcome::NotVerified(reason) => Err(CommandError::check_failed(format!(
            "not verified: {reason}"
        ))),
        Outcome::Unusable(reason) => Err(CommandError::bad_input(reason)),
    }
}

/// Reads one line of at most `MAX_DOCUMENT_BYTES`; an over-long line is consumed and reported.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut too_long = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(if line.is_empty() && !too_long {
                None
            } else {
                Some(too_long)
            });
        }
        let (chunk, found_newline) = match available.iter().position(|&byte| byte == b'\n') {
            Some(position) => (&available[..position], true),
            None => (available, false),
        };
        if !too_long {
            if line.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let consumed = chunk.len() + usize::from(found_newline);
        input.consume(consumed);
        if found_newline {
            return Ok(Some(too_long));
        }
    }
}

fn verify_lines() -> CommandResult {
    // A reader that can move between threads (a locked stdin cannot): the next chunk is read
    // while the current one is verified.
    let mut input = std::io::BufReader::with_capacity(1 << 20, std::io::stdin());
    let stdout = std::io::stdout();
    verify_lines_from(&mut input, &mut stdout.lock())
}

/// One line read: its number, and its bytes or why it cannot be used.
type Line = (usize, Result<Vec<u8>, String>);

/// Reads the next chunk of at most [`JSONL_CHUNK_LINES`] lines (empty at the end of input).
fn read_chunk(
    input: &mut impl BufRead,
    line_number: &mut usize,
) -> Result<Vec<Line>, CommandError> {
    let mut chunk: Vec<Line> = Vec::with_capacity(JSONL_CHUNK_LINES);
    let mut line = Vec::new();
    while chunk.len() < JSONL_CHUNK_LINES {
        match read_line(input, &mut line).map_err(|error| {
            CommandError::failure(format!("cannot read standard input: {error}"))
        })? {
            None => break,
            Some(too_long) => {
                *line_number += 1;
                if too_long {
                    chunk.push((
                        *line_number,
                        Err(format!(
                            "line exceeds the limit of {MAX_DOCUMENT_BYTES} bytes"
                        )),
                    ));
                } else {
                    chunk.push((*line_number, Ok(std::mem::take(&mut line))));
                }
            }
        }
    }
    Ok(chunk)
}

/// The result line of one input line (with its newline), and whether it verified.
fn result_line((number, line): &Line) -> (Vec<u8>, bool) {
    let outcome = match line {
        Ok(bytes) => check(bytes),
        Err(reason) => Outcome::Unusable(reason.clone()),
    };
    let result = match &outcome {
        // The method decoded to the signer, so its did:key part is the signer's one did:key
        // (no need to encode the key again).
        Outcome::Verified(verified) => json!({
            "line": number,
            "verified": true,
            "reason": null,
            "signer": verified
                .verification_method()
                .split_once('#')
                .map_or(verified.verification_method(), |(did, _)| did),
        }),
        Outcome::NotVerified(reason) | Outcome::Unusable(reason) => json!({
            "line": number,
            "verified": false,
            "reason": reason,
        }),
    };
    // Serialising a json! value cannot fail.
    let mut text = result.to_string().into_bytes();
    text.push(b'\n');
    (text, matches!(outcome, Outcome::Verified(_)))
}

/// `vc verify --jsonl` from `input` to `output`: one JSON result per line of `input`, in
/// order, verified on every core a chunk of [`JSONL_CHUNK_LINES`] at a time while the next
/// chunk is read. Exit 0 when every line verified, 1 when any did not, a failure when reading
/// or writing fails.
pub fn verify_lines_from(
    input: &mut (impl BufRead + Send),
    output: &mut impl Write,
) -> CommandResult {
    let mut line_number = 0usize;
    let mut all_verified = true;
    let mut chunk = read_chunk(input, &mut line_number)?;
    while !chunk.is_empty() {
        let (results, next) = rayon::join(
            || chunk.par_iter().map(result_line).collect::<Vec<_>>(),
            || read_chunk(input, &mut line_number),
        );
        let mut text = Vec::with_capacity(results.iter().map(|(line, _)| line.len()).sum());
        for (line, verified) in results {
            all_verified &= verified;
            text.extend_from_slice(&line);
        }
        output
            .write_all(&text)
            .and_then(|()| output.flush())
            .map_err(|error| {
                CommandError::failure(format!("cannot write standard output: {error}"))
            })?;
        chunk = next?;
    }
    Ok(if all_verified {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
