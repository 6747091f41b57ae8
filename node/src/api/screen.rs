//! `POST /v1/screen`: listings checked against every mark the node holds (issue 16,
//! docs/SCREENING.md). Public like search, and rate-limited like it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::IntoResponse;
use proto_types::body::Jurisdiction;
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{json_body, request};
use super::state::NodeState;
use crate::clock::today;
use crate::screening::{
    DEFAULT_LIMIT, Listing, ListingResult, MAX_DESCRIPTION_CHARS, MAX_LIMIT, MAX_LISTING_ID_CHARS,
    MAX_LISTING_JURISDICTIONS, MAX_LISTINGS, MAX_TITLE_CHARS,
};

/// Largest body of a screening request: 1 000 listings with long titles fit, with room for
/// descriptions (the node's `max_body_bytes` does not apply to this route).
pub const SCREEN_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Listings screened by one thread in a row (one store iterator each).
const CHUNK: usize = 32;

/// One listing of a screening request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListingRequest {
    /// The marketplace's id of the listing, echoed in the result.
    #[schemars(length(min = 1, max = MAX_LISTING_ID_CHARS))]
    id: String,
    /// The title, at most 500 characters.
    #[schemars(length(max = MAX_TITLE_CHARS))]
    title: String,
    /// The description, at most 5 000 characters: screened for exact marks (scored lower) and
    /// counterfeit indicators.
    #[serde(default)]
    #[schemars(length(max = MAX_DESCRIPTION_CHARS))]
    description: Option<String>,
    /// The listing's Nice class: only rights registered in it match.
    #[serde(default, deserialize_with = "whole_number")]
    #[schemars(range(min = 1, max = 45))]
    class: Option<u8>,
    /// Where the listing is offered: only rights of these jurisdictions match.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Jurisdiction>>", length(max = MAX_LISTING_JURISDICTIONS))]
    jurisdictions: Option<Vec<String>>,
}

/// The body of `POST /v1/screen`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ScreenRequest {
    /// The listings, 1 to 1 000.
    #[schemars(length(min = 1, max = MAX_LISTINGS))]
    listings: Vec<ListingRequest>,
    /// Most matches per listing (default 10, at most 100).
    #[serde(default, deserialize_with = "whole_number")]
    #[schemars(range(min = 1, max = MAX_LIMIT))]
    limit: Option<usize>,
}

/// An optional whole number, written as JSON Schema's `integer` allows: `12` or `12.0` (a
/// number with a zero fraction is an integer there). Fractions and values out of `T`'s range
/// are refused.
fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|value| value.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(value))
            .map(|value| value as u64)
    });
    whole
        .and_then(|value| T::try_from(value).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number in range")))
}

/// The answer of `POST /v1/screen`: one result per listing, in the request's order.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ScreenResponse {
    /// One per listing, in order.
    pub results: Vec<ListingResult>,
}

/// A listing checked against its bounds.
fn listing(number: usize, listing: ListingRequest) -> ApiResult<Listing> {
    let field = |name: &str, reason: String| {
        ApiError::invalid_field(format!("listings[{number}].{name}: {reason}"))
    };
    let id_chars = listing.id.chars().count();
    if id_chars == 0 || id_chars > MAX_LISTING_ID_CHARS {
        return Err(field(
            "id",
            format!("1 to {MAX_LISTING_ID_CHARS} characters"),
        ));
    }
    if listing.title.chars().count() > MAX_TITLE_CHARS {
        return Err(field(
            "title",
            format!("at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    if let Some(description) = &listing.description {
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(field(
                "description",
                format!("at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
    }
    if let Some(class) = listing.class {
        if !(1..=45).contains(&class) {
            return Err(field("class", "a Nice class, 1 to 45".into()));
        }
    }
    let jurisdictions = match listing.jurisdictions {
        None => None,
        Some(codes) => {
            if codes.len() > MAX_LISTING_JURISDICTIONS {
                return Err(field(
                    "jurisdictions",
                    format!("at most {MAX_LISTING_JURISDICTIONS}"),
                ));
            }
            let mut parsed = Vec::with_capacity(codes.len());
            for code in codes {
                parsed.push(
                    Jurisdiction::parse(&code)
                        .map_err(|error| field("jurisdictions", error.to_string()))?,
                );
            }
            Some(parsed)
        }
    };
    Ok(Listing {
        id: listing.id,
        title: listing.title,
        description: listing.description,
        class: listing.class,
        jurisdictions,
    })
}

/// Screens listings against the marks the node holds.
pub(super) async fn screen(
    State(state): State<NodeState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: ScreenRequest = request(json_body(body)?)?;
    if request.listings.is_empty() || request.listings.len() > MAX_LISTINGS {
        return Err(ApiError::invalid_field(format!(
            "listings: 1 to {MAX_LISTINGS} per request"
        )));
    }
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid_field(format!(
            "limit must be in 1..={MAX_LIMIT}"
        )));
    }
    let listings = request
        .listings
        .into_iter()
        .enumerate()
        .map(|(number, item)| listing(number, item))
        .collect::<ApiResult<Vec<Listing>>>()?;
    let results = screen_listings(&state, listings, limit).await?;
    Ok(Json(ScreenResponse { results }).into_response())
}

/// Screens checked `listings` against every mark the node holds, at most `limit` matches each,
/// on every core off the executor: the one path of `POST /v1/screen` and the console's
/// screening page. One result per listing, in order.
pub(crate) async fn screen_listings(
    state: &NodeState,
    listings: Vec<Listing>,
    limit: usize,
) -> ApiResult<Vec<ListingResult>> {
    let store = state.store.clone();
    let screener = state.screener.clone();
    let today = today();
    let results = tokio::task::spawn_blocking(move || {
        listings
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut reader = store.screen_reader();
                chunk
                    .iter()
                    .map(|listing| screener.screen(&mut reader, listing, limit, &today))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<Vec<_>>, _>>()
    })
    .await
    .map_err(|error| ApiError::internal(format!("screening task failed: {error}")))??;
    state.metrics.event("screen_request");
    Ok(results.into_iter().flatten().collect())
}
