//! `rightsnet credential`: an office issues credentials and changes their status (revoke,
//! suspend, reinstate); anyone lists the public credential log of a right or a holder key, or
//! shows one logged credential (protocol §6.10–6.11, §11.4). Exit codes as every client
//! command: 0 done, 2 refused by the node (4xx) or unusable input, 3 the node unreachable or
//! failing.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::client::{NodeArgs, NodeClient, cell, print_json, table};
use crate::{CommandError, CommandResult, Exit};

/// Percent-encodes a path segment (a credential id holds `:` and may hold `/`).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// What a status change asks.
#[derive(Debug, Args)]
pub struct StatusChangeArgs {
    /// The credential's `id` (`urn:rightsnet:credential:…`).
    credential_id: String,
    /// The reason code: unspecified, key_compromise, superseded, holder_request,
    /// right_changed, misissued, cessation, suspension_lifted (default: unspecified;
    /// suspension_lifted to reinstate).
    #[arg(long)]
    reason: Option<String>,
    /// A human explanation, written in the entry.
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    node: NodeArgs,
}

/// Credentials.
#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Issue an IPRightCredential for a right of this office to its holder's key (logged in the
    /// office's feed before it is given out).
    Issue {
        /// The right id.
        #[arg(long)]
        right: String,
        /// The holder's did:key (must be the registry's holder key).
        #[arg(long)]
        holder: String,
        /// Write the credential here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Revoke a credential this office logged (final).
    Revoke(StatusChangeArgs),
    /// Suspend a credential this office logged.
    Suspend(StatusChangeArgs),
    /// Reinstate a suspended credential.
    Reinstate(StatusChangeArgs),
    /// List the credential log of a right or a holder key (every credential ever logged).
    List {
        /// A right id.
        #[arg(long, conflicts_with = "holder", required_unless_present = "holder")]
        right: Option<String>,
        /// A holder's did:key.
        #[arg(long)]
        holder: Option<String>,
        /// Most credentials per page.
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after a previous page.
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Show one logged credential: its log entry, anchoring and status.
    Show {
        /// The credential's `id`.
        credential_id: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl CredentialCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            CredentialCommand::Issue {
                right,
                holder,
                out,
                node,
            } => issue(&right, &holder, out, &node),
            CredentialCommand::Revoke(args) => change_status(args, "revoke"),
            CredentialCommand::Suspend(args) => change_status(args, "suspend"),
            CredentialCommand::Reinstate(args) => change_status(args, "reinstate"),
            CredentialCommand::List {
                right,
                holder,
                limit,
                cursor,
                node,
            } => list(right, holder, limit, cursor, &node),
            CredentialCommand::Show {
                credential_id,
                node,
            } => show(&credential_id, &node),
        }
    }
}

fn issue(right: &str, holder: &str, out: Option<PathBuf>, node: &NodeArgs) -> CommandResult {
    let client = NodeClient::new(node)?;
    let credential = client
        .post(
            "/v1/credentials",
            &json!({"right_id": right, "holder": holder}),
            true,
        )?
        .ok()?;
    match out {
        Some(path) => {
            let text = serde_json::to_vec_pretty(&credential).map_err(CommandError::failure)?;
            std::fs::write(&path, text).map_err(|error| {
                CommandError::failure(format!("cannot write {}: {error}", path.display()))
            })?;
            if !client.json {
                println!("credential for {right} written to {}", path.display());
            }
            Ok(Exit::Ok)
        }
        None => print_json(&credential),
    }
}

fn change_status(args: StatusChangeArgs, action: &str) -> CommandResult {
    let client = NodeClient::new(&args.node)?;
    let mut body = Map::new();
    if let Some(code) = args.reason {
        body.insert("reason_code".to_owned(), json!(code));
    }
    if let Some(note) = args.note {
        body.insert("reason".to_owned(), json!(note));
    }
    let answer = client
        .post(
            &format!("/v1/credentials/{}/{action}", encode(&args.credential_id)),
            &Value::Object(body),
            true,
        )?
        .ok()?;
    if client.json {
        return print_json(&answer);
    }
    println!(
        "credential {} is {} (credential_status entry {})",
        args.credential_id,
        cell(&answer["status"]),
        cell(&answer["entry_id"])
    );
    Ok(Exit::Ok)
}

fn list(
    right: Option<String>,
    holder: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    node: &NodeArgs,
) -> CommandResult {
    let client = NodeClient::new(node)?;
    let mut query = match (right, holder) {
        (Some(right), None) => format!("right={}", encode(&right)),
        (None, Some(holder)) => format!("holder={}", encode(&holder)),
        _ => {
            return Err(CommandError::bad_input(
                "give exactly one of --right, --holder",
            ));
        }
    };
    if let Some(limit) = limit {
        query.push_str(&format!("&limit={limit}"));
    }
    if let Some(cursor) = cursor {
        query.push_str(&format!("&cursor={}", encode(&cursor)));
    }
    let page = client.get(&format!("/v1/credentials?{query}"))?.ok()?;
    if client.json {
        return print_json(&page);
    }
    let rows: Vec<Vec<String>> = page["credentials"]
        .as_array()
        .map(|credentials| {
            credentials
                .iter()
                .map(|logged| {
                    vec![
                        cell(&logged["credential_id"]),
                        cell(&logged["right_id"]),
                        cell(&logged["subject"]),
                        cell(&logged["issuer"]),
                        cell(&logged["valid_until"]),
                        status_cell(logged),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print!(
        "{}",
        table(
            &[
                "credential",
                "right",
                "holder",
                "issuer",
                "valid until",
                "status"
            ],
            &rows
        )
    );
    if let Some(cursor) = page["next_cursor"].as_str() {
        println!("more: --cursor {cursor}");
    }
    Ok(Exit::Ok)
}

/// The status, with what else a monitor must notice (an ineffective or unanchored log entry).
fn status_cell(logged: &Value) -> String {
    let mut status = cell(&logged["status"]);
    if logged["effective"] == false {
        status.push_str(", log entry ineffective");
    }
    if logged["anchored"] == false {
        status.push_str(", not anchored before its key's rotation");
    }
    status
}

fn show(credential_id: &str, node: &NodeArgs) -> CommandResult {
    let client = NodeClient::new(node)?;
    let logged = client
        .get(&format!("/v1/credentials/{}", encode(credential_id)))?
        .ok()?;
    if client.json {
        return print_json(&logged);
    }
    for (label, field) in [
        ("credential", "credential_id"),
        ("right", "right_id"),
        ("holder", "subject"),
        ("issuer", "issuer"),
        ("authority", "authority"),
        ("log entry", "entry_id"),
        ("seq", "seq"),
        ("status index", "status_index"),
        ("valid from", "valid_from"),
        ("valid until", "valid_until"),
        ("digest", "digest"),
        ("status entry", "status_entry"),
        ("reason code", "status_reason_code"),
    ] {
        println!("{label:<13} {}", cell(&logged[field]));
    }
    println!("{:<13} {}", "status", status_cell(&logged));
    Ok(Exit::Ok)
}
