//! `Date:` values and dates in file names, read as Pelican reads them (dateutil, pytz).

use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use regex::Regex;

use super::zone::Zone;

/// The date Pelican's default FILENAME_METADATA takes from a file name (`YYYY-MM-DD…`).
pub(super) fn filename_date(path: &Path) -> Option<NaiveDate> {
    static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{4}-\d{2}-\d{2})").unwrap());
    let stem = path.file_stem()?.to_str()?;
    NaiveDate::parse_from_str(&RE.captures(stem)?[1], "%Y-%m-%d").ok()
}

/// Parses a `Date:` value as dateutil does for the forms an archive uses:
/// `YYYY-M-D`, optionally followed by ` HH:MM[:SS]` (or `T`), optionally with `Z` or `±HH:MM`.
/// A value without an offset is a local time in `tz`.
pub fn parse_date(value: &str, tz: &Zone) -> Option<DateTime<FixedOffset>> {
    let value = value.trim();
    let c = if value.is_ascii() { date_fields(value)? } else { date_fields_any(value)? };
    // Any digit is a `\d`; only ASCII ones make a number.
    let num = |field: Option<&str>| field.map_or(Some(0), |m| m.parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(c[0]?.parse().ok()?, num(c[1])?, num(c[2])?)?;
    let time = NaiveTime::from_hms_opt(num(c[3])?, num(c[4])?, num(c[5])?)?;
    let naive = date.and_time(time);
    match c[6] {
        None => tz.localize(naive),
        Some("Z") => Some(naive.and_utc().fixed_offset()),
        Some(off) => {
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let digits = off[1..].replace(':', "");
            if digits.len() != 4 {
                return None; // digits other than ASCII ones
            }
            let secs =
                digits[..2].parse::<i32>().ok()? * 3600 + digits[2..].parse::<i32>().ok()? * 60;
            FixedOffset::east_opt(sign * secs)?.from_local_datetime(&naive).single()
        }
    }
}

/// The fields of a `Date:` value (year, month, day, hour, minute, second, offset), as
/// [`date_fields_any`]'s expression captures them.
type DateFields<'a> = [Option<&'a str>; 7];

/// [`date_fields_any`] of an ASCII value, without the expression (which takes a good part of
/// a millisecond to compile, for its Unicode classes). The tests check it against it.
fn date_fields(s: &str) -> Option<DateFields<'_>> {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied();
    // `\d{min,max}` from `i`: where it ends. Each is followed by a character that is not a
    // digit (or by the end), so taking all the digits there are is the only way to match.
    let digits = |i: usize, min: usize, max: usize| {
        let n = b[i.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        (min..=max).contains(&n).then_some(i + n)
    };
    let mut f: DateFields = [None; 7];
    let year = digits(0, 4, 4)?;
    f[0] = Some(&s[..year]);
    (at(year) == Some(b'-')).then_some(())?;
    let month = digits(year + 1, 1, 2)?;
    f[1] = Some(&s[year + 1..month]);
    (at(month) == Some(b'-')).then_some(())?;
    let day = digits(month + 1, 1, 2)?;
    f[2] = Some(&s[month + 1..day]);
    let mut i = day;
    // `(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?`
    let time = || -> Option<(usize, [Option<&str>; 3])> {
        // At least one of `[ T]`: the day took every digit there was.
        let start = day + b[day..].iter().take_while(|&&c| c == b' ' || c == b'T').count();
        let hour = digits(start, 1, 2)?;
        (at(hour) == Some(b':')).then_some(())?;
        let minute = digits(hour + 1, 2, 2)?;
        let mut t = [Some(&s[start..hour]), Some(&s[hour + 1..minute]), None];
        let mut end = minute;
        if at(minute) == Some(b':') {
            let second = digits(minute + 1, 2, 2)?;
            t[2] = Some(&s[minute + 1..second]);
            end = second;
            if at(second) == Some(b'.') {
                end = digits(second + 1, 1, usize::MAX)?;
            }
        }
        Some((end, t))
    };
    if let Some((end, t)) = time() {
        f[3..6].copy_from_slice(&t);
        i = end;
    }
    // `\s*(Z|[+-]\d{2}:?\d{2})?$`
    i += s[i..].len() - s[i..].trim_start().len();
    if i < b.len() {
        let start = i;
        match b[i] {
            b'Z' => i += 1,
            b'+' | b'-' => {
                // `\d{2}:?\d{2}`: four digits, or two, a colon and two.
                let run = digits(i + 1, 2, 4)?;
                i = match run - (i + 1) {
                    4 => run,
                    2 if at(run) == Some(b':') => digits(run + 1, 2, 2)?,
                    _ => return None,
                };
            }
            _ => return None,
        }
        f[6] = Some(&s[start..i]);
    }
    (i == b.len()).then_some(f)
}

