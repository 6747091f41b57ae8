//! `rightsnet screen`: stream a file of marketplace listings (CSV or JSON lines, any size)
//! through a node's `POST /v1/screen`, one batch at a time, and print one line per listing.
//!
//! Exit codes (for scripts): 0 when no listing matched a mark, 1 when any did, 2 on bad input
//! (a record that cannot be a listing stops the run at its line, after the lines before it
//! were printed), 3 when the node cannot be reached or fails.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

use crate::client::{NodeArgs, NodeClient};
use crate::{CommandError, CommandResult, Exit};

/// Longest line of a JSON-lines file, and longest CSV record, in bytes.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Longest title, in characters (the node's bound).
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest description, in characters (the node's bound).
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Longest listing id, in characters.
pub const MAX_ID_CHARS: usize = 200;

/// Listing file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListingFormat {
    /// CSV with a header row: `id`, `title`, and optionally `description`, `class`,
    /// `jurisdictions` (codes separated by spaces or semicolons).
    Csv,
    /// One JSON object per line: `{"id", "title", "description"?, "class"?, "jurisdictions"?}`.
    Jsonl,
}

/// Flags of `rightsnet screen`.
#[derive(Debug, Args)]
pub struct ScreenArgs {
    /// The listings: CSV (`.csv`) or JSON lines (`.jsonl`, `.ndjson`).
    #[arg(long)]
    file: PathBuf,
    /// The file's format [default: from the file's extension].
    #[arg(long, value_enum)]
    format: Option<ListingFormat>,
    /// The Nice class of listings that do not give their own.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=45))]
    class: Option<u8>,
    /// Listings per request (1–1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch: u16,
    /// Most matches reported per listing (1–100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100))]
    limit: u8,
    #[command(flatten)]
    node: NodeArgs,
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.bar.inc(read as u64);
        Ok(read)
    }
}

/// What was screened so far.
#[derive(Debug, Default)]
struct Summary {
    listings: u64,
    matched: u64,
    with_indicators: u64,
}

