//! Strict signature verification of many entries at once: one result per entry, in order,
//! accepting and refusing exactly what [`Entry::verify`] (`ed25519-dalek`'s `verify_strict`)
//! does, at less cost per entry.
//!
//! # What the check is
//!
//! `verify_strict(A, (R, S), M)` accepts exactly when all of these hold:
//! 1. `S` is canonical (below ℓ);
//! 2. the bytes `R` decompress to a point, and that point is not of small order;
//! 3. `A` is not of small order;
//! 4. compressing `[S]B − [k]A`, with `k = SHA-512(R ‖ A ‖ M) mod ℓ`, gives back the bytes `R`.
//!
//! This module checks 1, 3 and 4 as `verify_strict` does (3 once per key, when it is decoded:
//! a [`crate::keys::PublicKey`] is never weak) and replaces 2 with a check on the point
//! computed in 4: when 4 holds, the bytes `R` are the canonical encoding of `R' = [S]B − [k]A`
//! (compression is canonical), so they decompress, to `R'`, and `R` is of small order exactly
//! when `R'` is. That saves the square root of decompressing `R` (≈ 10 % of a verification)
//! and gives the same answer on every input, including the adversarial ones: non-canonical `S`,
//! non-canonical or non-decompressible `R`, small-order `R`, `R` with a torsion component
//! (`rB + T`, which only the key's holder can make and `verify_strict` refuses unless
//! `T = −[k]T_A`), and mixed-order keys (`aB + T_A`, decoded like any key).
//!
//! # Why there is no batch equation
//!
//! A batch equation (`ed25519_dalek::verify_batch`, or one over random coefficients) checks a
//! random combination `Σ zᵢ(Rᵢ − [Sᵢ]B + [kᵢ]Aᵢ) = 0`. It is cofactorless, so torsion terms of
//! different entries can cancel: two entries with `R = rB + T` (T of order 2) pass together for
//! half of all coefficient draws, and dalek derives its coefficients from the inputs, so a
//! signer can grind until they do. Nodes that batch differently would then disagree on which
//! entries are valid. Making it exact needs every `R` shown to be torsion-free (`[ℓ]R = 0`),
//! and that one scalar multiplication costs more than half a `verify_strict`: measured on the
//! 2-core test machine, an exact batch (fresh OS randomness, per-`R` `[ℓ]R` check, keys
//! aggregated per author, 512 per batch) costs 0.86–1.0 of `verify_strict`, this module's check
//! 0.88 (see `docs/perf-notes/verify.md`). So entries are checked one by one, exactly; callers
//! spread a batch over cores.

use crate::entry::{ENTRY_SIGNATURE_TAG, Entry, EntryError, VerifiedEntry};

/// Verifies every entry strictly; one result per entry, in the order given. Accepts and
/// refuses exactly what [`Entry::verify`] does (see the module documentation).
pub fn verify_many(entries: Vec<Entry>) -> Vec<Result<VerifiedEntry, EntryError>> {
    entries.into_iter().map(verify_one).collect()
}

/// Verifies one entry strictly: [`Entry::verify`]'s answer, without decompressing `R`.
pub fn verify_one(entry: Entry) -> Result<VerifiedEntry, EntryError> {
    check(&entry)?;
    Ok(entry.into_verified())
}

/// The verdict of [`verify_one`] without taking the entry: `Ok` exactly when
/// [`Entry::verify`] would accept it, else [`EntryError::BadSignature`].
pub fn check(entry: &Entry) -> Result<(), EntryError> {
    if signature_holds(entry) {
        Ok(())
    } else {
        Err(EntryError::BadSignature)
    }
}

