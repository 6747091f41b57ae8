//! Streaming reader of trademark registers published as WIPO ST.96 XML (both namespace
//! generations), and of USPTO's ST.66 (TM-XML) status files.
//!
//! The file is read as a stream of XML events with one reused buffer. Outside a record only the
//! names of the open elements are kept; each record (`Trademark` in a `TrademarkBag`, or ST.66's
//! `TradeMark` in `TradeMarkDetails`) is gathered into a small tree of its own, mapped to a
//! registration (see `docs/IMPORT.md` for the mapping and the status table) and dropped before the
//! next one is read. Elements are matched by local name; prefixes and namespaces are ignored, so
//! `tmk:`/`com:` and `ns1:`/`ns2:` files read alike. Every size is bounded: one XML event, one
//! record, the number of elements in a record, the nesting depth and the text kept per element.

use std::collections::BTreeSet;
use std::io::{self, BufRead, Read};

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

use super::csv::{checked_date, nice_class, shortened, validate_registration};
use super::{ImportRecord, RecordError};

/// Largest record element, in bytes of the file. Offices such as EUIPO repeat the goods and
/// services in every official language, so real records run to hundreds of KiB; a larger one is
/// refused on its own and reading goes on after it.
pub const MAX_TRADEMARK_BYTES: u64 = 4 * 1024 * 1024;

/// Largest single XML event (a tag, a text run, a comment), in bytes. The parser must hold an
/// event whole, so a longer one ends the reading.
pub const MAX_EVENT_BYTES: u64 = 1024 * 1024;

/// Deepest nesting of elements in the file; deeper ends the reading.
pub const MAX_DEPTH: usize = 64;

/// Most elements kept for one record (prosecution history and assignments are not kept).
pub const MAX_RECORD_ELEMENTS: usize = 50_000;

/// Longest element name, in bytes.
const MAX_NAME_BYTES: usize = 256;

/// Most text kept per element, in bytes; the fields read are far shorter, so an element with more
/// text is reported only if its value is used.
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// Most bytes handed to the XML parser at once, so that its buffer grows in small steps and the
/// event limit is checked often.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Subtrees not kept: long, and never used for the registration (and assignments name former
/// owners, which must not be mistaken for the holder).
const SKIPPED_ELEMENTS: [&str; 4] = [
    "MarkEventBag",
    "MarkEventDetails",
    "AssignmentBag",
    "AssignmentBagExt",
];

/// Reads the records of an ST.96 (or ST.66) trademark file one at a time.
///
/// A record that cannot be mapped is reported with its position (`Trademark 3 (line 212)`) and
/// the iteration goes on with the next one. A fault of the file itself (XML syntax, an encoding
/// other than UTF-8, an I/O error, a bound exceeded outside a record) is reported once, at its
/// line, and ends the iteration.
pub fn records<R: BufRead>(reader: R) -> impl Iterator<Item = Result<ImportRecord, RecordError>> {
    let mut xml = Reader::from_reader(Counted::new(reader));
    let config = xml.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    St96Records {
        xml,
        buffer: Vec::new(),
        path: Vec::new(),
        depth: 0,
        record_count: 0,
        pending: None,
        held_back: None,
        done: false,
    }
}

/// One XML event, reduced to what the reader needs and owned, so that the parser's buffer can be
/// reused at once.
#[derive(Debug)]
enum Token {
    Start {
        name: String,
        sequence: Option<String>,
        line: u64,
    },
    Empty {
        name: String,
        sequence: Option<String>,
        line: u64,
    },
    End,
    Text(String),
    Eof,
    Other,
}

/// A record read in full, waiting for the applicants that USPTO's ST.66 files put after it.
struct Pending {
    tree: Node,
    position: String,
}

struct St96Records<R> {
    xml: Reader<Counted<R>>,
    /// The parser's buffer, cleared for each event.
    buffer: Vec<u8>,
    /// Local names of the open elements outside any record, outermost first.
    path: Vec<String>,
    /// Open elements in the whole file, records included.
    depth: usize,
    record_count: usize,
    pending: Option<Pending>,
    /// A token read while finishing a pending record, handled on the next call.
    held_back: Option<Token>,
    done: bool,
}

impl<R: BufRead> Iterator for St96Records<R> {
    type Item = Result<ImportRecord, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(record) => record,
            Err(fatal) => {
                self.done = true;
                self.pending = None;
                Some(Err(fatal))
            }
        }
    }
}

