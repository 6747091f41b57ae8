//! Streaming reader of a register exported as CSV (the layout of `docs/IMPORT.md`), and the local
//! validation of a registration that both register readers share.
//!
//! One record is read at a time through a reused [`csv::StringRecord`], so a file of any size is
//! read in constant memory. Every record is checked as the node will check it (the body of a
//! `registration` entry, protocol §6.3) before it is handed on, so that an error names its line and
//! its field; what the node derives (`v`, `right_id`) is left out of the result.

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, BufRead, Read};

use proto_types::body::{
    Body, EntryKind, Jurisdiction, MAX_NICE_CLASSES, RightId, RightType, normalize_number,
};
use proto_types::timestamp::Date;
use serde_json::{Map, Value};

use super::{ImportRecord, RecordError};

/// Largest record, in bytes: far above the longest valid registration (a 1000-character title, a
/// 500-character mark, a 300-character name, dates and codes). A longer record is refused on its
/// own and reading goes on with the next one.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// Most bytes read past the end of the previous record while looking for the end of the next one.
/// Beyond this the file is not read any further: a record this long is almost always an
/// unterminated quote swallowing the rest of the file, and reading on would hold it in memory.
pub const MAX_UNTERMINATED_BYTES: u64 = 1024 * 1024;

/// Capacity of the CSV reader's own buffer; the limit above allows for this much read-ahead.
const BUFFER_BYTES: usize = 8 * 1024;

/// The byte-order mark some spreadsheet programs write at the start of a UTF-8 file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A column of the register CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Jurisdiction,
    Number,
    RightType,
    MarkText,
    Title,
    NiceClasses,
    HolderName,
    HolderCountry,
    HolderKey,
    FilingDate,
    RegistrationDate,
    ExpiryDate,
    Status,
    StatusDate,
    ApplicationNumber,
}

/// Every column: its header name and whether the header must have it.
const COLUMNS: [(&str, Column, bool); 15] = [
    ("jurisdiction", Column::Jurisdiction, true),
    ("number", Column::Number, true),
    ("right_type", Column::RightType, false),
    ("mark_text", Column::MarkText, false),
    ("title", Column::Title, false),
    ("nice_classes", Column::NiceClasses, false),
    ("holder_name", Column::HolderName, true),
    ("holder_country", Column::HolderCountry, true),
    ("holder_key", Column::HolderKey, false),
    ("filing_date", Column::FilingDate, true),
    ("registration_date", Column::RegistrationDate, false),
    ("expiry_date", Column::ExpiryDate, false),
    ("status", Column::Status, true),
    ("status_date", Column::StatusDate, false),
    ("application_number", Column::ApplicationNumber, false),
];

/// Reads the records of a register CSV one at a time.
///
/// The first row must be the header (column names, in any order; see `docs/IMPORT.md`). An
/// unusable header is reported as one error at `line 1` and ends the iteration, as does an I/O
/// error or a record that never ends. Any other bad record is reported with its line and the
/// iteration goes on.
pub fn records<R: BufRead>(reader: R) -> impl Iterator<Item = Result<ImportRecord, RecordError>> {
    CsvRecords {
        source: Some(reader),
        csv: None,
        columns: Vec::new(),
        record: csv::StringRecord::new(),
        done: false,
    }
}

struct CsvRecords<R> {
    /// The input until the header has been read.
    source: Option<R>,
    csv: Option<csv::Reader<Bounded<R>>>,
    /// For each column of the file, which column it is.
    columns: Vec<Column>,
    /// Reused for every record, so reading allocates only for the longest record.
    record: csv::StringRecord,
    done: bool,
}

impl<R: BufRead> Iterator for CsvRecords<R> {
    type Item = Result<ImportRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(source) = self.source.take() {
            if let Err(error) = self.start(source) {
                self.done = true;
                return Some(Err(error));
            }
        }
        let csv = self.csv.as_mut()?;
        csv.get_mut().start_record();
        let result = csv.read_record(&mut self.record);
        // Every outcome but the end of the file consumed a record.
        let fallback_line = csv.position().line();
        let line = match result {
            Ok(false) => None,
            _ => csv.get_mut().take_record_line(),
        };
        let line = line.unwrap_or(fallback_line);
        match result {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => Some(record_at(line, &self.record, &self.columns)),
            Err(error) => {
                let (error, fatal) = read_error(error, line, &self.columns);
                self.done = fatal;
                Some(Err(error))
            }
        }
    }
}

