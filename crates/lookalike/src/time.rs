//! Times and spans as people write them: the timestamps documents carry and
//! the windows of the index's news mode.

/// Parse a timestamp as [`crate::corpus::ReadOptions::time_field`] takes it (from a string):
/// an RFC 3339 date-time with an offset, or a plain date (midnight UTC).
/// Returns seconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> std::result::Result<i64, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        if let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(z.timestamp().as_second());
        }
    }
    Err(format!(
        "{s:?} is not a timestamp: give seconds since 1970, an RFC 3339 date-time such as 2013-05-07T09:30:00Z, or a date such as 2013-05-07"
    ))
}

/// Seconds since 1970 from row `i` of an Arrow column of integers
/// (seconds), timestamps (naive ones as UTC), dates (midnight UTC) or
/// strings ([`parse_timestamp`]); `None` when null. The one reading of a
/// time column, for Parquet inputs and Python's Arrow data alike.
#[cfg(feature = "parquet")]
pub use crate::output::parquet_io::time_at as arrow_time;

/// Parse a span such as `7d`, `36h`, `2w` or `90m` into seconds (days are 24
/// hours). Negative spans are refused.
pub fn parse_span(s: &str) -> std::result::Result<i64, String> {
    let span: jiff::Span = s
        .parse()
        .map_err(|e| format!("{s:?} is not a span such as 7d, 36h or 2w ({e})"))?;
    let seconds = span
        .total((
            jiff::Unit::Second,
            jiff::SpanRelativeTo::days_are_24_hours(),
        ))
        .map_err(|e| format!("{s:?}: {e}"))?;
    if seconds < 0.0 {
        return Err(format!("{s:?} is negative; give a span such as 7d"));
    }
    Ok(seconds as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_spans() {
        assert_eq!(parse_timestamp("1970-01-02"), Ok(86_400));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(parse_timestamp("2013-05-07T09:30:00Z"), Ok(1_367_919_000));
        assert!(parse_timestamp("last tuesday").is_err());
        assert_eq!(parse_span("7d"), Ok(7 * 86_400));
        assert_eq!(parse_span("1w"), Ok(7 * 86_400));
        assert_eq!(parse_span("36h"), Ok(36 * 3_600));
        assert!(parse_span("soon").is_err());
        assert!(parse_span("-1d").is_err());
    }
}
