//! Value types shared by several bodies: jurisdictions and countries, right types and ids,
//! digests, holders, listings, evidence, reason codes and Nice classes.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyError;
use super::check::{self, Lines};
use super::codes::{is_iso_country, is_regional_office};
use crate::keys::PublicKey;

/// Longest right number: `NUMBER` in a [`RightId`], and [`RegistrationV1::number`](super::RegistrationV1).
pub const MAX_RIGHT_NUMBER_CHARS: usize = 32;
/// Longest holder name, in characters.
pub const MAX_HOLDER_NAME_CHARS: usize = 300;
/// Longest listing id, in characters.
pub const MAX_LISTING_ID_CHARS: usize = 200;
/// Longest listing URL, in characters.
pub const MAX_LISTING_URL_CHARS: usize = 2000;
/// Longest evidence description or result, in characters.
pub const MAX_EVIDENCE_TEXT_CHARS: usize = 1000;
/// Most evidence items in a notice or counter-notice.
pub const MAX_EVIDENCE_ITEMS: usize = 50;
/// Longest multibase signature or proof, in characters.
pub const MAX_SIGNATURE_CHARS: usize = 128;

/// Implements `Display`, `Serialize` and a validating `Deserialize` for a string newtype with an
/// `as_str` method and a `parse` constructor returning `BodyError`.
macro_rules! string_newtype_serde {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::parse(&value).map_err(|error| serde::de::Error::custom(error.message))
            }
        }
    };
}

/// Where a right is registered: an assigned ISO 3166-1 alpha-2 country code, or the code of a
/// regional or international office (`EM` for EUIPO, `WO` for WIPO, …; see
/// [`REGIONAL_OFFICE_CODES`](super::codes::REGIONAL_OFFICE_CODES)). Uppercase only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    /// Parses a jurisdiction code; the error names the field `jurisdiction`.
    pub fn parse(code: &str) -> Result<Self, BodyError> {
        if is_iso_country(code) || is_regional_office(code) {
            Ok(Self(code.to_owned()))
        } else {
            Err(BodyError::new(
                "jurisdiction",
                format!(
                    "unknown jurisdiction {:?}: expected an uppercase ISO 3166-1 alpha-2 code or a regional office code",
                    check::truncated(code)
                ),
            ))
        }
    }

    /// Whether this is a country (an ISO 3166-1 code) rather than a regional or international
    /// office.
    pub fn is_country(&self) -> bool {
        is_iso_country(&self.0)
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<CountryCode> for Jurisdiction {
    fn from(country: CountryCode) -> Self {
        Self(country.0)
    }
}

string_newtype_serde!(Jurisdiction);

/// A country: an assigned ISO 3166-1 alpha-2 code, uppercase. Used for holders' countries, where
/// a regional office code would make no sense.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses a country code; the error names the field `country`.
    pub fn parse(code: &str) -> Result<Self, BodyError> {
        if is_iso_country(code) {
            Ok(Self(code.to_owned()))
        } else {
            Err(BodyError::new(
                "country",
                format!(
                    "unknown country {:?}: expected an uppercase ISO 3166-1 alpha-2 code",
                    check::truncated(code)
                ),
            ))
        }
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_serde!(CountryCode);

/// The type of an intellectual-property right.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RightType {
    /// A trademark (word, figurative or combined mark), classified by Nice classes.
    Trademark,
    /// A registered design.
    Design,
    /// A patent.
    Patent,
    /// A copyright (registered or recorded where the law allows).
    Copyright,
}

impl RightType {
    /// Every right type.
    pub const ALL: [RightType; 4] = [
        RightType::Trademark,
        RightType::Design,
        RightType::Patent,
        RightType::Copyright,
    ];

    /// The type code used in a [`RightId`]: `TM`, `DS`, `PT` or `CR`.
    pub fn code(&self) -> &'static str {
        match self {
            RightType::Trademark => "TM",
            RightType::Design => "DS",
            RightType::Patent => "PT",
            RightType::Copyright => "CR",
        }
    }

    /// The right type of a type code (`TM`, `DS`, `PT`, `CR`).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|right_type| right_type.code() == code)
    }

    /// The type as written in JSON: `trademark`, `design`, `patent` or `copyright`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RightType::Trademark => "trademark",
            RightType::Design => "design",
            RightType::Patent => "patent",
            RightType::Copyright => "copyright",
        }
    }
}

