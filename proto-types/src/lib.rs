//! Rightsnet protocol types: everything two nodes, or a node and an outside verifier, must agree
//! on byte for byte. This crate does no I/O: no files, no network, no clock, no async.
//!
//! Layers, from the bottom:
//! - [`jcs`]: strict JSON parsing and RFC 8785 canonicalisation.
//! - [`keys`]: Ed25519 keys, signatures, `did:key` and Multikey encodings.
//! - [`body`]: the typed, versioned bodies of every entry kind and their field validation.
//! - [`entry`]: the signed, hash-chained feed entry envelope, its id, chain checks and
//!   equivocation proofs.
//! - [`verify_many`]: strict verification of many entries, exactly [`entry::Entry::verify`]'s
//!   verdicts at less cost.
//! - [`data_integrity`]: W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite.
//! - [`status_list`]: W3C Bitstring Status Lists: the `encodedList` codec, `credentialStatus`
//!   entries and the signed `BitstringStatusListCredential`.
//! - [`claims`]: `IPRightCredential`s and holder-signed takedown notices.
//! - [`sync`]: the catch-up sync protocol's messages, their CBOR encoding and bounds.
//! - [`tlog`]: every feed as a Merkle tree (RFC 9162): hashes, the stored nodes, proofs.
//! - [`note`]: C2SP signed notes: text and signature lines, key ids, verifier keys, Ed25519
//!   signatures and `cosignature/v1` cosignatures.
//! - [`checkpoint`]: C2SP checkpoints of feeds signed by their authors, witness cosignatures,
//!   witness policies (tlog-policy) and offline inclusion proofs (tlog-proof).
//! - [`fuzzing`]: the invariants the fuzz targets check on arbitrary input.
//!
//! Anything signed is hashed and signed over the canonical form of the JSON *as received*,
//! never over a re-serialisation of a typed struct. Verification returns `Verified…` values that
//! only this crate can construct.

pub mod body;
pub mod checkpoint;
pub mod claims;
pub mod data_integrity;
pub mod entry;
pub mod fuzzing;
pub mod jcs;
pub mod keys;
mod memo;
pub mod note;
pub mod schema;
pub mod status_list;
pub mod sync;
pub mod timestamp;
pub mod tlog;
pub mod verify_many;
