//! `rightsnet feed export --tiles DIR`: fetches feeds from a node through its tlog-tiles API
//! (protocol §11.5, §14.5), verifies everything fetched against the feed's signed checkpoint,
//! and writes the static tree a plain web server or object store can serve.
//!
//! The tree is written as the API's paths below `/v1`: `DIR/feeds/<did:key>/checkpoint`,
//! `DIR/feeds/<did:key>/tile/<L>/<N>[.p/<W>]` and `…/tile/entries/<N>[.p/<W>]`, so that a web
//! server that serves `DIR` at `https://host/v1/` answers the node's tile URLs. Every name
//! below `DIR` is made here from a parsed key and tile coordinates, never taken from the
//! node's answers, so nothing is written outside `DIR`.
//!
//! Verification, per feed: the checkpoint is signed by the feed's key; every entry of every
//! bundle is an entry of that author at the seq its position says, and hashes to the level-0
//! tile's leaf hash; every hash of a tile at level L ≥ 1 is the hash of the full tile below it;
//! and the root computed from the tiles is the checkpoint's. Tiles are fetched and checked one
//! at a time into a staging directory inside `DIR` (level-0 tiles are not kept in memory); only
//! when the root matches are they renamed into place, the checkpoint last (each rename
//! atomic), so a server never serves a checkpoint whose tiles are not there yet.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use clap::{Args, Subcommand};
use proto_types::checkpoint::{MAX_CHECKPOINT_BYTES, VerifiedCheckpoint, verify_feed_checkpoint};
use proto_types::entry::Entry;
use proto_types::keys::PublicKey;
use proto_types::tlog::tile::MAX_BUNDLE_ENTRY_BYTES;
use proto_types::tlog::{
    MAX_TILE_LEVEL, TILE_HASH_BYTES, TILE_WIDTH, TileHashReader, TileId, TreeHash,
    decode_entry_bundle, decode_hash_tile, leaf_hash, node_hash, tree_hash,
};
use serde_json::{Value, json};

use crate::client::{Answer, NodeArgs, NodeClient};
use crate::{CommandError, CommandResult, Exit};

/// Feed commands.
#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Export feeds as a static C2SP tlog-tiles tree (checkpoint, hash tiles, entry bundles),
    /// verified against each feed's signed checkpoint: by default the node's own feeds (its
    /// authority's key and the keys it rotated to). Exit 0 when written, 1 when what the node
    /// served does not verify (nothing of that feed is written), 2 for bad arguments or a feed
    /// the node has no checkpoint of, 3 when the node or the directory fails.
    Export(ExportArgs),
}

/// Arguments of `feed export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory to write the tree into (created if missing): `DIR/feeds/<did>/…`.
    #[arg(long)]
    tiles: PathBuf,
    /// Export this author's feed (did:key); repeatable. Default: the node's own feeds.
    #[arg(long, conflicts_with = "all")]
    author: Vec<String>,
    /// Export every feed the node holds that has a checkpoint (the others are listed as
    /// skipped).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    node: NodeArgs,
}

impl FeedCommand {
    /// Runs the command.
    pub fn run(self) -> CommandResult {
        match self {
            FeedCommand::Export(args) => export(&args),
        }
    }
}

/// Largest hash tile: 256 hashes.
const MAX_TILE_BYTES: usize = TILE_WIDTH as usize * TILE_HASH_BYTES;
/// Largest entry bundle: 256 entries of at most 65 535 bytes, each behind 2 length bytes.
const MAX_BUNDLE_BYTES: usize = TILE_WIDTH as usize * (2 + MAX_BUNDLE_ENTRY_BYTES);
/// Most feeds one export takes (`--all`, `--author` repeated).
pub const MAX_EXPORT_FEEDS: usize = 10_000;

/// What one exported feed came to.
struct Exported {
    author: String,
    size: u64,
    root: TreeHash,
    tiles: usize,
    bundles: usize,
}

