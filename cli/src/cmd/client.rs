//! Client commands: every flow of a node's API from the command line. Human output by
//! default, the node's JSON with `--json`; exit 0 on success, 1 when a check fails (a notice
//! rejected), 2 when the node refuses the request (4xx) or the input is unusable, 3 when the
//! node cannot be reached or fails (5xx).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::{NodeArgs, NodeClient, cell, print_json, table};
use crate::{CommandError, CommandResult, Exit};

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn read_json_file(path: &std::path::Path) -> Result<Value, CommandError> {
    let bytes = super::read_file(path, 1024 * 1024)?;
    proto_types::jcs::parse(&bytes)
        .map_err(|error| CommandError::bad_input(format!("{}: {error}", path.display())))
}

fn outcome_line(body: &Value) -> String {
    match body["outcome"].as_str() {
        Some("stored") => format!(
            "stored entry {} (seq {})",
            cell(&body["id"]),
            cell(&body["seq"])
        ),
        Some("unchanged") => format!(
            "unchanged: the node already holds this (entry {})",
            cell(&body["last_entry"])
        ),
        Some(other) => format!("{other}: {body}"),
        None => body.to_string(),
    }
}

/// `rightsnet status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    node: NodeArgs,
}

impl StatusArgs {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let client = NodeClient::new(&self.node)?;
        let status = client.get("/v1/status")?.ok()?;
        if client.json {
            return print_json(&status);
        }
        println!("authority  {}", cell(&status["authority"]));
        println!("name       {}", cell(&status["name"]));
        println!("peer id    {}", cell(&status["peer_id"]));
        println!("peers      {}", cell(&status["peer_count"]));
        println!("entries    {}", cell(&status["entry_count"]));
        let rows: Vec<Vec<String>> = status["feeds"]
            .as_array()
            .map(|feeds| {
                feeds
                    .iter()
                    .map(|feed| {
                        vec![
                            cell(&feed["name"]),
                            cell(&feed["seq"]),
                            cell(&feed["author"]),
                            cell(&feed["id"]),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        print!("\n{}", table(&["feed", "seq", "author", "head"], &rows));
        Ok(Exit::Ok)
    }
}

/// Rights: register, read, search, change.
#[derive(Debug, Subcommand)]
pub enum RightCommand {
    /// Register a right as this node's office (from flags, or a JSON file with --file).
    Register(Box<RegisterArgs>),
    /// Show a right: state, liveness today, history.
    Get {
        /// The right id, e.g. FR-TM-4123456.
        id: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Search rights.
    Search(SearchArgs),
    /// Record a status change: renewed, assigned, cancelled, expired, restored.
    Status(StatusChangeArgs),
}

/// Flags of `right register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// A JSON file with the registration (fields as POST /v1/registrations takes them);
    /// replaces the other flags.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Jurisdiction, e.g. FR, CN, EM.
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Registration (or application) number.
    #[arg(long)]
    number: Option<String>,
    /// trademark, design, patent or copyright.
    #[arg(long, default_value = "trademark")]
    right_type: String,
    /// The mark's verbal element.
    #[arg(long)]
    mark: Option<String>,
    /// Title (designs, patents, works).
    #[arg(long)]
    title: Option<String>,
    /// A Nice class; repeat for several.
    #[arg(long = "class")]
    classes: Vec<u8>,
    /// Holder name.
    #[arg(long)]
    holder_name: Option<String>,
    /// Holder country (ISO 3166-1 alpha-2).
    #[arg(long)]
    holder_country: Option<String>,
    /// Holder key (did:key), needed to issue credentials to the holder.
    #[arg(long)]
    holder_key: Option<String>,
    /// Filing date YYYY-MM-DD.
    #[arg(long)]
    filing_date: Option<String>,
    /// Registration date.
    #[arg(long)]
    registration_date: Option<String>,
    /// Expiry date.
    #[arg(long)]
    expiry_date: Option<String>,
    /// filed, registered, expired, cancelled.
    #[arg(long, default_value = "registered")]
    status: String,
    #[command(flatten)]
    node: NodeArgs,
}

/// Flags of `right search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Mark text: every word must match a word of the mark, the last one as a prefix.
    #[arg(long)]
    mark: Option<String>,
    /// The whole folded mark must equal --mark.
    #[arg(long)]
    exact: bool,
    /// Nice class.
    #[arg(long)]
    class: Option<u8>,
    /// Jurisdiction.
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Holder did:key or name prefix.
    #[arg(long)]
    holder: Option<String>,
    /// Page size.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Continue after a previous page.
    #[arg(long)]
    cursor: Option<String>,
    #[command(flatten)]
    node: NodeArgs,
}

/// Flags of `right status`.
#[derive(Debug, Args)]
pub struct StatusChangeArgs {
    /// The right id.
    id: String,
    /// renewed, assigned, cancelled, expired, restored.
    #[arg(long)]
    change: String,
    /// When the change takes effect, YYYY-MM-DD.
    #[arg(long)]
    effective_date: String,
    /// New expiry date (renewed, restored).
    #[arg(long)]
    new_expiry_date: Option<String>,
    /// New holder name (assigned).
    #[arg(long)]
    new_holder_name: Option<String>,
    /// New holder country (assigned).
    #[arg(long)]
    new_holder_country: Option<String>,
    /// New holder key (assigned).
    #[arg(long)]
    new_holder_key: Option<String>,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    node: NodeArgs,
}

fn insert_some(object: &mut serde_json::Map<String, Value>, name: &str, value: &Option<String>) {
    if let Some(value) = value {
        object.insert(name.to_owned(), json!(value));
    }
}

impl RightCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            RightCommand::Register(args) => register(*args),
            RightCommand::Get { id, node } => {
                let client = NodeClient::new(&node)?;
                let right = client.get(&format!("/v1/rights/{}", encode(&id)))?.ok()?;
                if client.json {
                    return print_json(&right);
                }
                for (label, key) in [
                    ("right", "right_id"),
                    ("mark", "mark_text"),
                    ("title", "title"),
                    ("status", "status"),
                    ("expiry", "expiry_date"),
                    ("classes", "nice_classes"),
                    ("registered by", "registered_by"),
                ] {
                    println!("{label:<14}{}", cell(&right[key]));
                }
                println!(
                    "{:<14}{} ({})",
                    "holder",
                    cell(&right["holder"]["name"]),
                    cell(&right["holder"]["country"])
                );
                println!("{:<14}{}", "liveness", cell(&right["liveness"]["state"]));
                let rows: Vec<Vec<String>> = right["history"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|item| {
                                vec![
                                    cell(&item["change"]),
                                    cell(&item["effective_date"]),
                                    cell(&item["entry_id"]),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                print!("\n{}", table(&["change", "effective", "entry"], &rows));
                Ok(Exit::Ok)
            }
            RightCommand::Search(args) => search(args),
            RightCommand::Status(args) => change_status(args),
        }
    }
}

fn register(args: RegisterArgs) -> CommandResult {
    let client = NodeClient::new(&args.node)?;
    let body = match &args.file {
        Some(path) => read_json_file(path)?,
        None => {
            let required = |value: &Option<String>, flag: &str| {
                value.clone().ok_or_else(|| {
                    CommandError::bad_input(format!("{flag} is required (or give --file)"))
                })
            };
            let mut holder = serde_json::Map::new();
            holder.insert(
                "name".to_owned(),
                json!(required(&args.holder_name, "--holder-name")?),
            );
            holder.insert(
                "country".to_owned(),
                json!(required(&args.holder_country, "--holder-country")?),
            );
            insert_some(&mut holder, "key", &args.holder_key);
            let mut body = serde_json::Map::new();
            body.insert("right_type".to_owned(), json!(args.right_type));
            body.insert(
                "jurisdiction".to_owned(),
                json!(required(&args.jurisdiction, "--jurisdiction")?),
            );
            body.insert(
                "number".to_owned(),
                json!(required(&args.number, "--number")?),
            );
            insert_some(&mut body, "mark_text", &args.mark);
            insert_some(&mut body, "title", &args.title);
            if !args.classes.is_empty() {
                body.insert("nice_classes".to_owned(), json!(args.classes));
            }
            body.insert("holder".to_owned(), Value::Object(holder));
            body.insert(
                "filing_date".to_owned(),
                json!(required(&args.filing_date, "--filing-date")?),
            );
            insert_some(&mut body, "registration_date", &args.registration_date);
            insert_some(&mut body, "expiry_date", &args.expiry_date);
            body.insert("status".to_owned(), json!(args.status));
            Value::Object(body)
        }
    };
    let answer = client.post("/v1/registrations", &body, true)?.ok()?;
    if client.json {
        return print_json(&answer);
    }
    println!("{}", outcome_line(&answer));
    Ok(Exit::Ok)
}

fn search(args: SearchArgs) -> CommandResult {
    let client = NodeClient::new(&args.node)?;
    let mut query = vec![format!("limit={}", args.limit)];
    for (name, value) in [
        ("mark", &args.mark),
        ("jurisdiction", &args.jurisdiction),
        ("holder", &args.holder),
        ("cursor", &args.cursor),
    ] {
        if let Some(value) = value {
            query.push(format!("{name}={}", encode(value)));
        }
    }
    if args.exact {
        query.push("exact=true".to_owned());
    }
    if let Some(class) = args.class {
        query.push(format!("class={class}"));
    }
    let page = client
        .get(&format!("/v1/rights?{}", query.join("&")))?
        .ok()?;
    if client.json {
        return print_json(&page);
    }
    let rows: Vec<Vec<String>> = page["rights"]
        .as_array()
        .map(|rights| {
            rights
                .iter()
                .map(|right| {
                    vec![
                        cell(&right["right_id"]),
                        cell(&right["mark_text"]),
                        cell(&right["nice_classes"]),
                        cell(&right["holder"]["name"]),
                        cell(&right["liveness"]["state"]),
                        cell(&right["match"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    print!(
        "{}",
        table(
            &["right", "mark", "classes", "holder", "liveness", "match"],
            &rows
        )
    );
    if let Some(value) = page["total"]["value"].as_u64() {
        let bound = if page["total"]["relation"] == "gte" {
            "at least "
        } else {
            ""
        };
        println!("found: {bound}{value}");
    }
    if let Some(cursor) = page["next_cursor"].as_str() {
        println!("more: --cursor {cursor}");
    }
    Ok(Exit::Ok)
}

fn change_status(args: StatusChangeArgs) -> CommandResult {
    let client = NodeClient::new(&args.node)?;
    let mut body = serde_json::Map::new();
    body.insert("change".to_owned(), json!(args.change));
    body.insert("effective_date".to_owned(), json!(args.effective_date));
    insert_some(&mut body, "new_expiry_date", &args.new_expiry_date);
    insert_some(&mut body, "reason", &args.reason);
    if let Some(name) = &args.new_holder_name {
        let mut holder = serde_json::Map::new();
        holder.insert("name".to_owned(), json!(name));
        insert_some(&mut holder, "country", &args.new_holder_country);
        insert_some(&mut holder, "key", &args.new_holder_key);
        body.insert("new_holder".to_owned(), Value::Object(holder));
    }
    let answer = client
        .post(
            &format!("/v1/rights/{}/status", encode(&args.id)),
            &Value::Object(body),
            true,
        )?
        .ok()?;
    if client.json {
        return print_json(&answer);
    }
    println!("{}", outcome_line(&answer));
    Ok(Exit::Ok)
}

/// Submits a notice to a marketplace node: the full verdict, recorded when accepted.
pub fn submit_notice(file: &std::path::Path, dry_run: bool, node: &NodeArgs) -> CommandResult {
    let client = NodeClient::new(node)?;
    let notice = read_json_file(file)?;
    let path = if dry_run { "/v1/verify" } else { "/v1/notices" };
    let answer = client.post(path, &notice, false)?;
    let verdict = answer.body["verdict"].clone();
    // A rejection carries the verdict: it is a result (exit 1), not an error of the request.
    let rejected = answer.status == 422 && answer.body["code"] == "notice_rejected";
    let body = if rejected { answer.body } else { answer.ok()? };
    if client.json {
        print_json(&body)?;
    } else {
        for reason in verdict["reasons"].as_array().cloned().unwrap_or_default() {
            let entry = reason["entry_id"]
                .as_str()
                .map(|id| format!(" [entry {id}]"))
                .unwrap_or_default();
            println!(
                "{} {:<20} {}{entry}",
                if reason["ok"] == true { "ok  " } else { "FAIL" },
                cell(&reason["code"]),
                cell(&reason["message"])
            );
        }
        let accepted = verdict["accepted"] == true;
        match (accepted, body["notice_id"].as_str()) {
            (true, Some(id)) => println!("\naccepted and recorded as notice {id}"),
            (true, None) => println!("\nwould be accepted"),
            (false, _) => println!("\nrejected"),
        }
    }
    Ok(if verdict["accepted"] == true {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// Decisions.
#[derive(Debug, Subcommand)]
pub enum DecisionCommand {
    /// Record a takedown decision for a notice recorded by this marketplace.
    Record {
        /// The notice's entry id.
        #[arg(long)]
        notice: String,
        /// removed, rejected or restored.
        #[arg(long)]
        outcome: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The marketplace's own seller id; only its keyed hash leaves the node.
        #[arg(long)]
        seller_id: String,
        /// Listing ids (default: the notice's).
        #[arg(long = "listing")]
        listings: Vec<String>,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl DecisionCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let DecisionCommand::Record {
            notice,
            outcome,
            reason,
            seller_id,
            listings,
            node,
        } = self;
        let client = NodeClient::new(&node)?;
        let mut body = json!({"notice_id": notice, "outcome": outcome, "reason": reason, "seller_id": seller_id});
        if !listings.is_empty() {
            body["listing_ids"] = json!(listings);
        }
        let answer = client.post("/v1/decisions", &body, true)?.ok()?;
        if client.json {
            return print_json(&answer);
        }
        println!("{}", outcome_line(&answer));
        Ok(Exit::Ok)
    }
}

/// Counter-notices.
#[derive(Debug, Subcommand)]
pub enum CounterNoticeCommand {
    /// Record a seller's counter-notice against a removal.
    Record {
        /// The removal decision's entry id.
        #[arg(long)]
        decision: String,
        /// The seller's statement.
        #[arg(long)]
        statement: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl CounterNoticeCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let CounterNoticeCommand::Record {
            decision,
            statement,
            node,
        } = self;
        let client = NodeClient::new(&node)?;
        let answer = client
            .post(
                "/v1/counter-notices",
                &json!({"decision_id": decision, "statement": statement}),
                true,
            )?
            .ok()?;
        if client.json {
            return print_json(&answer);
        }
        println!("{}", outcome_line(&answer));
        Ok(Exit::Ok)
    }
}

/// Holders.
#[derive(Debug, Subcommand)]
pub enum HolderCommand {
    /// A holder's notice accuracy and whether it meets the marketplace's good-faith policy.
    Accuracy {
        /// The holder's did:key.
        did: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl HolderCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let HolderCommand::Accuracy { did, node } = self;
        let client = NodeClient::new(&node)?;
        let view = client
            .get(&format!("/v1/holders/{}/accuracy", encode(&did)))?
            .ok()?;
        if client.json {
            return print_json(&view);
        }
        for key in [
            "filed",
            "removed",
            "rejected",
            "reversed_after_counter_notice",
            "pending",
            "success_ratio",
            "reversal_ratio",
            "meets_good_faith_policy",
        ] {
            println!("{key:<32}{}", cell(&view[key]));
        }
        for reason in view["reasons"].as_array().cloned().unwrap_or_default() {
            println!("  - {}", cell(&reason));
        }
        Ok(Exit::Ok)
    }
}

/// Sellers.
#[derive(Debug, Subcommand)]
pub enum SellerCommand {
    /// A seller reference's active strike points and sanction, with the reasons.
    Strikes {
        /// The seller reference (64 hex characters).
        seller_ref: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl SellerCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let SellerCommand::Strikes { seller_ref, node } = self;
        let client = NodeClient::new(&node)?;
        let view = client
            .get(&format!("/v1/sellers/{}/strikes", encode(&seller_ref)))?
            .ok()?;
        if client.json {
            return print_json(&view);
        }
        println!("{}", cell(&view["explanation"]));
        let rows: Vec<Vec<String>> = view["strikes"]
            .as_array()
            .map(|strikes| {
                strikes
                    .iter()
                    .map(|s| {
                        vec![
                            cell(&s["points"]),
                            cell(&s["active"]),
                            cell(&s["reason"]),
                            cell(&s["expires_at"]),
                            cell(&s["decision_id"]),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        print!(
            "{}",
            table(
                &["points", "active", "reason", "expires", "decision"],
                &rows
            )
        );
        Ok(Exit::Ok)
    }
}

/// `rightsnet claims`.
#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// Listing id.
    #[arg(long)]
    listing: Option<String>,
    /// Holder did:key.
    #[arg(long)]
    holder: Option<String>,
    /// Seller reference.
    #[arg(long)]
    seller_ref: Option<String>,
    /// Notice entry id: its decisions and counter-notices.
    #[arg(long)]
    notice: Option<String>,
    /// Right id.
    #[arg(long)]
    right: Option<String>,
    #[command(flatten)]
    node: NodeArgs,
}

impl ClaimsArgs {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let client = NodeClient::new(&self.node)?;
        let filters: Vec<String> = [
            ("listing", &self.listing),
            ("holder", &self.holder),
            ("seller_ref", &self.seller_ref),
            ("notice", &self.notice),
            ("right", &self.right),
        ]
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={}", encode(v))))
        .collect();
        let answer = client
            .get(&format!("/v1/claims?{}", filters.join("&")))?
            .ok()?;
        if client.json {
            return print_json(&answer);
        }
        let rows: Vec<Vec<String>> = answer["claims"]
            .as_array()
            .map(|claims| {
                claims
                    .iter()
                    .map(|c| {
                        vec![
                            cell(&c["kind"]),
                            cell(&c["entry"]["timestamp"]),
                            cell(&c["id"]),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        print!("{}", table(&["kind", "time", "entry"], &rows));
        Ok(Exit::Ok)
    }
}

/// Peers (operator).
#[derive(Debug, Subcommand)]
pub enum PeersCommand {
    /// List known peers.
    List {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Block a peer.
    Block {
        /// The peer id.
        peer_id: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Unblock a peer.
    Unblock {
        /// The peer id.
        peer_id: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

impl PeersCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            PeersCommand::List { node } => {
                let client = NodeClient::new(&node)?;
                let answer = client.get_operator("/v1/peers")?.ok()?;
                if client.json {
                    return print_json(&answer);
                }
                let rows: Vec<Vec<String>> = answer["peers"]
                    .as_array()
                    .map(|peers| {
                        peers
                            .iter()
                            .map(|p| {
                                vec![
                                    cell(&p["peer_id"]),
                                    cell(&p["connected"]),
                                    cell(&p["blocked"]),
                                    cell(&p["score"]),
                                ]
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                print!(
                    "{}",
                    table(&["peer", "connected", "blocked", "score"], &rows)
                );
                Ok(Exit::Ok)
            }
            PeersCommand::Block { peer_id, node } => block(&peer_id, &node, "block"),
            PeersCommand::Unblock { peer_id, node } => block(&peer_id, &node, "unblock"),
        }
    }
}

fn block(peer_id: &str, node: &NodeArgs, action: &str) -> CommandResult {
    let client = NodeClient::new(node)?;
    let answer = client
        .post_empty(&format!("/v1/peers/{}/{action}", encode(peer_id)), true)?
        .ok()?;
    if client.json {
        return print_json(&answer);
    }
    println!(
        "{peer_id}: {}",
        if answer["blocked"] == true {
            "blocked"
        } else {
            "unblocked"
        }
    );
    Ok(Exit::Ok)
}
