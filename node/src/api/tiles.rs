//! The C2SP tlog-tiles read API of every feed the node holds (protocol §11.5, §14.5), under
//! `/v1/feeds/{author}/`: `checkpoint` (the newest servable checkpoint, with the cosignatures
//! held), hash tiles `tile/{L}/{N}[.p/{W}]` and entry bundles `tile/entries/{N}[.p/{W}]`.
//!
//! A tile path is parsed strictly ([`parse_tile_path`]: one canonical form, 400 otherwise) and
//! served for any tree size up to the feed's head (a stored node never changes, so a tile of
//! an earlier size is the prefix of today's). Every tile and bundle, full or partial, is
//! therefore immutable and cached for a year (protocol §14.5). Errors are not cached: a tile
//! beyond the head now exists a moment later. The checkpoint is the newest stored one (the
//! store keeps only checkpoints whose root is its own tree's), with its cosignatures.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use proto_types::keys::PublicKey;
use proto_types::tlog::{
    TILE_WIDTH, TileError, TileId, TilePath, encode_entry_bundle, encode_hash_tile, parse_tile_path,
};

use super::error::{ApiError, ApiResult};
use super::state::NodeState;
use super::{Access, RouteSpec, openapi};
use crate::storage::Store;

/// `Cache-Control` of a tile or bundle: it never changes (a partial tile of width W is the
/// first W hashes of its position for every larger size too; protocol §14.5).
pub(super) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a checkpoint, a proof and every error of these routes: they change as
/// the feed grows (tlog-tiles: a checkpoint is not cached beyond a few seconds).
pub(super) const NO_CACHE: &str = "no-cache";
/// Media type of tiles and bundles.
const OCTET_STREAM: &str = "application/octet-stream";
/// Media type of checkpoints and proofs (tlog-tiles, tlog-proof).
pub(super) const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// The routes of this file, for the route table.
pub(super) fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: "get",
            path: "/v1/feeds/{author}/checkpoint",
            summary: "The feed's latest checkpoint this node holds (C2SP tlog-checkpoint signed note, signed by the feed's key, its root this node's tree), with the witness cosignatures the node holds appended; text/plain, Cache-Control: no-cache",
            access: Access::Public,
            responses: &[
                (200, "the signed checkpoint note"),
                (400, "`bad_author`"),
                (404, "no such feed, or no checkpoint held for it yet"),
            ],
            request: None,
            response: openapi::text_schema,
            query: None,
            handler: get(checkpoint),
        },
        RouteSpec {
            method: "get",
            path: "/v1/feeds/{author}/tile/{*path}",
            summary: "A C2SP tlog-tiles hash tile (`{L}/{N}[.p/{W}]`: the hashes of tree level 8·L from N·256, W of them, 256 when no `.p/`) or entry bundle (`entries/{N}[.p/{W}]`: the entries seq N·256+1 on, each behind a 16-bit length) of the feed, for any tree size up to its head; application/octet-stream; Cache-Control: public, max-age=31536000, immutable (full and partial)",
            access: Access::Public,
            responses: &[
                (200, "the tile or bundle"),
                (
                    400,
                    "`bad_author`, `bad_tile_path` (not the one canonical form)",
                ),
                (404, "no such feed, or a tile beyond its head"),
            ],
            request: None,
            response: openapi::binary_schema,
            query: None,
            handler: get(tile),
        },
    ]
}

/// The feed key from a path: a did:key, or 400 `bad_author`.
pub(super) fn path_author(text: &str) -> ApiResult<PublicKey> {
    PublicKey::from_did_key(text)
        .map_err(|error| ApiError::bad_request("bad_author", error.to_string()))
}