fn export(args: &ExportArgs) -> CommandResult {
    let client = NodeClient::new(&args.node)?;
    let authors = authors(args, &client)?;
    std::fs::create_dir_all(&args.tiles).map_err(|error| {
        CommandError::failure(format!("cannot create {}: {error}", args.tiles.display()))
    })?;
    let mut exported = Vec::new();
    let mut skipped = Vec::new();
    for author in &authors {
        match export_feed(&client, &args.tiles, author, args.all)? {
            Some(feed) => exported.push(feed),
            None => skipped.push(author.to_did_key()),
        }
    }
    let mut out = std::io::stdout().lock();
    let written = if args.node.json {
        let feeds: Vec<Value> = exported
            .iter()
            .map(|feed| {
                json!({
                    "author": feed.author,
                    "size": feed.size,
                    "root": base64::engine::general_purpose::STANDARD.encode(feed.root.0),
                    "tiles": feed.tiles,
                    "bundles": feed.bundles,
                    "dir": feed_dir(&args.tiles, &feed.author),
                })
            })
            .collect();
        writeln!(out, "{}", json!({"feeds": feeds, "skipped": skipped}))
    } else {
        let mut text = String::new();
        for feed in &exported {
            text.push_str(&format!(
                "exported {}: {} entries, {} tiles, {} bundles → {}\n",
                feed.author,
                feed.size,
                feed.tiles,
                feed.bundles,
                feed_dir(&args.tiles, &feed.author).display()
            ));
        }
        for author in &skipped {
            text.push_str(&format!("skipped {author}: no checkpoint held yet\n"));
        }
        out.write_all(text.as_bytes())
    };
    written
        .map_err(|error| CommandError::failure(format!("cannot write standard output: {error}")))?;
    Ok(Exit::Ok)
}

/// The feeds to export: `--author`s, every feed (`--all`), or the node's own.
fn authors(args: &ExportArgs, client: &NodeClient) -> Result<Vec<PublicKey>, CommandError> {
    let parse = |text: &str, from: &str| {
        PublicKey::from_did_key(text)
            .map_err(|error| format!("{from} names {text:?}, not a did:key: {error}"))
    };
    let mut authors = if !args.author.is_empty() {
        args.author
            .iter()
            .map(|text| parse(text, "--author").map_err(CommandError::bad_input))
            .collect::<Result<Vec<_>, _>>()?
    } else if args.all {
        let feeds = client.get("/v1/feeds")?.ok()?;
        feeds["feeds"]
            .as_array()
            .ok_or_else(|| CommandError::failure("the node's feed list has no `feeds`"))?
            .iter()
            .map(|feed| {
                parse(
                    feed["author"].as_str().unwrap_or_default(),
                    "the node's feed list",
                )
                .map_err(CommandError::check_failed)
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        let status = client.get("/v1/status")?.ok()?;
        let mut own = vec![status["authority"].as_str().unwrap_or_default().to_owned()];
        for rotation in status["key_history"].as_array().into_iter().flatten() {
            own.push(rotation["new_key"].as_str().unwrap_or_default().to_owned());
        }
        own.iter()
            .map(|text| parse(text, "the node's status").map_err(CommandError::check_failed))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut seen = std::collections::BTreeSet::new();
    authors.retain(|author| seen.insert(author.to_bytes()));
    if authors.len() > MAX_EXPORT_FEEDS {
        return Err(CommandError::bad_input(format!(
            "{} feeds: more than one export takes ({MAX_EXPORT_FEEDS})",
            authors.len()
        )));
    }
    Ok(authors)
}

/// `DIR/feeds/<did:key>`: the did is the canonical form of a parsed key.
fn feed_dir(root: &Path, author: &str) -> PathBuf {
    root.join("feeds").join(author)
}

/// A failed check of what the node served (exit 1).
fn invalid(author: &PublicKey, what: impl std::fmt::Display) -> CommandError {
    CommandError::check_failed(format!(
        "not verified: feed {}: {what}",
        author.to_did_key()
    ))
}

/// Fetches `path` below the feed's prefix (`/v1/feeds/<did>/`), at most `limit` bytes: the
/// status and the body.
fn fetch(
    client: &NodeClient,
    author: &PublicKey,
    path: &str,
    limit: usize,
) -> Result<(u16, Vec<u8>), CommandError> {
    let (status, bytes) = client.get_bytes(&format!("/v1/feeds/{}/{path}", author.to_did_key()))?;
    if bytes.len() > limit {
        return Err(invalid(
            author,
            format!("the answer to {path} has more than {limit} bytes"),
        ));
    }
    Ok((status, bytes))
}

/// A node's error answer as the command's error ([`Answer::ok`]: 4xx exit 2, 5xx exit 3).
fn answer_error(status: u16, bytes: &[u8]) -> CommandError {
    let answer = Answer {
        status,
        body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
    };
    match answer.ok() {
        Err(error) => error,
        Ok(_) => CommandError::failure(format!("the node answered HTTP {status}")),
    }
}

/// Fetches a tile or bundle the checkpoint requires: any answer but 200 means the node does not
/// serve what it signed (exit 1), except a server failure (exit 3).
fn fetch_required(
    client: &NodeClient,
    author: &PublicKey,
    path: &str,
    limit: usize,
) -> Result<Vec<u8>, CommandError> {
    let (status, bytes) = fetch(client, author, path, limit)?;
    match status {
        200 => Ok(bytes),
        500.. => Err(answer_error(status, &bytes)),
        _ => Err(invalid(
            author,
            format!("the node answers HTTP {status} for {path}, which its checkpoint requires"),
        )),
    }
}

/// The hash of the complete subtree over a full tile's 256 hashes.
fn full_tile_hash(hashes: &[TreeHash]) -> TreeHash {
    let mut level = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node_hash(left, right),
                [single] => *single,
                _ => TreeHash::empty(),
            })
            .collect();
    }
    level.first().copied().unwrap_or_else(TreeHash::empty)
}

