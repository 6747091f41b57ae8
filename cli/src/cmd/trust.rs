//! `rightsnet trust`: the trust store of a running node (protocol.md §13), changed without a
//! restart, and endorsements of new authorities (§6.8.1). `list` is public; every other
//! command needs the operator token. Human output by default, the node's JSON with `--json`;
//! exit 0 on success, 2 when the node refuses (a duplicate, an authority it does not list,
//! invalid fields) or the input is unusable, 3 when the node cannot be reached or fails.

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{NodeArgs, NodeClient, cell, print_json, table};
use crate::{CommandError, CommandResult, Exit};

/// An authority's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// An intellectual-property office: registers rights and issues credentials.
    Office,
    /// A marketplace: receives notices and records decisions.
    Marketplace,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Office => "office",
            Role::Marketplace => "marketplace",
        }
    }
}

/// An authority as a trust store lists it (or as an office endorses it).
#[derive(Debug, Args)]
pub struct AuthorityArgs {
    /// Its name, one line.
    #[arg(long)]
    name: String,
    /// Office or marketplace.
    #[arg(long, value_enum)]
    role: Role,
    /// Jurisdiction codes, comma-separated or repeated (an office needs at least one).
    #[arg(
        long = "jurisdictions",
        alias = "jurisdiction",
        value_delimiter = ',',
        value_name = "CODES"
    )]
    jurisdictions: Vec<String>,
}

/// `rightsnet trust …`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Every authority the node trusts, and why (trust store or endorsement). Public.
    List {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Add an authority to the node's trust store; in effect at once, no restart.
    Add {
        /// The authority's did:key.
        did: String,
        #[command(flatten)]
        authority: AuthorityArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Remove an authority from the node's trust store (its stored entries stay).
    Remove {
        /// The authority's did:key.
        did: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Replace the jurisdictions of an authority of the trust store.
    SetJurisdictions {
        /// The authority's did:key.
        did: String,
        /// Jurisdiction codes, comma-separated or repeated.
        #[arg(
            long = "jurisdictions",
            alias = "jurisdiction",
            value_delimiter = ',',
            value_name = "CODES",
            required = true
        )]
        jurisdictions: Vec<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// As this office, endorse another authority (an `authority` v2 entry in its feed), or
    /// withdraw the endorsement with `--withdraw`.
    Endorse {
        /// The endorsed authority's did:key.
        subject: String,
        #[command(flatten)]
        authority: AuthorityArgs,
        /// How to reach the endorsed authority.
        #[arg(long)]
        contact: Option<String>,
        /// Withdraw this office's endorsement of the subject.
        #[arg(long)]
        withdraw: bool,
        #[command(flatten)]
        node: NodeArgs,
    },
}

fn encode(did: &str) -> Result<&str, CommandError> {
    // A did:key is base58 after its prefix: nothing in it needs percent-encoding, and anything
    // else is not a did:key.
    if did.is_empty()
        || did.len() > 256
        || !did
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b':')
    {
        return Err(CommandError::bad_input(format!("{did:?} is not a did:key")));
    }
    Ok(did)
}

fn print_change(answer: &Value) {
    let authority = &answer["authority"];
    println!(
        "{} {} ({}, {}{})",
        cell(&answer["change"]),
        cell(&authority["did"]),
        cell(&authority["name"]),
        cell(&authority["role"]),
        authority["jurisdictions"]
            .as_array()
            .filter(|list| !list.is_empty())
            .map(|list| format!(", {}", list.iter().map(cell).collect::<Vec<_>>().join(",")))
            .unwrap_or_default()
    );
    println!(
        "the trust store lists {} authorities",
        cell(&answer["store_size"])
    );
}

