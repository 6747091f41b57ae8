//! `rightsnet import`: stream an office's register (CSV or WIPO ST.96 XML) into a node.
//!
//! The file is read record by record (never whole); records are validated locally, so an
//! invalid one is reported with its line or element position and skipped; valid ones are sent
//! in batches to `POST /v1/registrations/batch`, where new rights become registrations and
//! changes become corrections and status entries. Importing the same file again changes
//! nothing. Records of one right always go through the same worker, in file order, so updates
//! never overtake the registration they update.
//!
//! An interrupted import resumes: the longest prefix of records the node has answered for is
//! saved every two seconds in a state file (`FILE.import-state`, or `--state`), and the same
//! command run again skips that prefix (`state.rs`). The file is removed when an import ends.

mod state;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::client::{NodeArgs, NodeClient, print_json};
use crate::import::{ImportRecord, RecordError};
use crate::{CommandError, CommandResult, Exit};

/// The header that names this import run and its progress to the node (its console's imports
/// page): `id=…; file=…; read=…; size=…`, and `finished` on a last request without items.
const IMPORT_HEADER: &str = "Rightsnet-Import";

/// The `Rightsnet-Import` value of run `id` for `file`, `read` of `size` bytes read.
fn import_tag(id: &str, file: &std::path::Path, read: u64, size: u64) -> String {
    let name: String = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && *c != ';' && *c != '=')
        .take(100)
        .collect();
    format!("id={id}; file={name}; read={read}; size={size}")
}

/// Most record errors kept for the report (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// Register file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// CSV with a header row (docs/IMPORT.md).
    Csv,
    /// WIPO ST.96 trademark XML (`TrademarkBag/Trademark`).
    St96,
}

/// Flags of `rightsnet import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file's format.
    #[arg(long, value_enum)]
    format: Format,
    /// The register file.
    file: PathBuf,
    /// Records per request (1–1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch: u16,
    /// Requests in flight (1–16).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=16))]
    concurrency: u8,
    /// Import only the records of these jurisdictions (comma-separated codes, e.g. `FR` or
    /// `US,EM`), leaving the others out: for a file that holds several offices' registers,
    /// like the samples in `docs/samples/`. Records left out are counted, not errors; an
    /// invalid CSV row whose jurisdiction cell names another office is left out too (an invalid
    /// ST.96 record is always reported, its jurisdiction unknown).
    #[arg(long, value_delimiter = ',', value_name = "CODES", value_parser = jurisdiction_code)]
    jurisdiction: Vec<String>,
    /// Where the import keeps its progress, so that running the same command again after an
    /// interruption resumes after the records already answered [default: FILE.import-state
    /// next to FILE; no resuming when that directory is not writable].
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Start from the first record, ignoring saved progress.
    #[arg(long)]
    restart: bool,
    #[command(flatten)]
    node: NodeArgs,
}

/// Most jurisdiction codes accepted by `--jurisdiction`.
const MAX_JURISDICTION_FILTER: usize = 64;

fn jurisdiction_code(text: &str) -> Result<String, String> {
    proto_types::body::Jurisdiction::parse(text)
        .map(|code| code.as_str().to_owned())
        .map_err(|error| error.to_string())
}

/// A reader that counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// What the node did with the records sent: entries written (registrations, corrections and
/// status entries), records that changed nothing, records it refused.
#[derive(Default)]
struct Tally {
    written: u64,
    unchanged: u64,
    refused: u64,
    /// Applications that ended before registration and are unknown to the node: not rights,
    /// nothing written (not an error).
    not_rights: u64,
    errors: Vec<RecordError>,
}

impl Tally {
    fn error(&mut self, error: RecordError) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        }
    }

    fn add(&mut self, other: Tally) {
        self.written += other.written;
        self.unchanged += other.unchanged;
        self.refused += other.refused;
        self.not_rights += other.not_rights;
        for error in other.errors {
            self.error(error);
        }
    }
}

/// Records sent in one request, with their numbers in file order.
#[derive(Default)]
struct Batch {
    records: Vec<ImportRecord>,
    ordinals: Vec<u64>,
    /// The `Rightsnet-Import` header: the run, and how far through the file it was read when
    /// the batch left.
    tag: String,
}

impl Batch {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            tag: String::new(),
            records: Vec::with_capacity(capacity),
            ordinals: Vec::with_capacity(capacity),
        }
    }
}