impl<R: BufRead> St96Records<R> {
    /// The next record or record error; `Err` is a fault of the file that ends the reading.
    fn next_record(&mut self) -> Result<Option<Result<ImportRecord, RecordError>>, RecordError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let token = match self.held_back.take() {
                Some(token) => token,
                None => self.next_token()?,
            };
            match token {
                Token::Start {
                    name,
                    sequence,
                    line,
                } => {
                    if self.pending.is_some() {
                        if name == "ApplicantDetails" {
                            let applicants = self.read_element(name, sequence, line)?;
                            let pending = self.pending.take();
                            return Ok(pending.map(|pending| finish(pending, applicants.ok())));
                        }
                        self.held_back = Some(Token::Start {
                            name,
                            sequence,
                            line,
                        });
                        return Ok(self.pending.take().map(|pending| finish(pending, None)));
                    }
                    if self.is_record(&name) {
                        self.record_count += 1;
                        let position = format!("{name} {} (line {line})", self.record_count);
                        match self.read_element(name, sequence, line)? {
                            Err(problem) => {
                                return Ok(Some(Err(RecordError {
                                    position,
                                    message: problem,
                                    jurisdiction: None,
                                })));
                            }
                            Ok(tree) if needs_outer_applicants(&tree) => {
                                self.pending = Some(Pending { tree, position });
                            }
                            Ok(tree) => return Ok(Some(finish(Pending { tree, position }, None))),
                        }
                    } else {
                        self.path.push(bounded_name(name));
                    }
                }
                Token::Empty { name, line, .. } => {
                    if self.pending.is_some() {
                        self.held_back = Some(Token::Empty {
                            name,
                            sequence: None,
                            line,
                        });
                        return Ok(self.pending.take().map(|pending| finish(pending, None)));
                    }
                    if self.is_record(&name) {
                        self.record_count += 1;
                        return Ok(Some(Err(RecordError {
                            position: format!("{name} {} (line {line})", self.record_count),
                            message: format!("empty {name} element"),
                            jurisdiction: None,
                        })));
                    }
                }
                Token::End => {
                    // ST.66 applicants follow the TradeMarkDetails that holds the record.
                    let closes_details = self
                        .path
                        .last()
                        .is_some_and(|name| name == "TradeMarkDetails");
                    if self.pending.is_some() && !closes_details {
                        self.held_back = Some(Token::End);
                        return Ok(self.pending.take().map(|pending| finish(pending, None)));
                    }
                    self.path.pop();
                }
                Token::Eof => {
                    if let Some(pending) = self.pending.take() {
                        self.held_back = Some(Token::Eof);
                        return Ok(Some(finish(pending, None)));
                    }
                    self.done = true;
                    if let Some(open) = self.path.last() {
                        return Err(self.fatal(format!(
                            "the file ends inside the element {open}: it is truncated"
                        )));
                    }
                    return Ok(None);
                }
                Token::Text(_) | Token::Other => {}
            }
        }
    }

    /// Whether an element opened outside any record starts one.
    fn is_record(&self, name: &str) -> bool {
        let parent = self.path.last().map(String::as_str);
        matches!(
            (name, parent),
            ("Trademark", Some("TrademarkBag")) | ("TradeMark", Some("TradeMarkDetails"))
        )
    }

    /// Reads the element whose start tag was just read, up to its end tag, into a tree. The outer
    /// `Err` is a fault of the file; the inner one a bound of this element exceeded, in which
    /// case the element has still been read to its end.
    fn read_element(
        &mut self,
        name: String,
        sequence: Option<String>,
        line: u64,
    ) -> Result<Result<Node, String>, RecordError> {
        let start = self.xml.get_ref().consumed;
        let mut stack = vec![Node::new(name.clone(), sequence)];
        let mut open = 1usize;
        let mut elements = 1usize;
        // The depth (within this element) of a skipped subtree being passed over.
        let mut skipping: Option<usize> = None;
        let mut problem: Option<String> = None;
        loop {
            let token = self.next_token()?;
            if problem.is_none() && self.xml.get_ref().consumed - start > MAX_TRADEMARK_BYTES {
                problem = Some(format!(
                    "{name} element larger than {} MiB",
                    MAX_TRADEMARK_BYTES / (1024 * 1024)
                ));
            }
            let keeping = problem.is_none() && skipping.is_none();
            match token {
                Token::Start {
                    name: child,
                    sequence,
                    ..
                } => {
                    open += 1;
                    if !keeping {
                        continue;
                    }
                    if SKIPPED_ELEMENTS.contains(&child.as_str()) {
                        skipping = Some(open);
                        continue;
                    }
                    elements += 1;
                    if elements > MAX_RECORD_ELEMENTS {
                        problem = Some(format!(
                            "{name} element has more than {MAX_RECORD_ELEMENTS} elements"
                        ));
                        continue;
                    }
                    stack.push(Node::new(child, sequence));
                }
                Token::Empty {
                    name: child,
                    sequence,
                    ..
                } => {
                    if keeping && !SKIPPED_ELEMENTS.contains(&child.as_str()) {
                        elements += 1;
                        if elements > MAX_RECORD_ELEMENTS {
                            problem = Some(format!(
                                "{name} element has more than {MAX_RECORD_ELEMENTS} elements"
                            ));
                        } else if let Some(parent) = stack.last_mut() {
                            parent.children.push(Node::new(child, sequence));
                        }
                    }
                }
                Token::End => {
                    if keeping {
                        if let Some(node) = stack.pop() {
                            match stack.last_mut() {
                                Some(parent) => parent.children.push(node),
                                None => stack.push(node),
                            }
                        }
                    }
                    if skipping == Some(open) {
                        skipping = None;
                    }
                    open -= 1;
                    if open == 0 {
                        break;
                    }
                }
                Token::Text(text) => {
                    if keeping {
                        if let Some(node) = stack.last_mut() {
                            node.push_text(&text);
                        }
                    }
                }
                Token::Eof => {
                    return Err(RecordError {
                        position: format!("line {}", self.line()),
                        message: format!(
                            "the file ends inside the {name} element that starts on line {line}: it is truncated"
                        ),
                        jurisdiction: None,
                    });
                }
                Token::Other => {}
            }
        }
        match problem {
            Some(problem) => Ok(Err(problem)),
            None => Ok(stack
                .pop()
                .ok_or_else(|| format!("{name} element could not be read"))),
        }
    }

    /// Reads the next event and reduces it to a token, enforcing the bounds of the file.
    fn next_token(&mut self) -> Result<Token, RecordError> {
        self.buffer.clear();
        self.xml.get_mut().start_event();
        let event = match self.xml.read_event_into(&mut self.buffer) {
            Ok(event) => event,
            Err(error) => {
                let message = match &error {
                    quick_xml::Error::Io(io_error) if is_event_limit(io_error) => {
                        format!(
                            "an XML event longer than {} MiB; reading stopped",
                            MAX_EVENT_BYTES / (1024 * 1024)
                        )
                    }
                    quick_xml::Error::Io(io_error) => {
                        format!("cannot read the file: {io_error}; reading stopped")
                    }
                    _ => format!("XML syntax error: {error}; reading stopped"),
                };
                return Err(self.fatal(message));
            }
        };
        let token = match event {
            Event::Start(start) | Event::Empty(start)
                if start.local_name().as_ref().len() > MAX_NAME_BYTES =>
            {
                return Err(self.fatal(format!(
                    "an element name longer than {MAX_NAME_BYTES} bytes; reading stopped"
                )));
            }
            Event::Start(start) => {
                let tag_lines = count_lines(&start);
                Token::Start {
                    name: local_name(start.local_name().as_ref()),
                    sequence: sequence_number(&start),
                    line: self.line() - tag_lines,
                }
            }
            Event::Empty(start) => {
                let tag_lines = count_lines(&start);
                Token::Empty {
                    name: local_name(start.local_name().as_ref()),
                    sequence: sequence_number(&start),
                    line: self.line() - tag_lines,
                }
            }
            Event::End(_) => Token::End,
            Event::Text(text) => match text.xml10_content() {
                Ok(content) => Token::Text(content.into_owned()),
                Err(error) => return Err(self.fatal(format!("text is not UTF-8: {error}"))),
            },
            Event::CData(data) => match data.decode() {
                Ok(content) => Token::Text(content.into_owned()),
                Err(error) => return Err(self.fatal(format!("text is not UTF-8: {error}"))),
            },
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => Some(character.to_string()),
                    Ok(None) => match &*reference {
                        b"amp" => Some("&".to_owned()),
                        b"lt" => Some("<".to_owned()),
                        b"gt" => Some(">".to_owned()),
                        b"quot" => Some("\"".to_owned()),
                        b"apos" => Some("'".to_owned()),
                        _ => None,
                    },
                    Err(_) => None,
                };
                match resolved {
                    Some(text) => Token::Text(text),
                    None => {
                        let name = String::from_utf8_lossy(&reference).into_owned();
                        return Err(self.fatal(format!(
                            "unknown entity &{};; only the five XML entities and character references are supported",
                            shortened(&name)
                        )));
                    }
                }
            }
            Event::Decl(declaration) => {
                if let Some(Ok(encoding)) = declaration.encoding() {
                    if !encoding.eq_ignore_ascii_case(b"utf-8") {
                        let encoding = String::from_utf8_lossy(&encoding).into_owned();
                        return Err(self.fatal(format!(
                            "the file declares the encoding {:?}; only UTF-8 is supported",
                            shortened(&encoding)
                        )));
                    }
                }
                Token::Other
            }
            Event::Eof => Token::Eof,
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => Token::Other,
        };
        match token {
            Token::Start { .. } => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.fatal(format!(
                        "elements nested deeper than {MAX_DEPTH}; reading stopped"
                    )));
                }
            }
            Token::End => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(token)
    }

    /// The line the parser has reached, 1-based.
    fn line(&self) -> u64 {
        self.xml.get_ref().lines + 1
    }

    fn fatal(&self, message: String) -> RecordError {
        RecordError {
            position: format!("line {}", self.line()),
            message,
            jurisdiction: None,
        }
    }
}

