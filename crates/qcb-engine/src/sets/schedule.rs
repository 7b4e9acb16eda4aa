//! When a backup set runs by itself: `manual`, `every 6h`, `hourly`, `daily 02:30`,
//! `weekdays 22:00`, `weekly sun 03:00`, `weekly mon,thu 01:15`. Clock times are the
//! machine's local time (the caller passes the zone); a run missed while the machine was off
//! happens once as soon as the scheduler is back.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Only when someone starts it.
    Manual,
    /// A fixed interval after the previous run started.
    Every(Duration),
    /// At a clock time on the chosen days of the week.
    At { days: Vec<Weekday>, time: NaiveTime },
}

const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let help =
            "write manual, every 6h, hourly, daily 02:30, weekdays 22:00, or weekly mon,thu 03:00";
        let bad = |why: &str| format!("schedule {text:?}: {why}; {help}");
        match words.as_slice() {
            ["manual"] => Ok(Schedule::Manual),
            ["hourly"] => Ok(Schedule::Every(Duration::hours(1))),
            ["every", span] => parse_interval(span)
                .map(Schedule::Every)
                .map_err(|e| bad(&e)),
            ["daily", time] => Ok(Schedule::At {
                days: ALL_DAYS.to_vec(),
                time: parse_time(time).map_err(|e| bad(&e))?,
            }),
            ["weekdays", time] => Ok(Schedule::At {
                days: ALL_DAYS[..5].to_vec(),
                time: parse_time(time).map_err(|e| bad(&e))?,
            }),
            ["weekly", days, time] => {
                let mut list = Vec::new();
                for d in days.split(',') {
                    let day: Weekday = d
                        .trim()
                        .parse()
                        .map_err(|_| bad(&format!("{d:?} is not a day such as mon")))?;
                    if !list.contains(&day) {
                        list.push(day);
                    }
                }
                list.sort_by_key(|d| d.num_days_from_monday());
                Ok(Schedule::At {
                    days: list,
                    time: parse_time(time).map_err(|e| bad(&e))?,
                })
            }
            _ => Err(bad("not understood")),
        }
    }

    /// When the set is next due, given when its last run started (`None`: never ran) and
    /// when it was created. A time in the past means "now".
    pub fn next_due<Tz: TimeZone>(
        &self,
        last_run: Option<DateTime<Utc>>,
        created: DateTime<Utc>,
        zone: &Tz,
    ) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Manual => None,
            Schedule::Every(d) => Some(last_run.map_or(created, |l| l + *d)),
            Schedule::At { days, time } => {
                let from = last_run.unwrap_or(created);
                next_slot(days, *time, from, zone)
            }
        }
    }
}

/// The first slot strictly after `after` (for a set that never ran: the first after its
/// creation, so creating a set at 10:00 with "daily 02:30" runs it the next night).
fn next_slot<Tz: TimeZone>(
    days: &[Weekday],
    time: NaiveTime,
    after: DateTime<Utc>,
    zone: &Tz,
) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(zone).date_naive();
    // Eight days cover every weekly pattern; a few more ride over DST gaps.
    for offset in 0..10 {
        let day = local + Duration::days(offset);
        if !days.contains(&day.weekday()) {
            continue;
        }
        // A clock time that does not exist that day (spring forward) runs at the first
        // instant after the gap; an ambiguous one (fall back) at its first occurrence.
        let naive = day.and_time(time);
        let at = match zone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => t,
            chrono::LocalResult::Ambiguous(a, _) => a,
            chrono::LocalResult::None => {
                match zone.from_local_datetime(&(naive + Duration::hours(1))) {
                    chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t,
                    chrono::LocalResult::None => continue,
                }
            }
        }
        .with_timezone(&Utc);
        if at > after {
            return Some(at);
        }
    }
    None
}

