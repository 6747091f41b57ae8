//! How RocksDB lays out each column family: compression, filters, and the memory
//! the store may use (one shared block cache, a bound on all memtables together).
//!
//! None of this is part of the on-disk format: RocksDB records in every table file how that
//! file was compressed and filtered, so a store written with other options (or none, as
//! before issue 14) opens and reads as before; files are rewritten with the options below as
//! compaction reaches them.
//!
//! The codec was measured per family on the `ingest` benchmark's store (100 000
//! registrations of 8 authors, every family recompressed with each codec after a full
//! compaction, `ingest --compare-codecs`; `docs/perf-notes/store.md`). Table-file bytes per
//! registration:
//!
//! | family | none | LZ4 | Zstd | LZ4, Zstd at the bottom | LZ4, Zstd + dictionary at the bottom |
//! |---|---|---|---|---|---|
//! | `entries` | 797 | 484 | 388 | 388 | **288** |
//! | `rights` (version 2) | 270 | 172 | 149 | 149 | **139** |
//! | `tlog` | 98 | 85 | 78 | 78 | **70** |
//! | `feeds` | 49 | 42 | 39 | 39 | **35** |
//! | `index_*` | 170 | 79 | 55 | 55 | **51** |
//! | total | 1 384 | 861 | 710 | 710 | **583** |
//!
//! So every family uses the last: LZ4 on the upper levels, where files are young and
//! rewritten soon (cheap to compress, and a flush never waits on Zstd), and Zstd with a
//! dictionary trained per file at the bottommost level, where almost all data ends up. The
//! dictionary is what matters for the small values: a 4 KiB block holds about five signed
//! entries, too few for a codec to learn their common structure (field names, the authors'
//! and holders' keys, the vocabulary); the dictionary gives it that. Even the hashes of `tlog`
//! gain, through their keys. Point lookups of every family but the indexes have a whole-key
//! bloom filter; the indexes are only scanned and seeked (a multi-word mark search joins its
//! words' ranges by seeks, [`super::TokenRange`]), never looked up whole, so they have none.
//!
//! No prefix extractor is set. The index scans use prefixes of varying length (a mark token
//! prefix `caf` against the token `cafe`, a class with or without a jurisdiction, the rights
//! family scanned in id order), which a fixed-length extractor would cut wrongly, and a
//! prefix filter only saves the seek into a range that turns out empty, which the searches
//! rarely are. Iterators therefore stay in total order.

use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, DBCompressionType, Options as RocksOptions,
    SliceTransform,
};

use super::cf;

/// Default size of the shared block cache, in MiB (`[storage] block_cache_mb`): a quarter of
/// a 1 GB resident-memory budget, next to [`MEMTABLE_BUDGET_BYTES`].
pub const DEFAULT_BLOCK_CACHE_MB: usize = 256;

/// The most the block cache may be configured to (64 GiB): a bound on a config value.
pub const MAX_BLOCK_CACHE_MB: usize = 64 * 1024;

/// All memtables of all families together, in bytes (RocksDB's `db_write_buffer_size`): when
/// they hold more, the largest is flushed. Without it each of the 14 families could hold two
/// 64 MiB memtables.
pub const MEMTABLE_BUDGET_BYTES: usize = 256 << 20;

/// The most bytes of one family's memtable before it is flushed.
const MEMTABLE_BYTES: usize = 64 << 20;

/// Bits per key of the bloom filters (about 1 % false positives).
const BLOOM_BITS_PER_KEY: f64 = 10.0;

/// The largest dictionary Zstd trains for a bottommost file, and how many sample bytes it
/// trains on (RocksDB's recommended 100×).
const ZSTD_DICTIONARY_BYTES: i32 = 16 * 1024;
const ZSTD_TRAINING_BYTES: i32 = 100 * ZSTD_DICTIONARY_BYTES;

/// Zstd's level at the bottommost level: its default, a good ratio at a low compaction cost.
const ZSTD_LEVEL: i32 = 3;

/// How the store is opened: its memory and its compression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOptions {
    /// Size of the block cache every family shares (data, index and filter blocks), in MiB.
    pub block_cache_mb: usize,
    /// Which codec each family uses.
    pub compression: CompressionPlan,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            block_cache_mb: DEFAULT_BLOCK_CACHE_MB,
            compression: CompressionPlan::PerFamily,
        }
    }
}

/// Which codec each family uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CompressionPlan {
    /// Each family's own choice (the table in this module's documentation).
    #[default]
    PerFamily,
    /// One codec for every family: for measuring the codecs against each other (the ingest
    /// benchmark's `--compare-codecs`), or for an operator who wants no compression at all.
    Uniform(Codec),
}

/// A way of compressing a family's table files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// No compression.
    None,
    /// LZ4 at every level.
    Lz4,
    /// Zstd at every level.
    Zstd,
    /// LZ4 above the bottommost level, Zstd at it.
    Lz4ThenZstd,
    /// LZ4 above the bottommost level, Zstd with a dictionary trained per file at it.
    Lz4ThenZstdDictionary,
}

impl Codec {
    /// Every codec, for measurements.
    pub const ALL: [Codec; 5] = [
        Codec::None,
        Codec::Lz4,
        Codec::Zstd,
        Codec::Lz4ThenZstd,
        Codec::Lz4ThenZstdDictionary,
    ];

