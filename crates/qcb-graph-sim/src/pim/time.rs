//! Time zones and recurrence expansion for calendars.
//!
//! Exchange keeps an event's start and end in UTC plus the time zone it was
//! created in; recurring series repeat in their `recurrenceTimeZone` (so a
//! weekly 10:00 Berlin meeting stays at 10:00 local across DST). The
//! emulator knows UTC and the common Windows / IANA zones of Western Europe
//! and the US with their current DST rules; other names are refused with
//! Graph's `TimeZoneNotSupportedException`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};

/// A supported time zone: standard offset and DST rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Zone {
    /// Canonical (Windows) name, as Exchange reports it.
    pub name: &'static str,
    std_minutes: i64,
    rule: Dst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    None,
    /// EU: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    Eu,
    /// US: second Sunday of March 02:00 local to first Sunday of November 02:00 local.
    Us,
}

const ZONES: &[(&[&str], Zone)] = &[
    (
        &[
            "UTC",
            "Etc/UTC",
            "Coordinated Universal Time",
            "Etc/GMT",
            "GMT",
            "Z",
        ],
        Zone {
            name: "UTC",
            std_minutes: 0,
            rule: Dst::None,
        },
    ),
    (
        &[
            "W. Europe Standard Time",
            "Europe/Berlin",
            "Europe/Amsterdam",
            "Europe/Vienna",
            "Europe/Zurich",
        ],
        Zone {
            name: "W. Europe Standard Time",
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
            name: "Romance Standard Time",
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
            name: "Central Europe Standard Time",
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
            name: "GMT Standard Time",
            std_minutes: 0,
            rule: Dst::Eu,
        },
    ),
    (
        &["Eastern Standard Time", "America/New_York"],
        Zone {
            name: "Eastern Standard Time",
            std_minutes: -300,
            rule: Dst::Us,
        },
    ),
    (
        &["Central Standard Time", "America/Chicago"],
        Zone {
            name: "Central Standard Time",
            std_minutes: -360,
            rule: Dst::Us,
        },
    ),
    (
        &["Mountain Standard Time", "America/Denver"],
        Zone {
            name: "Mountain Standard Time",
            std_minutes: -420,
            rule: Dst::Us,
        },
    ),
    (
        &["Pacific Standard Time", "America/Los_Angeles"],
        Zone {
            name: "Pacific Standard Time",
            std_minutes: -480,
            rule: Dst::Us,
        },
    ),
];

pub(crate) const UTC: Zone = Zone {
    name: "UTC",
    std_minutes: 0,
    rule: Dst::None,
};

