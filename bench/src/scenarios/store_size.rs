//! Store size per registration (issue 14): a full manual compaction before the store is
//! measured, so that the figure is the steady state and not the bulk load's overlapping files,
//! the size of each column family, and (`ingest --compare-codecs`) the same store recompressed
//! with every codec, family by family.

use std::path::Path;
use std::time::Instant;

use rightsnet_node::storage::{Codec, CompressionPlan, StorageOptions, Store};
use serde_json::{Map, Value, json};

use crate::cluster::{dir_size, mib};
use crate::report::{Reporter, round};

/// What a full compaction left.
#[derive(Debug, Clone)]
pub struct Compacted {
    /// Seconds the compaction took.
    pub seconds: f64,
    /// Table-file bytes per column family.
    pub families: Vec<(&'static str, u64)>,
}

impl Compacted {
    /// The families' sizes as a JSON object, family → bytes.
    pub fn families_json(&self) -> Value {
        Value::Object(
            self.families
                .iter()
                .map(|(name, bytes)| ((*name).to_owned(), json!(bytes)))
                .collect::<Map<_, _>>(),
        )
    }

    /// A one-line summary: each family's bytes per entry, largest first.
    pub fn per_entry_line(&self, entries: u64) -> String {
        let mut families: Vec<_> = self
            .families
            .iter()
            .filter(|(_, bytes)| *bytes > 0)
            .collect();
        families.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        families
            .iter()
            .map(|(name, bytes)| format!("{name} {:.0}", *bytes as f64 / entries.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Compacts every family fully and reads their sizes.
pub fn compact(store: &Store) -> anyhow::Result<Compacted> {
    let started = Instant::now();
    store.compact_all()?;
    Ok(Compacted {
        seconds: started.elapsed().as_secs_f64(),
        families: store.family_sizes(),
    })
}

/// Opens the (closed) store in `data_dir` once per codec, every family compressed with it,
/// compacts it fully (rewriting every file) and reports each family's bytes per entry. The
/// store's contents stay the same: only the files' compression changes.
pub fn compare_codecs(
    data_dir: &Path,
    entries: u64,
    parameters: &Value,
    reporter: &mut Reporter<'_>,
) -> anyhow::Result<()> {
    let mut by_codec = Map::new();
    for codec in Codec::ALL {
        let options = StorageOptions {
            compression: CompressionPlan::Uniform(codec),
            ..StorageOptions::default()
        };
        let (store, writer) = Store::open_with(data_dir, &options)?;
        let compacted = compact(&store)?;
        drop(writer);
        drop(store);
        let total: u64 = compacted.families.iter().map(|(_, bytes)| bytes).sum();
        reporter.say(format!(
            "  codec {:<22} {:.0} bytes per entry in table files ({:.0} MiB, compaction {:.1} s): {}",
            codec.name(),
            total as f64 / entries.max(1) as f64,
            mib(total),
            compacted.seconds,
            compacted.per_entry_line(entries)
        ));
        by_codec.insert(
            codec.name().to_owned(),
            json!({
                "table_bytes": total,
                "table_bytes_per_entry": round(total as f64 / entries.max(1) as f64, 1),
                "compaction_s": round(compacted.seconds, 2),
                "family_bytes": compacted.families_json(),
            }),
        );
    }
    // And back to the node's own per-family choice, as the store is normally opened.
    let (store, writer) = Store::open_with(data_dir, &StorageOptions::default())?;
    let compacted = compact(&store)?;
    drop(writer);
    drop(store);
    let total: u64 = compacted.families.iter().map(|(_, bytes)| bytes).sum();
    reporter.say(format!(
        "  per-family choice          {:.0} bytes per entry in table files, {:.0} on disk: {}",
        total as f64 / entries.max(1) as f64,
        dir_size(data_dir) as f64 / entries.max(1) as f64,
        compacted.per_entry_line(entries)
    ));
    by_codec.insert(
        "per_family".to_owned(),
        json!({
            "table_bytes": total,
            "table_bytes_per_entry": round(total as f64 / entries.max(1) as f64, 1),
            "compaction_s": round(compacted.seconds, 2),
            "family_bytes": compacted.families_json(),
        }),
    );
    let mut parameters = parameters.clone();
    parameters["path"] = json!("codecs");
    reporter.result("ingest", parameters, Value::Object(by_codec))?;
    Ok(())
}
