//! Points in time and calendar dates as they appear in signed records.
//!
//! A [`Timestamp`] is an RFC 3339 instant in UTC written with a `Z` suffix and at most
//! millisecond precision, e.g. `2026-11-28T15:04:05Z` or `2026-11-28T15:04:05.123Z`. A [`Date`] is a
//! calendar date `YYYY-MM-DD`. Both keep the exact string they were parsed from, so a record
//! re-serialises to the bytes that were signed.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Why a timestamp or date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not an RFC 3339 timestamp.
    #[error("invalid RFC 3339 timestamp {value:?}: {reason}")]
    Timestamp {
        /// The value, truncated.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a `YYYY-MM-DD` date.
    #[error("invalid date {value:?}, expected YYYY-MM-DD")]
    Date {
        /// The value, truncated.
        value: String,
    },
}

fn truncate(value: &str) -> String {
    value.chars().take(40).collect()
}

/// An instant in UTC, written `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    unix_millis: i64,
}

impl Timestamp {
    /// Parses a UTC RFC 3339 timestamp with a `Z` suffix and at most millisecond precision.
    pub fn parse(value: &str) -> Result<Self, TimeError> {
        let error = |reason: &str| TimeError::Timestamp {
            value: truncate(value),
            reason: reason.to_owned(),
        };
        if value.len() > 40 {
            return Err(error("too long"));
        }
        if !value.ends_with('Z') {
            return Err(error("must be UTC with a 'Z' suffix"));
        }
        // Exactly YYYY-MM-DDTHH:MM:SS, then an optional '.' with 1 to 3 digits, then 'Z'.
        let bytes = value.as_bytes();
        let shape_ok = bytes.len() >= 20
            && bytes
                .iter()
                .enumerate()
                .take(19)
                .all(|(index, byte)| match index {
                    4 | 7 => *byte == b'-',
                    10 => *byte == b'T',
                    13 | 16 => *byte == b':',
                    _ => byte.is_ascii_digit(),
                })
            && match bytes.get(19..) {
                Some([b'Z']) => true,
                Some([b'.', fraction @ .., b'Z']) => {
                    (1..=3).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit)
                }
                _ => false,
            };
        if !shape_ok {
            return Err(error(
                "expected YYYY-MM-DDTHH:MM:SS[.fff]Z (UTC, at most millisecond precision)",
            ));
        }
        let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|e| error(&e.to_string()))?;
        if parsed.nanosecond() % 1_000_000 != 0 {
            return Err(error("at most millisecond precision"));
        }
        if !(1970..=9999).contains(&parsed.year()) {
            return Err(error("year out of range 1970..=9999"));
        }
        let unix_millis = i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| error("out of range"))?;
        Ok(Self {
            text: value.to_owned(),
            unix_millis,
        })
    }

    /// The timestamp for `unix_millis` milliseconds since the epoch, in canonical form
    /// (milliseconds written only when not zero).
    pub fn from_unix_millis(unix_millis: i64) -> Result<Self, TimeError> {
        let error = || TimeError::Timestamp {
            value: unix_millis.to_string(),
            reason: "out of range".to_owned(),
        };
        let instant =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_millis) * 1_000_000)
                .map_err(|_| error())?
                .to_offset(UtcOffset::UTC);
        let millis = unix_millis.rem_euclid(1000);
        let date = instant.date();
        let clock = instant.time();
        let mut text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            clock.hour(),
            clock.minute(),
            clock.second()
        );
        if millis != 0 {
            text.push_str(&format!(".{millis:03}"));
        }
        text.push('Z');
        Self::parse(&text)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        self.unix_millis
    }

    /// The exact text this timestamp was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The calendar date (UTC) of this instant.
    pub fn date(&self) -> Date {
        // The first ten characters of a valid RFC 3339 timestamp are its date.
        let prefix = self.text.get(..10).unwrap_or("1970-01-01");
        Date::parse(prefix).unwrap_or(Date {
            text: "1970-01-01".to_owned(),
            days: 0,
        })
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.unix_millis
            .cmp(&other.unix_millis)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Timestamp({})", self.text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Date {
    text: String,
    days: i32,
}

impl Date {
    /// Parses `YYYY-MM-DD` (years 1000–9999, a real calendar day).
    pub fn parse(value: &str) -> Result<Self, TimeError> {
        let error = || TimeError::Date {
            value: truncate(value),
        };
        let bytes = value.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(error());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, TimeError> {
            let part = value.get(range).ok_or_else(error)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            part.parse().map_err(|_| error())
        };
        let year = i32::try_from(number(0..4)?).map_err(|_| error())?;
        let month = u8::try_from(number(5..7)?).map_err(|_| error())?;
        let day = u8::try_from(number(8..10)?).map_err(|_| error())?;
        if year < 1000 {
            return Err(error());
        }
        let month = time::Month::try_from(month).map_err(|_| error())?;
        let date = time::Date::from_calendar_date(year, month, day).map_err(|_| error())?;
        let days = date.to_julian_day() - 2_440_588; // days since 1970-01-01
        Ok(Self {
            text: value.to_owned(),
            days,
        })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i32 {
        self.days
    }

    /// The date `days` days after this one (or before, when negative).
    pub fn add_days(&self, days: i32) -> Result<Self, TimeError> {
        let error = || TimeError::Date {
            value: format!("{} + {days} days", self.text),
        };
        let julian = self
            .days
            .checked_add(days)
            .and_then(|d| d.checked_add(2_440_588))
            .ok_or_else(error)?;
        let date = time::Date::from_julian_day(julian).map_err(|_| error())?;
        Self::parse(&format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ))
    }

    /// The exact text this date was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialOrd for Date {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Date {
    fn cmp(&self, other: &Self) -> Ordering {
        self.days.cmp(&other.days)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Date({})", self.text)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn timestamps_parse_and_order() {
        let early = Timestamp::parse("2026-11-28T15:04:05Z").unwrap();
        let late = Timestamp::parse("2026-11-28T15:04:05.123Z").unwrap();
        assert!(early < late);
        assert_eq!(late.unix_millis() - early.unix_millis(), 123);
        assert_eq!(late.date().as_str(), "2026-11-28");
        assert_eq!(
            Timestamp::from_unix_millis(late.unix_millis()).unwrap(),
            late
        );
        assert_eq!(
            Timestamp::from_unix_millis(early.unix_millis()).unwrap(),
            early
        );
    }

    #[test]
    fn timestamps_refuse_offsets_and_garbage() {
        for bad in [
            "2026-11-28T15:04:05+01:00",
            "2026-11-28 15:04:05Z",
            "2026-13-28T15:04:05Z",
            "2026-11-28T15:04:05.1234Z",
            "2026-11-28T15:04:05.1230000001Z",
            "2026-11-28t15:04:05Z",
            "2026-11-28T15:04:05z",
            "2026-11-28T15:04:60Z",
            "",
            "Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_parse_validate_and_add() {
        let date = Date::parse("2024-02-28").unwrap();
        assert_eq!(date.add_days(1).unwrap().as_str(), "2024-02-29");
        assert_eq!(date.add_days(2).unwrap().as_str(), "2024-03-01");
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        for bad in [
            "2023-02-29",
            "2024-2-28",
            "20240228",
            "2024-02-28T00:00:00Z",
            "0999-01-01",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }
}