fn right_key(record: &ImportRecord) -> u64 {
    let mut hasher = DefaultHasher::new();
    record.registration["jurisdiction"]
        .to_string()
        .hash(&mut hasher);
    record.registration["right_type"]
        .to_string()
        .hash(&mut hasher);
    record.registration["number"].to_string().hash(&mut hasher);
    hasher.finish()
}

/// Sends one batch; returns its tally, or an error that stops the import (node unreachable,
/// refused the whole request).
fn send(client: &NodeClient, batch: &Batch) -> Result<Tally, CommandError> {
    let items: Vec<Value> = batch
        .records
        .iter()
        .map(|record| {
            let mut item = record.registration.clone();
            if let (Some(date), Some(object)) = (&record.status_date, item.as_object_mut()) {
                object.insert("status_date".to_owned(), json!(date));
            }
            item
        })
        .collect();
    let answer = client
        .post_with_header(
            "/v1/registrations/batch",
            &json!({"items": items}),
            (IMPORT_HEADER, &batch.tag),
        )?
        .ok()?;
    let mut tally = Tally::default();
    for result in answer["results"].as_array().cloned().unwrap_or_default() {
        let index = result["index"].as_u64().unwrap_or(0) as usize;
        let position = batch
            .records
            .get(index)
            .map_or_else(String::new, |r| r.position.clone());
        if let Some(error) = result.get("error") {
            tally.refused += 1;
            tally.error(RecordError {
                position,
                message: format!(
                    "refused by the node: {}: {}",
                    error["code"].as_str().unwrap_or("error"),
                    error["message"].as_str().unwrap_or("")
                ),
                jurisdiction: None,
            });
            continue;
        }
        if result.get("skipped").is_some() {
            tally.not_rights += 1;
            continue;
        }
        for outcome in result["outcomes"].as_array().cloned().unwrap_or_default() {
            match outcome.get("outcome").and_then(Value::as_str) {
                Some("unchanged") => tally.unchanged += 1,
                Some("stored") => tally.written += 1,
                _ => tally.refused += 1,
            }
        }
    }
    Ok(tally)
}

/// Where the import saves its progress, and what it resumes from.
struct Resume {
    path: Option<PathBuf>,
    identity: Option<state::ImportIdentity>,
    /// Records done in an earlier run (skipped).
    skip: u64,
}

impl Resume {
    /// Finds the state file and what it says; problems with it are warnings, never fatal (the
    /// import is idempotent: without a state it starts from the first record).
    fn open(args: &ImportArgs, format: &str) -> Self {
        let path = args
            .state
            .clone()
            .unwrap_or_else(|| state::default_path(&args.file));
        let identity = match state::ImportIdentity::of(&args.file, format, &args.jurisdiction) {
            Ok(identity) => identity,
            Err(error) => {
                eprintln!(
                    "warning: cannot read {} to resume: {error}",
                    args.file.display()
                );
                return Self {
                    path: None,
                    identity: None,
                    skip: 0,
                };
            }
        };
        let skip = if args.restart {
            0
        } else {
            match state::load(&path) {
                Ok(Some(saved)) if saved.identity == identity => saved.records_done,
                Ok(Some(_)) => {
                    eprintln!(
                        "warning: {} is the progress of another file or filter; starting from the first record",
                        path.display()
                    );
                    0
                }
                Ok(None) => 0,
                Err(error) => {
                    eprintln!("warning: {error}; starting from the first record");
                    0
                }
            }
        };
        Self {
            path: Some(path),
            identity: Some(identity),
            skip,
        }
    }

    /// Saves `records_done`; on the first failure, warns and stops saving.
    fn save(&mut self, records_done: u64) {
        if let (Some(path), Some(identity)) = (&self.path, &self.identity) {
            if let Err(error) = state::save(path, identity, records_done) {
                eprintln!(
                    "warning: cannot save the import's progress ({error}); it will not resume"
                );
                self.path = None;
            }
        }
    }

    /// The import ended: the state is no longer needed.
    fn finish(&self) {
        if let Some(path) = &self.path {
            if let Err(error) = state::remove(path) {
                eprintln!("warning: {error}");
            }
        }
    }
}

