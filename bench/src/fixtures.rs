//! Synthetic but realistic data: office keys and trust stores; registrations of a plausible size
//! (about 750 bytes signed) and spread — marks of one to three words from a shared vocabulary
//! with diacritics, holders from a pool of [`HOLDER_POOL`] companies with keys, one to three
//! Nice classes, dates over thirty years so that some rights have expired; signed feeds
//! generated in chunks, one feed per core at a time.
//!
//! Everything is derived from indexes with a fixed hash, so a registration can be rebuilt from
//! `(office, seq)` alone: the query scenario samples a million loaded rights without keeping
//! them in memory.

use std::sync::OnceLock;

use anyhow::Context;
use proto_types::body::{AuthorityRole, Body, EntryKind, Jurisdiction};
use proto_types::entry::{EntryId, UnsignedEntry};
use proto_types::keys::{PublicKey, SecretKey};
use proto_types::timestamp::Timestamp;
use rayon::prelude::*;
use rightsnet_node::trust::{TrustStore, TrustedAuthority};
use serde_json::{Value, json};

/// Jurisdictions given to offices, in order (one office per jurisdiction).
pub const JURISDICTIONS: [&str; 32] = [
    "FR", "CN", "US", "DE", "JP", "GB", "IT", "ES", "NL", "SE", "KR", "BR", "IN", "CA", "AU", "CH",
    "MX", "PL", "BE", "AT", "DK", "FI", "NO", "PT", "IE", "CZ", "GR", "HU", "RO", "TR", "ZA", "AR",
];
/// Companies that hold rights; each has a name and a key.
pub const HOLDER_POOL: usize = 20_000;
/// Distinct words marks and holder names are made of.
pub const VOCABULARY: u64 = 6_000;

const SYLLABLES: [&str; 32] = [
    "lu", "mi", "è", "re", "ca", "fé", "no", "va", "sto", "ri", "ka", "zen", "bel", "la", "dor",
    "ix", "tra", "mon", "sol", "ar", "ö", "ber", "gu", "ña", "sa", "ki", "to", "ré", "um", "pa",
    "li", "on",
];
const COMPANY_FORMS: [&str; 8] = [
    "SARL",
    "GmbH",
    "Ltd",
    "S.p.A.",
    "SAS",
    "Inc.",
    "Co., Ltd.",
    "AB",
];

/// splitmix64: a fixed, fast, well-mixed hash of an index.
pub fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn label_hash(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A 32-byte key seed for `(label, index)`: the same on every run.
pub fn seed(label: &str, index: u64) -> [u8; 32] {
    let base = label_hash(label) ^ mix(index);
    let mut seed = [0u8; 32];
    for (part, chunk) in seed.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(base.wrapping_add(part as u64)).to_le_bytes());
    }
    seed
}

/// A word of two or three syllables; `index` below [`VOCABULARY`].
pub fn word(index: u64) -> String {
    let hash = mix(index ^ 0x5757);
    let syllables = 2 + (hash % 2) as usize;
    (0..syllables)
        .map(|position| SYLLABLES[((hash >> (8 + 5 * position)) % 32) as usize])
        .collect()
}

fn capitalised(word: &str) -> String {
    let mut characters = word.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// The name of holder `index`: two words and a company form, e.g. `Lumiè Solva SARL`.
pub fn holder_name(index: usize) -> String {
    let hash = mix(index as u64 ^ 0x401d);
    format!(
        "{} {} {}",
        capitalised(&word(hash % VOCABULARY)),
        capitalised(&word((hash >> 20) % VOCABULARY)),
        COMPANY_FORMS[((hash >> 40) % 8) as usize]
    )
}

/// The secret key of holder `index` (the holder signs notices with it).
pub fn holder_key(index: usize) -> SecretKey {
    SecretKey::from_seed(&seed("holder", index as u64))
}

/// The `did:key` of every holder of the pool, computed once.
///
/// Sequentially, on purpose: the first caller may be a rayon worker (fixtures are built in
/// parallel), and a `OnceLock` initialiser that waits for rayon work deadlocks when the other
/// workers are blocked on the same `OnceLock` (seen with two scenarios starting at once).
pub fn holder_dids() -> &'static [String] {
    static DIDS: OnceLock<Vec<String>> = OnceLock::new();
    DIDS.get_or_init(|| {
        (0..HOLDER_POOL)
            .map(|index| holder_key(index).public_key().to_did_key())
            .collect()
    })
}

/// An intellectual-property office the benchmark signs for.
pub struct Office {
    /// Its position; its jurisdiction is `JURISDICTIONS[index % 32]`.
    pub index: usize,
    /// Its authority key.
    pub key: SecretKey,
    /// The jurisdiction it registers rights for.
    pub jurisdiction: &'static str,
}

