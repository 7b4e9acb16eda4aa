//! The time zones Exchange reports by Windows name, for writing calendar times as local times
//! with a VTIMEZONE (so a weekly 10:00 meeting stays at 10:00 across daylight saving time).
//! Zones not listed here are written in UTC.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    None,
    /// EU: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    Eu,
    /// US: second Sunday of March 02:00 local to first Sunday of November 02:00 local.
    Us,
}

/// A zone: its IANA name (the TZID we write), standard offset and daylight saving rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub tzid: &'static str,
    std_minutes: i64,
    rule: Dst,
}

/// Windows names (as Graph's `originalStartTimeZone` gives them) and IANA names.
const ZONES: &[(&[&str], Zone)] = &[
    (
        &[
            "W. Europe Standard Time",
            "Europe/Berlin",
            "Europe/Amsterdam",
            "Europe/Vienna",
            "Europe/Zurich",
        ],
        Zone {
            tzid: "Europe/Berlin",
            std_minutes: 60,
            rule: Dst::Eu,
        },
    ),
    (
        &[
            "Romance Standard Time",
            "Europe/Paris",
            "Europe/Brussels",
            "Europe/Madrid",
        ],
        Zone {
            tzid: "Europe/Paris",
            std_minutes: 60,
            rule: Dst::Eu,
        },
    ),
    (
        &[
            "Central Europe Standard Time",
            "Europe/Prague",
            "Europe/Budapest",
        ],
        Zone {
            tzid: "Europe/Budapest",
            std_minutes: 60,
            rule: Dst::Eu,
        },
    ),
    (
        &[
            "GMT Standard Time",
            "Europe/London",
            "Europe/Dublin",
            "Europe/Lisbon",
        ],
        Zone {
            tzid: "Europe/London",
            std_minutes: 0,
            rule: Dst::Eu,
        },
    ),
    (
        &["Eastern Standard Time", "America/New_York"],
        Zone {
            tzid: "America/New_York",
            std_minutes: -300,
            rule: Dst::Us,
        },
    ),
    (
        &["Central Standard Time", "America/Chicago"],
        Zone {
            tzid: "America/Chicago",
            std_minutes: -360,
            rule: Dst::Us,
        },
    ),
    (
        &["Mountain Standard Time", "America/Denver"],
        Zone {
            tzid: "America/Denver",
            std_minutes: -420,
            rule: Dst::Us,
        },
    ),
    (
        &["US Mountain Standard Time", "America/Phoenix"],
        Zone {
            tzid: "America/Phoenix",
            std_minutes: -420,
            rule: Dst::None,
        },
    ),
    (
        &["Pacific Standard Time", "America/Los_Angeles"],
        Zone {
            tzid: "America/Los_Angeles",
            std_minutes: -480,
            rule: Dst::Us,
        },
    ),
];

