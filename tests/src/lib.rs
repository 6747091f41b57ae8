//! Shared helpers for Rightsnet's integration tests live in `tests/integration/`; this library
//! exists so that the package can carry the `rightsnet-under-test` binary.
