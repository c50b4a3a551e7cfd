//! How Kubernetes types a YAML scalar: go-yaml v2's `resolve` (resolve.go)
//! and the tag checks of its decoder (decode.go), as `kubectl -f` and the API
//! machinery run them. Ground truth: `shared/data/k8s-yaml-scalar-oracle.tsv`
//! (a table test) and `shared/research/go-yaml.md`.
//!
//! - Quoted and block scalars without a tag are strings.
//! - A plain scalar is looked up by its first byte: `+ - 0-9` may be numbers,
//!   `y Y n N t T f F o O ~` may be in the YAML 1.1 table of booleans and
//!   nulls, `.` may be a float (`.5`, `.inf`); anything else is a string.
//! - Integers follow Go's `strconv.ParseInt(s, 0, 64)` after removing every
//!   `_` (`0x1F`, `0o17`, `0b101`, `0777` octal), then `ParseUint`; floats
//!   match `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` and must
//!   not overflow (`1e400` is a string). `1.2.3` and `10.0.0.1` are strings.
//! - `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp` resolve
//!   even quoted text and must agree with it (`!!int "1"` is 1; `!!int abc`
//!   fails the file); `!` and unknown tags give the text as a string.

use std::borrow::Cow;

use super::tree::{Style, Tag};

/// A scalar's value as go-yaml v2 decodes it into `interface{}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

impl Scalar<'_> {
    /// What the value is, for messages ("a boolean").
    pub fn describe(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Int(_) | Scalar::Uint(_) | Scalar::Float(_) => "a number",
            Scalar::Str(_) => "a string",
        }
    }
}

/// The value of a scalar; a scalar whose tag disagrees with its text (which
/// fails the whole file, see `resolve_checked`) is read as its text.
pub fn resolve(text: &str, style: Style, tag: Tag) -> Scalar<'_> {
    resolve_checked(text, style, tag).unwrap_or(Scalar::Str(text))
}

/// The value, or the error go-yaml gives for it ("cannot decode !!str `abc`
/// as a !!int", bad `!!binary` data).
pub fn resolve_checked(text: &str, style: Style, tag: Tag) -> Result<Scalar<'_>, String> {
    match tag {
        Tag::None if style != Style::Plain => return Ok(Scalar::Str(text)),
        Tag::NonSpecific | Tag::Other | Tag::Merge => return Ok(Scalar::Str(text)),
        Tag::Binary => {
            return if is_base64(text) {
                Ok(Scalar::Str(text))
            } else {
                Err("!!binary value contains invalid base64 data".into())
            };
        }
        _ => {}
    }
    let (found, value) = untyped(text, tag);
    match (tag, found) {
        (Tag::None | Tag::Str, _) => {}
        (t, f) if t == f => {}
        (Tag::Float, Tag::Int) => {
            return Ok(match value {
                Scalar::Int(i) => Scalar::Float(i as f64),
                Scalar::Uint(u) => Scalar::Float(u as f64),
                v => v,
            })
        }
        _ => {
            return Err(format!(
                "cannot decode {} `{}` as a {}",
                short(found),
                text,
                short(tag)
            ))
        }
    }
    Ok(value)
}

fn short(tag: Tag) -> &'static str {
    match tag {
        Tag::Str => "!!str",
        Tag::Int => "!!int",
        Tag::Float => "!!float",
        Tag::Bool => "!!bool",
        Tag::Null => "!!null",
        Tag::Timestamp => "!!timestamp",
        _ => "!!str",
    }
}

/// go-yaml's `resolve` for a resolvable tag: the tag the text resolves to and
/// its value (timestamps stay their text, as when decoding into `interface{}`).
fn untyped(text: &str, tag: Tag) -> (Tag, Scalar<'_>) {
    let hint = match text.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint == 0 || tag == Tag::Str {
        return (Tag::Str, Scalar::Str(text));
    }
    if let Some(v) = table(text) {
        return v;
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(text) {
                return (Tag::Float, Scalar::Float(f));
            }
        }
        b'D' | b'S' => {
            if matches!(tag, Tag::None | Tag::Timestamp) && is_timestamp(text) {
                return (Tag::Timestamp, Scalar::Str(text));
            }
            let plain: Cow<str> = if text.contains('_') {
                Cow::Owned(text.replace('_', ""))
            } else {
                Cow::Borrowed(text)
            };
            if let Some(i) = go_parse_int(&plain) {
                return (Tag::Int, Scalar::Int(i));
            }
            if let Some(u) = go_parse_uint(&plain) {
                return (Tag::Int, Scalar::Uint(u));
            }
            if is_yaml_style_float(&plain) {
                if let Some(f) = finite(&plain) {
                    return (Tag::Float, Scalar::Float(f));
                }
            }
        }
        _ => {}
    }
    (Tag::Str, Scalar::Str(text))
}

