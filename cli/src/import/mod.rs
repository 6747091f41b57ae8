//! Bulk import of an office's register: streaming parsers and the command that sends records to a node.
pub mod csv;
pub mod fuzzing;
pub mod st96;
/// One record read from a register file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    /// Where it was read, for reports: "line 17" or "Trademark 3 (line 212)".
    pub position: String,
    /// The registration as the node's POST /v1/registrations takes it: a JSON object with
    /// right_type, jurisdiction, number, mark_text/title, nice_classes, holder {name, country, key?},
    /// filing_date, registration_date?, expiry_date?, status, application_number? (no `v`, no `right_id`).
    pub registration: serde_json::Value,
    /// The date the record's current status took effect, when the file says (e.g. ST.96 MarkCurrentStatusDate).
    pub status_date: Option<String>,
}
/// A record that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// Where.
    pub position: String,
    /// What is wrong, naming the field.
    pub message: String,
    /// The record's jurisdiction, when its cell holds a valid code (CSV): an invalid record of
    /// another office is left out by `rightsnet import --jurisdiction`, not counted as invalid.
    pub jurisdiction: Option<String>,
}
