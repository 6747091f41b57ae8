//! Progress of recent register imports, as the node sees them: every
//! `POST /v1/registrations/batch` is counted into an import run, shown on the console's
//! imports page.
//!
//! `rightsnet import` names its run in a `Rightsnet-Import` header on every batch
//! (`id=…; file=…; read=…; size=…`, and `finished` on its last, empty request), so the node
//! can show the file, how far through it the importer is, the rate and an estimate of the time
//! left. Batches without the header (other API clients) are counted into one anonymous run per
//! client burst: a new one starts after [`ANONYMOUS_GAP`] without a batch.
//!
//! The log is in memory, bounded to [`MAX_RUNS`] runs (the oldest dropped first): it reports
//! progress, it is not a record; what was written is in the feed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proto_types::timestamp::Timestamp;

/// Most import runs kept.
pub const MAX_RUNS: usize = 32;
/// Longest `Rightsnet-Import` header accepted, in bytes; a longer one is ignored.
pub const MAX_HEADER_BYTES: usize = 512;
/// Longest run id, in characters (`[0-9a-zA-Z-]`).
pub const MAX_RUN_ID_CHARS: usize = 64;
/// Longest file name shown, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 120;
/// Batches without a run id this close together belong to one anonymous run.
pub const ANONYMOUS_GAP: Duration = Duration::from_secs(300);
/// A run with no batch for this long, and not finished, is shown as stalled.
pub const STALLED_AFTER: Duration = Duration::from_secs(60);

/// What the importer says about its run in the `Rightsnet-Import` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTag {
    /// The run's id, chosen by the importer.
    pub id: String,
    /// The file's name (not its path).
    pub file: Option<String>,
    /// Bytes of the file read so far.
    pub read: Option<u64>,
    /// The file's size in bytes.
    pub size: Option<u64>,
    /// The importer's last request: the run is over.
    pub finished: bool,
}

impl RunTag {
    /// Parses a `Rightsnet-Import` header value; `None` when it is too long, has no valid
    /// `id`, or a field is malformed (the batch is then counted as anonymous).
    pub fn parse(header: &str) -> Option<Self> {
        if header.len() > MAX_HEADER_BYTES {
            return None;
        }
        let mut tag = RunTag::default();
        for part in header
            .split(';')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            match part.split_once('=') {
                Some(("id", id)) => {
                    let valid = !id.is_empty()
                        && id.chars().count() <= MAX_RUN_ID_CHARS
                        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                    if !valid {
                        return None;
                    }
                    tag.id = id.to_owned();
                }
                Some(("file", name)) => {
                    let name: String = name
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_FILE_NAME_CHARS)
                        .collect();
                    tag.file = Some(name).filter(|name| !name.trim().is_empty());
                }
                Some(("read", number)) => tag.read = Some(number.parse().ok()?),
                Some(("size", number)) => tag.size = Some(number.parse().ok()?),
                None if part == "finished" => tag.finished = true,
                // Unknown fields are left for later versions of the importer.
                _ => {}
            }
        }
        (!tag.id.is_empty()).then_some(tag)
    }
}

/// What one batch did, item by item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Items in the batch.
    pub items: u64,
    /// Items that wrote at least one entry (a registration, a correction, a status change).
    pub written: u64,
    /// Items the register already said (nothing written).
    pub unchanged: u64,
    /// Applications that ended before registration: not rights, nothing written.
    pub skipped: u64,
    /// Items refused, each with its reason in the batch's answer.
    pub refused: u64,
}

/// One import run.
#[derive(Debug, Clone)]
struct Run {
    id: Option<String>,
    file: Option<String>,
    started_at: Timestamp,
    started: Instant,
    last: Instant,
    last_at: Timestamp,
    batches: u64,
    counts: BatchCounts,
    read: Option<u64>,
    size: Option<u64>,
    finished: bool,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Batches are arriving.
    Running,
    /// The importer said it was done.
    Finished,
    /// No batch for [`STALLED_AFTER`] and not finished (interrupted, or the importer waits).
    Stalled,
}

impl RunState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Stalled => "stalled",
        }
    }
}