fn local_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Names outside records are kept only to recognise a record's parent; a long one is cut.
fn bounded_name(mut name: String) -> String {
    if name.len() > 64 {
        name = shortened(&name);
    }
    name
}

/// Line breaks inside a start tag (between attributes), to find the line where the tag starts.
fn count_lines(tag: &[u8]) -> u64 {
    tag.iter().filter(|&&byte| byte == b'\n').count() as u64
}

/// The `sequenceNumber` attribute (with any prefix), which orders ST.96 applicants.
fn sequence_number(start: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    start
        .attributes()
        .with_checks(false)
        .filter_map(Result::ok)
        .find(|attribute| attribute.key.local_name().as_ref() == b"sequenceNumber")
        .map(|attribute| shortened(String::from_utf8_lossy(&attribute.value).trim()))
}

/// An element of a record: its local name, the text directly inside it, and its children.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    name: String,
    sequence: Option<String>,
    text: String,
    /// More than [`MAX_TEXT_BYTES`] of text was found; `text` holds only the start.
    text_overflow: bool,
    children: Vec<Node>,
}

impl Node {
    fn new(name: String, sequence: Option<String>) -> Self {
        Self {
            name,
            sequence,
            text: String::new(),
            text_overflow: false,
            children: Vec::new(),
        }
    }

    fn push_text(&mut self, text: &str) {
        // White space between child elements is layout, not a value.
        let layout = !self.children.is_empty() && text.chars().all(char::is_whitespace);
        if self.text_overflow || layout {
            return;
        }
        if self.text.len() + text.len() > MAX_TEXT_BYTES {
            self.text_overflow = true;
            return;
        }
        self.text.push_str(text);
    }

    /// The first child named `name`.
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|child| child.name == name)
    }

    /// The children named `name`.
    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The first element named `name` below this one, depth first in document order.
    fn find(&self, name: &str) -> Option<&Node> {
        self.children.iter().find_map(|child| {
            if child.name == name {
                Some(child)
            } else {
                child.find(name)
            }
        })
    }

    /// Every element named `name` below this one, in document order (not below a match).
    fn find_all<'a>(&'a self, name: &str, found: &mut Vec<&'a Node>) {
        for child in &self.children {
            if child.name == name {
                found.push(child);
            } else {
                child.find_all(name, found);
            }
        }
    }

    /// The element's text with runs of white space made one space; `None` when blank. `field`
    /// names the registration field for the error when the text was too long to keep.
    fn value(&self, field: &str) -> Result<Option<String>, String> {
        if self.text_overflow {
            return Err(format!(
                "{field}: {} holds more than {MAX_TEXT_BYTES} bytes of text",
                self.name
            ));
        }
        let collapsed = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Some(collapsed).filter(|text| !text.is_empty()))
    }
}

/// The text of the child `name` of `node`, when present and not blank.
fn child_value(node: &Node, name: &str, field: &str) -> Result<Option<String>, String> {
    match node.child(name) {
        Some(child) => child.value(field),
        None => Ok(None),
    }
}

/// Whether a record is USPTO's ST.66 layout, where the applicants follow the `TradeMark` element
/// instead of being inside it.
fn needs_outer_applicants(tree: &Node) -> bool {
    tree.name == "TradeMark" && tree.child("ApplicantDetails").is_none()
}

/// Maps a record (with applicants read after it, for ST.66) to a checked registration.
fn finish(pending: Pending, outer_applicants: Option<Node>) -> Result<ImportRecord, RecordError> {
    let Pending { tree, position } = pending;
    registration(&tree, outer_applicants.as_ref())
        .map(|(registration, status_date)| ImportRecord {
            position: position.clone(),
            registration,
            status_date,
        })
        .map_err(|message| RecordError {
            position,
            message,
            jurisdiction: None,
        })
}

