//! Tolerant decoding of what the real service and its documentation send.
//!
//! CCC's examples render numbers and booleans as strings (`"200"`, `"false"`,
//! `"1609253205896"`), use the placeholder `"无"` ("none") for empty values, and
//! encode lists either as JSON arrays or as JSON text inside a string
//! (`"[\"skill-group@ccc-test\"]"`). The helpers here accept all of these and
//! never need `serde_json`, so the crate stays small inside the widget.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// The documentation's placeholder for "no value".
pub const PLACEHOLDER: &str = "无";

/// True for values that mean "nothing here": empty, blank or `无`.
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t == PLACEHOLDER
}

/// An optional string that may arrive as a string, a number, a boolean,
/// `null`, or the `无` placeholder (which, like `""`, means `None`).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, number, boolean or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok((!is_placeholder(v)).then(|| v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok((!is_placeholder(&v)).then_some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // JavaScript numbers arrive as f64; integral ones print without ".0".
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(Some((v as i64).to_string()))
            } else {
                Ok(Some(v.to_string()))
            }
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A required string with the same tolerance as [`opt_string`]; a missing or
/// placeholder value becomes `""`.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// An optional integer that may arrive as a number or a numeric string.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer, a numeric string or null")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("integer out of range"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(Some(v as i64))
            } else {
                Err(E::custom(format!("expected an integer, got {v}")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if is_placeholder(v) {
                return Ok(None);
            }
            v.trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| E::custom(format!("expected an integer, got {v:?}")))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// An integer (number or numeric string); missing or placeholder is `0`.
pub fn i64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_i64(d)?.unwrap_or_default())
}

/// An HTTP status as a number or numeric string (`"200"`).
pub fn status<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let v = opt_i64(d)?.unwrap_or(200);
    u16::try_from(v).map_err(|_| de::Error::custom(format!("HTTP status out of range: {v}")))
}

/// A boolean sent as `true`, `"true"`, `"false"`, `1`, `0`; placeholder and
/// `null` mean `false`.
pub fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean or \"true\"/\"false\"")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
            Ok(v != 0.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" | "" | PLACEHOLDER => Ok(false),
                other => Err(E::custom(format!("expected a boolean, got {other:?}"))),
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<bool, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A list of strings sent as a JSON array, as JSON text inside a string
/// (`"[\"a\",\"b\"]"`), as a single bare token (`"MONITORING"`), as a
/// comma-separated string, or as the placeholder / `null` (empty list).
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings, or a string holding one")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<Lenient>()? {
                if let Some(s) = item.0 {
                    out.push(s);
                }
            }
            Ok(out)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_list_text(v).map_err(E::custom)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// One list element, decoded as leniently as [`opt_string`].
struct Lenient(Option<String>);

impl<'de> serde::Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_string(d).map(Lenient)
    }
}

/// Parses list text: `[]`, `["a","b"]`, `[a, b]`, `a,b`, `a`, `无`, `""`.
///
/// JSON string escapes (`\"`, `\\`, `\/`, `\n`, `\t`, `\uXXXX`) are decoded.
pub fn parse_list_text(text: &str) -> Result<Vec<String>, String> {
    let t = text.trim();
    if is_placeholder(t) {
        return Ok(Vec::new());
    }
    let Some(inner) = t.strip_prefix('[') else {
        return Ok(split_bare(t));
    };
    let inner = inner
        .strip_suffix(']')
        .ok_or_else(|| format!("unterminated list: {text:?}"))?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.peek() {
            None => break,
            Some('"') => {
                chars.next();
                out.push(read_json_string(&mut chars, text)?);
            }
            Some(_) => {
                let mut token = String::new();
                while let Some(c) = chars.peek().copied() {
                    if c == ',' {
                        break;
                    }
                    token.push(c);
                    chars.next();
                }
                let token = token.trim();
                if !is_placeholder(token) && token != "null" {
                    out.push(token.to_owned());
                }
            }
        }
    }
    Ok(out)
}

fn split_bare(t: &str) -> Vec<String> {
    t.split(',')
        .map(str::trim)
        .filter(|s| !is_placeholder(s))
        .map(str::to_owned)
        .collect()
}

fn read_json_string(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    whole: &str,
) -> Result<String, String> {
    let mut s = String::new();
    loop {
        match chars.next() {
            None => return Err(format!("unterminated string in list: {whole:?}")),
            Some('"') => return Ok(s),
            Some('\\') => match chars.next() {
                Some('"') => s.push('"'),
                Some('\\') => s.push('\\'),
                Some('/') => s.push('/'),
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("bad \\u escape in list: {whole:?}"))?;
                    s.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                _ => return Err(format!("bad escape in list: {whole:?}")),
            },
            Some(c) => s.push(c),
        }
    }
}