/// A run as the console shows it.
#[derive(Debug, Clone)]
pub struct RunView {
    /// The importer's id; `None` for batches of other API clients.
    pub id: Option<String>,
    /// The file's name, when the importer gave it.
    pub file: Option<String>,
    /// When the first batch arrived.
    pub started_at: Timestamp,
    /// When the last batch arrived.
    pub last_at: Timestamp,
    /// Batches received.
    pub batches: u64,
    /// What the items did.
    pub counts: BatchCounts,
    /// Fraction of the file read (0–1), when the importer gave both figures.
    pub fraction: Option<f64>,
    /// Items per second between the first and the last batch.
    pub rate: f64,
    /// Estimated time left from the bytes still to read, for a running run.
    pub eta: Option<Duration>,
    /// Where the run stands.
    pub state: RunState,
}

/// The recent import runs.
#[derive(Debug, Default)]
pub struct ImportLog {
    runs: Mutex<VecDeque<Run>>,
}

impl ImportLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one batch into its run (a new run when the tag names an unknown id, or when an
    /// anonymous batch comes [`ANONYMOUS_GAP`] after the last anonymous one).
    pub fn record(&self, tag: Option<&RunTag>, counts: BatchCounts) {
        self.record_at(tag, counts, Instant::now(), crate::clock::now());
    }

    fn record_at(&self, tag: Option<&RunTag>, counts: BatchCounts, now: Instant, at: Timestamp) {
        let Ok(mut runs) = self.runs.lock() else {
            return;
        };
        let id = tag.map(|tag| tag.id.clone());
        let found = runs.iter().rposition(|run| match (&run.id, &id) {
            (Some(known), Some(id)) => known == id,
            (None, None) => now.saturating_duration_since(run.last) < ANONYMOUS_GAP,
            _ => false,
        });
        let index = match found {
            Some(index) => index,
            None => {
                if runs.len() >= MAX_RUNS {
                    runs.pop_front();
                }
                runs.push_back(Run {
                    id,
                    file: None,
                    started_at: at.clone(),
                    started: now,
                    last: now,
                    last_at: at.clone(),
                    batches: 0,
                    counts: BatchCounts::default(),
                    read: None,
                    size: None,
                    finished: false,
                });
                runs.len() - 1
            }
        };
        let run = &mut runs[index];
        run.last = now;
        run.last_at = at;
        if counts.items > 0 {
            run.batches += 1;
        }
        run.counts.items += counts.items;
        run.counts.written += counts.written;
        run.counts.unchanged += counts.unchanged;
        run.counts.skipped += counts.skipped;
        run.counts.refused += counts.refused;
        if let Some(tag) = tag {
            if tag.file.is_some() {
                run.file.clone_from(&tag.file);
            }
            if tag.size.is_some() {
                run.size = tag.size;
            }
            // Batches of several workers arrive out of order: keep the furthest point read.
            if let Some(read) = tag.read {
                run.read = Some(run.read.map_or(read, |known| known.max(read)));
            }
            run.finished |= tag.finished;
        }
    }

    /// The runs, newest first.
    pub fn recent(&self) -> Vec<RunView> {
        self.recent_at(Instant::now())
    }

    fn recent_at(&self, now: Instant) -> Vec<RunView> {
        let Ok(runs) = self.runs.lock() else {
            return Vec::new();
        };
        runs.iter()
            .rev()
            .map(|run| {
                let span = run
                    .last
                    .saturating_duration_since(run.started)
                    .as_secs_f64();
                let rate = if span > 0.0 {
                    run.counts.items as f64 / span
                } else {
                    0.0
                };
                let fraction = match (run.read, run.size) {
                    (Some(read), Some(size)) if size > 0 => {
                        Some((read as f64 / size as f64).min(1.0))
                    }
                    _ => None,
                };
                let state = if run.finished {
                    RunState::Finished
                } else if now.saturating_duration_since(run.last) >= STALLED_AFTER {
                    RunState::Stalled
                } else {
                    RunState::Running
                };
                let eta = match (state, fraction) {
                    (RunState::Running, Some(fraction)) if fraction > 0.0 && span > 0.0 => {
                        let left = span * (1.0 - fraction) / fraction;
                        Duration::try_from_secs_f64(left).ok()
                    }
                    _ => None,
                };
                RunView {
                    id: run.id.clone(),
                    file: run.file.clone(),
                    started_at: run.started_at.clone(),
                    last_at: run.last_at.clone(),
                    batches: run.batches,
                    counts: run.counts,
                    fraction,
                    rate,
                    eta,
                    state,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::from_unix_millis(1_700_000_000_000).expect("a timestamp")
    }

    fn counts(items: u64) -> BatchCounts {
        BatchCounts {
            items,
            written: items - 1,
            unchanged: 0,
            skipped: 0,
            refused: 1,
        }
    }

    #[test]
    fn import_tags_parse_and_refuse_what_is_malformed() {
        let tag =
            RunTag::parse("id=ab12-cd; file=register.csv; read=1024; size=4096").expect("a tag");
        assert_eq!(tag.id, "ab12-cd");
        assert_eq!(tag.file.as_deref(), Some("register.csv"));
        assert_eq!(
            (tag.read, tag.size, tag.finished),
            (Some(1024), Some(4096), false)
        );
        assert!(RunTag::parse("id=x; finished").expect("a tag").finished);
        assert!(
            RunTag::parse("id=x; later=field").is_some(),
            "unknown fields are ignored"
        );
        for bad in [
            "",
            "file=a.csv",
            "id=",
            "id=<script>",
            "id=a; read=-1",
            "id=a; size=lots",
            &format!("id={}", "a".repeat(MAX_RUN_ID_CHARS + 1)),
            &format!("id=a; file={}", "x".repeat(MAX_HEADER_BYTES)),
        ] {
            assert_eq!(RunTag::parse(bad), None, "{bad:?}");
        }
        let control = RunTag::parse("id=a; file=ev\u{7}il\u{1b}.csv").expect("a tag");
        assert_eq!(control.file.as_deref(), Some("evil.csv"));
    }

    #[test]
    fn import_runs_count_batches_progress_and_end() {
        let log = ImportLog::new();
        let start = Instant::now();
        let tag = |read: u64, finished: bool| RunTag {
            id: "run-1".to_owned(),
            file: Some("register.csv".to_owned()),
            read: Some(read),
            size: Some(1000),
            finished,
        };
        log.record_at(Some(&tag(250, false)), counts(10), start, at());
        // A later batch of another worker says less was read: the furthest point stays.
        log.record_at(
            Some(&tag(200, false)),
            counts(10),
            start + Duration::from_secs(10),
            at(),
        );
        log.record_at(None, counts(5), start + Duration::from_secs(10), at());
        let views = log.recent_at(start + Duration::from_secs(11));
        assert_eq!(views.len(), 2, "the tagged run and one anonymous run");
        let run = &views[1];
        assert_eq!(run.id.as_deref(), Some("run-1"));
        assert_eq!(
            (run.batches, run.counts.items, run.counts.refused),
            (2, 20, 2)
        );
        assert_eq!(run.fraction, Some(0.25));
        assert!((run.rate - 2.0).abs() < 1e-9, "{}", run.rate);
        assert_eq!(
            run.eta,
            Some(Duration::from_secs(30)),
            "a quarter read in 10 s"
        );
        assert_eq!(run.state, RunState::Running);
        let later = log.recent_at(start + Duration::from_secs(10) + STALLED_AFTER);
        assert_eq!(later[1].state, RunState::Stalled);
        assert_eq!(later[1].eta, None);
        log.record_at(
            Some(&tag(1000, true)),
            BatchCounts::default(),
            start + Duration::from_secs(40),
            at(),
        );
        let done = log.recent_at(start + Duration::from_secs(500));
        assert_eq!(done[1].state, RunState::Finished);
        assert_eq!(done[1].batches, 2, "the closing request carries no items");
        assert_eq!(done[1].fraction, Some(1.0));
    }

    #[test]
    fn import_anonymous_batches_group_by_burst_and_the_log_is_bounded() {
        let log = ImportLog::new();
        let start = Instant::now();
        log.record_at(None, counts(3), start, at());
        log.record_at(None, counts(3), start + Duration::from_secs(60), at());
        log.record_at(
            None,
            counts(3),
            start + Duration::from_secs(60) + ANONYMOUS_GAP,
            at(),
        );
        let views = log.recent_at(start + Duration::from_secs(61) + ANONYMOUS_GAP);
        assert_eq!(views.len(), 2);
        assert_eq!(views[1].counts.items, 6);
        for index in 0..MAX_RUNS * 2 {
            let tag = RunTag {
                id: format!("run-{index}"),
                ..RunTag::default()
            };
            log.record_at(Some(&tag), counts(2), start, at());
        }
        let views = log.recent();
        assert_eq!(views.len(), MAX_RUNS);
        assert_eq!(
            views[0].id.as_deref(),
            Some(format!("run-{}", MAX_RUNS * 2 - 1).as_str()),
            "newest first, the oldest dropped"
        );
    }
}