/// What the current status code says about the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Registered and in force.
    Registered,
    /// An application still being examined (or a registration with a pending proceeding).
    Pending,
    /// An application that died before registration: abandoned, refused, withdrawn.
    Abandoned,
    /// A registration cancelled, revoked, invalidated or surrendered.
    Cancelled,
    /// A registration that lapsed at the end of its term.
    Expired,
}

/// Classifies a USPTO numeric status code (TSDR "status line" codes).
fn uspto_standing(code: u16) -> Option<Standing> {
    match code {
        600..=609 | 614 | 618 => Some(Standing::Abandoned),
        612 | 616 | 630..=699 | 715 | 730..=799 => Some(Standing::Pending),
        700..=708 | 800..=899 => Some(Standing::Registered),
        709..=714 => Some(Standing::Cancelled),
        900 | 901 => Some(Standing::Expired),
        _ => None,
    }
}

/// Classifies a status written in words: an office's textual status code (`Registered`,
/// `Application refused`, …) or USPTO's description of a code not in the table.
fn worded_standing(text: &str) -> Option<Standing> {
    let text = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| text.contains(word));
    if has(&["pending"]) {
        // "Cancellation pending", "Appeal pending": nothing has ended yet.
        Some(Standing::Pending)
    } else if has(&["abandon", "refus", "reject", "withdraw"]) {
        Some(Standing::Abandoned)
    } else if has(&["expired", "lapse", "not renewed"]) {
        Some(Standing::Expired)
    } else if has(&[
        "cancel",
        "revoke",
        "revocation",
        "invalid",
        "surrender",
        "removed",
    ]) {
        Some(Standing::Cancelled)
    } else if has(&["regist", "renew", "in force", "protected"]) {
        Some(Standing::Registered)
    } else if has(&[
        "filed",
        "application",
        "published",
        "opposition",
        "examin",
        "allowance",
        "suspend",
    ]) {
        Some(Standing::Pending)
    } else {
        None
    }
}

/// The protocol status of a record: see the table in `docs/IMPORT.md`.
fn status_of(
    code: &str,
    description: Option<&str>,
    registered: bool,
) -> Result<&'static str, String> {
    let standing = match code.parse::<u16>() {
        Ok(number) => uspto_standing(number).or_else(|| description.and_then(worded_standing)),
        Err(_) => worded_standing(code).or_else(|| description.and_then(worded_standing)),
    };
    let Some(standing) = standing else {
        let described =
            description.map_or_else(String::new, |text| format!(" ({})", shortened(text)));
        return Err(format!(
            "status: MarkCurrentStatusCode {:?}{described} cannot be mapped to filed, registered, expired or cancelled",
            shortened(code)
        ));
    };
    Ok(match standing {
        Standing::Registered => "registered",
        Standing::Pending if registered => "registered",
        Standing::Pending => "filed",
        // An application never became a right: it is recorded as dead (cancelled), without a
        // registration date. A registration said to be abandoned can only have lapsed.
        Standing::Abandoned if registered => "expired",
        Standing::Abandoned => "cancelled",
        Standing::Cancelled => "cancelled",
        Standing::Expired => "expired",
    })
}

/// The calendar date of an `xs:date`, which may carry a zone (`2000-05-09-04:00`, `…Z`).
fn calendar_date(node: &Node, field: &str) -> Result<Option<String>, String> {
    let Some(text) = node.value(field)? else {
        return Ok(None);
    };
    let split = text.len().min(10);
    if !text.is_char_boundary(split) {
        return Err(format!(
            "{field}: {} {:?} is not a date",
            node.name,
            shortened(&text)
        ));
    }
    let (date, zone) = text.split_at(split);
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone.as_bytes()[3] == b':'
            && zone
                .bytes()
                .enumerate()
                .all(|(index, byte)| matches!(index, 0 | 3) || byte.is_ascii_digit()));
    if !zone_ok {
        return Err(format!(
            "{field}: {} {:?} is not a date",
            node.name,
            shortened(&text)
        ));
    }
    checked_date(field, date)
        .map(Some)
        .map_err(|message| format!("{message} (from {})", node.name))
}

fn optional_date(tree: &Node, name: &str, field: &str) -> Result<Option<String>, String> {
    match tree.child(name) {
        Some(node) => calendar_date(node, field),
        None => Ok(None),
    }
}

/// Builds the registration of a record and the date its status took effect.
fn registration(
    tree: &Node,
    outer_applicants: Option<&Node>,
) -> Result<(Value, Option<String>), String> {
    let jurisdiction = child_value(tree, "RegistrationOfficeCode", "jurisdiction")?
        .ok_or("jurisdiction: RegistrationOfficeCode is missing")?
        .to_ascii_uppercase();
    let application_number = match tree.child("ApplicationNumber") {
        // ST.96 wraps the number; ST.66 writes it directly.
        Some(node) => match node.child("ApplicationNumberText") {
            Some(text) => text.value("application_number")?,
            None => node.value("application_number")?,
        },
        None => None,
    };
    let registration_number = child_value(tree, "RegistrationNumber", "number")?;
    let filing_date = optional_date(tree, "ApplicationDate", "filing_date")?
        .ok_or("filing_date: ApplicationDate is missing")?;
    let registration_date = optional_date(tree, "RegistrationDate", "registration_date")?;
    let expiry_date = optional_date(tree, "ExpiryDate", "expiry_date")?;
    let status_code = child_value(tree, "MarkCurrentStatusCode", "status")?
        .ok_or("status: MarkCurrentStatusCode is missing")?;
    let description = match tree.find("MarkCurrentStatusExternalDescriptionText") {
        Some(node) => node.value("status")?,
        None => None,
    };
    let status = status_of(
        &status_code,
        description.as_deref(),
        registration_date.is_some(),
    )?;
    let status_date = optional_date(tree, "MarkCurrentStatusDate", "status_date")?;
    let number = registration_number
        .or_else(|| application_number.clone())
        .ok_or("number: neither RegistrationNumber nor ApplicationNumberText is present")?;
    let mark_text = match tree.find("MarkVerbalElementText") {
        Some(node) => node.value("mark_text")?,
        None => None,
    };
    let classes = nice_classes(tree)?;
    let holder = holder(tree, outer_applicants)?;

    let mut fields = Map::new();
    fields.insert("right_type".into(), Value::from("trademark"));
    fields.insert("jurisdiction".into(), Value::from(jurisdiction));
    fields.insert("number".into(), Value::from(number));
    if let Some(application_number) = application_number {
        fields.insert("application_number".into(), Value::from(application_number));
    }
    if let Some(mark_text) = mark_text {
        fields.insert("mark_text".into(), Value::from(mark_text));
    }
    if !classes.is_empty() {
        fields.insert(
            "nice_classes".into(),
            Value::Array(classes.into_iter().map(Value::from).collect()),
        );
    }
    fields.insert("holder".into(), holder);
    fields.insert("filing_date".into(), Value::from(filing_date));
    if let Some(registration_date) = registration_date {
        fields.insert("registration_date".into(), Value::from(registration_date));
    }
    if let Some(expiry_date) = expiry_date {
        fields.insert("expiry_date".into(), Value::from(expiry_date));
    }
    fields.insert("status".into(), Value::from(status));
    Ok((validate_registration(fields)?, status_date))
}

