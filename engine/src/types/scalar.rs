//! Text forms of scalar values: integers written as JSON numbers or strings,
//! `dec128` syntax, UUIDs, RFC 3339 times, base64 bytes.

use super::json_kind;
use super::path::Fail;
use crate::clip::clip_quoted;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value as Json;

pub(crate) const INT_MIN: i128 = i64::MIN as i128;
pub(crate) const INT_MAX: i128 = i64::MAX as i128;
pub(crate) const NAT_MAX: i128 = u64::MAX as i128;

/// Standard alphabet; padding written, optional when read.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub(crate) fn b64_decode(text: &str) -> Result<Vec<u8>, Fail> {
    B64.decode(text)
        .map_err(|e| Fail::new(format!("invalid base64 ({e})")))
}

/// An integer written as a JSON number or a decimal string (the spec allows
/// strings for large numbers), checked against `min..=max`.
pub(crate) fn json_int(json: &Json, min: i128, max: i128, what: &str) -> Result<i128, Fail> {
    let n = match json {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i as i128
            } else if let Some(u) = n.as_u64() {
                u as i128
            } else {
                return Err(Fail::new(format!(
                    "expected {what} (an integer), found the floating-point number {n}"
                )));
            }
        }
        Json::String(s) => parse_int_text(s).ok_or_else(|| {
            Fail::new(format!(
                "expected {what}, found the non-integer string {}",
                clip_quoted(s)
            ))
        })?,
        other => {
            return Err(Fail::new(format!(
                "expected {what} (an integer), found {}",
                json_kind(other)
            )))
        }
    };
    check_range(n, min, max, what)
}

pub(crate) fn check_range(n: i128, min: i128, max: i128, what: &str) -> Result<i128, Fail> {
    if n < min || n > max {
        return Err(Fail::new(format!(
            "{n} is out of range for {what} ({min}..={max})"
        )));
    }
    Ok(n)
}

fn parse_int_text(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Checks the text form of a decimal128: optional sign, digits, optional
/// fraction, optional exponent; at most 34 significant digits; exponent
/// within decimal128's range.
pub(crate) fn check_dec128(s: &str) -> Result<(), Fail> {
    let bad = |why: &str| {
        Err(Fail::new(format!(
            "invalid dec128 {}: {why}",
            clip_quoted(s)
        )))
    };
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits_from = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        start..*i
    };
    let int = digits_from(&mut i);
    if int.is_empty() {
        return bad("expected digits");
    }
    let mut frac = i..i;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits_from(&mut i);
        if frac.is_empty() {
            return bad("expected digits after the decimal point");
        }
    }
    let mut exp: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let neg = b.get(i) == Some(&b'-');
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = digits_from(&mut i);
        if e.is_empty() {
            return bad("expected digits in the exponent");
        }
        exp = match s[e].parse::<i64>() {
            Ok(v) if v <= 100_000 => v,
            _ => return bad("exponent out of range"),
        };
        if neg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return bad("unexpected characters");
    }
    let coefficient: Vec<u8> = b[int]
        .iter()
        .chain(&b[frac.clone()])
        .copied()
        .skip_while(|&d| d == b'0')
        .collect();
    if coefficient.len() > 34 {
        return bad("more than 34 significant digits");
    }
    if !coefficient.is_empty() {
        let adjusted = exp - frac.len() as i64 + coefficient.len() as i64 - 1;
        if !(-6143..=6144).contains(&adjusted) {
            return bad("exponent out of range");
        }
    }
    Ok(())
}

/// RFC 4122 text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case).
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = b.iter().copied().filter(|&c| c != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let hi = (hex[2 * i] as char).to_digit(16)?;
        let lo = (hex[2 * i + 1] as char).to_digit(16)?;
        *slot = (hi * 16 + lo) as u8;
    }
    Some(out)
}

pub(crate) fn format_uuid(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&crate::hash::hex(&[*b]));
    }
    s
}

