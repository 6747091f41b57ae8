//! The catch-up sync protocol's messages (`/rightsnet/sync/1`, `docs/protocol.md` §10): what a
//! node asks a peer for when it is behind, what the peer answers, their CBOR encoding and the
//! bounds every implementation applies.
//!
//! A node asks for every feed head a peer holds ([`SyncRequest::Heads`]), then for the entries
//! of each feed it is behind on, in ranges ([`SyncRequest::Range`]). One request and one
//! response travel on one stream; each is one CBOR item (RFC 8949) in serde's data model:
//! enums externally tagged (a unit variant is its name as a text string, any other variant a
//! one-entry map from its name to its content), structs as maps keyed by field name, byte
//! fields as CBOR byte strings (never arrays of integers). Those bytes are pinned by the tests
//! below: other implementations rely on them.
//!
//! Decoding is bounded: a message longer than [`MAX_REQUEST_BYTES`] or [`MAX_RESPONSE_BYTES`]
//! is refused before it is parsed, nesting is bounded by the CBOR decoder, and bad input is a
//! [`SyncError`], never a panic. Whether a decoded response may answer a request (its kind, how
//! many heads or entries) is [`SyncResponse::check_answers`]. The entries inside a response are
//! opaque bytes here: the requester's ingest path decodes and verifies them.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::entry::EntryId;

/// The request-response protocol name.
pub const PROTOCOL: &str = "/rightsnet/sync/1";
/// Most entries one range response carries; a larger `limit` is served as this many.
pub const MAX_RANGE_ENTRIES: u32 = 512;
/// Most bytes of entries one range response carries (a responder stops adding entries before
/// it would pass this, but always sends at least one).
pub const MAX_RANGE_BYTES: usize = 8 * 1024 * 1024;
/// Most feed heads one heads response lists.
pub const MAX_HEADS: usize = 10_000;
/// Largest encoded request decoded.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024;
/// Largest encoded response decoded: [`MAX_RANGE_BYTES`] of entries plus their CBOR framing
/// (and room for one entry past the limit).
pub const MAX_RESPONSE_BYTES: usize = 12 * 1024 * 1024;

/// A sync request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Every feed head the peer holds.
    Heads,
    /// Entries of one feed, in seq order from `from_seq`, at most `limit` of them (and at most
    /// [`MAX_RANGE_ENTRIES`]).
    Range {
        /// The author's Ed25519 public key (32 bytes; a CBOR byte string).
        #[serde(with = "serde_bytes")]
        author: [u8; 32],
        /// First seq wanted.
        from_seq: u64,
        /// Most entries wanted.
        limit: u32,
    },
}

impl SyncRequest {
    /// The variant's name, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            SyncRequest::Heads => "Heads",
            SyncRequest::Range { .. } => "Range",
        }
    }
}

/// The head of one feed: its author, latest seq and the id of the entry at that seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireHead {
    /// The author's Ed25519 public key (32 bytes; a CBOR byte string).
    #[serde(with = "serde_bytes")]
    pub author: [u8; 32],
    /// Latest seq.
    pub seq: u64,
    /// Id of the entry at that seq (32 bytes; a CBOR byte string).
    #[serde(with = "serde_bytes")]
    pub id: [u8; 32],
}

impl WireHead {
    /// The id of the head entry.
    pub fn entry_id(&self) -> EntryId {
        EntryId(self.id)
    }
}

/// The gossip topic of head announcements (`docs/protocol.md` §10, "Head announcements"): one message,
/// [`HeadAnnouncement`], never forwarded.
pub const ANNOUNCE_TOPIC: &str = "/rightsnet/heads/1";
/// Most feed heads one announcement lists.
pub const MAX_ANNOUNCED_HEADS: usize = 64;
/// Largest encoded announcement decoded ([`MAX_ANNOUNCED_HEADS`] heads take about 5.8 KiB).
pub const MAX_ANNOUNCEMENT_BYTES: usize = 8 * 1024;

/// A head announcement, gossiped on [`ANNOUNCE_TOPIC`]: "I now hold these feed heads". A hint,
/// never trusted data: a receiver only uses it to start a sync session with the peer it came
/// from, which verifies everything it fetches.
///
/// Encoded like the sync messages: a CBOR map `{"nonce": uint, "heads": [WireHead…]}`. Fields
/// a decoder does not know are ignored, so later versions may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadAnnouncement {
    /// Chosen at random by the sender for each message. Gossip message ids are the hash of the
    /// message, so without it two nodes announcing the same heads would send the same message,
    /// and the second would be dropped as a duplicate of the first.
    pub nonce: u64,
    /// The heads, at most [`MAX_ANNOUNCED_HEADS`], each author at most once.
    pub heads: Vec<WireHead>,
}