/// Checks a right number: 1 to [`MAX_RIGHT_NUMBER_CHARS`] ASCII letters and digits.
fn check_right_number(field: &str, number: &str) -> Result<(), BodyError> {
    if number.is_empty() || number.len() > MAX_RIGHT_NUMBER_CHARS {
        return Err(BodyError::new(
            field,
            format!("must be 1 to {MAX_RIGHT_NUMBER_CHARS} ascii letters and digits"),
        ));
    }
    if !number.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(BodyError::new(
            field,
            "must contain only ascii letters and digits (see normalize_number)",
        ));
    }
    Ok(())
}

/// Strips everything but ASCII letters and digits from a register's number, as importers do
/// before building a [`RightId`]: `"2,178,784"` becomes `"2178784"`.
pub fn normalize_number(raw: &str) -> String {
    raw.chars()
        .filter(|character| character.is_ascii_alphanumeric())
        .collect()
}

/// The network-wide id of a right: `<JURISDICTION>-<TYPECODE>-<NUMBER>`, e.g. `FR-TM-4123456`
/// or `US-TM-2178784`. `NUMBER` is 1 to 32 ASCII letters and digits, as the office writes it
/// once punctuation is removed (see [`normalize_number`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RightId {
    text: String,
    jurisdiction: Jurisdiction,
    right_type: RightType,
}

impl RightId {
    /// Builds the id of right `number` of `right_type` in `jurisdiction`; the error names the
    /// field `number` when the number is not 1 to 32 ASCII letters and digits.
    pub fn new(
        jurisdiction: &Jurisdiction,
        right_type: RightType,
        number: &str,
    ) -> Result<Self, BodyError> {
        check_right_number("number", number)?;
        Ok(Self {
            text: format!("{}-{}-{number}", jurisdiction.as_str(), right_type.code()),
            jurisdiction: jurisdiction.clone(),
            right_type,
        })
    }

    /// Parses `<JURISDICTION>-<TYPECODE>-<NUMBER>`, checking all three parts; the error names
    /// the field `right_id`.
    pub fn parse(value: &str) -> Result<Self, BodyError> {
        let error = |message: String| BodyError::new("right_id", message);
        let mut parts = value.splitn(3, '-');
        let (Some(jurisdiction), Some(code), Some(number)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(error(format!(
                "{:?} is not of the form <JURISDICTION>-<TYPECODE>-<NUMBER>",
                check::truncated(value)
            )));
        };
        let jurisdiction =
            Jurisdiction::parse(jurisdiction).map_err(|inner| error(inner.message))?;
        let right_type = RightType::from_code(code).ok_or_else(|| {
            error(format!(
                "unknown right type code {:?}: expected TM, DS, PT or CR",
                check::truncated(code)
            ))
        })?;
        check_right_number("right_id", number)
            .map_err(|inner| error(format!("number {}", inner.message)))?;
        Ok(Self {
            text: value.to_owned(),
            jurisdiction,
            right_type,
        })
    }

    /// The jurisdiction part.
    pub fn jurisdiction(&self) -> &Jurisdiction {
        &self.jurisdiction
    }

    /// The right type named by the type code.
    pub fn right_type(&self) -> RightType {
        self.right_type
    }

    /// The number part.
    pub fn number(&self) -> &str {
        // The text always holds two dashes before the number; the fallback is never taken.
        self.text.splitn(3, '-').nth(2).unwrap_or_default()
    }

    /// The whole id, e.g. `FR-TM-4123456`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

string_newtype_serde!(RightId);

/// A SHA-256 digest of a file kept outside the feed (evidence, a mark's image), written
/// `sha256:` followed by 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The prefix naming the hash function.
    pub const PREFIX: &'static str = "sha256:";