/// What a "never fails" field decodes to: the value when it has the
/// expected shape, `None` for anything else (which is skipped, not an
/// error). Used for the optional fields of pushed events, so one odd field
/// never costs the whole event.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Int,
    Bool,
    Text,
}

#[derive(Debug)]
enum Scalar {
    Int(i64),
    Bool(bool),
    Text(String),
}

struct Tolerant(Shape);

impl<'de> Visitor<'de> for Tolerant {
    type Value = Option<Scalar>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(match self.0 {
            Shape::Bool => Some(Scalar::Bool(v)),
            Shape::Text => Some(Scalar::Text(v.to_string())),
            Shape::Int => None,
        })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(match self.0 {
            Shape::Int => Some(Scalar::Int(v)),
            Shape::Text => Some(Scalar::Text(v.to_string())),
            Shape::Bool => None,
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Ok(None),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            self.visit_i64(v as i64)
        } else {
            Ok(None)
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        Ok(match self.0 {
            Shape::Text => Some(Scalar::Text(v.to_owned())),
            Shape::Int => t.parse().ok().map(Scalar::Int),
            Shape::Bool => t.parse().ok().map(Scalar::Bool),
        })
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
}

/// An integer as a number or numeric string; anything else is `None`.
pub fn tolerant_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match d.deserialize_any(Tolerant(Shape::Int))? {
        Some(Scalar::Int(v)) => Some(v),
        _ => None,
    })
}

/// A boolean as `true` or `"true"`; anything else is `None`.
pub fn tolerant_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match d.deserialize_any(Tolerant(Shape::Bool))? {
        Some(Scalar::Bool(v)) => Some(v),
        _ => None,
    })
}

/// A string (numbers and booleans as text); lists, maps, `null` are `None`.
pub fn tolerant_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match d.deserialize_any(Tolerant(Shape::Text))? {
        Some(Scalar::Text(v)) => Some(v),
        _ => None,
    })
}

struct TolerantItem(Option<String>);

impl<'de> serde::Deserialize<'de> for TolerantItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tolerant_string(d).map(TolerantItem)
    }
}

struct TolerantInt(Option<i64>);

impl<'de> serde::Deserialize<'de> for TolerantInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        tolerant_i64(d).map(TolerantInt)
    }
}

/// A list of strings (non-string items skipped); a string holding list
/// text as [`parse_list_text`]; anything else is `None`.
pub fn tolerant_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("anything")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(TolerantItem(item)) = seq.next_element()? {
                out.extend(item);
            }
            Ok(Some(out))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(parse_list_text(v).ok())
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Tolerant(Shape::Text).visit_map(map).map(|_| None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

/// A map of names to integers (`skillLevels`); entries whose value is not
/// an integer are skipped; anything but a map is `None`.
pub fn tolerant_levels<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<std::collections::BTreeMap<String, i64>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<std::collections::BTreeMap<String, i64>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("anything")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = std::collections::BTreeMap::new();
            while let Some((k, TolerantInt(v))) = map.next_entry::<String, TolerantInt>()? {
                if let Some(v) = v {
                    out.insert(k, v);
                }
            }
            Ok(Some(out))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Tolerant(Shape::Text).visit_seq(seq).map(|_| None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_text_forms() {
        assert_eq!(parse_list_text("[]").unwrap(), Vec::<String>::new());
        assert_eq!(parse_list_text("无").unwrap(), Vec::<String>::new());
        assert_eq!(parse_list_text("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_list_text("MONITORING").unwrap(), vec!["MONITORING"]);
        assert_eq!(
            parse_list_text("HOLD,MUTED").unwrap(),
            vec!["HOLD", "MUTED"]
        );
        assert_eq!(
            parse_list_text(r#"["skill-group@ccc-test", "b\"q\u00e9"]"#).unwrap(),
            vec!["skill-group@ccc-test", "b\"qé"]
        );
        assert_eq!(
            parse_list_text("[MUTED, HOLD]").unwrap(),
            vec!["MUTED", "HOLD"]
        );
        assert!(parse_list_text("[\"open").is_err());
        assert!(parse_list_text("[\"a\"").is_err());
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("无"));
        assert!(is_placeholder("  "));
        assert!(!is_placeholder("0"));
    }
}
