//! The `rightsnet` command-line tool: argument parsing and one module per command family.
//!
//! Layers: [`main`] parses arguments with clap and dispatches to `cmd::*`; each command reads its
//! input, calls `proto-types` (or, for daemon and client commands, the node library), and
//! returns an [`Exit`] code. Nothing here is protocol logic.
//!
//! Exit codes, stable for scripts: 0 success, 1 a check failed (a proof or signature did not
//! verify), 2 unusable input or usage error, 3 an operational failure (I/O, a node unreachable).

pub mod client;
pub mod cmd;
pub mod import;
pub mod monitor;

use std::io::Write;

use clap::{Parser, Subcommand};

/// Exit codes of the `rightsnet` binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A check failed: a proof or signature did not verify.
    CheckFailed = 1,
    /// Unusable input or a usage error.
    BadInput = 2,
    /// An operational failure: I/O error, node unreachable.
    Failure = 3,
}

/// An error that ends a command with a given exit code and message.
#[derive(Debug)]
pub struct CommandError {
    /// The exit code.
    pub exit: Exit,
    /// The message for standard error.
    pub message: String,
}

impl CommandError {
    /// Unusable input (exit 2).
    pub fn bad_input(message: impl std::fmt::Display) -> Self {
        Self {
            exit: Exit::BadInput,
            message: message.to_string(),
        }
    }
    /// Operational failure (exit 3).
    pub fn failure(message: impl std::fmt::Display) -> Self {
        Self {
            exit: Exit::Failure,
            message: message.to_string(),
        }
    }
    /// A failed check (exit 1).
    pub fn check_failed(message: impl std::fmt::Display) -> Self {
        Self {
            exit: Exit::CheckFailed,
            message: message.to_string(),
        }
    }
}

/// The result of a command.
pub type CommandResult = Result<Exit, CommandError>;

/// Rightsnet: a federated registry of IP rights and takedown decisions.
#[derive(Debug, Parser)]
#[command(name = "rightsnet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ed25519 authority and holder keys.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// W3C Verifiable Credentials: canonicalise, sign and verify (eddsa-jcs-2022).
    #[command(subcommand)]
    Vc(cmd::vc::VcCommand),
    /// The node daemon.
    #[command(subcommand)]
    Node(cmd::node::NodeCommand),
    /// A local network of real node processes, with demo data.
    #[command(subcommand)]
    Testnet(cmd::testnet::TestnetCommand),
    /// Takedown notices: build and sign one as a rights holder, check one offline, submit one.
    #[command(subcommand)]
    Notice(cmd::notice::NoticeCommand),
    /// A node's status: authority, peers, feed heads.
    Status(cmd::client::StatusArgs),
    /// Rights: register, get, search, status changes.
    #[command(subcommand)]
    Right(cmd::client::RightCommand),
    /// Ownership credentials issued by an office.
    #[command(subcommand)]
    Credential(cmd::credential::CredentialCommand),
    /// Takedown decisions of a marketplace.
    #[command(subcommand)]
    Decision(cmd::client::DecisionCommand),
    /// Sellers' counter-notices.
    #[command(subcommand)]
    CounterNotice(cmd::client::CounterNoticeCommand),
    /// Holder accountability.
    #[command(subcommand)]
    Holder(cmd::client::HolderCommand),
    /// Seller strikes.
    #[command(subcommand)]
    Seller(cmd::client::SellerCommand),
    /// Notices, decisions and counter-notices by listing, holder, seller, notice or right.
    Claims(cmd::client::ClaimsArgs),
    /// The node's peers (operator).
    #[command(subcommand)]
    Peers(cmd::client::PeersCommand),
    /// Import an office's register (CSV or WIPO ST.96 XML) into a node.
    Import(cmd::import::ImportArgs),
    /// Screen a file of marketplace listings (CSV or JSON lines) against every mark a node
    /// holds; exit 1 when any listing matched, 0 when none did.
    Screen(cmd::screen::ScreenArgs),
    /// The trust store, changed while the node runs, and endorsements of new authorities.
    #[command(subcommand)]
    Trust(cmd::trust::TrustCommand),
    /// Feeds as transparency logs: export one as a static tlog-tiles tree.
    #[command(subcommand)]
    Feed(cmd::feed::FeedCommand),
    /// Inclusion proofs (C2SP tlog-proof): verify one offline.
    #[command(subcommand)]
    Proof(cmd::proof::ProofCommand),
    /// Tail every feed of a node through checkpoints and tiles: re-verify entries, catch forks,
    /// report key rotations and what touches watched holders or marks (JSON lines).
    Monitor(cmd::monitor::MonitorArgs),
}

/// Runs the program with the process arguments and returns its exit code.
pub fn main() -> i32 {
    run_args(std::env::args_os())
}

/// Runs the program with `args` (the first is the program's name, as in `argv`) and returns
/// its exit code: what the `rightsnet` binary does, callable from another program (the
/// benchmark tool runs `import` through it).
pub fn run_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => Exit::BadInput as i32,
            };
        }
    };
    let result = match cli.command {
        Command::Key(command) => command.run(),
        Command::Vc(command) => command.run(),
        Command::Node(command) => command.run(),
        Command::Testnet(command) => command.run(),
        Command::Notice(command) => command.run(),
        Command::Status(command) => command.run(),
        Command::Right(command) => command.run(),
        Command::Credential(command) => command.run(),
        Command::Decision(command) => command.run(),
        Command::CounterNotice(command) => command.run(),
        Command::Holder(command) => command.run(),
        Command::Seller(command) => command.run(),
        Command::Claims(command) => command.run(),
        Command::Peers(command) => command.run(),
        Command::Import(command) => command.run(),
        Command::Screen(command) => command.run(),
        Command::Trust(command) => command.run(),
        Command::Feed(command) => command.run(),
        Command::Proof(command) => command.run(),
        Command::Monitor(command) => command.run(),
    };
    match result {
        Ok(exit) => exit as i32,
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "rightsnet: {}", error.message);
            error.exit as i32
        }
    }
}