/// What the lanes share with the reader: the done prefix and the tally of answered batches.
#[derive(Default)]
struct Shared {
    prefix: state::DonePrefix,
    tally: Tally,
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ImportArgs {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        let client = Arc::new(NodeClient::new(&self.node)?);
        if self.jurisdiction.len() > MAX_JURISDICTION_FILTER {
            return Err(CommandError::bad_input(format!(
                "--jurisdiction: at most {MAX_JURISDICTION_FILTER} codes"
            )));
        }
        let file = std::fs::File::open(&self.file).map_err(|error| {
            CommandError::bad_input(format!("cannot open {}: {error}", self.file.display()))
        })?;
        let format_name = format!("{:?}", self.format).to_lowercase();
        let mut resume = Resume::open(&self, &format_name);
        if resume.skip > 0 && !self.node.json {
            eprintln!(
                "resuming after record {} (done in an earlier run; --restart to start over)",
                resume.skip
            );
        }
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        // This run's id on the node's imports page.
        let run_id = hex::encode(rand::random::<[u8; 8]>());
        let count = Arc::new(AtomicU64::new(0));
        let reader = BufReader::with_capacity(
            256 * 1024,
            Counting {
                inner: file,
                count: count.clone(),
            },
        );
        let progress = if self.node.json {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new(size);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {msg} (ETA {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        };

        let shared = Arc::new(Mutex::new(Shared {
            prefix: state::DonePrefix::after(resume.skip),
            tally: Tally::default(),
        }));
        // One worker per lane; a right always maps to the same lane, so its records stay in
        // file order. Each lane's queue holds at most two batches.
        let lanes = usize::from(self.concurrency);
        let batch_size = usize::from(self.batch);
        let mut senders = Vec::with_capacity(lanes);
        let mut workers = Vec::with_capacity(lanes);
        for _ in 0..lanes {
            let (sender, receiver) = mpsc::sync_channel::<Batch>(2);
            let client = client.clone();
            let shared = shared.clone();
            senders.push(sender);
            workers.push(std::thread::spawn(move || {
                for batch in receiver {
                    let tally = send(&client, &batch)?;
                    let mut shared = lock(&shared);
                    shared.prefix.answered(&batch.ordinals);
                    shared.tally.add(tally);
                }
                Ok::<(), CommandError>(())
            }));
        }

        let mut pending: Vec<Batch> = (0..lanes)
            .map(|_| Batch::with_capacity(batch_size))
            .collect();
        let mut read = 0u64;
        let mut invalid = 0u64;
        let mut local = Tally::default();
        let records: Box<dyn Iterator<Item = Result<ImportRecord, RecordError>>> = match self.format
        {
            Format::Csv => Box::new(crate::import::csv::records(reader)),
            Format::St96 => Box::new(crate::import::st96::records(reader)),
        };
        let mut other_jurisdictions = 0u64;
        let mut stopped: Option<CommandError> = None;
        let started = Instant::now();
        let mut last_save = Instant::now();
        for record in records {
            read += 1;
            if read <= resume.skip {
                // Done in an earlier run. An invalid header still ends a CSV file here.
                if read == 1 && self.format == Format::Csv {
                    if let Err(error) = &record {
                        if error.position == "line 1" {
                            invalid += 1;
                            local.error(error.clone());
                            continue;
                        }
                    }
                }
                lock(&shared).prefix.read_done(read);
                continue;
            }
            match record {
                Err(error)
                    if !self.jurisdiction.is_empty()
                        && error
                            .jurisdiction
                            .as_ref()
                            .is_some_and(|code| !self.jurisdiction.contains(code)) =>
                {
                    other_jurisdictions += 1;
                    lock(&shared).prefix.read_done(read);
                }
                Err(error) => {
                    invalid += 1;
                    local.error(error);
                    lock(&shared).prefix.read_done(read);
                }
                Ok(record)
                    if !self.jurisdiction.is_empty()
                        && !record.registration["jurisdiction"]
                            .as_str()
                            .is_some_and(|code| self.jurisdiction.iter().any(|c| c == code)) =>
                {
                    other_jurisdictions += 1;
                    lock(&shared).prefix.read_done(read);
                }
                Ok(record) => {
                    let lane = (right_key(&record) % lanes as u64) as usize;
                    lock(&shared).prefix.read_outstanding(read);
                    pending[lane].records.push(record);
                    pending[lane].ordinals.push(read);
                    if pending[lane].records.len() >= batch_size {
                        let mut batch =
                            std::mem::replace(&mut pending[lane], Batch::with_capacity(batch_size));
                        batch.tag =
                            import_tag(&run_id, &self.file, count.load(Ordering::Relaxed), size);
                        if senders[lane].send(batch).is_err() {
                            // The worker stopped on an error; collect it below.
                            stopped = Some(CommandError::failure("an import worker stopped"));
                            break;
                        }
                    }
                }
            }
            if read % 256 == 0 {
                progress.set_position(count.load(Ordering::Relaxed));
                let elapsed = started.elapsed().as_secs_f64();
                let rate = if elapsed > 0.0 {
                    (read - resume.skip.min(read)) as f64 / elapsed
                } else {
                    0.0
                };
                progress.set_message(format!("{read} records, {rate:.0}/s"));
                if last_save.elapsed() >= state::SAVE_EVERY {
                    let done = lock(&shared).prefix.records_done();
                    resume.save(done);
                    last_save = Instant::now();
                }
            }
        }
        for (lane, mut batch) in pending.into_iter().enumerate() {
            batch.tag = import_tag(&run_id, &self.file, count.load(Ordering::Relaxed), size);
            if !batch.records.is_empty() && stopped.is_none() && senders[lane].send(batch).is_err()
            {
                stopped = Some(CommandError::failure("an import worker stopped"));
            }
        }
        drop(senders);
        let mut worker_error = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => worker_error = Some(error),
                Err(_) => worker_error = Some(CommandError::failure("an import worker panicked")),
            }
        }
        progress.finish_and_clear();
        let (mut total, records_done) = {
            let mut shared = lock(&shared);
            (
                std::mem::take(&mut shared.tally),
                shared.prefix.records_done(),
            )
        };
        total.add(local);
        if let Some(error) = worker_error.or(stopped) {
            resume.save(records_done);
            let mut message = error.message;
            if resume.path.is_some() {
                message.push_str(&format!(
                    "; {records_done} records done: run the same command again to resume"
                ));
            }
            return Err(CommandError {
                exit: error.exit,
                message,
            });
        }
        resume.finish();
        // The node's imports page shows the run finished. Progress only: a failure here
        // changes nothing imported.
        let closing = format!("{}; finished", import_tag(&run_id, &self.file, size, size));
        if let Err(error) = client.post_with_header(
            "/v1/registrations/batch",
            &json!({"items": []}),
            (IMPORT_HEADER, &closing),
        ) {
            tracing::debug!(error = %error.message, "closing the import run failed");
        }
        // A CSV file whose header row is unusable yields one error at line 1 and nothing
        // else: the file is unusable input (exit 2), and nothing of it was read or sent.
        if self.format == Format::Csv && read == 1 && invalid == 1 {
            if let Some(error) = total
                .errors
                .first()
                .filter(|error| error.position == "line 1")
            {
                return Err(CommandError::bad_input(format!(
                    "{}: {}: {}; nothing was imported",
                    self.file.display(),
                    error.position,
                    error.message
                )));
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let summary = json!({
            "file": self.file.display().to_string(),
            "format": format_name,
            "records_read": read,
            "resumed_after": resume.skip,
            "invalid_records": invalid,
            "entries_written": total.written,
            "unchanged": total.unchanged,
            "refused_by_node": total.refused,
            "not_rights": total.not_rights,
            "other_jurisdictions": other_jurisdictions,
            "seconds": (seconds * 100.0).round() / 100.0,
            "errors": total.errors.iter().map(|e| json!({"position": e.position, "message": e.message})).collect::<Vec<_>>(),
            "errors_truncated": (invalid + total.refused) as usize > total.errors.len(),
        });
        if self.node.json {
            print_json(&summary)?;
        } else {
            for error in &total.errors {
                eprintln!("{}: {}", error.position, error.message);
            }
            let mut line = format!(
                "{read} records read: {} entries written, {} unchanged, {invalid} invalid (skipped), {} refused by the node",
                total.written, total.unchanged, total.refused
            );
            if total.not_rights > 0 {
                line.push_str(&format!(
                    ", {} applications that ended before registration (not rights, nothing written)",
                    total.not_rights
                ));
            }
            if other_jurisdictions > 0 {
                line.push_str(&format!(
                    ", {other_jurisdictions} of other jurisdictions (left out)"
                ));
            }
            if resume.skip > 0 {
                line.push_str(&format!(
                    ", the first {} done in an earlier run",
                    resume.skip
                ));
            }
            line.push_str(&format!(" ({seconds:.1} s)"));
            println!("{line}");
        }
        Ok(if invalid == 0 && total.refused == 0 {
            Exit::Ok
        } else {
            Exit::CheckFailed
        })
    }
}
