//! `GET /metrics`: the Prometheus text exposition, with the store's estimated size and the
//! number of trusted authorities (own store, admitted) and screening's in-memory mark set as
//! gauges.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::state::NodeState;

/// The node's metrics. A failed size estimate reads as 0 rather than failing the scrape.
pub(super) async fn metrics(State(state): State<NodeState>) -> Response {
    let (size, (marks_ready, marks_bytes)) = state
        .reader()
        .run(|store| {
            Ok::<_, crate::storage::StorageError>((
                store.estimated_size_bytes(),
                store.screen_marks(),
            ))
        })
        .await
        .unwrap_or((0, (false, 0)));
    // Read at each scrape, so a trust change shows at once.
    let trust = state.ingest.trust().view();
    let text = state.metrics.render(&[
        (
            "rightsnet_storage_estimated_bytes",
            "Bytes the store holds: table files on disk plus memtables not flushed yet.",
            size as f64,
        ),
        (
            "rightsnet_trust_store_authorities",
            "Authorities the node's own trust store lists now.",
            trust.store.len() as f64,
        ),
        (
            "rightsnet_admitted_authorities",
            "Authorities admitted by endorsement now (protocol section 13.3).",
            trust.admitted.len() as f64,
        ),
        (
            "rightsnet_screen_marks_ready",
            "1 when screening's in-memory mark set is built (until then screening reads the index on disk, more slowly).",
            f64::from(u8::from(marks_ready)),
        ),
        (
            "rightsnet_screen_marks_bytes",
            "Bytes of screening's in-memory mark set.",
            marks_bytes as f64,
        ),
    ]);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    (headers, text).into_response()
}