    /// Parses `sha256:<64 lowercase hex>`; the error names the field `digest`.
    pub fn parse(value: &str) -> Result<Self, BodyError> {
        let hex = value.strip_prefix(Self::PREFIX).ok_or_else(|| {
            BodyError::new(
                "digest",
                "must be \"sha256:\" followed by 64 lowercase hex characters",
            )
        })?;
        check::lower_hex("digest", hex, 64, 64).map_err(|_| {
            BodyError::new(
                "digest",
                "must be \"sha256:\" followed by 64 lowercase hex characters",
            )
        })?;
        Ok(Self(value.to_owned()))
    }

    /// The digest of a file whose SHA-256 hash is `hash`.
    pub fn from_sha256(hash: &[u8; 32]) -> Self {
        Self(format!("{}{}", Self::PREFIX, hex::encode(hash)))
    }

    /// The 32 hash bytes.
    pub fn sha256(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        let hex = self.0.strip_prefix(Self::PREFIX).unwrap_or_default();
        // Parsing checked the hex; a failure here would leave the zero bytes.
        if hex::decode_to_slice(hex, &mut bytes).is_err() {
            return [0u8; 32];
        }
        bytes
    }

    /// The whole value, `sha256:…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_serde!(Digest);

/// A Nice class: a class of goods (1–34) or services (35–45) of the Nice Classification used for
/// trademarks. Bodies carry classes as plain numbers; this type checks and holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct NiceClass(u8);

impl NiceClass {
    /// The first class.
    pub const MIN: u8 = 1;
    /// The last class.
    pub const MAX: u8 = 45;

    /// Checks a class number; the error names the field `class`.
    pub fn new(class: u8) -> Result<Self, BodyError> {
        Self::check("class", class)?;
        Ok(Self(class))
    }

    /// The class number.
    pub fn get(&self) -> u8 {
        self.0
    }

    /// Checks a class number found at `field`.
    pub(super) fn check(field: &str, class: u8) -> Result<(), BodyError> {
        if (Self::MIN..=Self::MAX).contains(&class) {
            Ok(())
        } else {
            Err(BodyError::new(
                field,
                format!(
                    "nice class {class} out of range {}..={}",
                    Self::MIN,
                    Self::MAX
                ),
            ))
        }
    }
}

impl TryFrom<u8> for NiceClass {
    type Error = BodyError;
    fn try_from(class: u8) -> Result<Self, Self::Error> {
        Self::new(class)
    }
}

impl From<NiceClass> for u8 {
    fn from(class: NiceClass) -> Self {
        class.0
    }
}

impl fmt::Display for NiceClass {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// The holder (owner) of a right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// The holder's name as registered, 1 to [`MAX_HOLDER_NAME_CHARS`] characters, one line.
    #[schemars(length(min = 1, max = MAX_HOLDER_NAME_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub name: String,
    /// The holder's country.
    pub country: CountryCode,
    /// The holder's key, when the office knows it: the key that signs the holder's notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PublicKey>,
}

impl Holder {
    /// Checks the name; paths are relative to the holder (`name`).
    pub fn validate(&self) -> Result<(), BodyError> {
        check::text("name", &self.name, MAX_HOLDER_NAME_CHARS, Lines::Single)
    }
}

/// The registered status of a right at the time of its registration entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RightStatus {
    /// Applied for, not (yet) registered.
    Filed,
    /// Registered and in force.
    Registered,
    /// Lapsed at the end of its term.
    Expired,
    /// Cancelled, revoked or invalidated.
    Cancelled,
}

/// A listing on a marketplace that a notice complains about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// The marketplace's id of the listing, 1 to [`MAX_LISTING_ID_CHARS`] characters, one line.
    #[schemars(length(min = 1, max = MAX_LISTING_ID_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub id: String,
    /// The Nice class of the goods or services offered, when the holder states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::fields::listing_class")]
    pub class: Option<u8>,
    /// The listing's address, `http://` or `https://`, at most [`MAX_LISTING_URL_CHARS`]
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_LISTING_URL_CHARS), regex(pattern = super::fields::URL))]
    pub url: Option<String>,
}

