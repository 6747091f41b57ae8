//! `rightsnet testnet up`: a local network of real node processes (the `rightsnet-testnet`
//! library does the work).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::{CommandError, CommandResult, Exit};

/// Testnet commands.
#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Start a local network of office and marketplace nodes on 127.0.0.1, seed demo data on
    /// the first run, print every node's API address, and run until SIGINT or SIGTERM.
    Up(UpArgs),
    /// Play the cross-border story step by step against a running testnet (found through
    /// DIR/testnet.json), printing what each step sent and got. Exit 0 when every step
    /// behaved as expected, 1 when one did not.
    Demo {
        /// The testnet's directory.
        #[arg(long, default_value = rightsnet_testnet::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Print the `export RIGHTSNET_NODE=… RIGHTSNET_TOKEN_FILE=…` lines that point the client
    /// commands at one node of a running testnet (ports change on every start):
    /// `eval "$(rightsnet testnet env office-fr)"`. Exit 2 for an unknown node or no testnet.
    Env {
        /// The node's name, as `testnet up` prints it (office-fr, marketplace-1, …).
        #[arg(value_parser = node_name)]
        name: String,
        /// The testnet's directory.
        #[arg(long, default_value = rightsnet_testnet::DEFAULT_DIR)]
        dir: PathBuf,
    },
}

/// Longest node name accepted on the command line, in bytes.
const MAX_NODE_NAME_BYTES: usize = 64;

fn node_name(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > MAX_NODE_NAME_BYTES {
        return Err(format!(
            "a node name is 1 to {MAX_NODE_NAME_BYTES} bytes long"
        ));
    }
    Ok(text.to_owned())
}

/// Flags of `rightsnet testnet up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// One office per jurisdiction, comma-separated (ISO 3166-1 alpha-2 or a regional code
    /// such as EM). Default for a new testnet: FR,CN,US,EM; for an existing one: its offices.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    offices: Option<Vec<String>>,
    /// Number of marketplace nodes (at most 16). Default for a new testnet: 2; for an existing
    /// one: its marketplaces.
    #[arg(long, value_name = "N")]
    marketplaces: Option<usize>,
    /// Directory of the testnet's keys, configurations, data and logs; created on the first
    /// run, reused (without seeding again) by later ones.
    #[arg(long, default_value = rightsnet_testnet::DEFAULT_DIR)]
    dir: PathBuf,
}

impl TestnetCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            TestnetCommand::Up(args) => up(args),
            TestnetCommand::Demo { dir } => match rightsnet_testnet::demo::demo(&dir) {
                Ok(()) => Ok(Exit::Ok),
                Err(error) => Err(CommandError::check_failed(format!("demo: {error:#}"))),
            },
            TestnetCommand::Env { name, dir } => {
                let lines = rightsnet_testnet::report::env(&dir, &name).map_err(describe)?;
                print!("{lines}");
                Ok(Exit::Ok)
            }
        }
    }
}

fn up(args: UpArgs) -> CommandResult {
    let program = std::env::current_exe()
        .map_err(|error| CommandError::failure(format!("cannot find this program: {error}")))?;
    let options = rightsnet_testnet::Options {
        dir: args.dir,
        offices: args.offices,
        marketplaces: args.marketplaces,
        program,
    };
    // Check the flags before anything listens for signals or touches the disk.
    options.requested().map_err(describe)?;
    let stop = rightsnet_testnet::Stop::on_signals().map_err(describe)?;
    rightsnet_testnet::up(&options, &stop).map_err(describe)?;
    Ok(Exit::Ok)
}

/// Exit 2 for errors caused by the input, 3 for everything else.
fn describe(error: anyhow::Error) -> CommandError {
    if error.is::<rightsnet_testnet::BadInput>() {
        CommandError::bad_input(format!("{error:#}"))
    } else {
        CommandError::failure(format!("{error:#}"))
    }
}