/// Nanoseconds since the Unix epoch of an RFC 3339 timestamp
/// (`2024-05-01T12:00:00.5Z`, `2024-05-01T14:00:00+02:00`). Leap seconds
/// and more than 9 fractional digits are rejected rather than rounded.
pub(crate) fn parse_rfc3339_ns(s: &str) -> Result<i128, Fail> {
    let bad = || {
        Fail::new(format!(
            "expected an RFC 3339 time, found {}",
            clip_quoted(s)
        ))
    };
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, Fail> {
        let part = b.get(from..from + len).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| -> Result<(), Fail> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(bad()),
        }
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    sep(10, b"Tt ")?;
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    sep(13, b":")?;
    sep(16, b":")?;
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let len = i - start;
        if len == 0 || len > 9 {
            return Err(bad());
        }
        nanos = num(start, len)? * 10i64.pow((9 - len) as u32);
    }
    let offset_s = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() => {
            sep(i + 3, b":")?;
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let off = oh * 3600 + om * 60;
            if *c == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return Err(bad()),
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > month_days[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Ok(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(r: Result<impl std::fmt::Debug, Fail>) -> String {
        r.err().map(|f| f.into_error().message).unwrap_or_default()
    }

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(json_int(&json!(42), 0, NAT_MAX, "nat").ok(), Some(42));
        assert_eq!(
            json_int(&json!(u64::MAX), 0, NAT_MAX, "nat").ok(),
            Some(NAT_MAX)
        );
        assert_eq!(
            json_int(&json!("18446744073709551615"), 0, NAT_MAX, "nat").ok(),
            Some(NAT_MAX)
        );
        assert_eq!(
            json_int(&json!("-5"), INT_MIN, INT_MAX, "int").ok(),
            Some(-5)
        );
        assert!(msg(json_int(&json!(-1), 0, NAT_MAX, "nat")).contains("out of range"));
        assert!(msg(json_int(&json!(1.5), 0, NAT_MAX, "nat")).contains("floating-point"));
        assert!(msg(json_int(&json!("1e3"), 0, NAT_MAX, "nat")).contains("non-integer"));
        assert!(msg(json_int(&json!(""), 0, NAT_MAX, "nat")).contains("non-integer"));
        assert!(msg(json_int(&json!(true), 0, NAT_MAX, "nat")).contains("a boolean"));
        assert!(msg(json_int(
            &json!("9223372036854775808"),
            INT_MIN,
            INT_MAX,
            "int"
        ))
        .contains("out of range"));
    }

    #[test]
    fn dec128_syntax() {
        for ok in [
            "0",
            "-1.50",
            "+3e10",
            "1.2E-3",
            "0000000000000000000000000000000000000000001",
            "1234567890123456789012345678901234",
            "0e99999",
        ] {
            assert!(check_dec128(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "expected digits"),
            ("1.", "after the decimal point"),
            (".5", "expected digits"),
            ("1e", "in the exponent"),
            ("1x", "unexpected"),
            ("12345678901234567890123456789012345", "34 significant"),
            ("1e6145", "exponent out of range"),
            ("1e99999999999", "exponent out of range"),
            ("NaN", "expected digits"),
        ] {
            assert!(msg(check_dec128(bad)).contains(why), "{bad}");
        }
    }

    #[test]
    fn uuids_round_trip() {
        let text = "123e4567-e89b-12d3-a456-426614174000";
        let bytes = parse_uuid(text).unwrap();
        assert_eq!(format_uuid(&bytes), text);
        assert_eq!(parse_uuid(&text.to_uppercase()), Some(bytes));
        assert_eq!(parse_uuid("123e4567e89b12d3a456426614174000"), None);
        assert_eq!(parse_uuid("123e4567-e89b-12d3-a456-42661417400g"), None);
        assert_eq!(parse_uuid("123e4567-e89b-12d3-a456_426614174000"), None);
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z").ok(), Some(0));
        assert_eq!(
            parse_rfc3339_ns("2024-02-29T12:00:00.5Z").ok(),
            Some(1_709_208_000_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2024-02-29T14:00:00.5+02:00").ok(),
            Some(1_709_208_000_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("1969-12-31T23:59:59.999999999z").ok(),
            Some(-1)
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01",
            "2024-01-01T00:00:00+2:00",
            "2024-1-01T00:00:00Z",
        ] {
            assert!(msg(parse_rfc3339_ns(bad)).contains("RFC 3339"), "{bad}");
        }
    }

    #[test]
    fn base64_padding_optional_on_read() {
        assert_eq!(b64_encode(b"hi"), "aGk=");
        assert_eq!(b64_decode("aGk=").ok(), Some(b"hi".to_vec()));
        assert_eq!(b64_decode("aGk").ok(), Some(b"hi".to_vec()));
        assert!(msg(b64_decode("a!")).contains("invalid base64"));
    }
}