impl Listing {
    /// Checks id, class and URL; paths are relative to the listing (`id`, `class`, `url`).
    pub fn validate(&self) -> Result<(), BodyError> {
        check::text("id", &self.id, MAX_LISTING_ID_CHARS, Lines::Single)?;
        if let Some(class) = self.class {
            NiceClass::check("class", class)?;
        }
        if let Some(url) = &self.url {
            check::text("url", url, MAX_LISTING_URL_CHARS, Lines::Single)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(BodyError::new("url", "must start with https:// or http://"));
            }
            if url.chars().any(char::is_whitespace) {
                return Err(BodyError::new("url", "must not contain whitespace"));
            }
        }
        Ok(())
    }
}

/// What a piece of evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A test purchase of the listed goods; its inspection result is required.
    TestPurchase,
    /// A screenshot of the listing.
    Screenshot,
    /// An expert's report.
    ExpertReport,
    /// A court decision.
    CourtDecision,
    /// A customs seizure record.
    CustomsSeizure,
    /// Anything else; describe it.
    Other,
}

/// A piece of evidence, referenced by the digest of a file kept outside the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// What the evidence is.
    pub kind: EvidenceKind,
    /// The digest of the evidence file.
    pub digest: Digest,
    /// What the file shows, at most [`MAX_EVIDENCE_TEXT_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_EVIDENCE_TEXT_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub description: Option<String>,
    /// The result of the inspection, at most [`MAX_EVIDENCE_TEXT_CHARS`] characters; required
    /// for a test purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_EVIDENCE_TEXT_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub result: Option<String>,
}

impl Evidence {
    /// Checks the texts, and that a test purchase states its result; paths are relative to the
    /// evidence item (`description`, `result`).
    pub fn validate(&self) -> Result<(), BodyError> {
        check::optional_text(
            "description",
            self.description.as_deref(),
            MAX_EVIDENCE_TEXT_CHARS,
            Lines::Multi,
        )?;
        check::optional_text(
            "result",
            self.result.as_deref(),
            MAX_EVIDENCE_TEXT_CHARS,
            Lines::Multi,
        )?;
        if self.kind == EvidenceKind::TestPurchase && self.result.is_none() {
            return Err(BodyError::new(
                "result",
                "required for a test purchase: the inspection result",
            ));
        }
        Ok(())
    }

    /// Decodes evidence items received as JSON values outside a body (an API request carries
    /// them), so that a failure names its place as decoding the enclosing body would:
    /// `evidence[0].kind` for `field` = `evidence`. The items are decoded, not validated: the
    /// body they go into checks them with the rest of its fields.
    pub fn decode_list(
        field: &str,
        items: Vec<serde_json::Value>,
    ) -> Result<Vec<Evidence>, BodyError> {
        super::decode::from_value(&serde_json::Value::Array(items))
            .map_err(|error| error.within(field))
    }

    /// Checks a list of evidence items found at `field`: at most [`MAX_EVIDENCE_ITEMS`], each
    /// valid.
    pub(super) fn validate_list(field: &str, items: &[Evidence]) -> Result<(), BodyError> {
        check::count(field, items.len(), 0, MAX_EVIDENCE_ITEMS)?;
        for (index, item) in items.iter().enumerate() {
            item.validate()
                .map_err(|error| error.within(&check::indexed(field, index)))?;
        }
        Ok(())
    }
}

/// Why a holder asks for listings to be taken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The goods are counterfeit.
    Counterfeit,
    /// The listing infringes a trademark (other than by counterfeit goods).
    TrademarkInfringement,
    /// The listing infringes a registered design.
    DesignInfringement,
    /// The listing infringes a patent.
    PatentInfringement,
    /// The listing infringes a copyright.
    CopyrightInfringement,
}
