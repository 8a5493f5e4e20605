//! Durations, written as cloudlink reads them everywhere (`spec.resyncPeriod`, the flags of
//! `cloudlink run` and of the emulator): one or more `<number><unit>`, the number a decimal
//! with an optional fraction and the unit `ms`, `s`, `m` or `h`, as in `10m`, `1h30m`, `1.5s`,
//! `500ms`. [`PATTERN`] is that grammar as the CRDs validate it, so whatever the API server admits
//! [`parse`] reads, and the other way round.

use std::time::Duration;

/// The grammar of [`parse`], as the regular expression the CRDs carry (`spec.resyncPeriod`).
pub const PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{0:?} is not a duration such as 30s, 10m or 1h30m")]
    Malformed(String),
    #[error("{0:?} is longer than a duration can be")]
    TooLong(String),
}

/// Nanoseconds per unit; `ms` before `m`, which it starts with.
const UNITS: [(&str, u128); 4] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Reads a duration written in [`PATTERN`]'s grammar. Zero (`0s`) is a duration; callers that
/// need a positive one say what zero means to them. Exact to the nanosecond; never panics.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed(text.to_owned());
    let too_long = || DurationError::TooLong(text.to_owned());
    if text.is_empty() {
        return Err(malformed());
    }
    let mut nanos: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let (whole, after) = digits(rest);
        if whole.is_empty() {
            return Err(malformed());
        }
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => match digits(after) {
                ("", _) => return Err(malformed()),
                split => split,
            },
            None => ("", after),
        };
        let (unit, after) = UNITS
            .iter()
            .find_map(|(name, unit)| Some((*unit, after.strip_prefix(name)?)))
            .ok_or_else(malformed)?;
        let term = whole
            .parse::<u128>()
            .ok()
            .and_then(|whole| whole.checked_mul(unit))
            .and_then(|whole| whole.checked_add(fraction_of(fraction, unit)))
            .ok_or_else(too_long)?;
        nanos = nanos.checked_add(term).ok_or_else(too_long)?;
        rest = after;
    }
    let seconds = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
    // The remainder is below 10^9, which u32 holds.
    Ok(Duration::new(seconds, (nanos % 1_000_000_000) as u32))
}

/// The leading ASCII digits of `text`, and what follows them.
fn digits(text: &str) -> (&str, &str) {
    text.split_at(text.bytes().take_while(u8::is_ascii_digit).count())
}

/// `0.<digits>` of `unit` nanoseconds. Digits past the 18th are below a nanosecond even of an
/// hour, and 18 digits times an hour's nanoseconds fit in u128.
fn fraction_of(digits: &str, unit: u128) -> u128 {
    let digits = &digits[..digits.len().min(18)];
    match digits.parse::<u128>() {
        Ok(value) => value * unit / 10u128.pow(digits.len() as u32),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_the_crd_documents() {
        let ok = |text: &str| parse(text).unwrap();
        assert_eq!(ok("10m"), Duration::from_secs(600));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("0.1s"), Duration::from_millis(100));
        assert_eq!(ok("1m1ms"), Duration::from_millis(60_001));
        assert_eq!(ok("1.000000001s"), Duration::new(1, 1));
        assert_eq!(ok("0s"), Duration::ZERO);
        for bad in [
            "", "10", "10x", "s", ".5s", "5.s", "1h 30m", "-1s", "1e3s", "1µs", "1ns",
        ] {
            assert_eq!(
                parse(bad),
                Err(DurationError::Malformed(bad.to_owned())),
                "{bad}"
            );
        }
        let huge = format!("{}h", "9".repeat(40));
        assert_eq!(parse(&huge), Err(DurationError::TooLong(huge.clone())));
        assert!(matches!(
            parse("5124095576030432h"),
            Err(DurationError::TooLong(_))
        ));
    }

    /// The CRD's regular expression and the parser accept and refuse the same texts.
    #[test]
    fn the_parser_and_the_crd_pattern_agree() {
        let pattern = regex::Regex::new(PATTERN).unwrap();
        let pieces = [
            "", "0", "1", "15", "1.5", ".5", "5.", "ms", "s", "m", "h", "x", " ", ".",
        ];
        let mut samples = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    samples.push(format!("{a}{b}{c}"));
                }
            }
        }
        samples
            .extend(["1h30m", "2h45m10.25s", "10m500ms", "1msm", "1hh", "1h.5m"].map(String::from));
        for sample in samples {
            assert_eq!(
                pattern.is_match(&sample),
                parse(&sample).is_ok(),
                "{sample:?}: the CRD's pattern and the parser disagree"
            );
        }
    }
}