/// A staging directory inside `DIR`, removed when dropped unless its files were moved out.
struct Staging {
    path: PathBuf,
    files: Vec<String>,
}

impl Staging {
    fn new(root: &Path, author: &PublicKey) -> Result<Self, CommandError> {
        let key = author.to_bytes();
        let path = root.join(format!(
            ".export-{}-{}",
            std::process::id(),
            hex::encode(&key[..8])
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|error| {
            CommandError::failure(format!("cannot create {}: {error}", path.display()))
        })?;
        Ok(Self {
            path,
            files: Vec::new(),
        })
    }

    /// Writes `relative` (a tile path of our own making) into the staging directory, synced.
    fn write(&mut self, relative: &str, bytes: &[u8]) -> Result<(), CommandError> {
        let path = self.path.join(relative);
        let failed = |error: std::io::Error| {
            CommandError::failure(format!("cannot write {}: {error}", path.display()))
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let mut file = std::fs::File::create(&path).map_err(failed)?;
        file.write_all(bytes).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        self.files.push(relative.to_owned());
        Ok(())
    }

    /// Moves every file into `target`, each by one atomic rename, then syncs the directories.
    fn publish(&mut self, target: &Path) -> Result<(), CommandError> {
        let mut directories = std::collections::BTreeSet::new();
        for relative in &self.files {
            let from = self.path.join(relative);
            let to = target.join(relative);
            let failed = |error: std::io::Error| {
                CommandError::failure(format!("cannot move a tile to {}: {error}", to.display()))
            };
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(failed)?;
                directories.insert(parent.to_path_buf());
            }
            std::fs::rename(&from, &to).map_err(failed)?;
        }
        for directory in directories {
            if let Ok(handle) = std::fs::File::open(&directory) {
                let _ = handle.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Exports one feed; `None` when the node holds no checkpoint of it and `skip_missing`.
fn export_feed(
    client: &NodeClient,
    root: &Path,
    author: &PublicKey,
    skip_missing: bool,
) -> Result<Option<Exported>, CommandError> {
    let (status, bytes) = fetch(client, author, "checkpoint", MAX_CHECKPOINT_BYTES)?;
    if status == 404 && skip_missing {
        return Ok(None);
    }
    if status != 200 {
        return Err(answer_error(status, &bytes));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| invalid(author, "the checkpoint is not UTF-8"))?;
    let checkpoint = verify_feed_checkpoint(&text)
        .map_err(|error| invalid(author, format!("the checkpoint: {error}")))?;
    if checkpoint.author() != author {
        return Err(invalid(
            author,
            format!(
                "the node answered the checkpoint of {}",
                checkpoint.author().to_did_key()
            ),
        ));
    }
    let mut staging = Staging::new(root, author)?;
    let (tiles, bundles) = fetch_tree(client, author, &checkpoint, &mut staging)?;
    staging.write("checkpoint", text.as_bytes())?;
    // The checkpoint was written last, so it is moved last.
    let did = author.to_did_key();
    staging.publish(&feed_dir(root, &did))?;
    Ok(Some(Exported {
        author: did,
        size: checkpoint.checkpoint().size(),
        root: *checkpoint.checkpoint().root(),
        tiles,
        bundles,
    }))
}

/// Fetches and checks every tile and bundle of the checkpoint's tree into `staging`; returns
/// how many tiles and bundles.
fn fetch_tree(
    client: &NodeClient,
    author: &PublicKey,
    checkpoint: &VerifiedCheckpoint,
    staging: &mut Staging,
) -> Result<(usize, usize), CommandError> {
    let size = checkpoint.checkpoint().size();
    let (mut tile_count, mut bundle_count) = (0usize, 0usize);
    // Tiles of levels ≥ 1 and the right edge of level 0, for the root (1/256 of the tree).
    let mut kept: BTreeMap<TileId, Vec<u8>> = BTreeMap::new();
    // The hashes the next level's tiles must hold: those of this level's full tiles.
    let mut expected: Vec<TreeHash> = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let full = TileId::full_count(level, size);
        let tiles = (0..full)
            .filter_map(|index| TileId::in_tree(level, index, size))
            .chain(TileId::in_tree(level, full, size));
        let mut level_hashes_seen = 0usize;
        let mut next_expected = Vec::new();
        for tile in tiles {
            let bytes = fetch_required(client, author, &tile.path(), MAX_TILE_BYTES)?;
            let hashes = decode_hash_tile(&tile, &bytes)
                .map_err(|error| invalid(author, format!("{}: {error}", tile.path())))?;
            if level == 0 {
                let bundle =
                    fetch_required(client, author, &tile.entries_path(), MAX_BUNDLE_BYTES)?;
                check_bundle(author, &tile, &bundle, &hashes)?;
                staging.write(&tile.entries_path(), &bundle)?;
                bundle_count += 1;
            } else {
                let start = level_hashes_seen;
                let wanted = expected.get(start..start + hashes.len());
                if wanted != Some(hashes.as_slice()) {
                    return Err(invalid(
                        author,
                        format!(
                            "{} does not hold the hashes of the full tiles below it",
                            tile.path()
                        ),
                    ));
                }
            }
            level_hashes_seen += hashes.len();
            if tile.is_full() {
                next_expected.push(full_tile_hash(&hashes));
            }
            if level > 0 || !tile.is_full() {
                kept.insert(tile, bytes.clone());
            }
            staging.write(&tile.path(), &bytes)?;
            tile_count += 1;
        }
        if level > 0 && level_hashes_seen != expected.len() {
            return Err(invalid(
                author,
                format!(
                    "level {level} holds {level_hashes_seen} hashes, not {}",
                    expected.len()
                ),
            ));
        }
        expected = next_expected;
        if expected.is_empty() && level_hashes_seen == 0 {
            break;
        }
    }
    let computed = tree_hash(size, &mut TileHashReader::new(size, kept))
        .map_err(|error| invalid(author, format!("the tiles do not make a tree: {error:?}")))?;
    if computed != *checkpoint.checkpoint().root() {
        return Err(invalid(
            author,
            "the root computed from the tiles is not the checkpoint's",
        ));
    }
    Ok((tile_count, bundle_count))
}

/// Checks an entry bundle against its level-0 tile: each entry is `author`'s entry at the seq
/// its position says, and hashes to the tile's leaf hash.
fn check_bundle(
    author: &PublicKey,
    tile: &TileId,
    bundle: &[u8],
    hashes: &[TreeHash],
) -> Result<(), CommandError> {
    let entries = decode_entry_bundle(bundle, usize::from(tile.width))
        .map_err(|error| invalid(author, format!("{}: {error}", tile.entries_path())))?;
    let first_seq = tile.index * u64::from(TILE_WIDTH) + 1;
    for ((bytes, hash), seq) in entries.iter().zip(hashes).zip(first_seq..) {
        if leaf_hash(bytes) != *hash {
            return Err(invalid(
                author,
                format!(
                    "entry seq {seq} does not hash to its leaf in {}",
                    tile.path()
                ),
            ));
        }
        let entry = Entry::decode(bytes)
            .map_err(|error| invalid(author, format!("entry seq {seq}: {error}")))?;
        if entry.author() != author || entry.seq() != seq {
            return Err(invalid(
                author,
                format!(
                    "the leaf of seq {seq} is the entry {} of {} at seq {}",
                    entry.id(),
                    entry.author().to_did_key(),
                    entry.seq()
                ),
            ));
        }
    }
    Ok(())
}
