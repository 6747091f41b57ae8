//! The `rightsnet` binary: parses arguments and hands over to the library.
fn main() {
    std::process::exit(rightsnet_cli::main());
}