/// go-yaml's `resolveMap`: YAML 1.1 booleans, nulls, infinities and NaN.
fn table(text: &str) -> Option<(Tag, Scalar<'static>)> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            (Tag::Bool, Scalar::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            (Tag::Bool, Scalar::Bool(false))
        }
        "" | "~" | "null" | "Null" | "NULL" => (Tag::Null, Scalar::Null),
        ".nan" | ".NaN" | ".NAN" => (Tag::Float, Scalar::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (Tag::Float, Scalar::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => (Tag::Float, Scalar::Float(f64::NEG_INFINITY)),
        _ => return None,
    })
}

/// A float that did not overflow (Go's `ParseFloat` fails with ErrRange, and
/// go-yaml then keeps the text as a string).
fn finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `strconv.ParseFloat(s, 64)` for text that starts with `.`: decimal only,
/// `_` allowed between digits.
fn go_parse_float(s: &str) -> Option<f64> {
    if s.contains('_') {
        if !underscore_ok(s) {
            return None;
        }
        return finite(&s.replace('_', ""));
    }
    finite(s)
}

/// Go's `underscoreOK`: every `_` sits between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let b = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && (c | 0x20).is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// The digits and base of Go's base-0 integer syntax.
fn base_and_digits(s: &str) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    let (base, digits) = if b.len() >= 2 && b[0] == b'0' {
        match b[1] | 0x20 {
            b'x' => (16, &s[2..]),
            b'o' => (8, &s[2..]),
            b'b' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    // from_str_radix would accept a sign here; Go does not.
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    Some((base, digits))
}

/// `strconv.ParseUint(s, 0, 64)`.
fn go_parse_uint(s: &str) -> Option<u64> {
    let (base, digits) = base_and_digits(s)?;
    u64::from_str_radix(digits, base).ok()
}

/// `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml's `parseTimestamp`: four digits and `-`, then one of Go's layouts
/// `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` (also `t`), `2006-1-2 15:4:5.999999999`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let num = |t: &str, min: u32, max: u32, width: std::ops::RangeInclusive<usize>| {
        width.contains(&t.len())
            && t.bytes().all(|c| c.is_ascii_digit())
            && t.parse::<u32>().is_ok_and(|v| (min..=max).contains(&v))
    };
    let (date, time, zone_needed) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..]), s.as_bytes()[i] != b' '),
        None => (s, None, false),
    };
    let d: Vec<&str> = date.splitn(3, '-').collect();
    if d.len() != 3 || !num(d[1], 1, 12, 1..=2) || !num(d[2], 1, 31, 1..=2) {
        return false;
    }
    let Some(time) = time else { return true };
    let (clock, zone) = if zone_needed {
        match time.rfind(['Z', '+', '-']) {
            Some(i) => (&time[..i], &time[i..]),
            None => return false,
        }
    } else {
        (time, "")
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let t: Vec<&str> = hms.split(':').collect();
    if t.len() != 3
        || !num(t[0], 0, 23, 1..=2)
        || !num(t[1], 0, 59, 1..=2)
        || !num(t[2], 0, 59, 1..=2)
    {
        return false;
    }
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    match zone {
        "" | "Z" => true,
        z => {
            let z = &z[1..];
            z.len() == 5
                && num(&z[..2], 0, 23, 2..=2)
                && &z[2..3] == ":"
                && num(&z[3..], 0, 59, 2..=2)
        }
    }
}

