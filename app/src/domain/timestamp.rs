use serde::{Deserialize, Serialize};

/// A moment, as whole seconds since the Unix epoch (UTC). Stored as `BIGINT` so SQLite and
/// PostgreSQL compare and index it identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds since the epoch.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// This moment plus `seconds` (negative goes back), saturating instead of overflowing.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// Seconds from `earlier` to this moment (negative if `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The civil date (year, month 1-12, day 1-31) of this moment in UTC.
    pub fn date(self) -> (i64, u32, u32) {
        civil_from_days(self.0.div_euclid(86_400))
    }

    /// `YYYY-MM-DD` in UTC.
    pub fn format_date(self) -> String {
        let (y, m, d) = self.date();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `YYYY-MM-DD HH:MM UTC`, the form every console page shows.
    pub fn format_utc(self) -> String {
        let secs = self.0.rem_euclid(86_400);
        format!(
            "{} {:02}:{:02} UTC",
            self.format_date(),
            secs / 3600,
            (secs % 3600) / 60
        )
    }

    /// [`Timestamp::format_utc`] of an optional moment stored as seconds.
    pub fn format_optional(at: Option<i64>) -> Option<String> {
        at.map(|at| Self(at).format_utc())
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339), for exports and machine-readable output.
    pub fn format_rfc3339(self) -> String {
        let secs = self.0.rem_euclid(86_400);
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            self.format_date(),
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        )
    }
}

impl Timestamp {
    /// Midnight UTC of a `YYYY-MM-DD` date (as typed in a date filter).
    pub fn parse_date(raw: &str) -> Result<Self, super::text::Invalid> {
        let invalid = || super::text::Invalid::new("Enter a date as YYYY-MM-DD.");
        let mut parts = raw.trim().splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>())
        else {
            return Err(invalid());
        };
        if !(1970..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(invalid());
        }
        Ok(Self(days_from_civil(year, month, day) * 86_400))
    }

    /// Days since the epoch (UTC), the unit of the usage charts.
    pub fn day(self) -> i64 {
        self.0.div_euclid(86_400)
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// A proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// "3 minutes ago", roughly: how long before now something happened (`seconds` earlier), for
/// explanations in the console.
pub fn ago_words(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => "less than a minute ago".into(),
        s if s < 3_600 => format!("{} minute(s) ago", s / 60),
        s if s < 86_400 => format!("{} hour(s) ago", s / 3_600),
        s => format!("{} day(s) ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_moments() {
        assert_eq!(Timestamp(0).format_utc(), "1970-01-01 00:00 UTC");
        assert_eq!(Timestamp(951_782_400).format_date(), "2000-02-29");
        assert_eq!(
            Timestamp(1_795_615_445).format_rfc3339(),
            "2026-11-25T14:04:05Z"
        );
        assert_eq!(Timestamp(-1).format_rfc3339(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn dates_parse_to_midnight_and_round_trip() {
        assert_eq!(Timestamp::parse_date("1970-01-01").unwrap(), Timestamp(0));
        assert_eq!(
            Timestamp::parse_date("2000-02-29").unwrap().format_date(),
            "2000-02-29"
        );
        assert_eq!(
            Timestamp::parse_date("2026-11-25")
                .unwrap()
                .format_rfc3339(),
            "2026-11-25T00:00:00Z"
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "1969-12-31",
            "20261125",
            "2026-1-x",
            "-1-01-01",
        ] {
            assert!(Timestamp::parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(Timestamp(86_399).day(), 0);
        assert_eq!(Timestamp(86_400).day(), 1);
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Timestamp(i64::MAX).plus_seconds(10), Timestamp(i64::MAX));
        assert_eq!(Timestamp(100).seconds_since(Timestamp(40)), 60);
    }
}
