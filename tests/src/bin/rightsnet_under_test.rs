//! The `rightsnet` program, built inside the tests package so integration tests can run it.
fn main() {
    std::process::exit(rightsnet_cli::main());
}
