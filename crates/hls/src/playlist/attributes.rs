//! Attribute lists (RFC 8216bis §4.2): `NAME=value` pairs separated by commas, where a value
//! is a decimal integer, a decimal floating point number, an enumerated string or a
//! double-quoted string (which may itself hold commas).

use crate::error::HlsError;
use std::time::Duration;

/// Splits `AAA=1,BBB="x,y",CCC=YES` into `(name, raw value)` pairs; quoted values keep their
/// quotes so that [`quoted`] can tell them from enumerated strings.
pub fn parse(line: &str) -> Result<Vec<(&str, &str)>, HlsError> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| HlsError::syntax(line, "attribute without '='"))?;
        let name = &rest[..eq];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(HlsError::syntax(line, "bad attribute name"));
        }
        let after = &rest[eq + 1..];
        let end = if let Some(q) = after.strip_prefix('"') {
            let close = q
                .find('"')
                .ok_or_else(|| HlsError::syntax(line, "unterminated quoted string"))?;
            close + 2
        } else {
            after.find(',').unwrap_or(after.len())
        };
        out.push((name, &after[..end]));
        rest = &after[end..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
            if rest.is_empty() {
                return Err(HlsError::syntax(line, "trailing comma"));
            }
        } else if !rest.is_empty() {
            return Err(HlsError::syntax(line, "junk after a quoted string"));
        }
    }
    Ok(out)
}

/// The inside of a quoted-string value.
pub fn quoted<'a>(line: &str, v: &'a str) -> Result<&'a str, HlsError> {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(|| HlsError::syntax(line, "expected a quoted string"))
}

/// A quoted-string value must not hold `"`, CR or LF (§4.2); URIs written here never do.
pub fn check_quotable(s: &str) -> Result<(), HlsError> {
    if s.contains(['"', '\r', '\n']) {
        return Err(HlsError::Invalid(format!(
            "{s:?} cannot be a quoted string"
        )));
    }
    Ok(())
}

/// A decimal-floating-point number of seconds, written with millisecond precision.
pub fn seconds(d: Duration) -> String {
    let ms = round_ms(d).as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `d` rounded to the nearest millisecond (what [`seconds`] writes).
pub fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(((d.as_micros() + 500) / 1000) as u64)
}

/// Parses a decimal-floating-point number of seconds (no sign, no exponent).
pub fn parse_seconds(line: &str, v: &str) -> Result<Duration, HlsError> {
    let bad = || HlsError::syntax(line, "expected a number of seconds");
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let secs: u64 = int.parse().map_err(|_| bad())?;
    // Nanoseconds from up to nine fraction digits; more are below a nanosecond.
    let digits = &frac[..frac.len().min(9)];
    let nanos = if digits.is_empty() {
        0
    } else {
        digits.parse::<u32>().map_err(|_| bad())? * 10u32.pow(9 - digits.len() as u32)
    };
    Ok(Duration::new(secs, nanos))
}

/// Parses a decimal-integer (§4.2: 0 to 2^64-1).
pub fn parse_integer(line: &str, v: &str) -> Result<u64, HlsError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HlsError::syntax(line, "expected a decimal integer"));
    }
    v.parse()
        .map_err(|_| HlsError::syntax(line, "integer out of range"))
}

/// `YES` or `NO`.
pub fn parse_bool(line: &str, v: &str) -> Result<bool, HlsError> {
    match v {
        "YES" => Ok(true),
        "NO" => Ok(false),
        _ => Err(HlsError::syntax(line, "expected YES or NO")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_commas() {
        let a = parse(r#"DURATION=0.200,URI="a,b.m4s",INDEPENDENT=YES"#).unwrap();
        assert_eq!(
            a,
            [
                ("DURATION", "0.200"),
                ("URI", r#""a,b.m4s""#),
                ("INDEPENDENT", "YES")
            ]
        );
        for bad in ["X", "=1", "a=1", r#"URI="open"#, r#"URI="a"b"#, "A=1,"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds_round_trip_at_millisecond_precision() {
        assert_eq!(seconds(Duration::from_micros(200_499)), "0.200");
        assert_eq!(seconds(Duration::from_micros(200_500)), "0.201");
        assert_eq!(seconds(Duration::from_secs(12)), "12.000");
        assert_eq!(
            parse_seconds("", "1.5").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_seconds("", "2").unwrap(), Duration::from_secs(2));
        for bad in ["", ".5", "-1", "1e3", "1.2.3", "x"] {
            assert!(parse_seconds("", bad).is_err(), "{bad}");
        }
    }
}
