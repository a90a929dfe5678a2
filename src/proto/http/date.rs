//! The `Date` header: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`,
//! RFC 9110 section 5.6.7), formatted once per second, not once per request.
//!
//! Every response must carry a `Date` (RFC 9110 section 6.6.1), and its
//! resolution is one second. Formatting a calendar date costs far more than
//! copying 29 bytes, so, like nginx (`ngx_cached_http_time`) and a minimal C server would,
//! the protocol keeps the formatted value in a [`DateCache`] and refreshes it
//! from a timer at each second boundary (see `on_timer` in `mod.rs`).
//!
//! The calendar arithmetic is Howard Hinnant's `civil_from_days`: a few
//! integer operations that turn days since 1970-01-01 into year, month and
//! day for the proleptic Gregorian calendar, with no tables and no loops.
//! Time is passed in as a [`SystemTime`], never read here, so the tests can
//! use any instant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: always 29 bytes.
pub const IMF_FIXDATE_LEN: usize = 29;

/// The last second IMF-fixdate can show (9999-12-31 23:59:59): its year
/// has exactly four digits.
const LAST_SECOND: u64 = 253_402_300_799;

const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Formats `secs` seconds after the Unix epoch as an IMF-fixdate. Instants
/// past the year 9999 show its last second.
pub fn imf_fixdate(secs: u64) -> [u8; IMF_FIXDATE_LEN] {
    let secs = secs.min(LAST_SECOND);
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 4, counting from Sunday).
    let weekday = ((days + 4) % 7) as usize;

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[0..3].copy_from_slice(WEEKDAYS[weekday]);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year % 100);
    two_digits(&mut out[17..19], in_day / 3600);
    two_digits(&mut out[20..22], in_day / 60 % 60);
    two_digits(&mut out[23..25], in_day % 60);
    out
}

/// Year, month (1-12) and day (1-31) of the day `days` after 1970-01-01.
///
/// Hinnant's algorithm: shift the epoch to 0000-03-01 so the leap day is the
/// last day of a "year", split into 400-year eras (146,097 days each), then
/// find the year of the era and the day of that year; months from March on
/// have lengths that `(153 * m + 2) / 5` reproduces exactly.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn two_digits(out: &mut [u8], value: u64) {
    out[0] = b'0' + (value / 10 % 10) as u8;
    out[1] = b'0' + (value % 10) as u8;
}

/// Seconds since the Unix epoch; a clock set before 1970 counts as 1970.
fn unix_seconds(now: SystemTime) -> Duration {
    now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// The current `Date` value, formatted once per second.
#[derive(Debug, Clone)]
pub struct DateCache {
    /// The second `value` shows, in seconds since the epoch.
    second: u64,
    /// `value` formatted.
    value: [u8; IMF_FIXDATE_LEN],
}

impl DateCache {
    /// A cache showing `now`.
    pub fn new(now: SystemTime) -> DateCache {
        let second = unix_seconds(now).as_secs();
        DateCache {
            second,
            value: imf_fixdate(second),
        }
    }

    /// Shows `now`, formatting only if the second changed.
    pub fn refresh(&mut self, now: SystemTime) {
        let second = unix_seconds(now).as_secs();
        if second != self.second {
            *self = DateCache {
                second,
                value: imf_fixdate(second),
            };
        }
    }

    /// The formatted date.
    pub fn get(&self) -> &[u8; IMF_FIXDATE_LEN] {
        &self.value
    }

    /// How long from `now` until the next second begins: when to refresh.
    pub fn until_next_second(now: SystemTime) -> Duration {
        Duration::from_secs(1) - Duration::from_nanos(u64::from(unix_seconds(now).subsec_nanos()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(secs: u64) -> Result<String, std::string::FromUtf8Error> {
        String::from_utf8(imf_fixdate(secs).to_vec())
    }

    #[test]
    fn known_instants_format_as_imf_fixdate() -> Result<(), std::string::FromUtf8Error> {
        assert_eq!(show(0)?, "Thu, 01 Jan 1970 00:00:00 GMT");
        // The example of RFC 9110 section 5.6.7.
        assert_eq!(show(784_111_777)?, "Sun, 06 Nov 1994 08:49:37 GMT");
        // A leap day in a year divisible by 400, and the day after.
        assert_eq!(show(951_782_400)?, "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(show(951_868_800)?, "Wed, 01 Mar 2000 00:00:00 GMT");
        assert_eq!(show(1_700_000_000)?, "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(show(LAST_SECOND)?, "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(show(u64::MAX)?, "Fri, 31 Dec 9999 23:59:59 GMT");
        Ok(())
    }

    #[test]
    fn every_day_for_three_centuries_follows_the_calendar() {
        // Walk day by day with the plain leap-year rule and compare.
        let (mut year, mut month, mut day) = (1970u64, 1u64, 1u64);
        for days in 0..(300 * 366) {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let length = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > length {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }

    #[test]
    fn the_cache_changes_only_when_the_second_does() {
        let at = |secs: u64, millis: u64| {
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
        };
        let mut cache = DateCache::new(at(784_111_777, 100));
        assert_eq!(cache.get(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        cache.refresh(at(784_111_777, 900));
        assert_eq!(cache.get(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        cache.refresh(at(784_111_778, 0));
        assert_eq!(cache.get(), b"Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(
            DateCache::until_next_second(at(5, 250)),
            Duration::from_millis(750)
        );
        assert_eq!(
            DateCache::until_next_second(at(5, 0)),
            Duration::from_secs(1)
        );
    }
}