impl ScreenArgs {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let client = NodeClient::new(&self.node)?;
        let format = match self.format {
            Some(format) => format,
            None => match self
                .file
                .extension()
                .and_then(|extension| extension.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("csv") => ListingFormat::Csv,
                Some("jsonl" | "ndjson") => ListingFormat::Jsonl,
                _ => {
                    return Err(CommandError::bad_input(format!(
                        "{}: say --format csv or --format jsonl (the extension does not tell)",
                        self.file.display()
                    )));
                }
            },
        };
        let file = File::open(&self.file).map_err(|error| {
            CommandError::bad_input(format!("cannot open {}: {error}", self.file.display()))
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = indicatif::ProgressBar::new(size);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg} ({per_sec}, ETA {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let reader = BufReader::with_capacity(
            256 * 1024,
            Counting {
                inner: file,
                bar: bar.clone(),
            },
        );
        let mut summary = Summary::default();
        let mut batch: Vec<Value> = Vec::with_capacity(usize::from(self.batch));
        let mut out = std::io::stdout().lock();
        let mut flush =
            |batch: &mut Vec<Value>, summary: &mut Summary| -> Result<(), CommandError> {
                if batch.is_empty() {
                    return Ok(());
                }
                let results = self.send(&client, batch)?;
                for result in &results {
                    summary.listings += 1;
                    let matches = result["matches"].as_array().map_or(0, Vec::len);
                    if matches > 0 {
                        summary.matched += 1;
                    }
                    if result["indicators"]
                        .as_array()
                        .is_some_and(|i| !i.is_empty())
                    {
                        summary.with_indicators += 1;
                    }
                    let line = if self.node.json {
                        result.to_string()
                    } else {
                        row(result)
                    };
                    bar.suspend(|| writeln!(out, "{line}")).map_err(|error| {
                        CommandError::failure(format!("writing the results: {error}"))
                    })?;
                }
                bar.set_message(format!(
                    "{} listings, {} matched",
                    summary.listings, summary.matched
                ));
                batch.clear();
                Ok(())
            };
        let outcome = match format {
            ListingFormat::Jsonl => self.read_jsonl(reader, &mut |listing| {
                batch.push(listing);
                if batch.len() == usize::from(self.batch) {
                    flush(&mut batch, &mut summary)?;
                }
                Ok(())
            }),
            ListingFormat::Csv => self.read_csv(reader, &mut |listing| {
                batch.push(listing);
                if batch.len() == usize::from(self.batch) {
                    flush(&mut batch, &mut summary)?;
                }
                Ok(())
            }),
        };
        // What was read before a bad record is still screened and printed.
        let flushed = flush(&mut batch, &mut summary);
        bar.finish_and_clear();
        outcome?;
        flushed?;
        eprintln!(
            "{} listings screened: {} matched a registered mark, {} carry counterfeit indicators",
            summary.listings, summary.matched, summary.with_indicators
        );
        Ok(if summary.matched > 0 {
            Exit::CheckFailed
        } else {
            Exit::Ok
        })
    }

    /// Screens one batch; the node's results, one per listing.
    fn send(&self, client: &NodeClient, batch: &[Value]) -> Result<Vec<Value>, CommandError> {
        let answer = client.post(
            "/v1/screen",
            &json!({"listings": batch, "limit": self.limit}),
            false,
        )?;
        match answer.status {
            200 => {}
            400..=499 => {
                return Err(CommandError::bad_input(format!(
                    "the node refused the listings ({}): {}",
                    answer.status, answer.body["message"]
                )));
            }
            status => {
                return Err(CommandError::failure(format!(
                    "the node failed ({status}): {}",
                    answer.body["message"]
                )));
            }
        }
        let results = answer.body["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if results.len() != batch.len() {
            return Err(CommandError::failure(format!(
                "the node answered {} results for {} listings",
                results.len(),
                batch.len()
            )));
        }
        Ok(results)
    }

    /// A listing from its fields, checked against the node's bounds; `where_` names the record.
    fn listing(
        &self,
        where_: &str,
        id: Option<String>,
        title: Option<String>,
        description: Option<String>,
        class: Option<u8>,
        jurisdictions: Option<Vec<String>>,
    ) -> Result<Value, CommandError> {
        let bad = |reason: String| CommandError::bad_input(format!("{where_}: {reason}"));
        let id = id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| bad("no id".into()))?;
        if id.chars().count() > MAX_ID_CHARS {
            return Err(bad(format!("id longer than {MAX_ID_CHARS} characters")));
        }
        let title = title.ok_or_else(|| bad("no title".into()))?;
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(bad(format!(
                "title longer than {MAX_TITLE_CHARS} characters"
            )));
        }
        let mut listing = Map::new();
        listing.insert("id".into(), id.into());
        listing.insert("title".into(), title.into());
        if let Some(description) = description.filter(|d| !d.is_empty()) {
            if description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(bad(format!(
                    "description longer than {MAX_DESCRIPTION_CHARS} characters"
                )));
            }
            listing.insert("description".into(), description.into());
        }
        if let Some(class) = class.or(self.class) {
            if !(1..=45).contains(&class) {
                return Err(bad(format!("class {class} is not a Nice class (1–45)")));
            }
            listing.insert("class".into(), class.into());
        }
        if let Some(jurisdictions) = jurisdictions.filter(|codes| !codes.is_empty()) {
            for code in &jurisdictions {
                proto_types::body::Jurisdiction::parse(code)
                    .map_err(|error| bad(error.to_string()))?;
            }
            listing.insert("jurisdictions".into(), json!(jurisdictions));
        }
        Ok(Value::Object(listing))
    }

    fn read_jsonl(
        &self,
        mut reader: impl BufRead,
        each: &mut dyn FnMut(Value) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_RECORD_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|error| CommandError::failure(format!("reading the file: {error}")))?;
            if read == 0 {
                return Ok(());
            }
            number += 1;
            let where_ = format!("line {number}");
            if line.len() > MAX_RECORD_BYTES {
                return Err(CommandError::bad_input(format!(
                    "{where_}: longer than {MAX_RECORD_BYTES} bytes"
                )));
            }
            let text = std::str::from_utf8(&line)
                .map_err(|_| CommandError::bad_input(format!("{where_}: not UTF-8")))?
                .trim();
            if text.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(text)
                .map_err(|error| CommandError::bad_input(format!("{where_}: {error}")))?;
            let Value::Object(object) = value else {
                return Err(CommandError::bad_input(format!(
                    "{where_}: not a JSON object"
                )));
            };
            if let Some(unknown) = object.keys().find(|key| {
                !["id", "title", "description", "class", "jurisdictions"].contains(&key.as_str())
            }) {
                return Err(CommandError::bad_input(format!(
                    "{where_}: unknown field {unknown:?}"
                )));
            }
            let text_field = |name: &str| -> Result<Option<String>, CommandError> {
                match object.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(text)) => Ok(Some(text.clone())),
                    Some(Value::Number(number)) if name == "id" => Ok(Some(number.to_string())),
                    Some(_) => Err(CommandError::bad_input(format!(
                        "{where_}: {name} must be a string"
                    ))),
                }
            };
            let class = match object.get("class") {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    value
                        .as_u64()
                        .and_then(|class| u8::try_from(class).ok())
                        .ok_or_else(|| {
                            CommandError::bad_input(format!(
                                "{where_}: class must be a Nice class (1–45)"
                            ))
                        })?,
                ),
            };
            let jurisdictions = match object.get("jurisdictions") {
                None | Some(Value::Null) => None,
                Some(Value::Array(codes)) if codes.len() <= 64 => Some(
                    codes
                        .iter()
                        .map(|code| code.as_str().map(str::to_owned))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| {
                            CommandError::bad_input(format!(
                                "{where_}: jurisdictions must be codes"
                            ))
                        })?,
                ),
                Some(_) => {
                    return Err(CommandError::bad_input(format!(
                        "{where_}: jurisdictions must be at most 64 codes"
                    )));
                }
            };
            let listing = self.listing(
                &where_,
                text_field("id")?,
                text_field("title")?,
                text_field("description")?,
                class,
                jurisdictions,
            )?;
            each(listing)?;
        }
    }

    fn read_csv(
        &self,
        reader: impl Read,
        each: &mut dyn FnMut(Value) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = csv
            .headers()
            .map_err(|error| CommandError::bad_input(format!("the header row: {error}")))?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|header| header.trim().eq_ignore_ascii_case(name))
        };
        let (Some(id), Some(title)) = (column("id"), column("title")) else {
            return Err(CommandError::bad_input(
                "the header row must name an `id` and a `title` column",
            ));
        };
        let (description, class, jurisdictions) = (
            column("description"),
            column("class"),
            column("jurisdictions"),
        );
        let mut record = csv::StringRecord::new();
        loop {
            let more = csv
                .read_record(&mut record)
                .map_err(|error| CommandError::bad_input(format!("{error}")))?;
            if !more {
                return Ok(());
            }
            let line = record.position().map_or(0, |position| position.line());
            let where_ = format!("line {line}");
            if record.as_slice().len() > MAX_RECORD_BYTES {
                return Err(CommandError::bad_input(format!(
                    "{where_}: longer than {MAX_RECORD_BYTES} bytes"
                )));
            }
            let cell = |index: Option<usize>| {
                index
                    .and_then(|index| record.get(index))
                    .map(str::trim)
                    .filter(|text| !text.is_empty())
                    .map(str::to_owned)
            };
            let class = match cell(class) {
                None => None,
                Some(text) => Some(text.parse::<u8>().map_err(|_| {
                    CommandError::bad_input(format!(
                        "{where_}: class {text:?} is not a Nice class (1–45)"
                    ))
                })?),
            };
            let jurisdictions = cell(jurisdictions).map(|text| {
                text.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
                    .filter(|code| !code.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            });
            if jurisdictions.as_ref().is_some_and(|codes| codes.len() > 64) {
                return Err(CommandError::bad_input(format!(
                    "{where_}: at most 64 jurisdictions"
                )));
            }
            let listing = self.listing(
                &where_,
                cell(Some(id)),
                Some(cell(Some(title)).unwrap_or_default()),
                cell(description),
                class,
                jurisdictions,
            )?;
            each(listing)?;
        }
    }
}

/// A table row: listing id, then each match as `score mark (right id) [how]`, or `-`.
fn row(result: &Value) -> String {
    let id = result["id"].as_str().unwrap_or_default();
    let matches: Vec<String> = result["matches"]
        .as_array()
        .map(|matches| {
            matches
                .iter()
                .map(|m| {
                    let how: Vec<&str> = m["how"]
                        .as_array()
                        .map(|how| how.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    format!(
                        "{:.2} {} ({}) [{}] {:?}",
                        m["score"].as_f64().unwrap_or(0.0),
                        m["mark"].as_str().unwrap_or_default(),
                        m["right_id"].as_str().unwrap_or_default(),
                        how.join(","),
                        m["matched_text"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let indicators: Vec<&str> = result["indicators"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut line = format!(
        "{id}\t{}",
        if matches.is_empty() {
            "-".to_owned()
        } else {
            matches.join("; ")
        }
    );
    if !indicators.is_empty() {
        line.push_str(&format!("\tindicators: {}", indicators.join(", ")));
    }
    line
}