/// A zone by Windows or IANA name (case-insensitive); `None` if unsupported.
pub(crate) fn zone(name: &str) -> Option<Zone> {
    let n = name.trim().trim_matches('"');
    ZONES
        .iter()
        .find(|(names, _)| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
        .map(|(_, z)| *z)
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

impl Zone {
    /// Offset from UTC (minutes) at a UTC instant.
    pub fn offset_at_utc(self, t: &DateTime<Utc>) -> i64 {
        let year = t.year();
        let dst = match self.rule {
            Dst::None => false,
            Dst::Eu => {
                let start = last_sunday(year, 3)
                    .and_hms_opt(1, 0, 0)
                    .unwrap_or_default();
                let end = last_sunday(year, 10)
                    .and_hms_opt(1, 0, 0)
                    .unwrap_or_default();
                let n = t.naive_utc();
                n >= start && n < end
            }
            Dst::Us => {
                let std = Duration::minutes(self.std_minutes);
                let start = nth_sunday(year, 3, 2)
                    .and_hms_opt(2, 0, 0)
                    .unwrap_or_default()
                    - std;
                let end = nth_sunday(year, 11, 1)
                    .and_hms_opt(2, 0, 0)
                    .unwrap_or_default()
                    - (std + Duration::hours(1));
                let n = t.naive_utc();
                n >= start && n < end
            }
        };
        self.std_minutes + if dst { 60 } else { 0 }
    }

    /// Local wall time → UTC (a non-existent local time moves forward, an
    /// ambiguous one takes the first instant, as Exchange does).
    pub fn to_utc(self, local: NaiveDateTime) -> DateTime<Utc> {
        let guess = (local - Duration::minutes(self.std_minutes)).and_utc();
        let off = self.offset_at_utc(&guess);
        let t = (local - Duration::minutes(off)).and_utc();
        if self.offset_at_utc(&t) == off {
            t
        } else {
            let off2 = self.offset_at_utc(&t);
            (local - Duration::minutes(off2)).and_utc()
        }
    }

    pub fn to_local(self, t: &DateTime<Utc>) -> NaiveDateTime {
        t.naive_utc() + Duration::minutes(self.offset_at_utc(t))
    }
}

/// Graph's `dateTimeTimeZone.dateTime` format: `2026-11-02T10:00:00.0000000`.
pub(crate) fn graph_local(n: &NaiveDateTime) -> String {
    use chrono::Timelike;
    format!(
        "{}.{:07}",
        n.format("%Y-%m-%dT%H:%M:%S"),
        n.nanosecond() / 100
    )
}

/// Parses `dateTimeTimeZone.dateTime` (fractional seconds optional, an
/// offset or `Z` is tolerated and applied).
pub(crate) fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.naive_utc());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// `startDateTime` / `endDateTime` query parameters: ISO 8601 with or
/// without an offset (without: UTC).
pub(crate) fn parse_query_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    parse_local(s).map(|n| n.and_utc())
}

// ---------------------------------------------------------------- recurrence

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum PatternType {
    Daily,
    Weekly,
    AbsoluteMonthly,
    RelativeMonthly,
    AbsoluteYearly,
    RelativeYearly,
}

impl PatternType {
    pub fn as_str(self) -> &'static str {
        match self {
            PatternType::Daily => "daily",
            PatternType::Weekly => "weekly",
            PatternType::AbsoluteMonthly => "absoluteMonthly",
            PatternType::RelativeMonthly => "relativeMonthly",
            PatternType::AbsoluteYearly => "absoluteYearly",
            PatternType::RelativeYearly => "relativeYearly",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "daily" => PatternType::Daily,
            "weekly" => PatternType::Weekly,
            "absolutemonthly" => PatternType::AbsoluteMonthly,
            "relativemonthly" => PatternType::RelativeMonthly,
            "absoluteyearly" => PatternType::AbsoluteYearly,
            "relativeyearly" => PatternType::RelativeYearly,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum RangeType {
    EndDate,
    NoEnd,
    Numbered,
}

impl RangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            RangeType::EndDate => "endDate",
            RangeType::NoEnd => "noEnd",
            RangeType::Numbered => "numbered",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "enddate" => RangeType::EndDate,
            "noend" => RangeType::NoEnd,
            "numbered" => RangeType::Numbered,
            _ => return None,
        })
    }
}

pub(crate) const WEEK_INDEX: &[&str] = &["first", "second", "third", "fourth", "last"];

pub(crate) fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Sun => "sunday",
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
    }
}

pub(crate) fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().as_str() {
        "sunday" => Weekday::Sun,
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        _ => return None,
    })
}

/// Graph `patternedRecurrence`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Recurrence {
    pub pattern: PatternType,
    pub interval: u32,
    pub days_of_week: Vec<Weekday>,
    pub day_of_month: u32,
    pub month: u32,
    /// 0..=4: first, second, third, fourth, last.
    pub index: u8,
    pub first_day_of_week: Weekday,
    pub range: RangeType,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub count: u32,
    pub time_zone: &'static str,
}

/// [`Recurrence`] as export streams carry it (the zone by name).
#[derive(serde::Deserialize)]
struct RecurrenceWire {
    pattern: PatternType,
    interval: u32,
    days_of_week: Vec<Weekday>,
    day_of_month: u32,
    month: u32,
    index: u8,
    first_day_of_week: Weekday,
    range: RangeType,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    count: u32,
    time_zone: String,
}

