//! Fuzz target: `proto_types::fuzzing::transparency` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_types::fuzzing::transparency(data));
