//! The node's one clock: the system clock, read with millisecond precision. Every "now" and
//! "today" of the node comes from here.

use proto_types::timestamp::{Date, Timestamp};

/// Milliseconds since the Unix epoch by the system clock; 0 for a clock set before 1970.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Now, by the system clock, with millisecond precision.
pub fn now() -> Timestamp {
    Timestamp::from_unix_millis(now_millis())
        .or_else(|_| Timestamp::parse("1970-01-01T00:00:00Z"))
        .unwrap_or_else(|_| unreachable!("the epoch is a valid timestamp"))
}

/// Today's date (UTC) by the system clock.
pub fn today() -> Date {
    now().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_this_code_was_written_and_never_goes_before_the_millis_it_read() {
        let before = now_millis();
        let now = now();
        assert!(before > 1_700_000_000_000);
        assert!(now.unix_millis() >= before);
    }
}
