//! Lenient field decoders for cloud answers.
//!
//! Real clouds (and their recorded fixtures) are loose: a field documented as a string comes
//! back `null`, a port comes back as `"1194"`, and ECL once answered `"tags_other": "{}"` — a
//! string where a map belongs. One odd field must not make a whole answer unreadable, so
//! per-field decoding here never fails; the envelope (`{"cloudpipes": […]}` and so on) stays
//! strict, and a wrong envelope is an `InvalidResponse`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string from a string, number or boolean; `""` from null; JSON text from anything else.
pub(crate) fn de_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?).unwrap_or_default())
}

/// `None` for absent, null or `""`; otherwise as [`de_string`].
pub(crate) fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?).filter(|s| !s.is_empty()))
}

fn value_to_string(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// An integer from a number or a numeric string; `None` otherwise.
pub(crate) fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// `true` only for JSON `true` (or the string "true"); anything else is `false`.
pub(crate) fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// `T` if the value has `T`'s shape, `T::default()` otherwise (null included).
pub(crate) fn null_as_default<
    'de,
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
>(
    d: D,
) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).unwrap_or_default())
}

/// A string → string map, from a JSON object (non-string values kept as JSON text), from a
/// string holding a JSON object (ECL's `"tags_other": "{}"`), or empty from anything else.
pub(crate) fn de_tags<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(tags_from_value(Value::deserialize(d)?))
}

fn tags_from_value(v: Value) -> BTreeMap<String, String> {
    match v {
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| (k, value_to_string(v).unwrap_or_default()))
            .collect(),
        Value::String(s) => match serde_json::from_str::<Value>(&s) {
            Ok(inner @ Value::Object(_)) => tags_from_value(inner),
            _ => BTreeMap::new(),
        },
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct T {
        #[serde(deserialize_with = "de_string")]
        s: String,
        #[serde(deserialize_with = "de_opt_string")]
        o: Option<String>,
        #[serde(deserialize_with = "de_opt_i64")]
        n: Option<i64>,
        #[serde(deserialize_with = "de_tags")]
        tags: BTreeMap<String, String>,
        #[serde(deserialize_with = "null_as_default")]
        list: Vec<String>,
        #[serde(deserialize_with = "de_bool")]
        b: bool,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tolerant_fields() {
        let v = t(r#"{"s": null, "o": "", "n": "1194", "tags": "{}", "list": null, "b": null}"#);
        assert_eq!(v.s, "");
        assert_eq!(v.o, None);
        assert_eq!(v.n, Some(1194));
        assert!(v.tags.is_empty() && v.list.is_empty() && !v.b);

        let v = t(
            r#"{"s": 5, "o": "x", "n": 1194.0, "tags": "{\"a\": \"b\", \"n\": 1}", "list": "nope", "b": true}"#,
        );
        assert_eq!(v.s, "5");
        assert_eq!(v.o.as_deref(), Some("x"));
        assert_eq!(v.n, Some(1194));
        assert_eq!(v.tags.get("a").map(String::as_str), Some("b"));
        assert_eq!(v.tags.get("n").map(String::as_str), Some("1"));
        assert!(v.list.is_empty() && v.b);

        let v = t(r#"{"s": {"a": 1}, "n": "x", "tags": [1, 2], "list": ["a"]}"#);
        assert_eq!(v.s, r#"{"a":1}"#);
        assert_eq!(v.n, None);
        assert!(v.tags.is_empty());
        assert_eq!(v.list, vec!["a"]);
        assert!(t(r#"{"tags": "not json"}"#).tags.is_empty());
        assert!(t("{}").tags.is_empty());
    }
}
