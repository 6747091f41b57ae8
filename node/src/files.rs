//! Files the node writes for itself in its data directory: atomic replacement, secrets created
//! once, and the lock that keeps a second process out of a data directory in use.
//!
//! A file written here is either absent, or whole with its old content, or whole with its new
//! content, whenever the process is killed or the machine loses power: it is written to a
//! temporary file beside it, synced, renamed over the target, and the directory is synced.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use proto_types::keys::{KeyFile, SecretKey};

/// File in the data directory that a running node holds locked (and that names its pid).
pub const LOCK_FILE: &str = "node.lock";

/// Largest lock file read back for the pid of its holder, in bytes.
const MAX_LOCK_FILE_BYTES: u64 = 64;

/// Mode of files that hold secrets (owner read/write only).
pub const SECRET_FILE_MODE: u32 = 0o600;

/// The temporary file `write_file_atomically` writes before renaming it over `path`.
fn temporary_path(path: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let mut temporary = name.to_os_string();
    temporary.push(".tmp");
    Ok(path.with_file_name(temporary))
}

/// Syncs the directory holding `path`, so that a rename or a creation in it survives a power
/// loss. Does nothing where directories cannot be opened as files (not Unix).
pub fn sync_parent_directory(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Replaces `path` with `bytes` atomically: readers (and a restart after a kill or a power
/// loss) see the old content or the new content, never a part. The file gets `mode` (Unix
/// permission bits) from its first byte on.
///
/// The temporary file is `path` with `.tmp` appended; two writers of the same path must not run
/// at once (the node holds the data directory lock, see [`DataDirLock`]). A temporary file left
/// by a killed writer is replaced by the next write.
pub fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let temporary = temporary_path(path)?;
    // A leftover from a killed writer may have another mode; start from nothing.
    match std::fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("removing {}", temporary.display()));
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("writing {}", temporary.display()));
    }
    std::fs::rename(&temporary, path)
        .with_context(|| format!("renaming {} to {}", temporary.display(), path.display()))?;
    sync_parent_directory(path)
        .with_context(|| format!("syncing the directory of {}", path.display()))?;
    Ok(())
}

/// Reads `path`, creating it first with the bytes `create` returns when it does not exist.
/// Creation is atomic ([`write_file_atomically`] with `mode`), so the file is never seen half
/// written. An empty file counts as absent: it is what older builds left when they were killed
/// between creating the file and writing it. At most `max_bytes` are read.
pub fn read_or_create(
    path: &Path,
    mode: u32,
    max_bytes: u64,
    create: impl FnOnce() -> Vec<u8>,
) -> anyhow::Result<Vec<u8>> {
    match File::open(path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(max_bytes + 1)
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {}", path.display()))?;
            if bytes.len() as u64 > max_bytes {
                anyhow::bail!("{} is larger than {max_bytes} bytes", path.display());
            }
            if !bytes.is_empty() {
                return Ok(bytes);
            }
            tracing::warn!(
                path = %path.display(),
                "empty file (left by an interrupted first start); creating it anew"
            );
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("reading {}", path.display()));
        }
    }
    let bytes = create();
    write_file_atomically(path, &bytes, mode)?;
    Ok(bytes)
}

/// Why a data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (or another open store in this process) holds the directory.
    #[error("data directory {path} is in use by another rightsnet process ({holder})")]
    InUse {
        /// The data directory.
        path: String,
        /// `pid N` as recorded in the lock file, or `pid unknown`.
        holder: String,
    },
    /// The lock file could not be opened, locked or written.
    #[error("lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// An exclusive lock on a data directory, held until dropped (the operating system also
/// releases it when the process ends, however it ends).
///
/// **Invariant:** the store takes this lock before RocksDB opens the directory and holds it as
/// long as the database is open; the node opens the store before it writes any other file
/// there. So a second process on the same directory fails before it touches anything (RocksDB's
/// own lock attempt would first rename the running node's `LOG`).
#[derive(Debug)]
pub struct DataDirLock {
    // Held for its lock; never read after `acquire`.
    _file: File,
}

impl DataDirLock {
    /// Locks `data_dir` (which must exist) through its [`LOCK_FILE`] and writes this process's
    /// pid into the file. Fails at once, naming the holder's pid, when another process (or
    /// another open of the same directory in this process) holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io_error = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        // Not truncated on open: the holder's pid must stay readable for the error message.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match try_lock_exclusive(&file) {
            Ok(true) => {}
            Ok(false) => {
                return Err(LockError::InUse {
                    path: data_dir.display().to_string(),
                    holder: read_pid(&mut file)
                        .map_or_else(|| "pid unknown".to_owned(), |pid| format!("pid {pid}")),
                });
            }
            Err(error) => return Err(io_error(error)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.sync_data())
            .map_err(io_error)?;
        Ok(Self { _file: file })
    }
}

