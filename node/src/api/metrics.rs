//! `GET /metrics`: the Prometheus text exposition, with the store's estimated size and the
//! number of trusted authorities (own store, admitted) as gauges.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::state::NodeState;

/// The node's metrics. A failed size estimate reads as 0 rather than failing the scrape.
pub(super) async fn metrics(State(state): State<NodeState>) -> Response {
    let size = state
        .reader()
        .run(|store| Ok::<_, crate::storage::StorageError>(store.estimated_size_bytes()))
        .await
        .unwrap_or(0);
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
    ]);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    (headers, text).into_response()
}
