//! Fuzz target: `proto_types::fuzzing::sync` on arbitrary bytes (the sync protocol's CBOR
//! decoder, as a request and as a response).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_types::fuzzing::sync(data));