/// The fields of any `Date:` value, by the expression for the forms dateutil reads.
fn date_fields_any(s: &str) -> Option<DateFields<'_>> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
        )
        .unwrap()
    });
    let c = RE.captures(s)?;
    let mut f: DateFields = [None; 7];
    for (i, field) in f.iter_mut().enumerate() {
        *field = c.get(i + 1).map(|m| m.as_str());
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_york() -> Zone {
        Zone::named("America/New_York").unwrap()
    }

    fn ny(v: &str) -> String {
        parse_date(v, &new_york()).unwrap().to_rfc3339()
    }

    #[test]
    fn dates_with_and_without_time() {
        assert_eq!(ny("2026-08-19"), "2026-08-19T00:00:00-04:00");
        assert_eq!(ny("2014-07-15 15:40"), "2014-07-15T15:40:00-04:00");
        assert_eq!(ny("2020-12-2"), "2020-12-02T00:00:00-05:00");
        assert_eq!(ny("2020-12-9 08:05:07"), "2020-12-09T08:05:07-05:00");
        assert_eq!(ny("2020-01-01T10:00+02:00"), "2020-01-01T10:00:00+02:00");
    }

    // Expected values from pytz 2026.6 `localize(dt)`, what Pelican uses.
    #[test]
    fn dst_boundaries_follow_pytz() {
        assert_eq!(ny("2026-03-08"), "2026-03-08T00:00:00-05:00");
        assert_eq!(ny("2026-03-08 02:30"), "2026-03-08T02:30:00-05:00"); // in the gap
        assert_eq!(ny("2026-03-08 03:00"), "2026-03-08T03:00:00-04:00");
        assert_eq!(ny("2026-11-01 01:30"), "2026-11-01T01:30:00-05:00"); // ambiguous
        assert_eq!(ny("2026-11-01 00:59"), "2026-11-01T00:59:00-04:00");
    }

    proptest::proptest! {
        /// Without the expression, an ASCII value gives the fields the expression captures.
        #[test]
        fn an_ascii_date_has_the_fields_the_expression_captures(
            v in "[0-9]{3,5}-[0-9]{0,3}-[0-9]{0,3}([ T]{0,2}[0-9]{0,3}(:[0-9]{1,3}(:[0-9]{1,3}(\\.[0-9]{0,2})?)?)?)?[ \t\u{b}]{0,2}(Z|z|[+-][0-9]{1,3}:?[0-9]{1,3})?[ :.0-9TZ+-]{0,2}"
        ) {
            proptest::prop_assert_eq!(date_fields(&v), date_fields_any(&v));
        }

        #[test]
        fn a_date_of_the_right_shape_has_the_fields_the_expression_captures(
            v in "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T]{1,2}[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,2})?)?)?[ \t]{0,1}(Z|[+-][0-9]{2}:?[0-9]{2}|[+-][0-9]{1,3}:?[0-9]{1,3})?"
        ) {
            proptest::prop_assert_eq!(date_fields(&v), date_fields_any(&v));
        }

        #[test]
        fn any_ascii_value_has_the_fields_the_expression_captures(v in "[ -~\t\u{b}]{0,24}") {
            proptest::prop_assert_eq!(date_fields(&v), date_fields_any(&v));
        }
    }

    #[test]
    fn a_date_with_digits_other_than_ascii_ones_is_refused() {
        // `\d` takes any digit; the numbers are ASCII ones. In the offset, such digits once
        // made the parser panic.
        for v in [
            "2020-01-01 10:00+\u{665}\u{660}:00",
            "2020-01-01 +\u{660}\u{665}\u{660}\u{660}",
            "\u{662}020-01-01",
        ] {
            assert!(parse_date(v, &new_york()).is_none(), "{v}");
        }
        assert_eq!(ny("2020-01-01 10:00:00.\u{665}"), "2020-01-01T10:00:00-05:00");
    }

    #[test]
    fn bad_dates_are_refused() {
        for v in ["", "2026-13-01", "2026-02-30", "yesterday", "2026-01-01 25:00", "2026/01/01"] {
            assert!(parse_date(v, &new_york()).is_none(), "{v}");
        }
    }
}
