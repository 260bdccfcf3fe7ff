//! Timestamp identifiers (TIDs), the record keys of `app.bsky.feed.post`.
//!
//! A TID is a 64-bit integer, top bit 0, then 53 bits of microseconds since the Unix epoch and
//! 10 bits of "clock id", written as 13 characters of base32-sortable
//! (`234567abcdefghijklmnopqrstuvwxyz`), so that string order is time order
//! (<https://atproto.com/specs/tid>, <https://atproto.com/specs/record-key>).

use chrono::{DateTime, Utc};
use rand::Rng;

/// The base32-sortable alphabet: digits 2–7 then a–z, in ASCII order.
const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// A fresh TID for `now`, with a random clock id.
///
/// The clock id is random rather than 0 so that two herald instances (or a restart within the
/// same microsecond) are unlikely to pick the same key for different posts; the caller still
/// generates the key once per post and keeps it, which is what makes a retry land on the same
/// record.
pub fn new_tid(now: DateTime<Utc>) -> String {
    let clock_id: u16 = rand::rng().random_range(0..1024);
    encode_tid(now, clock_id)
}

/// The TID of `time` with this clock id (0..1024; higher bits are dropped).
pub(crate) fn encode_tid(time: DateTime<Utc>, clock_id: u16) -> String {
    // Times before 1970 have no TID; clamp to 0 rather than wrap to a huge value.
    let micros = u64::try_from(time.timestamp_micros()).unwrap_or(0);
    let value = ((micros << 10) & 0x7FFF_FFFF_FFFF_FC00) | u64::from(clock_id & 0x3FF);
    (0..13).rev().map(|i| char::from(ALPHABET[((value >> (i * 5)) & 0x1F) as usize])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrium_api::types::LimitedU32;
    use atrium_api::types::string::Tid;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn format() {
        for _ in 0..200 {
            let tid = new_tid(Utc::now());
            assert_eq!(tid.len(), 13, "{tid}");
            assert!("234567abcdefghij".contains(&tid[..1]), "{tid}");
            assert!(tid.bytes().all(|b| ALPHABET.contains(&b)), "{tid}");
            // atrium's parser (the lexicon's TID syntax) accepts it.
            Tid::new(tid.clone()).unwrap();
        }
    }

    #[test]
    fn same_as_atrium() {
        let time = at("2026-08-19T12:34:56.789012Z");
        for clock_id in [0u16, 1, 517, 1023] {
            let theirs =
                Tid::from_datetime(LimitedU32::try_from(u32::from(clock_id)).unwrap(), time);
            assert_eq!(encode_tid(time, clock_id), theirs.as_str());
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(encode_tid(DateTime::UNIX_EPOCH, 0), "2222222222222");
        // Top bit always 0: the first character stays in 2..j even far in the future.
        let far = at("2200-01-01T00:00:00Z");
        assert!("234567abcdefghij".contains(&encode_tid(far, 1023)[..1]));
    }

    #[test]
    fn sortable_by_time() {
        let start = at("2026-08-19T00:00:00Z");
        let mut last = String::new();
        for step in [0i64, 1, 2, 1_000, 60_000_000, 86_400_000_000, 365 * 86_400_000_000] {
            let t = start + chrono::Duration::microseconds(step);
            // The largest clock id at an earlier time still sorts below the smallest later one.
            let (lo, hi) = (encode_tid(t, 0), encode_tid(t, 1023));
            assert!(lo <= hi);
            assert!(last < lo, "{last} !< {lo}");
            last = hi;
        }
        assert!(new_tid(start) < new_tid(start + chrono::Duration::milliseconds(1)));
    }
}