impl<R: BufRead> CsvRecords<R> {
    /// Skips a byte-order mark, reads the header and maps its columns.
    fn start(&mut self, mut source: R) -> Result<(), RecordError> {
        let header_error = |message: String| RecordError {
            position: "line 1".to_owned(),
            message,
            jurisdiction: None,
        };
        let has_bom = source
            .fill_buf()
            .map_err(|error| header_error(format!("cannot read the file: {error}")))?
            .starts_with(UTF8_BOM);
        if has_bom {
            source.consume(UTF8_BOM.len());
        }
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .buffer_capacity(BUFFER_BYTES)
            .from_reader(Bounded::new(source));
        let header = match csv.headers() {
            Ok(header) => header.clone(),
            Err(error) => return Err(header_error(format!("unreadable header row: {error}"))),
        };
        csv.get_mut().take_record_line();
        self.columns = header_columns(&header).map_err(header_error)?;
        self.csv = Some(csv);
        Ok(())
    }
}

/// Maps the header row to columns: every name known, none twice, every required one present.
fn header_columns(header: &csv::StringRecord) -> Result<Vec<Column>, String> {
    if header.iter().all(|name| name.trim().is_empty()) {
        return Err(format!(
            "missing header row: the first line must name the columns, e.g. {}",
            required_names().join(",")
        ));
    }
    let mut columns = Vec::with_capacity(header.len());
    for name in header {
        let name = name.trim();
        let column = COLUMNS
            .iter()
            .find(|(known, _, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, column, _)| *column)
            .ok_or_else(|| {
                format!(
                    "unknown column {:?}; the columns are {}",
                    shortened(name),
                    COLUMNS.map(|(known, _, _)| known).join(", ")
                )
            })?;
        if columns.contains(&column) {
            return Err(format!("column {:?} appears twice", name));
        }
        columns.push(column);
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .filter(|(_, column, required)| *required && !columns.contains(column))
        .map(|(name, _, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing required column(s): {}",
            missing.join(", ")
        ));
    }
    Ok(columns)
}

fn required_names() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|(_, _, required)| *required)
        .map(|(name, _, _)| *name)
        .collect()
}

fn column_name(column: Column) -> &'static str {
    COLUMNS
        .iter()
        .find(|(_, known, _)| *known == column)
        .map_or("?", |(name, _, _)| name)
}

/// Turns a CSV reading error into a record error, and says whether reading must stop.
fn read_error(error: csv::Error, start_line: u64, columns: &[Column]) -> (RecordError, bool) {
    let line_of = |position: &Option<csv::Position>| {
        position.as_ref().map_or(start_line, csv::Position::line)
    };
    let (line, message, fatal) = match error.kind() {
        csv::ErrorKind::Utf8 { pos, err } => {
            let column = columns
                .get(err.field())
                .map_or("a field", |column| column_name(*column));
            let message = format!("{column}: not valid UTF-8 (the file must be UTF-8)");
            (line_of(pos), message, false)
        }
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let message = format!("has {len} fields but the header has {expected_len}");
            (line_of(pos), message, false)
        }
        csv::ErrorKind::Io(io_error) if is_record_limit(io_error) => {
            let message = format!(
                "a record longer than {} MiB (an unterminated quote?); reading stopped",
                MAX_UNTERMINATED_BYTES / (1024 * 1024)
            );
            (start_line, message, true)
        }
        csv::ErrorKind::Io(io_error) => {
            let message = format!("cannot read the file: {io_error}; reading stopped");
            (start_line, message, true)
        }
        _ => (start_line, format!("unreadable record: {error}"), false),
    };
    let error = RecordError {
        position: format!("line {line}"),
        message,
        jurisdiction: None,
    };
    (error, fatal)
}

