//! `rightsnet key …`: generate Multikey key files.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use proto_types::keys::{KeyFile, SecretKey};

use crate::{CommandError, CommandResult, Exit};

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate an Ed25519 key, write it as a Multikey JSON file, print its did:key.
    Gen {
        /// Where to write the key file (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

impl KeyCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            KeyCommand::Gen { out } => generate(&out),
        }
    }
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
