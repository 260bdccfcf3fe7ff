//! The site's time zone (Pelican's `TIMEZONE`), from the IANA database bundled in the binary.
//!
//! Built on jiff's bundled database: its zones are TZif bytes, where chrono-tz's are a
//! mebibyte of pointers that the loader relocates, and every process keeps a private copy of,
//! at each start.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, TimeZone as _, Timelike, Utc};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A named IANA time zone.
#[derive(Clone)]
pub struct Zone {
    name: std::sync::Arc<str>,
    tz: TimeZone,
}

impl Zone {
    /// The zone named `name` (`America/New_York`, `UTC`), if the database has it. As in pytz,
    /// the name's case does not matter, and the zone takes the name as the database spells it.
    pub fn named(name: &str) -> Option<Zone> {
        let tz = TimeZone::get(name).ok()?;
        let name = tz.iana_name()?.into();
        Some(Zone { name, tz })
    }

    /// UTC.
    pub fn utc() -> Zone {
        Zone { name: "UTC".into(), tz: TimeZone::UTC }
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `t` as a local time in this zone, with its offset.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&self.offset_at(t.timestamp()).0)
    }

    /// Gives a naive local time its offset in this zone the way pytz's `localize(dt)` does
    /// (Pelican's `set_date_tzinfo`, `is_dst=False`): in the autumn overlap the standard-time
    /// offset wins, and a time in the spring gap keeps its wall-clock reading with the offset
    /// in force six hours earlier.
    ///
    /// One difference is known: where the IANA database's main form has a negative daylight
    /// saving (Europe/Dublin's winter, Africa/Casablanca's Ramadan), pytz takes the other
    /// offset in the overlap as standard. The bundled database is in the rearguard form, which
    /// has no negative daylight saving, and this takes the one it calls standard.
    pub fn localize(&self, naive: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        let civil = jiff::civil::DateTime::new(
            i16::try_from(naive.year()).ok()?,
            naive.month() as i8,
            naive.day() as i8,
            naive.hour() as i8,
            naive.minute() as i8,
            naive.second() as i8,
            0,
        )
        .ok()?;
        let offset = match self.tz.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => fixed(offset)?,
            AmbiguousOffset::Fold { before, after } => {
                // The wall time at the earlier offset is the instant before the change.
                let instant = naive.and_utc().timestamp() - i64::from(before.seconds());
                let (first, dst) = self.offset_at(instant);
                if dst { fixed(after)? } else { first }
            }
            // pytz: `localize(dt - 6 h) + 6 h`.
            AmbiguousOffset::Gap { .. } => {
                *self.localize(naive - chrono::Duration::hours(6))?.offset()
            }
        };
        offset.from_local_datetime(&naive).single()
    }

    /// The offset in force at `unix` seconds, and whether it is daylight saving time.
    fn offset_at(&self, unix: i64) -> (FixedOffset, bool) {
        let at = jiff::Timestamp::from_second(unix).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let info = self.tz.to_offset_info(at);
        let offset = fixed(info.offset()).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
        (offset, info.dst().is_dst())
    }
}

fn fixed(offset: jiff::tz::Offset) -> Option<FixedOffset> {
    FixedOffset::east_opt(offset.seconds())
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::Zone;
    use chrono::NaiveDateTime;

    fn localize(zone: &str, naive: &str) -> String {
        let naive = NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M").unwrap();
        Zone::named(zone).unwrap().localize(naive).unwrap().to_rfc3339()
    }

    #[test]
    fn a_zone_is_found_by_the_name_the_database_spells() {
        for name in ["America/New_York", "UTC", "Europe/Berlin", "US/Eastern", "Asia/Kolkata"] {
            assert_eq!(Zone::named(name).map(|z| z.name().to_string()), Some(name.into()));
        }
        let lower = Zone::named("america/new_york").unwrap();
        assert_eq!(lower.name(), "America/New_York");
        assert_eq!(lower, Zone::named("America/New_York").unwrap());
        for name in ["Mars/Olympus", "", "EST5EDT/x", "../UTC", "America/New_York\0"] {
            assert!(Zone::named(name).is_none(), "{name}");
        }
    }

    // Expected values from pytz 2026.6 `localize(dt)`, what Pelican uses.
    #[test]
    fn local_times_take_the_offset_pytz_gives_them() {
        assert_eq!(localize("Australia/Sydney", "2026-01-15 09:00"), "2026-01-15T09:00:00+11:00");
        assert_eq!(localize("Australia/Sydney", "2026-07-15 09:00"), "2026-07-15T09:00:00+10:00");
        assert_eq!(localize("Asia/Kolkata", "2026-07-15 09:00"), "2026-07-15T09:00:00+05:30");
        assert_eq!(localize("UTC", "2026-07-15 09:00"), "2026-07-15T09:00:00+00:00");
        // Berlin's gap and overlap: the standard-time offset, the wall-clock reading kept.
        assert_eq!(localize("Europe/Berlin", "2026-03-29 02:30"), "2026-03-29T02:30:00+01:00");
        assert_eq!(localize("Europe/Berlin", "2026-10-25 02:30"), "2026-10-25T02:30:00+01:00");
        assert_eq!(localize("Europe/Berlin", "2026-10-25 01:59"), "2026-10-25T01:59:00+02:00");
        // Sydney's overlap is in April.
        assert_eq!(localize("Australia/Sydney", "2026-04-05 02:30"), "2026-04-05T02:30:00+10:00");
        // Dublin's gap takes the offset before it, as in New York: not the summer offset,
        // which the database's main form calls standard there.
        assert_eq!(localize("Europe/Dublin", "2026-03-29 01:30"), "2026-03-29T01:30:00+00:00");
        assert_eq!(localize("Europe/Dublin", "2026-01-10 12:00"), "2026-01-10T12:00:00+00:00");
        assert_eq!(localize("Europe/Dublin", "2026-07-10 12:00"), "2026-07-10T12:00:00+01:00");
    }

    #[test]
    fn an_instant_is_shown_with_the_offset_then_in_force() {
        let ny = Zone::named("America/New_York").unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap().and_utc();
        assert_eq!(ny.local(at("2026-08-19 18:00")).to_rfc3339(), "2026-08-19T14:00:00-04:00");
        assert_eq!(ny.local(at("2026-11-01 05:59")).to_rfc3339(), "2026-11-01T01:59:00-04:00");
        assert_eq!(ny.local(at("2026-11-01 06:00")).to_rfc3339(), "2026-11-01T01:00:00-05:00");
    }
}
