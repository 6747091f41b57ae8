//! The `registration` body: a right as an office's register records it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyError;
use super::check::{self, Lines};
use super::values::{Digest, Holder, Jurisdiction, NiceClass, RightId, RightStatus, RightType};
use crate::timestamp::Date;

/// Longest trademark text, in characters.
pub const MAX_MARK_TEXT_CHARS: usize = 500;
/// Longest title of a design, patent or copyright work, in characters.
pub const MAX_TITLE_CHARS: usize = 1000;
/// Longest application number, in characters.
pub const MAX_APPLICATION_NUMBER_CHARS: usize = 64;
/// Most Nice classes of a trademark: all of them.
pub const MAX_NICE_CLASSES: usize = 45;

/// Version 1 of a `registration` body: a right as the office that registered it records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationV1 {
    /// The body version, always 1.
    #[schemars(schema_with = "super::fields::version")]
    pub v: u32,
    /// The right's id; must equal the id built from `jurisdiction`, `right_type` and `number`.
    pub right_id: RightId,
    /// The type of right.
    pub right_type: RightType,
    /// Where the right is registered.
    pub jurisdiction: Jurisdiction,
    /// The registration number, 1 to 32 ASCII letters and digits (see
    /// [`normalize_number`](super::normalize_number)).
    #[schemars(length(min = 1, max = super::MAX_RIGHT_NUMBER_CHARS), regex(pattern = "^[A-Za-z0-9]+$"))]
    pub number: String,
    /// The application number, when it differs from the registration number or none exists yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_APPLICATION_NUMBER_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub application_number: Option<String>,
    /// The words of a trademark, at most [`MAX_MARK_TEXT_CHARS`] characters. Trademarks only;
    /// a trademark has this, an image, or both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_MARK_TEXT_CHARS), regex(pattern = super::fields::SINGLE_LINE))]
    pub mark_text: Option<String>,
    /// The title of a design, patent or work, at most [`MAX_TITLE_CHARS`] characters; required
    /// for everything but trademarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_TITLE_CHARS), regex(pattern = super::fields::MULTI_LINE))]
    pub title: Option<String>,
    /// The digest of the mark's or design's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<Digest>,
    /// The Nice classes a trademark covers, strictly ascending; trademarks only, at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::fields::nice_classes")]
    pub nice_classes: Vec<u8>,
    /// Who holds the right.
    pub holder: Holder,
    /// When the application was filed.
    pub filing_date: Date,
    /// When the right was registered; required when `status` is `registered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<Date>,
    /// When the right expires unless renewed; after the filing date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<Date>,
    /// The status at the time of this entry; later changes are `status` entries.
    pub status: RightStatus,
}

impl RegistrationV1 {
    /// Checks every field and the rules between them.
    pub fn validate(&self) -> Result<(), BodyError> {
        check::version(self.v, "registration")?;
        let expected = RightId::new(&self.jurisdiction, self.right_type, &self.number)?;
        if expected != self.right_id {
            return Err(BodyError::new(
                "right_id",
                format!(
                    "{} does not match jurisdiction, right type and number, expected {}",
                    self.right_id.as_str(),
                    expected.as_str()
                ),
            ));
        }
        if let Some(application_number) = &self.application_number {
            check::text(
                "application_number",
                application_number,
                MAX_APPLICATION_NUMBER_CHARS,
                Lines::Single,
            )?;
        }
        self.validate_subject()?;
        self.validate_nice_classes()?;
        self.holder
            .validate()
            .map_err(|error| error.within("holder"))?;
        self.validate_dates()
    }

    /// What the right protects: a mark for trademarks, a title for everything else.
    fn validate_subject(&self) -> Result<(), BodyError> {
        check::optional_text(
            "mark_text",
            self.mark_text.as_deref(),
            MAX_MARK_TEXT_CHARS,
            Lines::Single,
        )?;
        check::optional_text(
            "title",
            self.title.as_deref(),
            MAX_TITLE_CHARS,
            Lines::Multi,
        )?;
        if self.right_type == RightType::Trademark {
            if self.mark_text.is_none() && self.image_digest.is_none() {
                return Err(BodyError::new(
                    "mark_text",
                    "a trademark needs mark_text, image_digest or both",
                ));
            }
            if self.nice_classes.is_empty() {
                return Err(BodyError::new(
                    "nice_classes",
                    "a trademark needs at least one nice class",
                ));
            }
        } else {
            if self.title.is_none() {
                return Err(BodyError::new(
                    "title",
                    format!("required for a {}", self.right_type.as_str()),
                ));
            }
            if self.mark_text.is_some() {
                return Err(BodyError::new(
                    "mark_text",
                    format!(
                        "only trademarks have mark text, not a {}",
                        self.right_type.as_str()
                    ),
                ));
            }
            if !self.nice_classes.is_empty() {
                return Err(BodyError::new(
                    "nice_classes",
                    format!(
                        "only trademarks have nice classes, not a {}",
                        self.right_type.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_nice_classes(&self) -> Result<(), BodyError> {
        check::count("nice_classes", self.nice_classes.len(), 0, MAX_NICE_CLASSES)?;
        let mut previous: Option<u8> = None;
        for (index, &class) in self.nice_classes.iter().enumerate() {
            let field = check::indexed("nice_classes", index);
            NiceClass::check(&field, class)?;
            if let Some(previous) = previous {
                if class == previous {
                    return Err(BodyError::new(
                        field,
                        format!("duplicate nice class {class}"),
                    ));
                }
                if class < previous {
                    return Err(BodyError::new(
                        field,
                        format!(
                            "nice classes must be in ascending order, {class} follows {previous}"
                        ),
                    ));
                }
            }
            previous = Some(class);
        }
        Ok(())
    }

    fn validate_dates(&self) -> Result<(), BodyError> {
        if let Some(registration_date) = &self.registration_date {
            if registration_date < &self.filing_date {
                return Err(BodyError::new(
                    "registration_date",
                    format!(
                        "{registration_date} is before the filing date {}",
                        self.filing_date
                    ),
                ));
            }
        }
        if let Some(expiry_date) = &self.expiry_date {
            if expiry_date <= &self.filing_date {
                return Err(BodyError::new(
                    "expiry_date",
                    format!(
                        "{expiry_date} is not after the filing date {}",
                        self.filing_date
                    ),
                ));
            }
            if let Some(registration_date) = &self.registration_date {
                if expiry_date < registration_date {
                    return Err(BodyError::new(
                        "expiry_date",
                        format!(
                            "{expiry_date} is before the registration date {registration_date}"
                        ),
                    ));
                }
            }
        }
        match (self.status, &self.registration_date) {
            (RightStatus::Registered, None) => Err(BodyError::new(
                "registration_date",
                "required when status is registered",
            )),
            (RightStatus::Filed, Some(_)) => Err(BodyError::new(
                "registration_date",
                "must be absent when status is filed",
            )),
            _ => Ok(()),
        }
    }
}
