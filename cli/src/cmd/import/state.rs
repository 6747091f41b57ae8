//! The saved progress of an import, so that an interrupted import resumes where it stopped.
//!
//! Records are numbered in file order (1, 2, …). A record is *done* when the node has answered
//! for it (or it was invalid or left out). Batches are answered out of order (one lane per
//! request in flight), so what is saved is the longest done *prefix*: every record up to
//! `records_done` is done. The file is written atomically (temporary file, rename) every
//! [`SAVE_EVERY`] while the import runs and when it stops on a failure, and removed when the
//! import ends. A resumed import reads the records of that prefix again (parsing is cheap)
//! without sending them. Records after the prefix that had been answered are sent again: the
//! import is idempotent, so they come back `unchanged`.
//!
//! The state names the file it belongs to by size and the SHA-256 of its first
//! [`IDENTITY_BYTES`] bytes, with the format and the jurisdiction filter; a state of another
//! file (or another filter) is not used.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How often the progress is saved while an import runs.
pub const SAVE_EVERY: Duration = Duration::from_secs(2);

/// Bytes of the register file hashed to recognise it.
pub const IDENTITY_BYTES: u64 = 1 << 20;

/// Largest state file read back (it is a few hundred bytes).
pub const MAX_STATE_BYTES: u64 = 64 * 1024;

/// The version of the state file's layout.
const STATE_VERSION: u32 = 1;

/// What identifies an import: the file (size, hash of its start), its format, the filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportIdentity {
    /// The file's size in bytes.
    pub file_size: u64,
    /// SHA-256 of its first [`IDENTITY_BYTES`] bytes, hex.
    pub file_head_sha256: String,
    /// `csv` or `st96`.
    pub format: String,
    /// The `--jurisdiction` codes, sorted.
    pub jurisdictions: Vec<String>,
}

impl ImportIdentity {
    /// The identity of `file` imported as `format` with `jurisdictions`.
    pub fn of(file: &Path, format: &str, jurisdictions: &[String]) -> std::io::Result<Self> {
        let handle = std::fs::File::open(file)?;
        let file_size = handle.metadata()?.len();
        let mut hasher = Sha256::new();
        let mut limited = handle.take(IDENTITY_BYTES);
        std::io::copy(&mut limited, &mut hasher)?;
        let mut jurisdictions = jurisdictions.to_vec();
        jurisdictions.sort();
        jurisdictions.dedup();
        Ok(Self {
            file_size,
            file_head_sha256: hex::encode(hasher.finalize()),
            format: format.to_owned(),
            jurisdictions,
        })
    }
}

/// The state file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    /// Layout version ([`STATE_VERSION`]).
    pub version: u32,
    /// The import it belongs to.
    pub identity: ImportIdentity,
    /// Every record up to this one (in file order, from 1) is done.
    pub records_done: u64,
}

/// The default state file of `file`: `FILE.import-state`, next to it.
pub fn default_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(".import-state");
    file.with_file_name(name)
}

/// Why a saved state was not used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the state file failed.
    #[error("{path}: {source}")]
    Io {
        /// The state file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a state this build wrote.
    #[error("{path}: not an import state file ({reason})")]
    Invalid {
        /// The state file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Reads the saved state at `path`: `None` when there is none.
pub fn load(path: &Path) -> Result<Option<SavedState>, StateError> {
    let io = |source| StateError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io(error)),
    };
    let mut text = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(io)?;
    let invalid = |reason: String| StateError::Invalid {
        path: path.display().to_string(),
        reason,
    };
    if text.len() as u64 > MAX_STATE_BYTES {
        return Err(invalid(format!("larger than {MAX_STATE_BYTES} bytes")));
    }
    let state: SavedState =
        serde_json::from_slice(&text).map_err(|error| invalid(error.to_string()))?;
    if state.version != STATE_VERSION {
        return Err(invalid(format!("version {}", state.version)));
    }
    Ok(Some(state))
}