impl<'de> serde::Deserialize<'de> for Recurrence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = RecurrenceWire::deserialize(d)?;
        Ok(Self {
            pattern: w.pattern,
            interval: w.interval,
            days_of_week: w.days_of_week,
            day_of_month: w.day_of_month,
            month: w.month,
            index: w.index,
            first_day_of_week: w.first_day_of_week,
            range: w.range,
            start_date: w.start_date,
            end_date: w.end_date,
            count: w.count,
            time_zone: zone(&w.time_zone).map_or("UTC", |z| z.name),
        })
    }
}

/// Hard stop for open-ended series (no client asks beyond this).
const MAX_OCCURRENCES: usize = 5_000;

fn days_in_month(y: i32, m: u32) -> u32 {
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.map(|n| (n - Duration::days(1)).day()).unwrap_or(28)
}

fn relative_day(y: i32, m: u32, index: u8, days: &[Weekday]) -> Option<NaiveDate> {
    let matching: Vec<NaiveDate> = (1..=days_in_month(y, m))
        .filter_map(|d| NaiveDate::from_ymd_opt(y, m, d))
        .filter(|d| days.contains(&d.weekday()))
        .collect();
    if index >= 4 {
        matching.last().copied()
    } else {
        matching.get(index as usize).copied()
    }
}

impl Recurrence {
    /// The local dates of the series, in order, up to `until` (inclusive).
    pub fn dates(&self, until: NaiveDate) -> Vec<NaiveDate> {
        let interval = self.interval.max(1);
        let last = match self.range {
            RangeType::EndDate => self.end_date.unwrap_or(until).min(until),
            _ => until,
        };
        let limit = match self.range {
            RangeType::Numbered => (self.count as usize).min(MAX_OCCURRENCES),
            _ => MAX_OCCURRENCES,
        };
        let mut out = Vec::new();
        let start = self.start_date;
        let push = |d: NaiveDate, out: &mut Vec<NaiveDate>| -> bool {
            if d > last || out.len() >= limit {
                return false;
            }
            if d >= start {
                out.push(d);
            }
            true
        };
        match self.pattern {
            PatternType::Daily => {
                let mut d = start;
                while push(d, &mut out) {
                    d += Duration::days(i64::from(interval));
                }
            }
            PatternType::Weekly => {
                let days = if self.days_of_week.is_empty() {
                    vec![start.weekday()]
                } else {
                    self.days_of_week.clone()
                };
                // Week containing the start, beginning on firstDayOfWeek.
                let back = (7 + start.weekday().num_days_from_sunday()
                    - self.first_day_of_week.num_days_from_sunday())
                    % 7;
                let mut week = start - Duration::days(i64::from(back));
                'weeks: loop {
                    for i in 0..7 {
                        let d = week + Duration::days(i);
                        if days.contains(&d.weekday()) && !push(d, &mut out) {
                            break 'weeks;
                        }
                    }
                    week += Duration::weeks(i64::from(interval));
                }
            }
            PatternType::AbsoluteMonthly | PatternType::RelativeMonthly => {
                let (mut y, mut m) = (start.year(), start.month());
                loop {
                    let d = if self.pattern == PatternType::AbsoluteMonthly {
                        NaiveDate::from_ymd_opt(y, m, self.day_of_month.min(days_in_month(y, m)))
                    } else {
                        relative_day(y, m, self.index, &self.days_of_week)
                    };
                    if let Some(d) = d
                        && !push(d, &mut out)
                    {
                        break;
                    }
                    if NaiveDate::from_ymd_opt(y, m, 1).is_none_or(|f| f > last) {
                        break;
                    }
                    m += interval;
                    while m > 12 {
                        m -= 12;
                        y += 1;
                    }
                }
            }
            PatternType::AbsoluteYearly | PatternType::RelativeYearly => {
                let month = if self.month == 0 {
                    start.month()
                } else {
                    self.month
                };
                let mut y = start.year();
                loop {
                    let d = if self.pattern == PatternType::AbsoluteYearly {
                        NaiveDate::from_ymd_opt(
                            y,
                            month,
                            self.day_of_month.min(days_in_month(y, month)),
                        )
                    } else {
                        relative_day(y, month, self.index, &self.days_of_week)
                    };
                    if let Some(d) = d
                        && !push(d, &mut out)
                    {
                        break;
                    }
                    if NaiveDate::from_ymd_opt(y, 1, 1).is_none_or(|f| f > last) {
                        break;
                    }
                    y += interval as i32;
                }
            }
        }
        out
    }

    /// The last date of a bounded series (`None` for `noEnd`).
    pub fn last_date(&self) -> Option<NaiveDate> {
        match self.range {
            RangeType::NoEnd => None,
            RangeType::EndDate => self.end_date,
            RangeType::Numbered => self
                .dates(self.start_date + Duration::days(365 * 50))
                .last()
                .copied(),
        }
    }
}