/// Conditions 1 to 4 of the module documentation ([`crate::keys::PublicKey::verify_parts`]).
fn signature_holds(entry: &Entry) -> bool {
    let (before, after) = entry.unsigned_parts();
    entry
        .author()
        .verify_parts(&[ENTRY_SIGNATURE_TAG, before, after], entry.signature())
        .is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::body::{Body, EntryKind, examples};
    use crate::entry::{ENVELOPE_VERSION, EntryId};
    use crate::jcs;
    use crate::keys::PublicKey;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use proptest::prelude::*;
    use serde_json::{Map, Value};
    use sha2::{Digest, Sha512};

    /// ℓ, the order of the base point, little-endian.
    const ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    /// A key pair built from a scalar, so that keys with a torsion component can sign:
    /// `A = [a]B + T_A`.
    struct RawKey {
        secret: Scalar,
        point: EdwardsPoint,
    }

    impl RawKey {
        fn new(seed: u64, torsion: usize) -> Self {
            let secret = Scalar::from(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
                * Scalar::from(0x1234_5678_9abc_def1u64);
            let point = ED25519_BASEPOINT_POINT * secret + EIGHT_TORSION[torsion];
            Self { secret, point }
        }
        fn bytes(&self) -> [u8; 32] {
            self.point.compress().to_bytes()
        }
    }

    /// How a generated entry is signed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Signing {
        /// R = rB, S = r + k·a: valid unless the key has torsion (then valid only by chance).
        Honest,
        /// R = rB + T (T ≠ 0 of the given index), S = r + k·a.
        TorsionedR(usize),
        /// R = rB + T with T ground until R = [S]B − [k]A exactly: valid under a mixed-order
        /// key (verify_strict accepts it), and R itself has torsion.
        GroundToPass,
        /// R a small-order point (the given index), S = k·a (+ r·0): the equation can hold.
        SmallOrderR(usize),
        /// S + ℓ: the same signature with a non-canonical S.
        NonCanonicalS,
        /// The signature of another message (another timestamp).
        WrongMessage,
        /// 64 random bytes.
        Random,
        /// R's encoding with y + p or a flipped sign bit (non-canonical or another point).
        MangledR(bool),
    }

    fn registration() -> Body {
        Body::decode(EntryKind::Registration, &examples::registration()).unwrap()
    }

    /// The entry object without signature.
    fn unsigned_object(author: &[u8; 32], seq: u64, millis: u64) -> Map<String, Value> {
        let author = PublicKey::from_bytes(author).unwrap();
        let mut object = Map::new();
        object.insert("v".to_owned(), Value::from(ENVELOPE_VERSION));
        object.insert("author".to_owned(), Value::from(author.to_did_key()));
        object.insert("seq".to_owned(), Value::from(seq));
        object.insert(
            "prev".to_owned(),
            if seq == 1 {
                Value::Null
            } else {
                Value::from(EntryId([seq as u8; 32]).to_hex())
            },
        );
        let timestamp = crate::timestamp::Timestamp::from_unix_millis(millis as i64).unwrap();
        object.insert("timestamp".to_owned(), Value::from(timestamp.as_str()));
        object.insert("kind".to_owned(), Value::from("registration"));
        object.insert("body".to_owned(), registration().to_value());
        object
    }

    fn message_of(object: &Map<String, Value>) -> Vec<u8> {
        let mut message = ENTRY_SIGNATURE_TAG.to_vec();
        message.extend(jcs::canonicalize(&Value::Object(object.clone())).unwrap());
        message
    }

    fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
        let mut hasher = Sha512::new();
        hasher.update(r);
        hasher.update(a);
        hasher.update(message);
        Scalar::from_bytes_mod_order_wide(&hasher.finalize().into())
    }

    fn add_order(s: [u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for index in 0..32 {
            let sum = u16::from(s[index]) + u16::from(ORDER[index]) + carry;
            out[index] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        out
    }

    /// Signs a registration entry by `key` at `seq` as `signing` says, with nonce `nonce`.
    fn entry(key: &RawKey, seq: u64, nonce: u64, signing: Signing) -> Entry {
        let a = key.bytes();
        let object = unsigned_object(&a, seq, 1_700_000_000_000 + seq);
        let message = message_of(&object);
        let r = Scalar::from(nonce) * Scalar::from(0xfeed_beef_u64) + Scalar::ONE;
        let sign = |r_point: EdwardsPoint, r_scalar: Scalar| -> [u8; 64] {
            let r_bytes = r_point.compress().to_bytes();
            let k = challenge(&r_bytes, &a, &message);
            let s = r_scalar + k * key.secret;
            let mut out = [0u8; 64];
            out[..32].copy_from_slice(&r_bytes);
            out[32..].copy_from_slice(s.as_bytes());
            out
        };
        let honest = sign(ED25519_BASEPOINT_POINT * r, r);
        let signature: [u8; 64] = match signing {
            Signing::Honest => honest,
            Signing::TorsionedR(torsion) => {
                sign(ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[torsion], r)
            }
            Signing::GroundToPass => {
                // Find T with rB + T = [S]B − [k]A = rB − k·T_A; k depends on R, so grind over
                // the torsion points and nonces (each try holds with probability ≥ 1/8).
                let key_torsion = key.point - ED25519_BASEPOINT_POINT * key.secret;
                let mut found = None;
                'grind: for extra in 0..64u64 {
                    let r = r + Scalar::from(extra);
                    for torsion in EIGHT_TORSION {
                        let candidate = sign(ED25519_BASEPOINT_POINT * r + torsion, r);
                        let r_bytes: [u8; 32] = candidate[..32].try_into().unwrap();
                        let k = challenge(&r_bytes, &a, &message);
                        if torsion == -(key_torsion * k) {
                            found = Some(candidate);
                            break 'grind;
                        }
                    }
                }
                found.expect("a torsion point and nonce that pass")
            }
            Signing::SmallOrderR(torsion) => sign(EIGHT_TORSION[torsion], Scalar::ZERO),
            Signing::NonCanonicalS => {
                let mut bytes = honest;
                let s: [u8; 32] = bytes[32..].try_into().unwrap();
                bytes[32..].copy_from_slice(&add_order(s));
                bytes
            }
            Signing::WrongMessage => {
                let other = message_of(&unsigned_object(&a, seq, 1_600_000_000_000));
                let r_point = ED25519_BASEPOINT_POINT * r;
                let r_bytes = r_point.compress().to_bytes();
                let k = challenge(&r_bytes, &a, &other);
                let mut out = [0u8; 64];
                out[..32].copy_from_slice(&r_bytes);
                out[32..].copy_from_slice((r + k * key.secret).as_bytes());
                out
            }
            Signing::Random => {
                let mut out = [0u8; 64];
                for (index, byte) in out.iter_mut().enumerate() {
                    *byte = (nonce as u8)
                        .wrapping_mul(31)
                        .wrapping_add((index as u8).wrapping_mul(7));
                }
                out
            }
            Signing::MangledR(flip_sign) => {
                let mut bytes = honest;
                if flip_sign {
                    bytes[31] ^= 0x80;
                } else {
                    // y + p (only representable for y < 19; otherwise y ≥ p garbage).
                    bytes[..31].fill(0xff);
                    bytes[0] = 0xee;
                    bytes[31] |= 0x7f;
                }
                bytes
            }
        };
        let mut object = object;
        object.insert(
            "signature".to_owned(),
            Value::from(crate::keys::multibase_btc(&signature)),
        );
        Entry::from_value(Value::Object(object)).unwrap()
    }

    /// The oracle: dalek's `verify_strict` on the message built independently.
    fn oracle(entry: &Entry) -> bool {
        entry
            .author()
            .verify_strict_reference(&entry.signing_message().unwrap(), entry.signature())
            .is_ok()
    }

    fn same(
        left: &[Result<VerifiedEntry, EntryError>],
        right: &[Result<VerifiedEntry, EntryError>],
    ) -> bool {
        left.len() == right.len()
            && left.iter().zip(right).all(|pair| match pair {
                (Ok(a), Ok(b)) => a.id() == b.id(),
                (Err(a), Err(b)) => a == b,
                _ => false,
            })
    }

    fn signing_strategy() -> impl Strategy<Value = Signing> {
        prop_oneof![
            4 => Just(Signing::Honest),
            2 => (1usize..8).prop_map(Signing::TorsionedR),
            1 => Just(Signing::GroundToPass),
            1 => (0usize..8).prop_map(Signing::SmallOrderR),
            1 => Just(Signing::NonCanonicalS),
            1 => Just(Signing::WrongMessage),
            1 => Just(Signing::Random),
            1 => any::<bool>().prop_map(Signing::MangledR),
        ]
    }

    #[test]
    fn expected_verdicts_on_each_kind_of_input() {
        let prime = RawKey::new(1, 0);
        let mixed = RawKey::new(2, 4);
        let order8 = RawKey::new(3, 1);
        let cases = [
            (entry(&prime, 1, 1, Signing::Honest), true),
            (entry(&prime, 2, 2, Signing::TorsionedR(4)), false),
            (entry(&prime, 3, 3, Signing::TorsionedR(1)), false),
            (entry(&prime, 4, 4, Signing::SmallOrderR(0)), false),
            (entry(&prime, 5, 5, Signing::SmallOrderR(2)), false),
            (entry(&prime, 6, 6, Signing::NonCanonicalS), false),
            (entry(&prime, 7, 7, Signing::WrongMessage), false),
            (entry(&prime, 8, 8, Signing::Random), false),
            (entry(&prime, 9, 9, Signing::MangledR(true)), false),
            (entry(&prime, 10, 10, Signing::MangledR(false)), false),
            (entry(&mixed, 1, 11, Signing::GroundToPass), true),
            (entry(&order8, 1, 12, Signing::GroundToPass), true),
        ];
        for (index, (entry, valid)) in cases.iter().enumerate() {
            assert_eq!(oracle(entry), *valid, "oracle, case {index}");
            assert_eq!(verify_one(entry.clone()).is_ok(), *valid, "case {index}");
        }
        let entries: Vec<Entry> = cases.iter().map(|(entry, _)| entry.clone()).collect();
        let many = verify_many(entries.clone());
        let single: Vec<_> = entries.into_iter().map(Entry::verify).collect();
        assert!(same(&many, &single));
        assert_eq!(many.iter().filter(|result| result.is_ok()).count(), 3);
    }

    #[test]
    fn pairs_of_torsioned_r_that_a_batch_equation_could_cancel_are_refused() {
        // Two order-2 torsion terms cancel in a cofactorless batch whenever their coefficients
        // have the same parity; each entry alone is invalid, and so is each here.
        let key = RawKey::new(9, 0);
        let entries = vec![
            entry(&key, 1, 21, Signing::TorsionedR(4)),
            entry(&key, 2, 22, Signing::TorsionedR(4)),
            entry(&key, 3, 23, Signing::Honest),
            entry(&key, 4, 24, Signing::TorsionedR(2)),
            entry(&key, 5, 25, Signing::TorsionedR(6)),
        ];
        let results = verify_many(entries);
        let verdicts: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(verdicts, [false, false, true, false, false]);
        assert_eq!(results[0].as_ref().err(), Some(&EntryError::BadSignature));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn verify_many_agrees_with_entry_verify_on_mixed_batches(
            batch in prop::collection::vec((0u64..4, 0usize..8, signing_strategy()), 0..14),
        ) {
            let entries: Vec<Entry> = batch
                .iter()
                .enumerate()
                .map(|(index, (key, torsion, signing))| {
                    // Keys 0 and 1 are of prime order, 2 and 3 have a torsion component.
                    let torsion = if *key < 2 { 0 } else { (*torsion).max(1) };
                    let key = RawKey::new(*key + 100, torsion);
                    entry(&key, index as u64 + 1, index as u64 + 1, *signing)
                })
                .collect();
            let many = verify_many(entries.clone());
            let single: Vec<_> = entries.iter().cloned().map(Entry::verify).collect();
            prop_assert!(same(&many, &single), "{:?}", batch);
            for (entry, result) in entries.iter().zip(&many) {
                prop_assert_eq!(result.is_ok(), oracle(entry));
            }
        }
    }
}