    /// A short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
            Codec::Lz4ThenZstd => "lz4+zstd-bottom",
            Codec::Lz4ThenZstdDictionary => "lz4+zstd-dict-bottom",
        }
    }

    fn apply(self, options: &mut RocksOptions) {
        match self {
            Codec::None => options.set_compression_type(DBCompressionType::None),
            Codec::Lz4 => options.set_compression_type(DBCompressionType::Lz4),
            Codec::Zstd => {
                options.set_compression_type(DBCompressionType::Zstd);
                options.set_compression_options(-14, ZSTD_LEVEL, 0, 0);
            }
            Codec::Lz4ThenZstd | Codec::Lz4ThenZstdDictionary => {
                options.set_compression_type(DBCompressionType::Lz4);
                options.set_bottommost_compression_type(DBCompressionType::Zstd);
                let dictionary = if self == Codec::Lz4ThenZstdDictionary {
                    ZSTD_DICTIONARY_BYTES
                } else {
                    0
                };
                options.set_bottommost_compression_options(-14, ZSTD_LEVEL, 0, dictionary, true);
                if dictionary > 0 {
                    options.set_bottommost_zstd_max_train_bytes(ZSTD_TRAINING_BYTES, true);
                }
            }
        }
    }
}

/// What one family is: how it is read, hence its codec and filter.
struct FamilyLayout {
    codec: Codec,
    /// Whether point lookups by whole key are worth a bloom filter.
    bloom: bool,
}

fn layout(family: &str) -> FamilyLayout {
    FamilyLayout {
        codec: Codec::Lz4ThenZstdDictionary,
        bloom: !matches!(
            family,
            cf::INDEX_MARK
                | cf::INDEX_HOLDER
                | cf::INDEX_CLASS
                | cf::INDEX_CLAIMS
                | cf::INDEX_SCREEN
        ),
    }
}

/// The memory every family shares: made once per open store.
pub(super) struct SharedMemory {
    cache: Cache,
}

impl SharedMemory {
    pub(super) fn new(options: &StorageOptions) -> Self {
        let megabytes = options.block_cache_mb.clamp(1, MAX_BLOCK_CACHE_MB);
        Self {
            // HyperClockCache (auto-sized table): lookups without a lock. The LRU cache's
            // shard mutexes and list updates were 12 % of a node's CPU screening at 1 M rights
            // with 8 clients (PERFORMANCE.md, 'The tail').
            cache: Cache::new_hyper_clock_cache(megabytes << 20, 0),
        }
    }
}

/// The database-wide options (the families' own come from [`family_options`]).
pub(super) fn database_options() -> RocksOptions {
    let mut options = RocksOptions::default();
    options.create_if_missing(true);
    // Safe: a directory with a database missing some of our families gets here only when it is
    // our unfinished creation (checked by `Store::open_store`).
    options.create_missing_column_families(true);
    options.set_max_open_files(512);
    options.increase_parallelism(2);
    options.set_keep_log_file_num(4);
    options.set_db_write_buffer_size(MEMTABLE_BUDGET_BYTES);
    options
}

/// The options of family `name`.
pub(super) fn family_options(
    name: &str,
    options: &StorageOptions,
    memory: &SharedMemory,
) -> RocksOptions {
    let layout = layout(name);
    let mut family = RocksOptions::default();
    family.set_write_buffer_size(MEMTABLE_BYTES);
    match options.compression {
        CompressionPlan::PerFamily => layout.codec.apply(&mut family),
        CompressionPlan::Uniform(codec) => codec.apply(&mut family),
    }
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&memory.cache);
    // Index and filter blocks live in the block cache too, so that the store's memory stays
    // within the cache however many files 10 M rights make; partitioned, so that a lookup
    // loads only the partitions it needs, and the partitions' own top level stays pinned.
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_pin_top_level_index_and_filter(true);
    if layout.bloom {
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        table.set_partition_filters(true);
    }
    if name == cf::INDEX_SCREEN {
        // Screening seeks prefixes that mostly do not exist (issue 16, `storage/screen.rs`):
        // bloom filters over the prefixes, in the files and in the memtable, refuse them
        // without a data block read. Whole keys are never looked up, so not filtered.
        family.set_prefix_extractor(SliceTransform::create(
            "rightsnet.screen.v1",
            super::keys::screen_filter_prefix,
            None,
        ));
        family.set_memtable_prefix_bloom_ratio(0.1);
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        table.set_whole_key_filtering(false);
        table.set_partition_filters(true);
    }
    family.set_block_based_table_factory(&table);
    family
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_layout_and_only_indexes_go_without_filters() {
        for name in cf::ALL {
            let layout = layout(name);
            assert_eq!(
                layout.bloom,
                !name.starts_with("index_"),
                "{name}: point-lookup families have a bloom filter, scanned ones none"
            );
        }
        assert_eq!(layout(cf::ENTRIES).codec, Codec::Lz4ThenZstdDictionary);
        assert_eq!(layout(cf::TLOG).codec, Codec::Lz4ThenZstdDictionary);
    }

    #[test]
    fn codec_names_are_distinct() {
        let mut names: Vec<_> = Codec::ALL.iter().map(|codec| codec.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Codec::ALL.len());
    }
}