/// Start instants (UTC) of a series whose first occurrence starts at local
/// time `time_of_day` in `zone`, for the dates up to `until`.
pub(crate) fn occurrence_starts(
    r: &Recurrence,
    zone: &Zone,
    time_of_day: NaiveTime,
    until: NaiveDate,
) -> Vec<(NaiveDate, DateTime<Utc>)> {
    r.dates(until)
        .into_iter()
        .map(|d| (d, zone.to_utc(d.and_time(time_of_day))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn berlin_dst() {
        let z = zone("Europe/Berlin").expect("zone");
        assert_eq!(z.name, "W. Europe Standard Time");
        let summer = z.to_utc(date(2026, 7, 1).and_hms_opt(10, 0, 0).expect("t"));
        assert_eq!(summer.to_rfc3339(), "2026-07-01T08:00:00+00:00");
        let winter = z.to_utc(date(2026, 11, 2).and_hms_opt(10, 0, 0).expect("t"));
        assert_eq!(winter.to_rfc3339(), "2026-11-02T09:00:00+00:00");
        assert_eq!(
            z.to_local(&winter),
            date(2026, 11, 2).and_hms_opt(10, 0, 0).expect("t")
        );
        let p = zone("pacific standard time").expect("zone");
        let t = p.to_utc(date(2026, 3, 9).and_hms_opt(9, 0, 0).expect("t"));
        assert_eq!(t.to_rfc3339(), "2026-03-09T16:00:00+00:00");
        assert!(zone("Mars/Olympus").is_none());
    }

    #[test]
    fn weekly_and_monthly_patterns() {
        let r = Recurrence {
            pattern: PatternType::Weekly,
            interval: 1,
            days_of_week: vec![Weekday::Mon, Weekday::Thu],
            day_of_month: 0,
            month: 0,
            index: 0,
            first_day_of_week: Weekday::Sun,
            range: RangeType::Numbered,
            start_date: date(2026, 10, 5),
            end_date: None,
            count: 5,
            time_zone: "UTC",
        };
        let d = r.dates(date(2027, 1, 1));
        assert_eq!(
            d,
            vec![
                date(2026, 10, 5),
                date(2026, 10, 8),
                date(2026, 10, 12),
                date(2026, 10, 15),
                date(2026, 10, 19)
            ]
        );
        let m = Recurrence {
            pattern: PatternType::RelativeMonthly,
            days_of_week: vec![Weekday::Fri],
            index: 4,
            range: RangeType::EndDate,
            end_date: Some(date(2026, 12, 31)),
            start_date: date(2026, 10, 1),
            ..r.clone()
        };
        assert_eq!(
            m.dates(date(2027, 6, 1)),
            vec![date(2026, 10, 30), date(2026, 11, 27), date(2026, 12, 25)]
        );
        let a = Recurrence {
            pattern: PatternType::AbsoluteMonthly,
            day_of_month: 31,
            range: RangeType::Numbered,
            count: 3,
            start_date: date(2026, 10, 1),
            ..r
        };
        assert_eq!(
            a.dates(date(2027, 6, 1)),
            vec![date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 31)]
        );
    }
}