/// Builds and checks the registration of one CSV record.
fn record_at(
    line: u64,
    record: &csv::StringRecord,
    columns: &[Column],
) -> Result<ImportRecord, RecordError> {
    let position = format!("line {line}");
    // The jurisdiction cell as written, so that `import --jurisdiction` can leave out an
    // invalid record of another office.
    let written_jurisdiction = columns
        .iter()
        .position(|column| *column == Column::Jurisdiction)
        .and_then(|index| record.get(index))
        .and_then(|value| {
            proto_types::body::Jurisdiction::parse(&value.trim().to_ascii_uppercase()).ok()
        })
        .map(|code| code.as_str().to_owned());
    let fail = |message: String| RecordError {
        position: position.clone(),
        message,
        jurisdiction: written_jurisdiction.clone(),
    };
    if record.as_slice().len() > MAX_RECORD_BYTES {
        return Err(fail(format!(
            "record longer than {} KiB",
            MAX_RECORD_BYTES / 1024
        )));
    }
    let cell = |wanted: Column| -> Option<&str> {
        columns
            .iter()
            .position(|column| *column == wanted)
            .and_then(|index| record.get(index))
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };

    let mut fields = Map::new();
    let right_type =
        cell(Column::RightType).map_or_else(|| "trademark".to_owned(), str::to_lowercase);
    fields.insert("right_type".into(), Value::String(right_type));
    if let Some(jurisdiction) = cell(Column::Jurisdiction) {
        fields.insert(
            "jurisdiction".into(),
            Value::String(jurisdiction.to_ascii_uppercase()),
        );
    }
    if let Some(number) = cell(Column::Number) {
        fields.insert("number".into(), Value::String(number.to_owned()));
    }
    if let Some(application_number) = cell(Column::ApplicationNumber) {
        fields.insert(
            "application_number".into(),
            Value::String(application_number.to_owned()),
        );
    }
    if let Some(mark_text) = cell(Column::MarkText) {
        fields.insert("mark_text".into(), Value::String(mark_text.to_owned()));
    }
    if let Some(title) = cell(Column::Title) {
        fields.insert("title".into(), Value::String(title.to_owned()));
    }
    if let Some(classes) = cell(Column::NiceClasses) {
        let classes = nice_classes(classes).map_err(fail)?;
        fields.insert("nice_classes".into(), classes);
    }
    let mut holder = Map::new();
    if let Some(name) = cell(Column::HolderName) {
        holder.insert("name".into(), Value::String(name.to_owned()));
    }
    if let Some(country) = cell(Column::HolderCountry) {
        holder.insert(
            "country".into(),
            Value::String(country.to_ascii_uppercase()),
        );
    }
    if let Some(key) = cell(Column::HolderKey) {
        holder.insert("key".into(), Value::String(key.to_owned()));
    }
    fields.insert("holder".into(), Value::Object(holder));
    for (column, field) in [
        (Column::FilingDate, "filing_date"),
        (Column::RegistrationDate, "registration_date"),
        (Column::ExpiryDate, "expiry_date"),
    ] {
        if let Some(date) = cell(column) {
            fields.insert(field.into(), Value::String(date.to_owned()));
        }
    }
    if let Some(status) = cell(Column::Status) {
        fields.insert("status".into(), Value::String(status.to_lowercase()));
    }
    let status_date = match cell(Column::StatusDate) {
        Some(date) => Some(checked_date("status_date", date).map_err(fail)?),
        None => None,
    };
    let registration = validate_registration(fields).map_err(fail)?;
    Ok(ImportRecord {
        position,
        registration,
        status_date,
    })
}

/// Parses a list of Nice classes separated by `;`, `,` or white space, sorted and without
/// duplicates (a register lists a set; the protocol wants it strictly ascending).
fn nice_classes(cell: &str) -> Result<Value, String> {
    let mut classes = BTreeSet::new();
    for token in cell
        .split(|character: char| character == ';' || character == ',' || character.is_whitespace())
        .filter(|token| !token.is_empty())
    {
        classes.insert(nice_class(token)?);
        if classes.len() > MAX_NICE_CLASSES {
            return Err(format!(
                "nice_classes: more than {MAX_NICE_CLASSES} classes"
            ));
        }
    }
    Ok(Value::Array(classes.into_iter().map(Value::from).collect()))
}

