//! Time as Kefu keeps it: Unix milliseconds in the database, RFC 3339 with the
//! business time zone's offset on the wire (DESIGN.md "Data").

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// The configured business time zone (default `Asia/Shanghai`).
#[derive(Debug, Clone, Copy)]
pub struct BusinessClock {
    pub tz: Tz,
}

impl Default for BusinessClock {
    fn default() -> Self {
        BusinessClock {
            tz: chrono_tz::Asia::Shanghai,
        }
    }
}

impl BusinessClock {
    pub fn new(tz: Tz) -> Self {
        BusinessClock { tz }
    }

    /// Parses an IANA name such as `Asia/Shanghai`.
    pub fn from_name(name: &str) -> crate::Result<Self> {
        name.parse::<Tz>()
            .map(BusinessClock::new)
            .map_err(|_| crate::Error::invalid("timezone", format!("unknown time zone `{name}`")))
    }

    /// RFC 3339 with the business offset, to the second.
    pub fn format_ms(&self, ms: i64) -> String {
        self.rfc3339(ms, SecondsFormat::Secs)
    }

    /// RFC 3339 with the business offset, to the millisecond (chat times,
    /// where many messages share a second).
    pub fn format_ms_precise(&self, ms: i64) -> String {
        self.rfc3339(ms, SecondsFormat::Millis)
    }

    fn rfc3339(&self, ms: i64, precision: SecondsFormat) -> String {
        let utc: DateTime<Utc> = Utc
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        utc.with_timezone(&self.tz)
            .to_rfc3339_opts(precision, false)
    }
}

impl BusinessClock {
    /// Parses an input time: RFC 3339, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`
    /// (the last two in the business time zone). A bare date means its first
    /// millisecond, or its last when `end_of_day` (inclusive range ends).
    pub fn parse_input(&self, field: &str, text: &str, end_of_day: bool) -> crate::Result<i64> {
        use chrono::{NaiveDate, NaiveDateTime};
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(t.timestamp_millis());
        }
        let local = |naive: NaiveDateTime| {
            self.tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp_millis())
        };
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
            if let Some(ms) = local(naive) {
                return Ok(ms);
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let start = date.and_hms_opt(0, 0, 0).and_then(local);
            let next = date
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(local);
            match (start, next, end_of_day) {
                (Some(s), _, false) => return Ok(s),
                (_, Some(n), true) => return Ok(n - 1),
                _ => {}
            }
        }
        Err(crate::Error::invalid(
            field,
            "must be a time as RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD",
        ))
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_business_offset() {
        let c = BusinessClock::default();
        // 2026-11-23T10:00:00Z is 18:00 in Shanghai.
        assert_eq!(c.format_ms(1_795_428_000_000), "2026-11-23T18:00:00+08:00");
        assert_eq!(
            c.format_ms_precise(1_795_428_000_042),
            "2026-11-23T18:00:00.042+08:00"
        );
    }

    #[test]
    fn parses_inputs_in_the_business_zone() {
        let c = BusinessClock::default();
        let ms = 1_795_428_000_000; // 2026-11-23T18:00:00+08:00
        assert_eq!(
            c.parse_input("t", "2026-11-23T18:00:00+08:00", false)
                .unwrap(),
            ms
        );
        assert_eq!(
            c.parse_input("t", "2026-11-23T10:00:00Z", false).unwrap(),
            ms
        );
        assert_eq!(
            c.parse_input("t", "2026-11-23 18:00:00", false).unwrap(),
            ms
        );
        let day = c.parse_input("t", "2026-11-23", false).unwrap();
        assert_eq!(day, ms - 18 * 3_600_000);
        assert_eq!(
            c.parse_input("t", "2026-11-23", true).unwrap(),
            day + 86_400_000 - 1
        );
        assert!(c.parse_input("t", "23/11/2026", false).is_err());
        assert!(c.parse_input("t", "2026-02-30", false).is_err());
    }

    #[test]
    fn unknown_zone_is_rejected() {
        assert!(BusinessClock::from_name("Mars/Olympus").is_err());
        assert!(BusinessClock::from_name("Europe/Berlin").is_ok());
    }
}