/// A zone by Windows or IANA name; `None` for UTC and for zones not known here.
pub fn zone(name: &str) -> Option<Zone> {
    let n = name.trim();
    ZONES
        .iter()
        .find(|(names, _)| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
        .map(|(_, z)| *z)
}

/// Whether a name means UTC.
pub fn is_utc(name: &str) -> bool {
    matches!(
        name.trim().to_ascii_lowercase().as_str(),
        "" | "utc" | "etc/utc" | "etc/gmt" | "gmt" | "z" | "coordinated universal time"
    )
}

fn nth_sunday(year: i32, month: u32, n: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let offset = (7 - first.weekday().num_days_from_sunday()) % 7;
    first + Duration::days(i64::from(offset + 7 * (n - 1)))
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .unwrap_or_default();
    let last = next - Duration::days(1);
    last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
}

fn hms(d: NaiveDate, h: u32) -> NaiveDateTime {
    d.and_hms_opt(h, 0, 0).unwrap_or_default()
}

impl Zone {
    /// Offset from UTC in minutes at a UTC instant.
    pub fn offset_at(self, t: &DateTime<Utc>) -> i64 {
        let year = t.year();
        let n = t.naive_utc();
        let std = Duration::minutes(self.std_minutes);
        let dst = match self.rule {
            Dst::None => false,
            Dst::Eu => n >= hms(last_sunday(year, 3), 1) && n < hms(last_sunday(year, 10), 1),
            Dst::Us => {
                n >= hms(nth_sunday(year, 3, 2), 2) - std
                    && n < hms(nth_sunday(year, 11, 1), 2) - (std + Duration::hours(1))
            }
        };
        self.std_minutes + if dst { 60 } else { 0 }
    }

    pub fn to_local(self, t: &DateTime<Utc>) -> NaiveDateTime {
        t.naive_utc() + Duration::minutes(self.offset_at(t))
    }

    /// Local wall time → UTC (a time skipped by the spring change moves forward).
    pub fn to_utc(self, local: NaiveDateTime) -> DateTime<Utc> {
        let guess = (local - Duration::minutes(self.std_minutes)).and_utc();
        let off = self.offset_at(&guess);
        let t = (local - Duration::minutes(off)).and_utc();
        let off2 = self.offset_at(&t);
        if off2 == off {
            t
        } else {
            (local - Duration::minutes(off2)).and_utc()
        }
    }

    /// The VTIMEZONE component for this zone (current rules).
    pub fn vtimezone(self, lines: &mut super::lines::Lines) {
        let off = |m: i64| {
            let sign = if m < 0 { '-' } else { '+' };
            format!("{sign}{:02}{:02}", m.abs() / 60, m.abs() % 60)
        };
        let (std, dst) = (self.std_minutes, self.std_minutes + 60);
        lines.raw("BEGIN:VTIMEZONE");
        lines.raw(&format!("TZID:{}", self.tzid));
        // Local wall times of the changes, in the offset in force just before each.
        let (dst_start, dst_rule, std_start, std_rule) = match self.rule {
            Dst::None => (None, "", None, ""),
            Dst::Eu => {
                // 01:00 UTC in local time before the change.
                let spring = 60 + std;
                let autumn = 60 + dst;
                (
                    Some(format!("19700329T{:02}{:02}00", spring / 60, spring % 60)),
                    "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
                    Some(format!("19701025T{:02}{:02}00", autumn / 60, autumn % 60)),
                    "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
                )
            }
            Dst::Us => (
                Some("19700308T020000".to_string()),
                "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
                Some("19701101T020000".to_string()),
                "FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
            ),
        };
        if let (Some(ds), Some(ss)) = (dst_start, std_start) {
            lines.raw("BEGIN:DAYLIGHT");
            lines.raw(&format!("TZOFFSETFROM:{}", off(std)));
            lines.raw(&format!("TZOFFSETTO:{}", off(dst)));
            lines.raw(&format!("DTSTART:{ds}"));
            lines.raw(&format!("RRULE:{dst_rule}"));
            lines.raw("END:DAYLIGHT");
            lines.raw("BEGIN:STANDARD");
            lines.raw(&format!("TZOFFSETFROM:{}", off(dst)));
            lines.raw(&format!("TZOFFSETTO:{}", off(std)));
            lines.raw(&format!("DTSTART:{ss}"));
            lines.raw(&format!("RRULE:{std_rule}"));
            lines.raw("END:STANDARD");
        } else {
            lines.raw("BEGIN:STANDARD");
            lines.raw(&format!("TZOFFSETFROM:{}", off(std)));
            lines.raw(&format!("TZOFFSETTO:{}", off(std)));
            lines.raw("DTSTART:19700101T000000");
            lines.raw("END:STANDARD");
        }
        lines.raw("END:VTIMEZONE");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_and_new_york_across_daylight_saving() {
        let berlin = zone("W. Europe Standard Time").unwrap();
        let summer = "2026-07-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let winter = "2026-12-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(berlin.to_local(&summer).to_string(), "2026-07-01 10:00:00");
        assert_eq!(berlin.to_local(&winter).to_string(), "2026-12-01 10:00:00");
        assert_eq!(berlin.to_utc(berlin.to_local(&summer)), summer);
        let ny = zone("America/New_York").unwrap();
        assert_eq!(ny.to_local(&summer).to_string(), "2026-07-01 04:00:00");
        assert_eq!(ny.to_local(&winter).to_string(), "2026-12-01 04:00:00");
        assert!(zone("UTC").is_none() && is_utc("UTC"));
    }
}
