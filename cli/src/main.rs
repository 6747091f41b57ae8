//! The `rightsnet` binary: parses arguments and hands over to the library.

/// Rust allocations go through mimalloc (docs/PERFORMANCE.md, "Allocator"): it keeps freed
/// memory per thread instead of in glibc's arenas, which the node's many short-lived
/// allocations (request bodies, JSON values, canonical bytes) contend on.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rightsnet_cli::main());
}
