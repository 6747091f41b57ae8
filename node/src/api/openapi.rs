//! The OpenAPI 3.1 document of the API, generated from the route table ([`routes`]), so the
//! document and the router cannot drift apart. Served at `GET /v1/openapi.json`.

use axum::Json;
use serde_json::{Value, json};

use super::{Access, routes};

/// The OpenAPI 3.1 document, generated from [`routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for spec in routes() {
        let mut parameters: Vec<Value> = Vec::new();
        let mut rest = spec.path;
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 1..start + end];
            parameters.push(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
            rest = &rest[start + end..];
        }
        for (name, description) in spec.query {
            parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
        }
        let mut responses = serde_json::Map::new();
        for (status, description) in spec.responses {
            responses.insert(status.to_string(), json!({"description": description}));
        }
        if !spec.takes_body() {
            responses.entry("400").or_insert_with(
                || json!({"description": "a request body was sent; this route takes none"}),
            );
        }
        responses.insert(
            "default".to_owned(),
            json!({
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }),
        );
        let mut operation = json!({
            "summary": spec.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if spec.takes_body() {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if spec.access == Access::Operator {
            operation["security"] = json!([{"operatorToken": []}]);
        }
        let item = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| json!({}));
        item[spec.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Rightsnet node API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"operatorToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
            }}
        }
    })
}

/// `GET /v1/openapi.json`.
pub(super) async fn openapi() -> Json<Value> {
    Json(openapi_document())
}