/// Go's `base64.StdEncoding.DecodeString`, which skips line breaks.
fn is_base64(s: &str) -> bool {
    let b: Vec<u8> = s.bytes().filter(|c| *c != b'\n' && *c != b'\r').collect();
    if b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// A mapping key as sigs.k8s.io/yaml turns it into a JSON key, or why it
/// cannot (`unsupported map key`): integers in decimal, floats with Go's
/// `FormatFloat(k, 'g', -1, 32)`, booleans as `true`/`false`; null and
/// 64-bit unsigned keys fail the file.
pub fn key_string(value: &Scalar<'_>) -> Result<String, String> {
    Ok(match *value {
        Scalar::Str(s) => s.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Float(f) if f.is_nan() => ".nan".into(),
        Scalar::Float(f) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Scalar::Float(f) => go_format_g32(f),
        Scalar::Null | Scalar::Uint(_) => return Err(key_error(value).unwrap_or_default()),
    })
}

/// Why a key fails the file (`key_string`'s error), without building the
/// key's string: the parser asks this of every key.
pub fn key_error(value: &Scalar<'_>) -> Option<String> {
    match *value {
        Scalar::Null => Some("unsupported map key of type: <nil> (a null key)".into()),
        Scalar::Uint(u) => Some(format!("unsupported map key of type: uint64, key: {u}")),
        _ => None,
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`.
fn go_format_g32(f: f64) -> String {
    let f = f as f32;
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Go's -1 precision does.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{es}{:02}", exp.abs());
    }
    let dp = exp + 1;
    let s = if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{sign}{s}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(t: &str) -> Scalar<'_> {
        resolve(t, Style::Plain, Tag::None)
    }

    #[test]
    fn go_yaml_v2_typing() {
        assert_eq!(plain("0.33.1"), Scalar::Str("0.33.1"));
        assert_eq!(plain("0777"), Scalar::Int(511));
        assert_eq!(plain("08"), Scalar::Float(8.0));
        assert_eq!(plain("0x_1F"), Scalar::Int(31));
        assert_eq!(plain("1e400"), Scalar::Str("1e400"));
        assert_eq!(plain("+.nan"), Scalar::Str("+.nan"));
        assert_eq!(
            plain("9223372036854775808"),
            Scalar::Uint(9223372036854775808)
        );
        assert_eq!(plain("-9223372036854775808"), Scalar::Int(i64::MIN));
        assert_eq!(plain(".1_5"), Scalar::Float(0.15));
        assert_eq!(plain("yEs"), Scalar::Str("yEs"));
        assert_eq!(plain("y"), Scalar::Bool(true));
        assert_eq!(plain("2001-12-14"), Scalar::Str("2001-12-14"));
        assert_eq!(
            resolve("yes", Style::DoubleQuoted, Tag::None),
            Scalar::Str("yes")
        );
        assert_eq!(resolve("1", Style::DoubleQuoted, Tag::Int), Scalar::Int(1));
        assert_eq!(resolve("1", Style::Plain, Tag::Float), Scalar::Float(1.0));
        assert!(resolve_checked("abc", Style::Plain, Tag::Int).is_err());
        assert!(resolve_checked("1", Style::Plain, Tag::Bool).is_err());
        assert_eq!(resolve("12", Style::Plain, Tag::Other), Scalar::Str("12"));
        assert!(resolve_checked("2001-12-14", Style::Plain, Tag::Timestamp).is_ok());
        assert!(resolve_checked("/w==", Style::Plain, Tag::Binary).is_ok());
        assert!(resolve_checked("/w=", Style::Plain, Tag::Binary).is_err());
    }

    #[test]
    fn keys_as_json_keys() {
        let k = |t: &str| key_string(&plain(t));
        assert_eq!(k("yes").unwrap(), "true");
        assert_eq!(k("0x10").unwrap(), "16");
        assert_eq!(k("1e10").unwrap(), "1e+10");
        assert_eq!(k("3.14159265358979").unwrap(), "3.1415927");
        assert_eq!(k("12345678.9").unwrap(), "1.2345679e+07");
        assert_eq!(k("0.1").unwrap(), "0.1");
        assert_eq!(k("1.5").unwrap(), "1.5");
        assert_eq!(k(".inf").unwrap(), ".inf");
        assert_eq!(k("18446744073709551616").unwrap(), "1.8446744e+19");
        assert!(k("~").is_err());
        assert!(k("9223372036854775808").is_err());
    }
}
