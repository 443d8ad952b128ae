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
        let utc: DateTime<Utc> = Utc
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        utc.with_timezone(&self.tz)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
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
    }

    #[test]
    fn unknown_zone_is_rejected() {
        assert!(BusinessClock::from_name("Mars/Olympus").is_err());
        assert!(BusinessClock::from_name("Europe/Berlin").is_ok());
    }
}