/// Writes `records_done` for `identity` to `path`, atomically (temporary file, rename).
pub fn save(path: &Path, identity: &ImportIdentity, records_done: u64) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.display().to_string(),
        source,
    };
    let state = SavedState {
        version: STATE_VERSION,
        identity: identity.clone(),
        records_done,
    };
    let text = serde_json::to_vec_pretty(&state).map_err(|error| io(error.into()))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// Removes the state file (the import ended); a missing file is fine.
pub fn remove(path: &Path) -> Result<(), StateError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StateError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Which records are sent and not yet answered, and how far reading has got: the done prefix.
#[derive(Debug, Default)]
pub struct DonePrefix {
    /// Records handed to a lane (sent or waiting to be), not yet answered.
    outstanding: BTreeSet<u64>,
    /// The last record read.
    read: u64,
}

impl DonePrefix {
    /// Starts after `records_done` records done in an earlier run.
    pub fn after(records_done: u64) -> Self {
        Self {
            outstanding: BTreeSet::new(),
            read: records_done,
        }
    }

    /// Record `ordinal` (the next in file order) was read and is done at once (invalid, left
    /// out, or skipped as done before).
    pub fn read_done(&mut self, ordinal: u64) {
        self.read = self.read.max(ordinal);
    }

    /// Record `ordinal` was read and handed to a lane.
    pub fn read_outstanding(&mut self, ordinal: u64) {
        self.read = self.read.max(ordinal);
        self.outstanding.insert(ordinal);
    }

    /// The node answered for these records.
    pub fn answered(&mut self, ordinals: &[u64]) {
        for ordinal in ordinals {
            self.outstanding.remove(ordinal);
        }
    }

    /// Every record up to this one is done.
    pub fn records_done(&self) -> u64 {
        match self.outstanding.first() {
            Some(first) => first - 1,
            None => self.read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_stops_before_the_first_unanswered_record() {
        let mut prefix = DonePrefix::after(10);
        assert_eq!(prefix.records_done(), 10);
        prefix.read_outstanding(11);
        prefix.read_done(12);
        prefix.read_outstanding(13);
        prefix.read_outstanding(14);
        assert_eq!(prefix.records_done(), 10);
        prefix.answered(&[13]);
        assert_eq!(prefix.records_done(), 10, "13 answered, 11 not yet");
        prefix.answered(&[11]);
        assert_eq!(prefix.records_done(), 13, "14 still outstanding");
        prefix.answered(&[14]);
        assert_eq!(prefix.records_done(), 14);
        prefix.read_done(15);
        assert_eq!(prefix.records_done(), 15);
    }

    #[test]
    fn a_state_round_trips_and_foreign_or_oversized_files_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let register = directory.path().join("register.csv");
        std::fs::write(&register, "jurisdiction,number\nFR,1\n").unwrap();
        let identity = ImportIdentity::of(&register, "csv", &["FR".to_owned()]).unwrap();
        let path = default_path(&register);
        assert_eq!(path, directory.path().join("register.csv.import-state"));
        assert!(load(&path).unwrap().is_none());
        save(&path, &identity, 41).unwrap();
        let state = load(&path).unwrap().unwrap();
        assert_eq!(state.records_done, 41);
        assert_eq!(state.identity, identity);
        // Another file's identity differs (size and hash).
        std::fs::write(&register, "jurisdiction,number\nFR,2\nFR,3\n").unwrap();
        assert_ne!(
            ImportIdentity::of(&register, "csv", &["FR".to_owned()]).unwrap(),
            identity
        );
        // Junk, another version, oversize: clear errors.
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(load(&path), Err(StateError::Invalid { .. })));
        let mut other = serde_json::to_value(&state).unwrap();
        other["version"] = 9.into();
        std::fs::write(&path, other.to_string()).unwrap();
        assert!(matches!(load(&path), Err(StateError::Invalid { .. })));
        std::fs::write(&path, vec![b' '; (MAX_STATE_BYTES + 10) as usize]).unwrap();
        assert!(matches!(load(&path), Err(StateError::Invalid { .. })));
        remove(&path).unwrap();
        remove(&path).unwrap();
    }
}