fn parse_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| format!("{text:?} is not a time such as 02:30"))
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not an interval such as 6h"))?;
    let d = match unit {
        "s" => Duration::seconds(n),
        "m" | "min" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(format!("{text:?}: end the interval with s, m, h or d")),
    };
    if n <= 0 || d > Duration::days(366) {
        return Err(format!("{text:?}: between 1s and 366d"));
    }
    Ok(d)
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Manual => f.write_str("manual"),
            Schedule::Every(d) => {
                let s = d.num_seconds();
                if s % 86_400 == 0 {
                    write!(f, "every {}d", s / 86_400)
                } else if s % 3600 == 0 {
                    write!(f, "every {}h", s / 3600)
                } else if s % 60 == 0 {
                    write!(f, "every {}m", s / 60)
                } else {
                    write!(f, "every {s}s")
                }
            }
            Schedule::At { days, time } => {
                let t = time.format("%H:%M");
                if days.len() == 7 {
                    write!(f, "daily {t}")
                } else if days.as_slice() == &ALL_DAYS[..5] {
                    write!(f, "weekdays {t}")
                } else {
                    let names: Vec<String> =
                        days.iter().map(|d| d.to_string().to_lowercase()).collect();
                    write!(f, "weekly {} {t}", names.join(","))
                }
            }
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn schedules_parse_and_print_back() {
        for text in [
            "manual",
            "every 6h",
            "every 90s",
            "every 2d",
            "daily 02:30",
            "weekdays 22:00",
            "weekly mon,thu 01:15",
        ] {
            assert_eq!(Schedule::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Schedule::parse("hourly").unwrap().to_string(), "every 1h");
        assert_eq!(
            Schedule::parse("weekly thu,mon,thu 01:15")
                .unwrap()
                .to_string(),
            "weekly mon,thu 01:15"
        );
        for bad in [
            "",
            "daily",
            "daily 25:00",
            "every 0h",
            "every 5x",
            "weekly funday 02:00",
            "monthly 1",
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert!(e.contains("daily 02:30"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn an_interval_counts_from_the_last_start_and_a_new_set_is_due_at_once() {
        let s = Schedule::parse("every 6h").unwrap();
        let created = t("2026-11-27T10:00:00Z");
        assert_eq!(s.next_due(None, created, &Utc), Some(created));
        assert_eq!(
            s.next_due(Some(t("2026-11-27T11:00:00Z")), created, &Utc),
            Some(t("2026-11-27T17:00:00Z"))
        );
        assert_eq!(Schedule::Manual.next_due(None, created, &Utc), None);
    }

    #[test]
    fn clock_times_are_local_and_skip_days_not_chosen() {
        let s = Schedule::parse("daily 02:30").unwrap();
        let created = t("2026-11-27T10:00:00Z");
        assert_eq!(
            s.next_due(None, created, &Utc),
            Some(t("2026-11-28T02:30:00Z"))
        );
        // In UTC+1 02:30 local is 01:30 UTC.
        let cet = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            s.next_due(Some(t("2026-11-28T01:30:00Z")), created, &cet),
            Some(t("2026-11-29T01:30:00Z"))
        );
        // 2026-11-27 is a Friday: the next weekday slot after Friday night is Monday.
        let w = Schedule::parse("weekdays 22:00").unwrap();
        assert_eq!(
            w.next_due(Some(t("2026-11-27T22:00:00Z")), created, &Utc),
            Some(t("2026-11-30T22:00:00Z"))
        );
        let weekly = Schedule::parse("weekly sun 03:00").unwrap();
        assert_eq!(
            weekly.next_due(None, created, &Utc),
            Some(t("2026-11-29T03:00:00Z"))
        );
    }

    #[test]
    fn a_run_missed_while_the_machine_was_off_is_due_now() {
        let s = Schedule::parse("daily 02:30").unwrap();
        let due = s
            .next_due(
                Some(t("2026-11-20T02:30:00Z")),
                t("2026-11-01T00:00:00Z"),
                &Utc,
            )
            .unwrap();
        assert!(due < t("2026-11-27T10:00:00Z"));
    }
}