/// Parses one Nice class number, with or without leading zeros (`9`, `09`, `009`).
pub(super) fn nice_class(token: &str) -> Result<u8, String> {
    let digits = token.trim();
    let invalid = || {
        format!(
            "nice_classes: {:?} is not a Nice class number",
            shortened(digits)
        )
    };
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid());
    }
    let class: u16 = digits.parse().map_err(|_| invalid())?;
    match u8::try_from(class) {
        Ok(class) if (1..=45).contains(&class) => Ok(class),
        _ => Err(format!(
            "nice_classes: nice class {class} out of range 1..=45"
        )),
    }
}

/// Checks a calendar date found outside the registration body (`status_date`).
pub(super) fn checked_date(field: &str, value: &str) -> Result<String, String> {
    Date::parse(value)
        .map(|date| date.as_str().to_owned())
        .map_err(|error| format!("{field}: {error}"))
}

/// Checks a registration read from a register exactly as the node will, and returns it in the
/// form `POST /v1/registrations` takes: without `v` and `right_id`, with the number normalised.
///
/// `fields` holds the body's fields except `v` and `right_id`, in protocol order; `number` may
/// still carry the register's punctuation (`2,178,784`). The error is `field: what is wrong`,
/// with the field's path in the body (`holder.country`, `nice_classes[1]`).
pub(super) fn validate_registration(mut fields: Map<String, Value>) -> Result<Value, String> {
    let text = |fields: &Map<String, Value>, name: &str| -> Option<String> {
        fields.get(name).and_then(Value::as_str).map(str::to_owned)
    };
    let Some(number) = text(&fields, "number") else {
        return Err("number: missing".to_owned());
    };
    let number = normalize_number(&number);
    fields.insert("number".into(), Value::String(number.clone()));
    let Some(jurisdiction) = text(&fields, "jurisdiction") else {
        return Err("jurisdiction: missing".to_owned());
    };
    let jurisdiction = Jurisdiction::parse(&jurisdiction).map_err(|error| error.to_string())?;
    let right_type_text = text(&fields, "right_type").unwrap_or_default();
    let right_type: RightType = serde_json::from_value(Value::String(right_type_text.clone()))
        .map_err(|_| {
            format!(
                "right_type: unknown right type {:?}, expected trademark, design, patent or copyright",
                shortened(&right_type_text)
            )
        })?;
    let right_id =
        RightId::new(&jurisdiction, right_type, &number).map_err(|error| error.to_string())?;

    let mut body = Map::with_capacity(fields.len() + 2);
    body.insert("v".into(), Value::from(1));
    body.insert(
        "right_id".into(),
        Value::String(right_id.as_str().to_owned()),
    );
    body.extend(
        fields
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    Body::decode(EntryKind::Registration, &Value::Object(body))
        .map_err(|error| error.to_string())?;
    Ok(Value::Object(fields))
}

/// A value shortened for quoting in an error message.
pub(super) fn shortened(value: &str) -> String {
    const QUOTE_CHARS: usize = 40;
    if value.chars().count() <= QUOTE_CHARS {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(QUOTE_CHARS).collect();
        short.push('…');
        short
    }
}

/// The input of the CSV reader. It refuses to hand over more than [`MAX_UNTERMINATED_BYTES`] since
/// the start of the current record, so that one endless record cannot fill the memory, and it
/// notes the physical line on which each record starts.
///
/// The CSV reader's own positions are those of the end of the previous record (before skipped
/// blank lines, and before the `\n` of a `\r\n`), so the lines are found here instead, with the
/// quoting rules of RFC 4180 as the CSV reader applies them: a quote opens a quoted field only at
/// the start of a field, and line breaks inside a quoted field belong to the record.
struct Bounded<R> {
    inner: R,
    read_since_record: u64,
    lexer: Lexer,
    /// The line of the next byte, 1-based.
    line: u64,
    /// Start lines of the records handed over and not yet taken by [`Bounded::take_record_line`];
    /// at most one per two bytes of read-ahead.
    record_lines: VecDeque<u64>,
}

/// Where the bytes handed over so far end, in the CSV grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexer {
    /// Between records: line breaks here are blank lines, which the CSV reader skips.
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the field, or the first of an escaped `""`.
    QuoteInQuoted,
}