/// Takes an exclusive `flock(2)` on `file` without waiting: false when another open file holds
/// it. (std's `File::try_lock` does the same from Rust 1.89 on, above our rust-version.)
#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(error) if error == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// No advisory locks here: the lock file only records the pid.
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// The pid recorded in a lock file, if it holds one.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(MAX_LOCK_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok()
}

/// Largest key file read, in bytes.
pub const MAX_KEY_FILE_BYTES: usize = 16 * 1024;

/// File in the data directory holding the key of seller references.
pub const SELLER_KEY_FILE: &str = "seller-ref.key";

/// Reads 32 secret bytes (hex) from `path`, creating the file (mode 0600) on first use.
///
/// Creation is atomic ([`read_or_create`]): a kill during the first start leaves no file
/// or a whole one, and an empty file (what older builds left) is created anew. Any other content
/// that is not 64 hex characters is refused, never replaced: the key may be in use.
pub fn load_or_create_secret(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    let text = read_or_create(path, SECRET_FILE_MODE, MAX_KEY_FILE_BYTES as u64, || {
        use rand::RngCore;
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        hex::encode(fresh).into_bytes()
    })?;
    let mut secret = [0u8; 32];
    std::str::from_utf8(&text)
        .ok()
        .and_then(|text| hex::decode_to_slice(text.trim(), &mut secret).ok())
        .ok_or_else(|| anyhow::anyhow!("{} is not 64 hex characters", path.display()))?;
    Ok(secret)
}

/// File in the data directory holding this node's witness key (protocol.md §14.4): 32 secret
/// bytes, hex, like the peer identity; the Ed25519 key it seeds cosigns checkpoints.
pub const WITNESS_KEY_FILE: &str = "witness.key";

/// Reads this node's witness key from `data_dir`, creating it on first start (mode 0600,
/// atomically, [`load_or_create_secret`]).
pub fn load_or_create_witness_key(data_dir: &std::path::Path) -> anyhow::Result<SecretKey> {
    let secret = load_or_create_secret(&data_dir.join(WITNESS_KEY_FILE))?;
    Ok(SecretKey::from_seed(&secret))
}

/// Reads a Multikey key file.
pub fn load_key(path: &std::path::Path) -> anyhow::Result<SecretKey> {
    let text = crate::config::read_bounded(path, MAX_KEY_FILE_BYTES)?;
    KeyFile::parse(text.as_bytes()).with_context(|| format!("reading key file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_witness_key_is_created_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_witness_key(dir.path()).unwrap();
        let second = load_or_create_witness_key(dir.path()).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(WITNESS_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(WITNESS_KEY_FILE), b"not hex").unwrap();
        assert!(
            load_or_create_witness_key(dir.path()).is_err(),
            "never replaced"
        );
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.json");
        write_file_atomically(&path, b"old", 0o644).unwrap();
        // A temporary file left by a writer killed half-way does not matter.
        std::fs::write(dir.path().join("list.json.tmp"), b"half").unwrap();
        write_file_atomically(&path, b"new", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!dir.path().join("list.json.tmp").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_is_created_with_owner_only_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        // Even over a leftover temporary file with wider permissions.
        std::fs::write(dir.path().join("secret.key.tmp"), b"x").unwrap();
        read_or_create(&path, SECRET_FILE_MODE, 64, || b"abc".to_vec()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn read_or_create_creates_once_and_then_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = read_or_create(&path, SECRET_FILE_MODE, 64, || b"first".to_vec()).unwrap();
        let second = read_or_create(&path, SECRET_FILE_MODE, 64, || b"second".to_vec()).unwrap();
        assert_eq!(first, b"first");
        assert_eq!(second, b"first");
    }

    #[test]
    fn an_empty_file_left_by_an_interrupted_creation_is_created_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, b"").unwrap();
        let bytes = read_or_create(&path, SECRET_FILE_MODE, 64, || b"fresh".to_vec()).unwrap();
        assert_eq!(bytes, b"fresh");
        assert_eq!(std::fs::read(&path).unwrap(), b"fresh");
    }

    #[test]
    fn an_oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, [b'a'; 65]).unwrap();
        let error = read_or_create(&path, SECRET_FILE_MODE, 64, Vec::new).unwrap_err();
        assert!(
            error.to_string().contains("larger than 64 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_second_lock_on_a_data_directory_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        let error = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "is in use by another rightsnet process (pid {})",
                std::process::id()
            )),
            "{error}"
        );
        drop(held);
        // Released on drop: the next start gets it.
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
