//! `rightsnet key …`: generate Multikey key files; rotate a running node's key.

use std::io::Write;
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use proto_types::keys::{KeyFile, SecretKey};
use serde_json::{Value, json};

use crate::client::{NodeArgs, NodeClient, print_json};
use crate::{CommandError, CommandResult, Exit};

/// Largest key file `key rotate --new-key` reads, in bytes.
const MAX_NEW_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Why a node's key rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotationReason {
    /// A scheduled rotation: nothing of the old key is distrusted.
    Routine,
    /// The old key leaked: its entries from `--compromised-since` on lose their effect.
    Compromise,
}

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate an Ed25519 key, write it as a Multikey JSON file, print its did:key.
    Gen {
        /// Where to write the key file (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Rotate a running node's key (protocol §6.9.2): the node signs a key_rotation entry with
    /// its current key, commits it, then signs with the new key. Prints the rotation entry id
    /// and both keys.
    Rotate {
        /// The new key's Multikey file (`rightsnet key gen`); without it the node generates one.
        #[arg(long)]
        new_key: Option<PathBuf>,
        /// `routine`, or `compromise` when the current key leaked.
        #[arg(long, value_enum, default_value = "routine")]
        reason: RotationReason,
        /// For a compromise: the first seq of the current key's feed that must no longer be
        /// trusted (required with `--reason compromise`).
        #[arg(long)]
        compromised_since: Option<u64>,
        /// The rotation entry's reason text.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl KeyCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            KeyCommand::Gen { out } => generate(&out),
            KeyCommand::Rotate {
                new_key,
                reason,
                compromised_since,
                note,
                node,
            } => rotate(new_key.as_deref(), reason, compromised_since, note, &node),
        }
    }
}

fn rotate(
    new_key: Option<&std::path::Path>,
    reason: RotationReason,
    compromised_since: Option<u64>,
    note: Option<String>,
    node: &NodeArgs,
) -> CommandResult {
    match (reason, compromised_since) {
        (RotationReason::Compromise, None) => {
            return Err(CommandError::bad_input(
                "--reason compromise needs --compromised-since SEQ (the first seq of the leaked key that must not be trusted)",
            ));
        }
        (RotationReason::Routine, Some(_)) => {
            return Err(CommandError::bad_input(
                "--compromised-since is only for --reason compromise",
            ));
        }
        (_, Some(0)) => {
            return Err(CommandError::bad_input("--compromised-since starts at 1"));
        }
        _ => {}
    }
    let mut body = json!({
        "reason": match reason {
            RotationReason::Routine => "routine",
            RotationReason::Compromise => "compromise",
        },
    });
    if let Some(since) = compromised_since {
        body["compromised_since"] = json!(since);
    }
    if let Some(note) = note {
        body["note"] = json!(note);
    }
    if let Some(path) = new_key {
        body["new_key"] = read_key_file(path)?;
    }
    let client = NodeClient::new(node)?;
    let answer = client.post("/v1/keys/rotate", &body, true)?.ok()?;
    if client.json {
        return print_json(&answer);
    }
    println!(
        "rotated: key_rotation entry {} (seq {} of the old key's feed)",
        text(&answer["rotation_entry"]),
        text(&answer["seq"])
    );
    println!("old key: {}", text(&answer["old_key"]));
    println!("new key: {}", text(&answer["new_key"]));
    if let Some(since) = answer["compromised_since"].as_u64() {
        println!("entries of the old key from seq {since} on no longer count");
    }
    Ok(Exit::Ok)
}

/// A JSON value as plain text (strings without quotes).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Reads and checks a Multikey key file; its JSON goes to the node.
fn read_key_file(path: &std::path::Path) -> Result<Value, CommandError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_NEW_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))?;
    if bytes.len() as u64 > MAX_NEW_KEY_FILE_BYTES {
        return Err(CommandError::bad_input(format!(
            "{}: larger than {MAX_NEW_KEY_FILE_BYTES} bytes",
            path.display()
        )));
    }
    KeyFile::parse(&bytes)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))
}

fn generate(out: &std::path::Path) -> CommandResult {
    let secret = SecretKey::generate();
    let json = KeyFile::from_secret(&secret).to_json();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(out).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            CommandError::bad_input(format!(
                "{} already exists; refusing to overwrite a key",
                out.display()
            ))
        } else {
            CommandError::failure(format!("cannot create {}: {error}", out.display()))
        }
    })?;
    file.write_all(json.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            CommandError::failure(format!("cannot write {}: {error}", out.display()))
        })?;
    println!("{}", secret.public_key().to_did_key());
    Ok(Exit::Ok)
}
