//! Fuzz target: the ST.96 register importer (`rightsnet_cli::import::fuzzing::st96`) on arbitrary
//! bytes. The importers are compiled from the CLI's sources (they need only proto-types, csv and
//! quick-xml), so that the fuzz build does not build the node and RocksDB.
#![no_main]

#[allow(dead_code)]
#[path = "../../cli/src/import/mod.rs"]
mod import;

libfuzzer_sys::fuzz_target!(|data: &[u8]| import::fuzzing::st96(data));
