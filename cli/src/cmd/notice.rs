//! `rightsnet notice …`: a rights holder builds and signs a takedown notice offline, and anyone
//! checks the parts of a notice that need no registry.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use proto_types::claims;
use proto_types::jcs;
use proto_types::keys::{KeyFile, PublicKey};
use proto_types::timestamp::Timestamp;
use rand::RngCore;
use rightsnet_node::trust::{Trust, TrustStore};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{read_file, read_stdin};
use crate::{CommandError, CommandResult, Exit};

/// Largest credential file read.
pub const MAX_CREDENTIAL_FILE_BYTES: usize = 64 * 1024;
/// Largest evidence file hashed (hashing streams; this bounds the time spent).
pub const MAX_EVIDENCE_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Largest notice read from standard input.
pub const MAX_NOTICE_BYTES: usize = 256 * 1024;
/// Largest trust store read.
pub const MAX_TRUST_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Notice commands.
#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    /// Build and sign a notice as the holder; print it as JSON.
    Create(Box<CreateArgs>),
    /// Submit a notice file to a marketplace node and print its verdict with every reason.
    /// Exit 0 when accepted (and recorded), 1 when rejected.
    Submit {
        /// The signed notice (from `notice create`).
        file: PathBuf,
        /// Only ask for the verdict (POST /v1/verify); record nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        node: crate::client::NodeArgs,
    },
    /// Check what can be checked of the notice on standard input without a registry: the
    /// notice signature, the credential's proof, holder and right binding, validity dates,
    /// the notice's age, and whether the issuer is trusted for the jurisdiction. Exit 0 when
    /// all pass, 1 when one fails, 2 for unusable input.
    Verify {
        /// Trust store (TOML) naming the offices to accept.
        #[arg(long)]
        trust: PathBuf,
        /// Oldest notice accepted, in hours.
        #[arg(long, default_value_t = 72)]
        max_age_hours: u32,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl NoticeCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            NoticeCommand::Create(args) => create(&args),
            NoticeCommand::Verify {
                trust,
                max_age_hours,
                json,
            } => verify(&trust, max_age_hours, json),
            NoticeCommand::Submit {
                file,
                dry_run,
                node,
            } => super::client::submit_notice(&file, dry_run, &node),
        }
    }
}

/// Flags of `notice create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The holder's Multikey key file (the credential's subject).
    #[arg(long)]
    pub key: PathBuf,
    /// The IPRightCredential the holder's office issued.
    #[arg(long)]
    pub credential: PathBuf,
    /// The marketplace's did:key.
    #[arg(long)]
    pub marketplace: String,
    /// A listing id, optionally with its Nice class: `ID` or `ID:CLASS`. Repeat for several.
    #[arg(long = "listing", required = true)]
    pub listings: Vec<String>,
    /// counterfeit, trademark_infringement, design_infringement, patent_infringement or
    /// copyright_infringement.
    #[arg(long)]
    pub reason: String,
    /// An evidence file, `FILE` or `KIND=FILE` (test_purchase, screenshot, expert_report,
    /// court_decision, customs_seizure, other). Only its SHA-256 leaves this machine.
    #[arg(long = "evidence")]
    pub evidence: Vec<String>,
    /// The inspection result of the test purchases among the evidence.
    #[arg(long)]
    pub result: Option<String>,
    /// The good-faith statement.
    #[arg(
        long,
        default_value = "I believe in good faith that the use of the listed goods is not authorised by the right holder, its agent or the law, and the information in this notice is accurate."
    )]
    pub statement: String,
    /// Write the notice here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn now() -> Result<Timestamp, CommandError> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| CommandError::failure("system clock is before 1970"))?
        .as_millis();
    Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
        .map_err(CommandError::failure)
}