/// The message of the error [`Bounded`] returns; recognised by [`is_record_limit`].
const LIMIT_MESSAGE: &str = "record size limit reached";

impl<R> Bounded<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            read_since_record: 0,
            lexer: Lexer::RecordStart,
            line: 1,
            record_lines: VecDeque::new(),
        }
    }

    /// Called before each record is read.
    fn start_record(&mut self) {
        self.read_since_record = 0;
    }

    /// The start line of the oldest record not yet taken: call once per record the CSV reader
    /// returns (the header included).
    fn take_record_line(&mut self) -> Option<u64> {
        self.record_lines.pop_front()
    }

    fn track(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.lexer == Lexer::RecordStart {
                if byte == b'\n' {
                    self.line += 1;
                }
                if matches!(byte, b'\r' | b'\n') {
                    continue;
                }
                self.record_lines.push_back(self.line);
                self.lexer = Lexer::FieldStart;
            }
            self.lexer = match (self.lexer, byte) {
                (Lexer::Quoted, b'"') => Lexer::QuoteInQuoted,
                (Lexer::Quoted, _) => Lexer::Quoted,
                (Lexer::FieldStart, b'"') | (Lexer::QuoteInQuoted, b'"') => Lexer::Quoted,
                (_, b',') => Lexer::FieldStart,
                (_, b'\r' | b'\n') => Lexer::RecordStart,
                _ => Lexer::Unquoted,
            };
            if byte == b'\n' {
                self.line += 1;
            }
        }
    }
}

