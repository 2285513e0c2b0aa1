//! Timestamps as stored: RFC 3339 in UTC with exactly six fractional digits, so that text
//! order is time order and `meta.created gt "…"` can compare strings in SQL.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

pub fn format(t: OffsetDateTime) -> String {
    let fixed = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(UtcOffset::UTC).format(&fixed).unwrap_or_default()
}

/// Parses any RFC 3339 timestamp (also the stored form).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_sorts_as_text() {
        let a = parse("2011-05-13T04:42:34Z").unwrap();
        let b = parse("2011-05-13T06:42:34.5+02:00").unwrap();
        assert_eq!(format(a), "2011-05-13T04:42:34.000000Z");
        assert_eq!(parse(&format(b)), Some(b));
        assert!(format(a) < format(b));
    }
}
