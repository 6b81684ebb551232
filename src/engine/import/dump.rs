//! Reading `manage.py dumpdata` output as a stream: a JSON array (the default
//! format) or JSON Lines (`--format jsonl`), one record at a time on a
//! blocking thread, handed over a bounded channel, so a file of any size
//! costs the memory of a window of records, never of the file.

use std::io::BufRead;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::Value;
use tokio::sync::mpsc;

/// One record as dumped, with its 0-based position in the file.
pub struct Raw {
    pub index: u64,
    pub value: Value,
}

/// Reads the dump on a blocking thread; records arrive on the receiver, a
/// syntax error (the file cannot be read on past it) on the handle.
pub fn stream(
    mut input: Box<dyn BufRead + Send>,
    window: usize,
) -> (mpsc::Receiver<Raw>, tokio::task::JoinHandle<Result<u64, String>>) {
    let (tx, rx) = mpsc::channel(window.max(1));
    let reader = tokio::task::spawn_blocking(move || {
        let mut index = 0u64;
        let mut send = |value: Value| {
            let ok = tx.blocking_send(Raw { index, value }).is_ok();
            index += 1;
            ok
        };
        let first = loop {
            let buf = input.fill_buf().map_err(|e| format!("cannot read the dump: {e}"))?;
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf[i];
                    input.consume(i);
                    break Some(b);
                }
                None if buf.is_empty() => break None,
                None => {
                    let n = buf.len();
                    input.consume(n);
                }
            }
        };
        match first {
            None => {}
            Some(b'[') => {
                let mut de = serde_json::Deserializer::from_reader(input);
                de.deserialize_seq(Records { send: &mut send })
                    .map_err(|e| format!("the dump is not valid JSON: {e}"))?;
                de.end().map_err(|e| format!("trailing data after the JSON array: {e}"))?;
            }
            Some(_) => {
                for value in serde_json::Deserializer::from_reader(input).into_iter::<Value>() {
                    let value = value.map_err(|e| format!("the dump is not valid JSON Lines: {e}"))?;
                    if !send(value) {
                        break;
                    }
                }
            }
        }
        Ok(index)
    });
    (rx, reader)
}

/// The array's elements, each handed on as soon as it is parsed.
struct Records<'a> {
    send: &'a mut dyn FnMut(Value) -> bool,
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of dumpdata records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let send = self.send;
        while let Some(value) = seq.next_element::<Value>()? {
            if !send(value) {
                // The importer stopped (a store failure): read no further.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                break;
            }
        }
        Ok(())
    }
}

/// Django's serialised datetime (`2024-01-02T03:04:05.678Z`, an offset, or
/// naive when `USE_TZ` is off, read as UTC) as Unix seconds.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, i64, i64) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset) = match time.find(['Z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, ""),
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.splitn(3, ':');
    let (hh, mm): (i64, i64) = (c.next()?.parse().ok()?, c.next()?.parse().ok()?);
    let ss: i64 = c.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    let offset_secs = match offset {
        "" | "Z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's method.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs)
}

/// Unix seconds as Django serialises a datetime (UTC, `Z`).
pub fn format_datetime(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // The civil date from days, Howard Hinnant's method.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::{format_datetime, parse_datetime};

    #[test]
    fn datetimes_round_trip() {
        for t in [0, 951_782_400, 1_709_210_096, 4_102_444_799] {
            assert_eq!(parse_datetime(&format_datetime(t)), Some(t), "{}", format_datetime(t));
        }
        assert_eq!(format_datetime(1_709_210_096), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn django_datetimes() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_datetime("2024-02-29T12:34:56.789Z"), Some(1_709_210_096));
        assert_eq!(parse_datetime("2024-02-29T14:34:56+02:00"), Some(1_709_210_096));
        assert_eq!(parse_datetime("2024-02-29T12:34:56"), Some(1_709_210_096));
        assert_eq!(parse_datetime("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