impl Office {
    /// Office `index` of the set named `label` (different labels give different keys).
    pub fn new(label: &str, index: usize) -> Self {
        Self {
            index,
            key: SecretKey::from_seed(&seed(label, index as u64)),
            jurisdiction: JURISDICTIONS[index % JURISDICTIONS.len()],
        }
    }

    /// `count` offices of the set `label`.
    pub fn set(label: &str, count: usize) -> Vec<Self> {
        (0..count).map(|index| Self::new(label, index)).collect()
    }

    /// The trust-store entry of this office.
    pub fn authority(&self) -> anyhow::Result<TrustedAuthority> {
        office_authority(
            self.key.public_key(),
            &format!("Bench office {} ({})", self.index, self.jurisdiction),
            &[self.jurisdiction],
        )
    }
}

/// A trust-store entry for an office trusted for `jurisdictions`.
pub fn office_authority(
    key: PublicKey,
    name: &str,
    jurisdictions: &[&str],
) -> anyhow::Result<TrustedAuthority> {
    Ok(TrustedAuthority {
        did: key,
        name: name.to_owned(),
        role: AuthorityRole::Office,
        jurisdictions: jurisdictions
            .iter()
            .map(|code| Jurisdiction::parse(code))
            .collect::<Result<_, _>>()?,
    })
}

/// A trust-store entry for a marketplace.
pub fn marketplace_authority(key: PublicKey, name: &str) -> TrustedAuthority {
    TrustedAuthority {
        did: key,
        name: name.to_owned(),
        role: AuthorityRole::Marketplace,
        jurisdictions: Vec::new(),
    }
}

/// A trust store of these authorities.
pub fn trust_store(authorities: Vec<TrustedAuthority>) -> anyhow::Result<TrustStore> {
    TrustStore::from_authorities(authorities).context("building the trust store")
}

/// Everything about one synthetic registration, rebuilt from `(office, seq)`.
#[derive(Debug, Clone)]
pub struct Registration {
    /// `FR-TM-…`.
    pub right_id: String,
    /// The office's jurisdiction.
    pub jurisdiction: &'static str,
    /// The registration number, unique per office.
    pub number: String,
    /// The mark's words.
    pub mark_text: String,
    /// Nice classes, ascending.
    pub nice_classes: Vec<u8>,
    /// Index into the holder pool.
    pub holder: usize,
    /// Filing year.
    pub filing_year: u32,
    /// Filing month and day.
    pub filing_month_day: (u32, u32),
}