impl TrustCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            TrustCommand::List { node } => list(&node),
            TrustCommand::Add {
                did,
                authority,
                node,
            } => {
                let client = NodeClient::new(&node)?;
                let body = json!({
                    "did": did,
                    "name": authority.name,
                    "role": authority.role.as_str(),
                    "jurisdictions": authority.jurisdictions,
                });
                let answer = client.post("/v1/trust", &body, true)?.ok()?;
                if client.json {
                    return print_json(&answer);
                }
                print_change(&answer);
                Ok(Exit::Ok)
            }
            TrustCommand::Remove { did, node } => {
                let client = NodeClient::new(&node)?;
                let path = format!("/v1/trust/{}", encode(&did)?);
                let answer = client.send_operator(Method::DELETE, &path, None)?.ok()?;
                if client.json {
                    return print_json(&answer);
                }
                print_change(&answer);
                Ok(Exit::Ok)
            }
            TrustCommand::SetJurisdictions {
                did,
                jurisdictions,
                node,
            } => {
                let client = NodeClient::new(&node)?;
                let path = format!("/v1/trust/{}/jurisdictions", encode(&did)?);
                let body = json!({"jurisdictions": jurisdictions});
                let answer = client
                    .send_operator(Method::PUT, &path, Some(&body))?
                    .ok()?;
                if client.json {
                    return print_json(&answer);
                }
                print_change(&answer);
                Ok(Exit::Ok)
            }
            TrustCommand::Endorse {
                subject,
                authority,
                contact,
                withdraw,
                node,
            } => {
                let client = NodeClient::new(&node)?;
                let mut body = json!({
                    "subject": subject,
                    "name": authority.name,
                    "role": authority.role.as_str(),
                    "jurisdictions": authority.jurisdictions,
                });
                if let Some(contact) = contact {
                    body["contact"] = Value::from(contact);
                }
                if withdraw {
                    body["withdrawn"] = Value::from(true);
                }
                let answer = client.post("/v1/trust/endorsements", &body, true)?.ok()?;
                if client.json {
                    return print_json(&answer);
                }
                println!(
                    "{} {subject}: entry {} (seq {})",
                    if withdraw {
                        "withdrew the endorsement of"
                    } else {
                        "endorsed"
                    },
                    cell(&answer["entry_id"]),
                    cell(&answer["seq"])
                );
                if let Some(reason) = answer["ineffective"].as_str() {
                    println!("ineffective on this node: {reason}");
                }
                Ok(Exit::Ok)
            }
        }
    }
}

fn list(node: &NodeArgs) -> CommandResult {
    let client = NodeClient::new(node)?;
    let answer = client.get("/v1/trust")?.ok()?;
    if client.json {
        return print_json(&answer);
    }
    println!(
        "store read from {}; endorsement threshold {}",
        cell(&answer["store_source"]),
        match answer["endorsement_threshold"].as_u64() {
            Some(0) | None => "off".to_owned(),
            Some(k) => k.to_string(),
        }
    );
    let rows: Vec<Vec<String>> = answer["authorities"]
        .as_array()
        .map(|authorities| {
            authorities
                .iter()
                .map(|authority| {
                    let justification = authority["justification"]
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .map(|item| {
                                    format!(
                                        "{}: {}",
                                        item["jurisdiction"].as_str().unwrap_or("marketplace"),
                                        item["endorsements"]
                                            .as_array()
                                            .map(|list| list
                                                .iter()
                                                .map(|e| cell(&e["entry_id"]))
                                                .collect::<Vec<_>>()
                                                .join(","))
                                            .unwrap_or_default()
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .unwrap_or_default();
                    vec![
                        cell(&authority["name"]),
                        cell(&authority["role"]),
                        authority["jurisdictions"]
                            .as_array()
                            .map(|list| list.iter().map(cell).collect::<Vec<_>>().join(","))
                            .unwrap_or_default(),
                        cell(&authority["source"]),
                        cell(&authority["did"]),
                        justification,
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print!(
        "{}",
        table(
            &[
                "name",
                "role",
                "jurisdictions",
                "source",
                "did",
                "endorsements"
            ],
            &rows
        )
    );
    Ok(Exit::Ok)
}
