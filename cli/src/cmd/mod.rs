//! One module per command family.

pub mod client;
pub mod credential;
pub mod feed;
pub mod import;
pub mod key;
pub mod monitor;
pub mod node;
pub mod notice;
pub mod proof;
pub mod screen;
pub mod testnet;
pub mod trust;
pub mod vc;

use std::io::Read;

use crate::CommandError;

/// Reads all of standard input, refusing more than `limit` bytes.
pub fn read_stdin(limit: usize) -> Result<Vec<u8>, CommandError> {
    let mut buffer = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit as u64 + 1)
        .read_to_end(&mut buffer)
        .map_err(|error| CommandError::failure(format!("cannot read standard input: {error}")))?;
    if buffer.len() > limit {
        return Err(CommandError::bad_input(format!(
            "input exceeds the limit of {limit} bytes"
        )));
    }
    Ok(buffer)
}

/// Reads a file, refusing more than `limit` bytes.
pub fn read_file(path: &std::path::Path, limit: usize) -> Result<Vec<u8>, CommandError> {
    let file = std::fs::File::open(path).map_err(|error| {
        CommandError::bad_input(format!("cannot open {}: {error}", path.display()))
    })?;
    let mut buffer = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut buffer)
        .map_err(|error| {
            CommandError::failure(format!("cannot read {}: {error}", path.display()))
        })?;
    if buffer.len() > limit {
        return Err(CommandError::bad_input(format!(
            "{} exceeds the limit of {limit} bytes",
            path.display()
        )));
    }
    Ok(buffer)
}