/// Whether an I/O error is the one [`Bounded`] returns at the record size limit.
fn is_record_limit(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Other && error.to_string() == LIMIT_MESSAGE
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        // The CSV reader may have buffered up to BUFFER_BYTES of this record before it started.
        let allowed = MAX_UNTERMINATED_BYTES + BUFFER_BYTES as u64;
        if self.read_since_record >= allowed {
            return Err(io::Error::other(LIMIT_MESSAGE));
        }
        let count = self.inner.read(buffer)?;
        self.read_since_record += count as u64;
        self.track(&buffer[..count]);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_all(text: &str) -> Vec<Result<ImportRecord, RecordError>> {
        records(text.as_bytes()).collect()
    }

    const HEADER: &str = "jurisdiction,number,right_type,mark_text,title,nice_classes,holder_name,holder_country,holder_key,filing_date,registration_date,expiry_date,status,status_date,application_number";

    fn only_error(results: &[Result<ImportRecord, RecordError>]) -> &RecordError {
        assert_eq!(results.len(), 1, "{results:?}");
        results[0].as_ref().expect_err("an error")
    }

    #[test]
    fn a_full_row_becomes_the_registration_the_node_takes() {
        let text = format!(
            "{HEADER}\nFR,4123456,trademark,ÉTOILE DU NORD,,18;25,Maison Étoile SAS,FR,did:key:z6Mko9hTggMwjSTEaJaPUfE6tqcy2xvU6BnNq3e3o8qVBiyH,2024-11-04,2025-03-21,2034-11-04,registered,2025-03-21,4123456\n"
        );
        let results = read_all(&text);
        assert_eq!(results.len(), 1);
        let record = results[0].as_ref().expect("valid");
        assert_eq!(record.position, "line 2");
        assert_eq!(record.status_date.as_deref(), Some("2025-03-21"));
        let mut expected = proto_types::body::examples::registration();
        let object = expected.as_object_mut().expect("object");
        object.remove("v");
        object.remove("right_id");
        assert_eq!(record.registration, expected);
    }

    #[test]
    fn quoted_cells_keep_commas_quotes_and_line_breaks() {
        let text = "jurisdiction,number,right_type,title,holder_name,holder_country,filing_date,status\n\
            EM,\"015,123,456-0001\",design,\"Chair, \"\"Alto\"\"\nwith armrests\",\"Nordic Form, AB\",SE,2024-02-01,filed\n\
            EM,015123457,design,Lamp,Lumo Oy,FI,2024-02-02,filed\n";
        let results = read_all(text);
        assert_eq!(results.len(), 2, "{results:?}");
        let first = results[0].as_ref().expect("valid");
        assert_eq!(first.position, "line 2");
        assert_eq!(
            first.registration,
            json!({
                "right_type": "design",
                "jurisdiction": "EM",
                "number": "0151234560001",
                "title": "Chair, \"Alto\"\nwith armrests",
                "holder": {"name": "Nordic Form, AB", "country": "SE"},
                "filing_date": "2024-02-01",
                "status": "filed",
            })
        );
        // The second record starts on the fourth physical line: the quoted title spans two.
        assert_eq!(results[1].as_ref().expect("valid").position, "line 4");
    }

    #[test]
    fn classes_may_be_separated_by_semicolons_spaces_or_commas_in_any_order() {
        let text = "number,jurisdiction,mark_text,nice_classes,holder_name,holder_country,filing_date,status\n\
            123,CN,星河,35;09 42,深圳星河电子有限公司,CN,2019-03-18,filed\n\
            124,CN,星河,\"25, 9;9\",深圳星河电子有限公司,CN,2019-03-18,filed\n";
        let results = read_all(text);
        let classes = |index: usize| {
            results[index].as_ref().expect("valid").registration["nice_classes"].clone()
        };
        assert_eq!(classes(0), json!([9, 35, 42]));
        assert_eq!(classes(1), json!([9, 25]));
        // right_type defaults to trademark
        assert_eq!(
            results[0].as_ref().expect("valid").registration["right_type"],
            json!("trademark")
        );
    }

    #[test]
    fn unknown_header_column_is_refused_on_line_1() {
        let text = format!("{HEADER},colour\nFR,1,,A,,9,X,FR,,2024-01-01,,,filed,,,red\n");
        let error = only_error(&read_all(&text)).clone();
        assert_eq!(error.position, "line 1");
        assert!(
            error.message.contains("unknown column \"colour\""),
            "{}",
            error.message
        );
    }

    #[test]
    fn missing_required_column_is_refused_on_line_1() {
        let text = "jurisdiction,number,mark_text,nice_classes,holder_name,filing_date,status\n\
            FR,1,A,9,X,2024-01-01,filed\n";
        let error = only_error(&read_all(text)).clone();
        assert_eq!(error.position, "line 1");
        assert!(
            error
                .message
                .contains("missing required column(s): holder_country"),
            "{}",
            error.message
        );
    }

    #[test]
    fn duplicate_column_and_empty_file_are_refused() {
        let error = only_error(&read_all("number,number\n")).clone();
        assert!(error.message.contains("appears twice"), "{}", error.message);
        let error = only_error(&read_all("")).clone();
        assert!(
            error.message.contains("missing header row"),
            "{}",
            error.message
        );
    }

    #[test]
    fn class_46_is_an_error_naming_nice_classes_and_the_line() {
        let text = "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,status\n\
            FR,1,A,9,X,FR,2024-01-01,filed\n\
            FR,2,B,9;46,X,FR,2024-01-01,filed\n\
            FR,3,C,abc,X,FR,2024-01-01,filed\n";
        let results = read_all(text);
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok());
        let error = results[1].as_ref().expect_err("class 46");
        assert_eq!(error.position, "line 3");
        assert!(
            error.message.starts_with("nice_classes"),
            "{}",
            error.message
        );
        assert!(error.message.contains("46"), "{}", error.message);
        let error = results[2].as_ref().expect_err("not a number");
        assert_eq!(error.position, "line 4");
        assert!(
            error.message.starts_with("nice_classes: \"abc\""),
            "{}",
            error.message
        );
    }

    #[test]
    fn bad_country_names_holder_country() {
        let text = "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,status\n\
            GB,1,A,9,Albion Ltd,UK,2024-01-01,filed\n";
        let error = only_error(&read_all(text)).clone();
        assert_eq!(error.position, "line 2");
        assert!(
            error.message.starts_with("holder.country: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn each_bad_record_names_its_field() {
        let text = "jurisdiction,number,right_type,mark_text,nice_classes,holder_name,holder_country,filing_date,registration_date,status,status_date\n\
            XX,1,,A,9,X,FR,2024-01-01,,filed,\n\
            FR,--,,A,9,X,FR,2024-01-01,,filed,\n\
            FR,1,brand,A,9,X,FR,2024-01-01,,filed,\n\
            FR,1,,A,9,X,FR,2024-02-30,,filed,\n\
            FR,1,,A,9,X,FR,2024-01-01,,registered,\n\
            FR,1,,A,9,X,FR,2024-01-01,,alive,\n\
            FR,1,,A,9,X,FR,2024-01-01,,filed,yesterday\n\
            FR,1,,,9,X,FR,2024-01-01,,filed,\n\
            FR,1,,A,9,,FR,2024-01-01,,filed,\n";
        let expected_fields = [
            "jurisdiction",
            "number",
            "right_type",
            "filing_date",
            "registration_date",
            "status",
            "status_date",
            "mark_text",
            "holder.name",
        ];
        let results = read_all(text);
        assert_eq!(results.len(), expected_fields.len());
        for (index, (result, field)) in results.iter().zip(expected_fields).enumerate() {
            let error = result.as_ref().expect_err(field);
            assert_eq!(error.position, format!("line {}", index + 2));
            assert!(
                error.message.starts_with(&format!("{field}: ")),
                "{field}: {}",
                error.message
            );
        }
    }

    #[test]
    fn overlong_mark_is_refused_with_its_field() {
        let mark = "M".repeat(501);
        let text = format!(
            "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,status\nFR,1,{mark},9,X,FR,2024-01-01,filed\n"
        );
        let error = only_error(&read_all(&text)).clone();
        assert!(
            error.message.starts_with("mark_text: longer than 500"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_row_with_too_few_fields_is_an_error_and_reading_goes_on() {
        let text = "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,status\n\
            FR,1,A,9\n\
            FR,2,B,9,X,FR,2024-01-01,filed\n";
        let results = read_all(text);
        assert_eq!(results.len(), 2);
        let error = results[0].as_ref().expect_err("short row");
        assert_eq!(error.position, "line 2");
        assert!(error.message.contains("has 4 fields"), "{}", error.message);
        assert_eq!(results[1].as_ref().expect("valid").position, "line 3");
    }

    #[test]
    fn byte_order_mark_blank_lines_and_crlf_are_accepted() {
        let text = "\u{feff}Jurisdiction,NUMBER,mark_text,nice_classes,holder_name,holder_country,filing_date,status\r\n\
            \r\n\
            fr,\"2,178,784\",JAVA,009,\"Oracle America, Inc.\",us,1995-02-07,filed\r\n";
        let results = read_all(text);
        assert_eq!(results.len(), 1, "{results:?}");
        let record = results[0].as_ref().expect("valid");
        assert_eq!(record.position, "line 3");
        assert_eq!(record.registration["number"], json!("2178784"));
        assert_eq!(record.registration["jurisdiction"], json!("FR"));
        assert_eq!(record.registration["holder"]["country"], json!("US"));
        assert_eq!(record.registration["nice_classes"], json!([9]));
    }

    #[test]
    fn positions_are_physical_lines_through_quotes_blank_lines_and_crlf() {
        let text = "jurisdiction,number,right_type,title,holder_name,holder_country,filing_date,status\r\n\
            FR,1,patent,\"Two\r\nlines\",X,FR,2024-01-01,filed\r\n\
            \r\n\
            \r\n\
            FR,2,patent,5\" screen,X,FR,2024-01-01,filed\r\n\
            FR,3,patent,\"\"\"Quoted\"\"\r\n\r\nand blank\",X,FR,2024-01-01,filed\r\n\
            FR,4,patent,Last,X,FR,2024-01-01,filed";
        let positions: Vec<String> = read_all(text)
            .into_iter()
            .map(|result| result.expect("valid").position)
            .collect();
        assert_eq!(positions, ["line 2", "line 6", "line 7", "line 10"]);
    }

    #[test]
    fn invalid_utf8_names_the_column() {
        let mut bytes = b"jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,status\n".to_vec();
        bytes.extend_from_slice(
            b"FR,1,A,9,Caf\xE9,FR,2024-01-01,filed\nFR,2,B,9,X,FR,2024-01-01,filed\n",
        );
        let results: Vec<_> = records(bytes.as_slice()).collect();
        assert_eq!(results.len(), 2);
        let error = results[0].as_ref().expect_err("latin-1");
        assert_eq!(error.position, "line 2");
        assert!(
            error.message.starts_with("holder_name: not valid UTF-8"),
            "{}",
            error.message
        );
        assert!(results[1].is_ok());
    }

    #[test]
    fn an_unterminated_quote_stops_reading_without_holding_the_file() {
        let mut text = String::from(
            "jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,status\n\
             FR,1,\"A,9,X,FR,2024-01-01,filed\n",
        );
        let filler = "FR,2,B,9,X,FR,2024-01-01,filed\n";
        while text.len() < 2 * MAX_UNTERMINATED_BYTES as usize {
            text.push_str(filler);
        }
        let results = read_all(&text);
        let error = only_error(&results).clone();
        assert_eq!(error.position, "line 2");
        assert!(
            error.message.contains("unterminated quote"),
            "{}",
            error.message
        );
    }

    #[test]
    fn an_overlong_record_is_refused_and_reading_goes_on() {
        let title = "T".repeat(MAX_RECORD_BYTES);
        let text = format!(
            "jurisdiction,number,right_type,title,holder_name,holder_country,filing_date,status\n\
             FR,1,patent,{title},X,FR,2024-01-01,filed\n\
             FR,2,patent,Procédé,X,FR,2024-01-01,filed\n"
        );
        let results = read_all(&text);
        assert_eq!(results.len(), 2);
        let error = results[0].as_ref().expect_err("too long");
        assert!(
            error.message.contains("longer than 64 KiB"),
            "{}",
            error.message
        );
        assert!(results[1].is_ok());
    }

    /// Produces a register CSV of `rows` lines on demand, so that the test itself holds no file.
    struct GeneratedRegister {
        rows: usize,
        next_row: usize,
        pending: Vec<u8>,
        offset: usize,
    }

    impl Read for GeneratedRegister {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.offset == self.pending.len() {
                self.pending.clear();
                self.offset = 0;
                if self.next_row == 0 {
                    self.pending.extend_from_slice(
                        b"jurisdiction,number,mark_text,nice_classes,holder_name,holder_country,filing_date,registration_date,status\n",
                    );
                } else if self.next_row <= self.rows {
                    let row = self.next_row;
                    let class = row % 45 + 1;
                    let line = format!(
                        "US,{row},\"MARK {row}\",{class},\"Holder {row}, Inc.\",US,2020-01-01,2021-01-01,registered\n"
                    );
                    self.pending.extend_from_slice(line.as_bytes());
                } else {
                    return Ok(0);
                }
                self.next_row += 1;
            }
            let count = buffer.len().min(self.pending.len() - self.offset);
            buffer[..count].copy_from_slice(&self.pending[self.offset..self.offset + count]);
            self.offset += count;
            Ok(count)
        }
    }

    #[test]
    fn ten_thousand_generated_lines_are_read_one_at_a_time() {
        let rows = 10_000;
        let source = io::BufReader::new(GeneratedRegister {
            rows,
            next_row: 0,
            pending: Vec::new(),
            offset: 0,
        });
        let mut count = 0;
        for (index, result) in records(source).enumerate() {
            let record = result.expect("valid");
            assert_eq!(record.position, format!("line {}", index + 2));
            count += 1;
        }
        assert_eq!(count, rows);
    }

    #[test]
    fn the_shipped_sample_reads_as_documented() {
        let text = include_str!("../../../docs/samples/register.csv");
        let results = read_all(text);
        let errors: Vec<&RecordError> = results
            .iter()
            .filter_map(|result| result.as_ref().err())
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].position, "line 22");
        assert_eq!(
            errors[0].message,
            "holder.country: unknown country \"UK\": expected an uppercase ISO 3166-1 alpha-2 code"
        );
        // 20 records on 21 lines: the design's quoted title spans two.
        assert_eq!(results.len(), 20);
    }
}