/// An answer with a media type and a `Cache-Control`.
pub(super) fn answer(content_type: &'static str, cache: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// An error answer that no cache keeps.
pub(super) fn uncached(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    response
}

/// `author`'s head seq, or 404 when the node holds no feed of `author`.
pub(super) fn head_seq(store: &Store, author: &PublicKey) -> ApiResult<u64> {
    match store.head(author)? {
        Some(head) => Ok(head.seq),
        None => Err(ApiError::not_found(format!(
            "this node holds no feed of {}",
            author.to_did_key()
        ))),
    }
}

/// `GET /v1/feeds/{author}/checkpoint`.
pub(super) async fn checkpoint(
    State(state): State<NodeState>,
    Path(author): Path<String>,
) -> Response {
    serve_checkpoint(state, author)
        .await
        .unwrap_or_else(uncached)
}

async fn serve_checkpoint(state: NodeState, author: String) -> ApiResult {
    let author = path_author(&author)?;
    let note = state
        .reader()
        .run(move |store| {
            head_seq(store, &author)?;
            // A checkpoint is stored only when its root is this node's tree at its size
            // (storage::checkpoints), so its tiles are all served here.
            store
                .latest_checkpoint(&author)?
                .map(|checkpoint| checkpoint.note_with_cosignatures())
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no checkpoint of {} is held yet",
                        author.to_did_key()
                    ))
                })
        })
        .await?;
    Ok(answer(TEXT_PLAIN, NO_CACHE, note.into_bytes()))
}

/// `GET /v1/feeds/{author}/tile/{*path}`: a hash tile or an entry bundle.
pub(super) async fn tile(
    State(state): State<NodeState>,
    Path((author, path)): Path<(String, String)>,
) -> Response {
    serve_tile(state, author, path)
        .await
        .unwrap_or_else(uncached)
}

/// The tile path, parsed strictly: 400 `bad_tile_path` for anything but the canonical form,
/// 404 for coordinates no tree of fewer than 2^64 leaves has.
fn parse_path(path: &str) -> ApiResult<TilePath> {
    parse_tile_path(&format!("tile/{path}")).map_err(|error| match error {
        TileError::NotInAnyTree => ApiError::not_found(format!("no tree has the tile {path}")),
        other => ApiError::bad_request("bad_tile_path", other.to_string()),
    })
}

async fn serve_tile(state: NodeState, author: String, path: String) -> ApiResult {
    let author = path_author(&author)?;
    // Bounded before anything is formatted from it.
    if path.len() > proto_types::tlog::MAX_TILE_PATH_BYTES {
        return Err(ApiError::bad_request(
            "bad_tile_path",
            "the path is longer than any tile path",
        ));
    }
    let parsed = parse_path(&path)?;
    let tile: TileId = match parsed {
        TilePath::Hashes(tile) | TilePath::Entries(tile) => tile,
    };
    let body = state
        .reader()
        .run(move |store| {
            let head = head_seq(store, &author)?;
            if !tile.is_served_in(head) {
                return Err(ApiError::not_found(format!(
                    "the feed has {head} entries: no tile {path} yet"
                )));
            }
            Ok(match parsed {
                TilePath::Hashes(tile) => encode_hash_tile(&store.hash_tile(&author, &tile)?),
                TilePath::Entries(tile) => {
                    // Leaf index i is seq i + 1; is_served_in bounds the product.
                    let first_seq = tile.index * u64::from(TILE_WIDTH) + 1;
                    let entries =
                        store.bundle_entries(&author, first_seq, usize::from(tile.width))?;
                    let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    encode_entry_bundle(&slices).map_err(ApiError::internal)?
                }
            })
        })
        .await?;
    Ok(answer(OCTET_STREAM, IMMUTABLE, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_are_parsed_strictly() {
        for good in ["0/000", "1/x001/234", "entries/000.p/7", "0/255.p/255"] {
            assert!(parse_path(good).is_ok(), "{good}");
        }
        for (bad, status) in [
            ("0/0", 400),
            ("00/000", 400),
            ("0/000.p/0", 400),
            ("0/000.p/256", 400),
            ("0/x000/001", 400),
            ("0/001/", 400),
            ("../000", 400),
            ("entries/../0/000", 400),
            ("0/000?x", 400),
            ("64/000", 400),
            ("8/000", 404),
            ("0/x018/x446/x744/x073/x709/x551/615", 404),
        ] {
            let error = parse_path(bad).expect_err(bad);
            assert_eq!(error.status.as_u16(), status, "{bad}: {}", error.message);
        }
    }
}