impl Registration {
    /// The registration office `office` makes as its `seq`-th entry (from 1).
    pub fn new(office: &Office, seq: u64) -> Self {
        let hash = mix(((office.index as u64) << 40) ^ seq);
        let words = 1 + (hash % 3) as usize;
        let upper = (hash >> 2) % 3 == 0;
        let mark_text = (0..words)
            .map(|position| {
                let word = word(mix(hash ^ position as u64) % VOCABULARY);
                if upper {
                    word.to_uppercase()
                } else {
                    capitalised(&word)
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let class_count = 1 + ((hash >> 8) % 3) as usize;
        let mut nice_classes: Vec<u8> = (0..class_count)
            .map(|position| 1 + ((hash >> (12 + 6 * position)) % 45) as u8)
            .collect();
        nice_classes.sort_unstable();
        nice_classes.dedup();
        let number = format!("{}{:07}", office.index + 1, seq);
        Self {
            right_id: format!("{}-TM-{number}", office.jurisdiction),
            jurisdiction: office.jurisdiction,
            number,
            mark_text,
            nice_classes,
            holder: ((hash >> 32) % HOLDER_POOL as u64) as usize,
            filing_year: 1996 + ((hash >> 48) % 29) as u32,
            filing_month_day: (
                1 + ((hash >> 53) % 12) as u32,
                1 + ((hash >> 57) % 28) as u32,
            ),
        }
    }

    /// The holder's name.
    pub fn holder_name(&self) -> String {
        holder_name(self.holder)
    }

    /// The expiry date (ten years after filing), `YYYY-MM-DD`.
    pub fn expiry_date(&self) -> String {
        let (month, day) = self.filing_month_day;
        format!("{}-{month:02}-{day:02}", self.filing_year + 10)
    }

    /// The claims a credential about this registration carries, naming the registering entry.
    pub fn claims(&self, entry: EntryId) -> anyhow::Result<proto_types::claims::RightClaims> {
        Ok(proto_types::claims::RightClaims {
            right_id: proto_types::body::RightId::parse(&self.right_id)?,
            right_type: "trademark".to_owned(),
            mark: Some(self.mark_text.clone()),
            nice_classes: self.nice_classes.clone(),
            holder_name: self.holder_name(),
            expiry_date: Some(self.expiry_date()),
            registration_entry: entry,
        })
    }

    /// The registration body, as an office would sign it.
    pub fn body_json(&self) -> Value {
        let (month, day) = self.filing_month_day;
        let filing = format!("{}-{month:02}-{day:02}", self.filing_year);
        let registered_month = if month > 6 { month - 6 } else { month + 6 };
        let registered_year = if month > 6 {
            self.filing_year + 1
        } else {
            self.filing_year
        };
        json!({
            "v": 1,
            "right_id": self.right_id,
            "right_type": "trademark",
            "jurisdiction": self.jurisdiction,
            "number": self.number,
            "application_number": format!("{}{}", self.filing_year, self.number),
            "mark_text": self.mark_text,
            "nice_classes": self.nice_classes,
            "holder": {
                "name": self.holder_name(),
                "country": self.jurisdiction,
                "key": holder_dids()[self.holder],
            },
            "filing_date": filing,
            "registration_date": format!("{registered_year}-{registered_month:02}-{day:02}"),
            "expiry_date": self.expiry_date(),
            "status": "registered",
        })
    }

    /// The typed body.
    pub fn body(&self) -> anyhow::Result<Body> {
        Body::decode(EntryKind::Registration, &self.body_json())
            .with_context(|| format!("synthetic registration {}", self.right_id))
    }
}

/// One office's feed as the benchmark writes it: the next seq, the previous id, a clock.
pub struct Feed {
    /// The office.
    pub office: Office,
    /// The last seq signed (0 before the first entry).
    pub seq: u64,
    prev: Option<EntryId>,
    millis: i64,
}

impl Feed {
    /// An empty feed whose entries are dated from 30 days ago, one millisecond apart.
    pub fn new(office: Office) -> Self {
        let now = rightsnet_node::clock::now().unix_millis();
        Self {
            office,
            seq: 0,
            prev: None,
            millis: now - 30 * 24 * 3_600_000,
        }
    }

    /// Signs the next entry with `body`; returns its canonical bytes and id.
    pub fn sign(&mut self, body: Body) -> anyhow::Result<(Vec<u8>, EntryId)> {
        let seq = self.seq + 1;
        self.millis += 1;
        let entry = UnsignedEntry {
            seq,
            prev: self.prev,
            timestamp: Timestamp::from_unix_millis(self.millis)?,
            body,
        }
        .sign(&self.office.key)?;
        self.seq = seq;
        self.prev = Some(entry.id());
        Ok((entry.canonical_bytes().to_vec(), entry.id()))
    }

    /// Signs the office's next `count` registrations.
    pub fn registrations(&mut self, count: usize) -> anyhow::Result<Vec<(Vec<u8>, EntryId)>> {
        (0..count)
            .map(|_| {
                let body = Registration::new(&self.office, self.seq + 1).body()?;
                self.sign(body)
            })
            .collect()
    }
}

/// Splits `total` entries over `feeds` as evenly as possible.
pub fn spread(total: usize, feeds: usize) -> Vec<usize> {
    let feeds = feeds.max(1);
    (0..feeds)
        .map(|index| total / feeds + usize::from(index < total % feeds))
        .collect()
}

/// Signs the next `counts[i]` registrations of every feed `i`, one feed per core at a time,
/// and interleaves them as a node would receive them from several authors: round robin, each
/// author's entries in order.
pub fn registrations_chunk(feeds: &mut [Feed], counts: &[usize]) -> anyhow::Result<Vec<Vec<u8>>> {
    let per_feed: Vec<Vec<(Vec<u8>, EntryId)>> = feeds
        .par_iter_mut()
        .zip(counts.par_iter())
        .map(|(feed, &count)| feed.registrations(count))
        .collect::<anyhow::Result<_>>()?;
    Ok(interleave(per_feed))
}

/// Round robin over the lists, keeping each list's order.
pub fn interleave(lists: Vec<Vec<(Vec<u8>, EntryId)>>) -> Vec<Vec<u8>> {
    let total = lists.iter().map(Vec::len).sum();
    let mut iterators: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for iterator in &mut iterators {
            if let Some((bytes, _)) = iterator.next() {
                out.push(bytes);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_valid_deterministic_and_of_realistic_size() {
        let office = Office::new("test", 3);
        let first = Registration::new(&office, 7);
        let again = Registration::new(&office, 7);
        assert_eq!(first.right_id, again.right_id);
        assert_eq!(first.mark_text, again.mark_text);
        assert!(
            first
                .right_id
                .starts_with(&format!("{}-TM-", office.jurisdiction))
        );
        let mut feed = Feed::new(office);
        let signed = feed.registrations(20).unwrap();
        assert_eq!(feed.seq, 20);
        let mean = signed.iter().map(|(bytes, _)| bytes.len()).sum::<usize>() / signed.len();
        assert!((600..1000).contains(&mean), "mean entry size {mean}");
        assert_eq!(spread(10, 3), vec![4, 3, 3]);
    }
}