/// The Nice classes: the `ClassNumber`s of the classifications of kind `Nice` (USPTO also lists
/// `Primary` and national kinds, which are not Nice classes); when a record has none, the
/// `ClassNumber` of each `ClassDescription` (ST.66, and ST.96 offices that classify only there).
fn nice_classes(tree: &Node) -> Result<BTreeSet<u8>, String> {
    let mut numbers: Vec<&Node> = Vec::new();
    let mut classifications = Vec::new();
    tree.find_all("GoodsServicesClassification", &mut classifications);
    for classification in classifications {
        let kind = match classification.child("ClassificationKindCode") {
            Some(kind) => kind.value("nice_classes")?,
            None => None,
        };
        if kind.is_some_and(|kind| kind.eq_ignore_ascii_case("nice")) {
            numbers.extend(classification.children_named("ClassNumber"));
        }
    }
    if numbers.is_empty() {
        let mut descriptions = Vec::new();
        tree.find_all("ClassDescription", &mut descriptions);
        for description in descriptions {
            numbers.extend(description.children_named("ClassNumber"));
        }
    }
    let mut classes = BTreeSet::new();
    for number in numbers {
        if let Some(text) = number.value("nice_classes")? {
            classes.insert(nice_class(&text)?);
        }
    }
    Ok(classes)
}

/// The holder: the current owner among the applicants.
///
/// USPTO lists every owner the file has known (original applicant, owner at publication,
/// original registrant, later owners), numbered by party type: `sequenceNumber` in ST.96,
/// `PartyTypeCode` in ST.66, higher meaning later. The applicant with the highest number is the
/// current owner; among equals (joint owners) the first. Without numbers, the applicants listed
/// are the current ones and the first is taken.
fn holder(tree: &Node, outer_applicants: Option<&Node>) -> Result<Value, String> {
    let mut applicants: Vec<&Node> = Vec::new();
    for container in ["ApplicantBag", "ApplicantDetails"] {
        for bag in tree.children_named(container).chain(
            outer_applicants
                .into_iter()
                .filter(move |node| node.name == container),
        ) {
            applicants.extend(bag.children_named("Applicant"));
        }
    }
    let order = |applicant: &Node| -> Option<u64> {
        let number = match &applicant.sequence {
            Some(sequence) => Some(sequence.clone()),
            None => applicant
                .find("PartyTypeCode")
                .and_then(|node| node.value("holder").ok().flatten()),
        };
        number.and_then(|number| number.parse().ok())
    };
    let mut current: Option<(&Node, Option<u64>)> = None;
    for applicant in applicants {
        let rank = order(applicant);
        let better = match current {
            None => true,
            Some((_, best)) => rank > best,
        };
        if better {
            current = Some((applicant, rank));
        }
    }
    let (applicant, _) = current.ok_or("holder: the record has no Applicant")?;
    let name =
        applicant_name(applicant)?.ok_or("holder.name: the current Applicant has no name")?;
    let country = applicant_country(applicant)?.ok_or(
        "holder.country: the current Applicant has no NationalityCode, IncorporationCountryCode or address CountryCode",
    )?;
    let mut holder = Map::new();
    holder.insert("name".into(), Value::from(name));
    holder.insert("country".into(), Value::from(country.to_ascii_uppercase()));
    Ok(Value::Object(holder))
}

/// The applicant's name: as registered (`EntityName`), an organisation's name, a person's full
/// name or its parts, or ST.66's free-format name lines.
fn applicant_name(applicant: &Node) -> Result<Option<String>, String> {
    const FIELD: &str = "holder.name";
    for element in [
        "EntityName",
        "OrganizationStandardName",
        "OrganizationName",
        "PersonFullName",
    ] {
        if let Some(node) = applicant.find(element) {
            if let Some(name) = node.value(FIELD)? {
                return Ok(Some(name));
            }
        }
    }
    let mut parts = Vec::new();
    for element in ["FirstName", "MiddleName", "LastName", "SecondLastName"] {
        if let Some(node) = applicant.find(element) {
            parts.extend(node.value(FIELD)?);
        }
    }
    if parts.is_empty() {
        let mut lines = Vec::new();
        applicant.find_all("FreeFormatNameLine", &mut lines);
        for line in lines {
            parts.extend(line.value(FIELD)?);
        }
    }
    Ok(Some(parts.join(" ")).filter(|name| !name.is_empty()))
}

/// The applicant's country: nationality (for a company, where it is incorporated), else the
/// country of its address.
fn applicant_country(applicant: &Node) -> Result<Option<String>, String> {
    for element in [
        "NationalityCode",
        "ApplicantNationalityCode",
        "IncorporationCountryCode",
        "ApplicantIncorporationCountryCode",
        "CountryCode",
        "FormattedAddressCountryCode",
        "AddressCountryCode",
    ] {
        if let Some(node) = applicant.find(element) {
            if let Some(country) = node.value("holder.country")? {
                return Ok(Some(country));
            }
        }
    }
    Ok(None)
}

