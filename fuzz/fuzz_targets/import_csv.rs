//! Fuzz target: the CSV register importer (`rightsnet_cli::import::fuzzing::csv`) on arbitrary
//! bytes. The importers are compiled from the CLI's sources (they need only proto-types, csv and
//! quick-xml), so that the fuzz build does not build the node and RocksDB.
#![no_main]

#[allow(dead_code)]
#[path = "../../cli/src/import/mod.rs"]
mod import;

libfuzzer_sys::fuzz_target!(|data: &[u8]| import::fuzzing::csv(data));
