//! Rightsnet integration tests: one binary, a module per area. Every test runs the real
//! `rightsnet` program (built in this package as `rightsnet-under-test`), real RocksDB in
//! temporary directories, real HTTP on 127.0.0.1 port 0.

mod adversarial_notices;
mod bench_smoke;
mod byzantine;
mod claims;
mod cli_client;
mod cli_vc;
mod federation;
mod harness;
mod import;
mod node_api;
mod node_durability;
mod testnet;
