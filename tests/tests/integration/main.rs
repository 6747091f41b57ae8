//! Rightsnet integration tests: one binary, a module per area. The node, CLI, import, testnet
//! and durability tests run the real `rightsnet` program (built in this package as
//! `rightsnet-under-test`); the federation, byzantine, claims and benchmark tests run nodes
//! in-process through the `rightsnet-node` library. Everything uses real RocksDB in temporary
//! directories and real HTTP and libp2p on 127.0.0.1, port 0.

// Tests may sleep (a node process being killed mid-write, a fixed gap between two kills).
#![allow(clippy::disallowed_methods)]
mod adversarial_notices;
mod bench_smoke;
mod byzantine;
mod claims;
mod cli_client;
mod cli_vc;
mod console;
mod credential_log;
mod federation;
mod harness;
mod import;
mod interop;
mod node_api;
mod node_durability;
mod rotation;
mod screen;
mod testnet;
mod transparency;
mod trust;
mod witness;