/// Encodes an announcement; one with more than [`MAX_ANNOUNCED_HEADS`] heads is refused.
pub fn encode_announcement(announcement: &HeadAnnouncement) -> Result<Vec<u8>, SyncError> {
    if announcement.heads.len() > MAX_ANNOUNCED_HEADS {
        return Err(SyncError::TooManyAnnouncedHeads(announcement.heads.len()));
    }
    encode(announcement)
}

/// Decodes an announcement of at most [`MAX_ANNOUNCEMENT_BYTES`] listing at most
/// [`MAX_ANNOUNCED_HEADS`] heads. Bytes after the first CBOR item are ignored.
pub fn decode_announcement(bytes: &[u8]) -> Result<HeadAnnouncement, SyncError> {
    let announcement: HeadAnnouncement = decode(bytes, MAX_ANNOUNCEMENT_BYTES)?;
    if announcement.heads.len() > MAX_ANNOUNCED_HEADS {
        return Err(SyncError::TooManyAnnouncedHeads(announcement.heads.len()));
    }
    Ok(announcement)
}

/// A sync response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The responder's feed heads (answers [`SyncRequest::Heads`]).
    Heads(Vec<WireHead>),
    /// Canonical entry bytes, in seq order (answers [`SyncRequest::Range`]); empty when the
    /// responder holds nothing from `from_seq` on.
    Entries(Vec<ByteBuf>),
    /// The responder is serving too many requests at once; try later.
    Busy,
    /// The responder could not serve the request; the text says why.
    Refused(String),
}

impl SyncResponse {
    /// The variant's name, as on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            SyncResponse::Heads(_) => "Heads",
            SyncResponse::Entries(_) => "Entries",
            SyncResponse::Busy => "Busy",
            SyncResponse::Refused(_) => "Refused",
        }
    }

    /// Checks that this response may answer `request`: heads answer heads (at most
    /// [`MAX_HEADS`]), entries answer a range (at most the entries asked for, and at most
    /// [`MAX_RANGE_ENTRIES`]), `Busy` and `Refused` answer anything. The entries themselves are
    /// not looked at: the requester's ingest path verifies them.
    pub fn check_answers(&self, request: &SyncRequest) -> Result<(), SyncError> {
        match (request, self) {
            (_, SyncResponse::Busy | SyncResponse::Refused(_)) => Ok(()),
            (SyncRequest::Heads, SyncResponse::Heads(heads)) => {
                if heads.len() > MAX_HEADS {
                    return Err(SyncError::TooManyHeads(heads.len()));
                }
                Ok(())
            }
            (SyncRequest::Range { limit, .. }, SyncResponse::Entries(entries)) => {
                let most = range_entries(*limit);
                if entries.len() > most as usize {
                    return Err(SyncError::TooManyEntries {
                        got: entries.len(),
                        most,
                    });
                }
                Ok(())
            }
            (request, response) => Err(SyncError::Unexpected {
                request: request.name(),
                response: response.name(),
            }),
        }
    }
}

/// How many entries a range request with `limit` is served: `limit`, but at least 1 and at most
/// [`MAX_RANGE_ENTRIES`].
pub fn range_entries(limit: u32) -> u32 {
    limit.clamp(1, MAX_RANGE_ENTRIES)
}

/// Why a sync message could not be encoded or decoded, or cannot answer its request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The encoded message is longer than the bound for its direction.
    #[error("sync message of {size} bytes is over the {max} byte limit")]
    TooLarge {
        /// Its length.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// The bytes are not the CBOR of a sync message (truncated, a wrong type, an unknown
    /// variant, a key or id that is not 32 bytes, nesting too deep).
    #[error("malformed sync message: {0}")]
    Malformed(String),
    /// Encoding failed (out of memory).
    #[error("encoding a sync message failed: {0}")]
    Encode(String),
    /// A heads response lists more than [`MAX_HEADS`] feeds.
    #[error("{0} feed heads, more than the {MAX_HEADS} allowed")]
    TooManyHeads(usize),
    /// A head announcement lists more than [`MAX_ANNOUNCED_HEADS`] heads.
    #[error("{0} announced heads, more than the {MAX_ANNOUNCED_HEADS} allowed")]
    TooManyAnnouncedHeads(usize),
    /// A range response carries more entries than were asked for.
    #[error("{got} entries, more than the {most} asked for")]
    TooManyEntries {
        /// Entries received.
        got: usize,
        /// Entries the request allows.
        most: u32,
    },
    /// The response is of a kind that does not answer the request.
    #[error("a {response} response to a {request} request")]
    Unexpected {
        /// The request's variant.
        request: &'static str,
        /// The response's variant.
        response: &'static str,
    },
}