/// The XML parser's input: counts lines, and refuses to hand over more than [`MAX_EVENT_BYTES`]
/// within one event, so that one endless tag or text cannot fill the parser's buffer.
struct Counted<R> {
    inner: R,
    /// Bytes handed over so far.
    consumed: u64,
    /// Line feeds handed over so far.
    lines: u64,
    /// `consumed` when the current event started.
    event_start: u64,
}

/// The message of the error [`Counted`] returns; recognised by [`is_event_limit`].
const LIMIT_MESSAGE: &str = "xml event size limit reached";

impl<R> Counted<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            consumed: 0,
            lines: 0,
            event_start: 0,
        }
    }

    fn start_event(&mut self) {
        self.event_start = self.consumed;
    }
}

/// Whether an I/O error is the one [`Counted`] returns at the event size limit.
fn is_event_limit(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Other && error.to_string() == LIMIT_MESSAGE
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed - self.event_start > MAX_EVENT_BYTES {
            return Err(io::Error::other(LIMIT_MESSAGE));
        }
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(READ_CHUNK_BYTES)])
    }

    fn consume(&mut self, amount: usize) {
        // The bytes consumed are the start of what `fill_buf` returned, still in the buffer.
        if let Ok(available) = self.inner.fill_buf() {
            let counted = amount.min(available.len());
            self.lines += count_lines(&available[..counted]);
        }
        self.inner.consume(amount);
        self.consumed += amount as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_all(text: &str) -> Vec<Result<ImportRecord, RecordError>> {
        records(text.as_bytes()).collect()
    }

    fn shared_sample(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/st96")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    fn java_registration() -> Value {
        json!({
            "right_type": "trademark",
            "jurisdiction": "US",
            "number": "2178784",
            "application_number": "74631225",
            "mark_text": "JAVA",
            "nice_classes": [9],
            "holder": {"name": "Oracle America, Inc.", "country": "US"},
            "filing_date": "1995-02-07",
            "registration_date": "1998-08-04",
            "status": "registered",
        })
    }

    #[test]
    fn both_uspto_st96_generations_read_as_the_same_registration() {
        for (name, root_line) in [
            ("uspto-rn2178784-ST-961_D3.xml", 8),
            ("uspto-rn2178784-ST-962.2.1.xml", 8),
        ] {
            let bytes = shared_sample(name);
            let results: Vec<_> = records(bytes.as_slice()).collect();
            assert_eq!(results.len(), 1, "{name}: {results:?}");
            let record = results[0].as_ref().expect(name);
            assert_eq!(
                record.position,
                format!("Trademark 1 (line {root_line})"),
                "{name}"
            );
            assert_eq!(record.registration, java_registration(), "{name}");
            assert_eq!(record.status_date.as_deref(), Some("2008-08-11"), "{name}");
        }
    }

    #[test]
    fn uspto_st66_reads_with_the_applicants_that_follow_the_record() {
        let bytes = shared_sample("uspto-sn76044902-ST66.xml");
        let results: Vec<_> = records(bytes.as_slice()).collect();
        assert_eq!(results.len(), 1, "{results:?}");
        let record = results[0].as_ref().expect("PYTHON");
        assert_eq!(record.position, "TradeMark 1 (line 1)");
        assert_eq!(
            record.registration,
            json!({
                "right_type": "trademark",
                "jurisdiction": "US",
                "number": "2824281",
                "application_number": "76044902",
                "mark_text": "PYTHON",
                "nice_classes": [9, 42],
                "holder": {"name": "PYTHON SOFTWARE FOUNDATION", "country": "US"},
                "filing_date": "2000-05-09",
                "registration_date": "2004-03-23",
                "status": "registered",
            })
        );
        assert_eq!(record.status_date.as_deref(), Some("2010-09-08"));
    }

    /// A minimal ST.96 2.2.1 file holding the given `Trademark` elements.
    fn st96(trademarks: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ns2:TrademarkTransaction xmlns:ns1="http://www.wipo.int/standards/XMLSchema/ST96/Common" xmlns:ns2="http://www.wipo.int/standards/XMLSchema/ST96/Trademark">
<ns2:TrademarkTransactionBody><ns2:TransactionContentBag><ns2:TransactionData><ns2:TrademarkBag>
{trademarks}
</ns2:TrademarkBag></ns2:TransactionData></ns2:TransactionContentBag></ns2:TrademarkTransactionBody>
</ns2:TrademarkTransaction>
"#
        )
    }

    fn trademark(number: &str, status: &str, extra: &str) -> String {
        format!(
            r#"<ns2:Trademark>
  <ns1:RegistrationOfficeCode>US</ns1:RegistrationOfficeCode>
  <ns1:ApplicationNumber><ns1:ApplicationNumberText>90000001</ns1:ApplicationNumberText></ns1:ApplicationNumber>
  {number}
  <ns2:ApplicationDate>2020-01-02-05:00</ns2:ApplicationDate>
  <ns2:MarkCurrentStatusCode>{status}</ns2:MarkCurrentStatusCode>
  <ns2:MarkCurrentStatusDate>2022-03-04</ns2:MarkCurrentStatusDate>
  <ns2:MarkRepresentation><ns2:MarkReproduction><ns2:WordMarkSpecification>
    <ns2:MarkVerbalElementText>ACME &amp; SONS</ns2:MarkVerbalElementText>
  </ns2:WordMarkSpecification></ns2:MarkReproduction></ns2:MarkRepresentation>
  <ns2:GoodsServicesBag><ns2:GoodsServices><ns2:GoodsServicesClassificationBag>
    <ns2:GoodsServicesClassification><ns2:ClassificationKindCode>Nice</ns2:ClassificationKindCode><ns2:ClassNumber>025</ns2:ClassNumber></ns2:GoodsServicesClassification>
    <ns2:GoodsServicesClassification><ns2:ClassificationKindCode>Domestic</ns2:ClassificationKindCode><ns2:NationalClassNumber>039</ns2:NationalClassNumber></ns2:GoodsServicesClassification>
  </ns2:GoodsServicesClassificationBag></ns2:GoodsServices></ns2:GoodsServicesBag>
  <ns2:ApplicantBag><ns2:Applicant ns1:sequenceNumber="10">
    <ns1:NationalityCode>CA</ns1:NationalityCode>
    <ns1:Contact><ns1:Name><ns1:PersonName><ns1:FirstName>Jane</ns1:FirstName><ns1:LastName>Public</ns1:LastName></ns1:PersonName></ns1:Name></ns1:Contact>
  </ns2:Applicant></ns2:ApplicantBag>
  {extra}
</ns2:Trademark>"#
        )
    }

    #[test]
    fn a_pending_application_is_filed_under_its_application_number() {
        let results = read_all(&st96(&trademark("", "686", "")));
        assert_eq!(results.len(), 1);
        let record = results[0].as_ref().expect("valid");
        assert_eq!(record.position, "Trademark 1 (line 4)");
        assert_eq!(
            record.registration,
            json!({
                "right_type": "trademark",
                "jurisdiction": "US",
                "number": "90000001",
                "application_number": "90000001",
                "mark_text": "ACME & SONS",
                "nice_classes": [25],
                "holder": {"name": "Jane Public", "country": "CA"},
                "filing_date": "2020-01-02",
                "status": "filed",
            })
        );
    }

    #[test]
    fn status_codes_map_to_the_protocol_statuses() {
        let registered = "<ns1:RegistrationNumber>6,000,001</ns1:RegistrationNumber><ns1:RegistrationDate>2021-05-06</ns1:RegistrationDate>";
        let cases = [
            ("602", "", "cancelled"),
            ("710", registered, "cancelled"),
            ("900", registered, "expired"),
            ("702", registered, "registered"),
            ("790", registered, "registered"),
            ("Registered", registered, "registered"),
            ("Application refused", "", "cancelled"),
            ("Registration expired", registered, "expired"),
            ("Cancellation pending", registered, "registered"),
        ];
        for (code, number, expected) in cases {
            let results = read_all(&st96(&trademark(number, code, "")));
            let record = results[0]
                .as_ref()
                .unwrap_or_else(|error| panic!("{code}: {error:?}"));
            assert_eq!(record.registration["status"], json!(expected), "{code}");
        }
        let results = read_all(&st96(&trademark("", "999", "")));
        let error = results[0].as_ref().expect_err("unknown code");
        assert!(
            error
                .message
                .starts_with("status: MarkCurrentStatusCode \"999\""),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_trademark_without_number_is_an_error_and_the_next_one_still_reads() {
        let broken = trademark("", "686", "").replace(
            "<ns1:ApplicationNumber><ns1:ApplicationNumberText>90000001</ns1:ApplicationNumberText></ns1:ApplicationNumber>",
            "",
        );
        let good = trademark(
            "<ns1:RegistrationNumber>6000002</ns1:RegistrationNumber><ns1:RegistrationDate>2021-05-06</ns1:RegistrationDate>",
            "700",
            "",
        );
        let results = read_all(&st96(&format!("{broken}\n{good}")));
        assert_eq!(results.len(), 2, "{results:?}");
        let error = results[0].as_ref().expect_err("no number");
        assert_eq!(error.position, "Trademark 1 (line 4)");
        assert!(error.message.starts_with("number: "), "{}", error.message);
        let record = results[1].as_ref().expect("valid");
        assert!(
            record.position.starts_with("Trademark 2 (line "),
            "{}",
            record.position
        );
        assert_eq!(record.registration["number"], json!("6000002"));
    }

    #[test]
    fn malformed_xml_is_one_error_and_the_end() {
        let good = trademark("", "686", "");
        let text = st96(&format!(
            "{good}\n<ns2:Trademark><ns1:RegistrationOfficeCode>US</ns1:Oops>\n{good}"
        ));
        let results = read_all(&text);
        assert_eq!(results.len(), 2, "{results:?}");
        assert!(results[0].is_ok());
        let error = results[1].as_ref().expect_err("syntax");
        assert!(
            error.message.starts_with("XML syntax error"),
            "{}",
            error.message
        );
        assert!(error.position.starts_with("line "), "{}", error.position);
    }

    #[test]
    fn truncated_file_and_foreign_encoding_are_errors() {
        let text = st96(&trademark("", "686", ""));
        let cut = &text[..text.find("<ns2:ApplicantBag>").expect("applicants")];
        let results = read_all(cut);
        assert_eq!(results.len(), 1);
        assert!(
            results[0]
                .as_ref()
                .expect_err("truncated")
                .message
                .contains("truncated"),
            "{results:?}"
        );
        let latin = text.replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
        let results = read_all(&latin);
        assert_eq!(results.len(), 1);
        assert!(
            results[0]
                .as_ref()
                .expect_err("encoding")
                .message
                .contains("only UTF-8"),
            "{results:?}"
        );
    }

    #[test]
    fn class_and_date_errors_name_their_field() {
        let bad_class = trademark("", "686", "").replace(">025<", ">046<");
        let bad_date = trademark("", "686", "").replace("2020-01-02-05:00", "2020-02-30");
        let results = read_all(&st96(&format!("{bad_class}{bad_date}")));
        assert_eq!(results.len(), 2);
        let class_error = results[0].as_ref().expect_err("class");
        assert!(
            class_error
                .message
                .starts_with("nice_classes: nice class 46"),
            "{}",
            class_error.message
        );
        let date_error = results[1].as_ref().expect_err("date");
        assert!(
            date_error.message.starts_with("filing_date: "),
            "{}",
            date_error.message
        );
    }

    #[test]
    fn the_latest_applicant_is_the_holder() {
        let applicants = r#"<ns2:ApplicantBag>
          <ns2:Applicant ns1:sequenceNumber="10"><ns1:Contact><ns1:Name><ns1:EntityName>First Owner Ltd</ns1:EntityName></ns1:Name>
            <ns1:PostalAddressBag><ns1:PostalAddress><ns1:PostalStructuredAddress><ns1:CountryCode>GB</ns1:CountryCode></ns1:PostalStructuredAddress></ns1:PostalAddress></ns1:PostalAddressBag></ns1:Contact></ns2:Applicant>
          <ns2:Applicant ns1:sequenceNumber="31"><ns1:IncorporationCountryCode>de</ns1:IncorporationCountryCode><ns1:Contact><ns1:Name><ns1:OrganizationName><ns1:OrganizationStandardName>Neue
             Eigentümer  GmbH</ns1:OrganizationStandardName></ns1:OrganizationName></ns1:Name></ns1:Contact></ns2:Applicant>
          <ns2:Applicant ns1:sequenceNumber="20"><ns1:Contact><ns1:Name><ns1:EntityName>Middle Owner Ltd</ns1:EntityName></ns1:Name></ns1:Contact></ns2:Applicant>
        </ns2:ApplicantBag>"#;
        let record = trademark("", "686", "");
        let start = record.find("<ns2:ApplicantBag>").expect("bag");
        let end = record.find("</ns2:ApplicantBag>").expect("bag") + "</ns2:ApplicantBag>".len();
        let record = format!("{}{applicants}{}", &record[..start], &record[end..]);
        let results = read_all(&st96(&record));
        let registration = &results[0].as_ref().expect("valid").registration;
        assert_eq!(
            registration["holder"],
            json!({"name": "Neue Eigentümer GmbH", "country": "DE"})
        );
    }

    #[test]
    fn an_oversized_trademark_is_refused_and_the_next_one_reads() {
        let text = "x".repeat(1000);
        let filler =
            format!("<ns2:Filler>{text}</ns2:Filler>").repeat(MAX_TRADEMARK_BYTES as usize / 1000);
        let big = trademark("", "686", &filler);
        let many = trademark("", "686", &"<ns2:Filler/>".repeat(MAX_RECORD_ELEMENTS));
        let records = format!("{big}{many}{}", trademark("", "686", ""));
        let results = read_all(&st96(&records));
        assert_eq!(results.len(), 3);
        let error = results[0].as_ref().expect_err("too big");
        assert!(
            error.message.contains("larger than 4 MiB"),
            "{}",
            error.message
        );
        let error = results[1].as_ref().expect_err("too many elements");
        assert!(
            error.message.contains("more than 50000 elements"),
            "{}",
            error.message
        );
        assert!(
            results[2]
                .as_ref()
                .expect("valid")
                .position
                .starts_with("Trademark 3 ")
        );
    }

    #[test]
    fn an_endless_text_stops_the_reading() {
        let endless = "A".repeat(MAX_EVENT_BYTES as usize + READ_CHUNK_BYTES * 2);
        let results = read_all(&st96(&format!("<ns2:Trademark>{endless}")));
        assert_eq!(results.len(), 1);
        let error = results[0].as_ref().expect_err("too long");
        assert!(
            error.message.contains("longer than 1 MiB"),
            "{}",
            error.message
        );
    }

    #[test]
    fn deep_nesting_stops_the_reading() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        let results = read_all(&deep);
        assert_eq!(results.len(), 1);
        assert!(
            results[0]
                .as_ref()
                .expect_err("deep")
                .message
                .contains("nested deeper"),
            "{results:?}"
        );
    }

    #[test]
    fn trademarks_outside_a_bag_are_not_records() {
        let text = format!("<Root>{}</Root>", trademark("", "686", ""));
        assert!(read_all(&text).is_empty());
    }

    /// Produces an ST.96 file of `count` records on demand, so that the test holds no file.
    struct GeneratedRegister {
        count: usize,
        next_part: usize,
        pending: Vec<u8>,
        offset: usize,
    }

    impl Read for GeneratedRegister {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.offset == self.pending.len() {
                let document = st96("@");
                let (head, tail) = document.split_once('@').expect("placeholder");
                let part = match self.next_part {
                    0 => head.to_owned(),
                    index if index <= self.count => {
                        let number = format!(
                            "<ns1:RegistrationNumber>{index}</ns1:RegistrationNumber><ns1:RegistrationDate>2021-05-06</ns1:RegistrationDate>"
                        );
                        trademark(&number, "700", "")
                    }
                    index if index == self.count + 1 => tail.to_owned(),
                    _ => return Ok(0),
                };
                self.next_part += 1;
                self.pending = part.into_bytes();
                self.offset = 0;
            }
            let count = buffer.len().min(self.pending.len() - self.offset);
            buffer[..count].copy_from_slice(&self.pending[self.offset..self.offset + count]);
            self.offset += count;
            Ok(count)
        }
    }

    #[test]
    fn a_generated_register_is_read_one_record_at_a_time() {
        let count = 2_000;
        let source = io::BufReader::new(GeneratedRegister {
            count,
            next_part: 0,
            pending: Vec::new(),
            offset: 0,
        });
        let mut seen = 0;
        for (index, result) in records(source).enumerate() {
            let record = result.expect("valid");
            assert_eq!(
                record.registration["number"],
                json!((index + 1).to_string())
            );
            seen += 1;
        }
        assert_eq!(seen, count);
    }

    #[test]
    fn the_shipped_sample_reads_as_documented() {
        let text = include_str!("../../../docs/samples/register-st96.xml");
        let results = read_all(text);
        assert_eq!(results.len(), 5, "{results:?}");
        let registration = |index: usize| &results[index].as_ref().expect("valid").registration;
        assert_eq!(registration(0), &java_registration());
        assert_eq!(registration(1)["status"], json!("registered"));
        assert_eq!(registration(1)["expiry_date"], json!("2032-10-03"));
        assert_eq!(registration(2)["status"], json!("filed"));
        assert_eq!(registration(3)["status"], json!("cancelled"));
        let error = results[4].as_ref().expect_err("deliberate error");
        assert_eq!(error.position, "Trademark 5 (line 296)");
        assert_eq!(
            error.message,
            "nice_classes: nice class 46 out of range 1..=45"
        );
        let java = results[0].as_ref().expect("JAVA");
        assert_eq!(java.position, "Trademark 1 (line 20)");
    }
}