fn hash_file(path: &std::path::Path) -> Result<String, CommandError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|error| {
        CommandError::bad_input(format!("cannot open {}: {error}", path.display()))
    })?;
    let mut reader = std::io::BufReader::new(file).take(MAX_EVIDENCE_FILE_BYTES + 1);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut buffer).map_err(|error| {
            CommandError::failure(format!("cannot read {}: {error}", path.display()))
        })?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > MAX_EVIDENCE_FILE_BYTES {
            return Err(CommandError::bad_input(format!(
                "{} is larger than {MAX_EVIDENCE_FILE_BYTES} bytes",
                path.display()
            )));
        }
        hasher.update(&buffer[..read]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

fn create(args: &CreateArgs) -> CommandResult {
    let holder = KeyFile::parse(&read_file(&args.key, 16 * 1024)?)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", args.key.display())))?;
    let credential: Value = jcs::parse(&read_file(&args.credential, MAX_CREDENTIAL_FILE_BYTES)?)
        .map_err(|error| {
            CommandError::bad_input(format!("{}: {error}", args.credential.display()))
        })?;
    let verified = claims::verify_credential(&credential).map_err(|error| {
        CommandError::bad_input(format!("{}: {error}", args.credential.display()))
    })?;
    if verified.subject != holder.public_key() {
        return Err(CommandError::bad_input(format!(
            "the credential was issued to {}, not to the key in {}",
            verified.subject,
            args.key.display()
        )));
    }
    PublicKey::from_did_key(&args.marketplace)
        .map_err(|error| CommandError::bad_input(format!("--marketplace: {error}")))?;
    let mut listings = Vec::new();
    for listing in &args.listings {
        let (id, class) = match listing.rsplit_once(':') {
            Some((id, class)) if class.chars().all(|c| c.is_ascii_digit()) && !class.is_empty() => {
                let class: u8 = class.parse().map_err(|_| {
                    CommandError::bad_input(format!("--listing {listing}: bad class"))
                })?;
                (id, Some(class))
            }
            _ => (listing.as_str(), None),
        };
        let mut item = json!({"id": id});
        if let Some(class) = class {
            item["class"] = json!(class);
        }
        listings.push(item);
    }
    let mut evidence = Vec::new();
    for item in &args.evidence {
        let (kind, path) = match item.split_once('=') {
            Some((kind, path)) => (kind, path),
            None => ("other", item.as_str()),
        };
        let mut entry = json!({"kind": kind, "digest": hash_file(std::path::Path::new(path))?});
        if kind == "test_purchase" {
            let result = args.result.as_deref().ok_or_else(|| {
                CommandError::bad_input(
                    "test_purchase evidence needs --result (the inspection result)",
                )
            })?;
            entry["result"] = json!(result);
        }
        evidence.push(entry);
    }
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut unsigned = json!({
        "v": 1,
        "marketplace": args.marketplace,
        "right_id": verified.right_id.as_str(),
        "holder": holder.public_key().to_did_key(),
        "listings": listings,
        "reason": args.reason,
        "good_faith_statement": args.statement,
        "nonce": hex::encode(nonce),
        "created": now()?.as_str(),
        "credential": credential,
    });
    if !evidence.is_empty() {
        unsigned["evidence"] = Value::Array(evidence);
    }
    let signed = claims::sign_notice(&unsigned, &holder)
        .map_err(|error| CommandError::bad_input(format!("cannot build the notice: {error}")))?;
    let mut text = serde_json::to_vec_pretty(&signed)
        .map_err(|error| CommandError::failure(format!("cannot encode the notice: {error}")))?;
    text.push(b'\n');
    match &args.out {
        Some(path) => std::fs::write(path, &text).map_err(|error| {
            CommandError::failure(format!("cannot write {}: {error}", path.display()))
        })?,
        None => std::io::stdout().lock().write_all(&text).map_err(|error| {
            CommandError::failure(format!("cannot write standard output: {error}"))
        })?,
    }
    Ok(Exit::Ok)
}

/// What only a node with the registry and the marketplace's state can check.
const NOT_CHECKED: [&str; 9] = [
    "registry: whether the right is still alive and held by this holder (cancellations, expiries and assignments arrive by gossip)",
    "nonce: whether this notice was already filed",
    "territory: whether the marketplace enforces rights of this jurisdiction",
    "classes: whether the right's current classes cover the listings",
    "listing_class: whether the marketplace requires a class for every listing",
    "issuer_key_rotated: whether the office has since rotated away from the key that signed the credential (rotations arrive by gossip)",
    "marketplace: whether the notice's marketplace is the one receiving it",
    "credential_logged: whether the credential's issuer logged it in its feed, with this digest (the credential log, protocol §6.10)",
    "credential_status: whether the credential was revoked or suspended since it was issued (status entries arrive by gossip)",
];

fn verify(trust_path: &std::path::Path, max_age_hours: u32, as_json: bool) -> CommandResult {
    let trust_bytes = read_file(trust_path, MAX_TRUST_FILE_BYTES)?;
    let trust_text = String::from_utf8(trust_bytes)
        .map_err(|_| CommandError::bad_input(format!("{} is not UTF-8", trust_path.display())))?;
    let trust = Trust::new(
        TrustStore::from_toml(&trust_text).map_err(|error| {
            CommandError::bad_input(format!("{}: {error}", trust_path.display()))
        })?,
        &[],
    );
    let input = read_stdin(MAX_NOTICE_BYTES)?;
    let value = jcs::parse(&input)
        .map_err(|error| CommandError::bad_input(format!("invalid json: {error}")))?;
    let notice = proto_types::body::HolderNotice::decode(&value)
        .map_err(|error| CommandError::bad_input(format!("not a notice: {error}")))?;
    let (reasons, _) = rightsnet_node::claims::offline_checks(
        &value,
        &notice,
        Some(&trust),
        &now()?,
        max_age_hours,
        300,
    );
    let passed = reasons.iter().all(|reason| reason.ok);
    let mut out = std::io::stdout().lock();
    let written = if as_json {
        writeln!(
            out,
            "{}",
            json!({"passed": passed, "reasons": reasons, "not_checked": NOT_CHECKED})
        )
    } else {
        let mut text = String::new();
        for reason in &reasons {
            text.push_str(&format!(
                "{} {:<20} {}\n",
                if reason.ok { "ok  " } else { "FAIL" },
                reason.code,
                reason.message
            ));
        }
        text.push_str("\nnot checked without a registry (submit to the marketplace node for a full verdict):\n");
        for item in NOT_CHECKED {
            text.push_str(&format!("  - {item}\n"));
        }
        out.write_all(text.as_bytes())
    };
    written
        .map_err(|error| CommandError::failure(format!("cannot write standard output: {error}")))?;
    Ok(if passed { Exit::Ok } else { Exit::CheckFailed })
}