/// Encodes a request.
pub fn encode_request(request: &SyncRequest) -> Result<Vec<u8>, SyncError> {
    encode(request)
}

/// Encodes a response.
pub fn encode_response(response: &SyncResponse) -> Result<Vec<u8>, SyncError> {
    encode(response)
}

/// Decodes a request of at most [`MAX_REQUEST_BYTES`]. As in every implementation so far,
/// bytes after the first CBOR item are ignored.
pub fn decode_request(bytes: &[u8]) -> Result<SyncRequest, SyncError> {
    decode(bytes, MAX_REQUEST_BYTES)
}

/// Decodes a response of at most [`MAX_RESPONSE_BYTES`]. As in every implementation so far,
/// bytes after the first CBOR item are ignored.
pub fn decode_response(bytes: &[u8]) -> Result<SyncResponse, SyncError> {
    decode(bytes, MAX_RESPONSE_BYTES)
}

fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, SyncError> {
    cbor4ii::serde::to_vec(Vec::new(), message)
        .map_err(|error| SyncError::Encode(error.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], max: usize) -> Result<T, SyncError> {
    if bytes.len() > max {
        return Err(SyncError::TooLarge {
            size: bytes.len(),
            max,
        });
    }
    cbor4ii::serde::from_slice(bytes).map_err(|error| SyncError::Malformed(error.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn key(start: u8) -> [u8; 32] {
        std::array::from_fn(|index| (index as u8).wrapping_add(start))
    }

    /// Messages and the hex of their bytes.
    type Golden<T> = Vec<(T, &'static str)>;

    /// Requests and responses with the exact bytes the node's earlier types (`Vec<u8>` through
    /// `serde_bytes`, encoded by libp2p's CBOR codec) put on the wire. They must not change.
    fn golden() -> (Golden<SyncRequest>, Golden<SyncResponse>) {
        let requests = vec![
            (SyncRequest::Heads, "654865616473"),
            (
                SyncRequest::Range {
                    author: key(0),
                    from_seq: 1000,
                    limit: 512,
                },
                "a16552616e6765a366617574686f725820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6866726f6d5f7365711903e8656c696d6974190200",
            ),
        ];
        let responses = vec![
            (
                SyncResponse::Heads(vec![
                    WireHead {
                        author: key(0x20),
                        seq: 70000,
                        id: key(0xa0),
                    },
                    WireHead {
                        author: key(0x40),
                        seq: 1,
                        id: key(0xe0),
                    },
                ]),
                "a165486561647382a366617574686f725820202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f637365711a000111706269645820a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfa366617574686f725820404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f63736571016269645820e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
            ),
            (SyncResponse::Heads(Vec::new()), "a165486561647380"),
            (
                SyncResponse::Entries(vec![
                    ByteBuf::from(b"{\"seq\":1}".to_vec()),
                    ByteBuf::from(Vec::new()),
                ]),
                "a167456e747269657382497b22736571223a317d40",
            ),
            (SyncResponse::Busy, "6442757379"),
            (
                SyncResponse::Refused("author is not a valid key".to_owned()),
                "a167526566757365647819617574686f72206973206e6f7420612076616c6964206b6579",
            ),
        ];
        (requests, responses)
    }

    #[test]
    fn the_bytes_on_the_wire_are_those_of_the_earlier_types() {
        let (requests, responses) = golden();
        for (request, expected) in requests {
            let bytes = encode_request(&request).unwrap();
            assert_eq!(hex::encode(&bytes), expected, "{request:?}");
            assert_eq!(decode_request(&bytes).unwrap(), request);
        }
        for (response, expected) in responses {
            let bytes = encode_response(&response).unwrap();
            assert_eq!(hex::encode(&bytes), expected, "{response:?}");
            assert_eq!(decode_response(&bytes).unwrap(), response);
        }
    }

    #[test]
    fn oversized_messages_are_refused_before_parsing() {
        let request = vec![0x40; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            decode_request(&request),
            Err(SyncError::TooLarge {
                size: MAX_REQUEST_BYTES + 1,
                max: MAX_REQUEST_BYTES
            })
        );
        // A response just over the bound, even one that would decode.
        let mut response = encode_response(&SyncResponse::Busy).unwrap();
        response.resize(MAX_RESPONSE_BYTES + 1, 0);
        assert!(matches!(
            decode_response(&response),
            Err(SyncError::TooLarge { .. })
        ));
        // At the bound it is parsed (trailing bytes after the item are ignored, as before).
        response.truncate(MAX_RESPONSE_BYTES);
        assert_eq!(decode_response(&response), Ok(SyncResponse::Busy));
    }

    #[test]
    fn malformed_cbor_is_an_error_never_a_panic() {
        let malformed: Vec<Vec<u8>> = [
            "",
            "ff",
            // A map claiming 2^64-1 entries; an array claiming as many byte strings.
            "a16552616e6765bbffffffffffffffff",
            "a167456e74726965739bffffffffffffffff",
            // An unknown variant; a known one with the wrong content.
            "6446656564",
            "a16552616e676501",
        ]
        .iter()
        .map(|text| hex::decode(text).unwrap())
        .collect();
        for sample in &malformed {
            let hex = hex::encode(sample);
            assert!(
                matches!(decode_request(sample), Err(SyncError::Malformed(_))),
                "{hex}"
            );
            assert!(
                matches!(decode_response(sample), Err(SyncError::Malformed(_))),
                "{hex}"
            );
        }
        // Heads with nesting 10 000 deep inside a field no decoder knows: the decoder's depth
        // bound refuses it. (A request decoder reads `{"Heads": …}` as the unit variant and
        // never looks inside, as libp2p's codec did.)
        let mut deep = hex::decode("a165486561647381a163787878").unwrap();
        deep.extend(std::iter::repeat_n(0x81, 10_000));
        assert!(matches!(
            decode_response(&deep),
            Err(SyncError::Malformed(_))
        ));
        // A CBOR item is self-delimiting: no strict prefix of a message decodes as one of its
        // kind.
        let (requests, responses) = golden();
        for (request, _) in &requests {
            let bytes = encode_request(request).unwrap();
            for end in 0..bytes.len() {
                assert!(
                    decode_request(&bytes[..end]).is_err(),
                    "{request:?} cut at {end}"
                );
            }
        }
        for (response, _) in &responses {
            let bytes = encode_response(response).unwrap();
            for end in 0..bytes.len() {
                assert!(
                    decode_response(&bytes[..end]).is_err(),
                    "{response:?} cut at {end}"
                );
            }
        }
    }

    #[test]
    fn keys_and_ids_must_be_32_bytes() {
        // The range request of the golden vector with a 31-byte author.
        let short = hex::decode(
            "a16552616e6765a366617574686f72581f000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e6866726f6d5f7365711903e8656c696d6974190200",
        )
        .unwrap();
        assert!(matches!(
            decode_request(&short),
            Err(SyncError::Malformed(_))
        ));
    }

    /// The announcement's bytes, pinned like the sync messages'.
    #[test]
    fn an_announcement_has_fixed_bytes_and_bounds() {
        let announcement = HeadAnnouncement {
            nonce: 7,
            heads: vec![WireHead {
                author: key(0x20),
                seq: 70000,
                id: key(0xa0),
            }],
        };
        let bytes = encode_announcement(&announcement).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            "a2656e6f6e63650765686561647381a366617574686f725820202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f637365711a000111706269645820a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        );
        assert_eq!(decode_announcement(&bytes).unwrap(), announcement);
        // The most heads allowed fit in the byte bound, with room to spare.
        let full = HeadAnnouncement {
            nonce: u64::MAX,
            heads: vec![
                WireHead {
                    author: key(1),
                    seq: u64::MAX,
                    id: key(2),
                };
                MAX_ANNOUNCED_HEADS
            ],
        };
        let bytes = encode_announcement(&full).unwrap();
        assert!(bytes.len() <= MAX_ANNOUNCEMENT_BYTES, "{}", bytes.len());
        assert_eq!(decode_announcement(&bytes).unwrap(), full);
        // One head more is refused both ways.
        let mut over = full;
        over.heads.push(over.heads[0].clone());
        assert_eq!(
            encode_announcement(&over),
            Err(SyncError::TooManyAnnouncedHeads(MAX_ANNOUNCED_HEADS + 1))
        );
        let bytes = encode(&over).unwrap();
        assert_eq!(
            decode_announcement(&bytes),
            Err(SyncError::TooManyAnnouncedHeads(MAX_ANNOUNCED_HEADS + 1))
        );
        // Over the byte bound: refused before parsing.
        assert!(matches!(
            decode_announcement(&vec![0xa2; MAX_ANNOUNCEMENT_BYTES + 1]),
            Err(SyncError::TooLarge { .. })
        ));
        // Fields a decoder does not know are ignored (later versions may add some).
        let mut extended = hex::decode("a3").unwrap();
        extended.extend(&hex::decode("656e6f6e636507").unwrap());
        extended.extend(&hex::decode("65686561647380").unwrap());
        extended.extend(&hex::decode("6666757475726501").unwrap());
        assert_eq!(
            decode_announcement(&extended).unwrap(),
            HeadAnnouncement {
                nonce: 7,
                heads: Vec::new()
            }
        );
        // Malformed input is an error, never a panic; no strict prefix decodes.
        for sample in ["", "ff", "a1656865616473bbffffffffffffffff", "6448656164"] {
            assert!(matches!(
                decode_announcement(&hex::decode(sample).unwrap()),
                Err(SyncError::Malformed(_))
            ));
        }
        let bytes = encode_announcement(&announcement).unwrap();
        for end in 0..bytes.len() {
            assert!(decode_announcement(&bytes[..end]).is_err(), "cut at {end}");
        }
    }

    proptest::proptest! {
        #[test]
        fn announcements_round_trip(
            nonce in proptest::prelude::any::<u64>(),
            heads in proptest::collection::vec(
                (proptest::prelude::any::<[u8; 32]>(), proptest::prelude::any::<u64>(), proptest::prelude::any::<[u8; 32]>()),
                0..=MAX_ANNOUNCED_HEADS,
            ),
        ) {
            let announcement = HeadAnnouncement {
                nonce,
                heads: heads
                    .into_iter()
                    .map(|(author, seq, id)| WireHead { author, seq, id })
                    .collect(),
            };
            let bytes = encode_announcement(&announcement).unwrap();
            proptest::prop_assert!(bytes.len() <= MAX_ANNOUNCEMENT_BYTES);
            proptest::prop_assert_eq!(decode_announcement(&bytes).unwrap(), announcement);
        }
    }

    #[test]
    fn a_response_must_answer_its_request() {
        let range = SyncRequest::Range {
            author: key(0),
            from_seq: 1,
            limit: 2,
        };
        let entries = |count: usize| SyncResponse::Entries(vec![ByteBuf::new(); count]);
        assert_eq!(entries(2).check_answers(&range), Ok(()));
        assert_eq!(
            entries(3).check_answers(&range),
            Err(SyncError::TooManyEntries { got: 3, most: 2 })
        );
        // A limit of 0 is served as 1, one above the protocol's bound as the bound.
        let zero = SyncRequest::Range {
            author: key(0),
            from_seq: 1,
            limit: 0,
        };
        assert_eq!(entries(1).check_answers(&zero), Ok(()));
        assert_eq!(range_entries(u32::MAX), MAX_RANGE_ENTRIES);
        let head = WireHead {
            author: key(1),
            seq: 1,
            id: key(2),
        };
        assert_eq!(
            SyncResponse::Heads(vec![head.clone(); MAX_HEADS]).check_answers(&SyncRequest::Heads),
            Ok(())
        );
        assert_eq!(
            SyncResponse::Heads(vec![head; MAX_HEADS + 1]).check_answers(&SyncRequest::Heads),
            Err(SyncError::TooManyHeads(MAX_HEADS + 1))
        );
        assert_eq!(
            entries(0).check_answers(&SyncRequest::Heads),
            Err(SyncError::Unexpected {
                request: "Heads",
                response: "Entries"
            })
        );
        assert_eq!(
            SyncResponse::Heads(Vec::new()).check_answers(&range),
            Err(SyncError::Unexpected {
                request: "Range",
                response: "Heads"
            })
        );
        for any in [SyncResponse::Busy, SyncResponse::Refused("no".to_owned())] {
            assert_eq!(any.check_answers(&range), Ok(()));
            assert_eq!(any.check_answers(&SyncRequest::Heads), Ok(()));
        }
    }
}
