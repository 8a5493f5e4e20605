//! Nova 15.0.0's JSON-schema checks for the os-cloudpipe bodies, with the exact messages its
//! validator gives (nova/api/validation/validators.py): the first error jsonschema finds, walking
//! the schema's keywords in their written order (type, properties, required,
//! additionalProperties); a nested error reads
//! `Invalid input for field/attribute <field>. Value: <value>. <message>`.
//!
//! Values are printed the way Python 3 prints them (`'text'`, `None`, `{'k': 1}`). One known
//! difference: Python lists unexpected keys in the order the client sent them, we sort them.

use serde_json::{Map, Value};

const PROJECT_ID_PATTERN: &str = "^[a-zA-Z0-9-]*$";
const PORT_PATTERN: &str = "^[0-9]*$";

/// `POST os-cloudpipe`: `{"cloudpipe": {"project_id"?: project_id}}`, nothing else.
pub fn validate_create(body: &Value) -> Result<(), String> {
    let top = as_object(body)?;
    if let Some(cloudpipe) = top.get("cloudpipe") {
        let fields = nested_object("cloudpipe", cloudpipe)?;
        if let Some(project_id) = fields.get("project_id") {
            check_project_id(project_id).map_err(|m| nested("project_id", project_id, &m))?;
        }
        no_extra_keys(fields, &["project_id"]).map_err(|m| nested("cloudpipe", cloudpipe, &m))?;
    }
    require(top, &["cloudpipe"])?;
    no_extra_keys(top, &["cloudpipe"])
}

/// `PUT os-cloudpipe/configure-project`: `{"configure_project": {"vpn_ip", "vpn_port"}}`.
pub fn validate_configure(body: &Value) -> Result<(), String> {
    let top = as_object(body)?;
    if let Some(configure) = top.get("configure_project") {
        let fields = nested_object("configure_project", configure)?;
        if let Some(ip) = fields.get("vpn_ip") {
            check_ip_address(ip).map_err(|m| nested("vpn_ip", ip, &m))?;
        }
        if let Some(port) = fields.get("vpn_port") {
            check_port(port).map_err(|m| nested("vpn_port", port, &m))?;
        }
        let expected = ["vpn_ip", "vpn_port"];
        require(fields, &expected).map_err(|m| nested("configure_project", configure, &m))?;
        no_extra_keys(fields, &expected).map_err(|m| nested("configure_project", configure, &m))?;
    }
    require(top, &["configure_project"])?;
    no_extra_keys(top, &["configure_project"])
}

/// Server metadata bodies with `parameter_types.metadata` under `field`: `{"metadata": {...}}`
/// (create, replace all) or, with `one_item`, `{"meta": {key: value}}` (exactly one item). Keys
/// match `^[a-zA-Z0-9-_:. ]{1,255}$`; values are strings of at most 255 characters.
pub fn validate_metadata(body: &Value, field: &str, one_item: bool) -> Result<(), String> {
    let top = as_object(body)?;
    if let Some(items) = top.get(field) {
        let map = nested_object(field, items)?;
        let keys: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|key| is_metadata_key(key))
            .collect();
        for key in &keys {
            let value = &map[*key];
            match value.as_str() {
                None => {
                    let message = format!("{} is not of type 'string'", py_repr(value));
                    return Err(nested(key, value, &message));
                }
                Some(text) if text.chars().count() > 255 => {
                    return Err(nested(
                        key,
                        value,
                        &format!("{} is too long", py_repr(value)),
                    ));
                }
                Some(_) => {}
            }
        }
        no_extra_keys(map, &keys).map_err(|m| nested(field, items, &m))?;
        if one_item && map.is_empty() {
            let message = format!("{} does not have enough properties", py_repr(items));
            return Err(nested(field, items, &message));
        }
        if one_item && map.len() > 1 {
            let message = format!("{} has too many properties", py_repr(items));
            return Err(nested(field, items, &message));
        }
    }
    require(top, &[field])?;
    no_extra_keys(top, &[field])
}

fn is_metadata_key(key: &str) -> bool {
    (1..=255).contains(&key.chars().count())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
}

fn as_object(value: &Value) -> Result<&Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{} is not of type 'object'", py_repr(value)))
}

fn nested_object<'a>(field: &str, value: &'a Value) -> Result<&'a Map<String, Value>, String> {
    as_object(value).map_err(|m| nested(field, value, &m))
}

fn nested(field: &str, value: &Value, message: &str) -> String {
    format!(
        "Invalid input for field/attribute {field}. Value: {}. {message}",
        py_str(value)
    )
}

fn require(object: &Map<String, Value>, keys: &[&str]) -> Result<(), String> {
    match keys.iter().find(|key| !object.contains_key(**key)) {
        Some(missing) => Err(format!("'{missing}' is a required property")),
        None => Ok(()),
    }
}

fn no_extra_keys(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    let extras: Vec<String> = object
        .keys()
        .filter(|key| !allowed.contains(&key.as_str()))
        .map(|key| py_repr_str(key))
        .collect();
    match extras.len() {
        0 => Ok(()),
        1 => Err(format!(
            "Additional properties are not allowed ({} was unexpected)",
            extras[0]
        )),
        _ => Err(format!(
            "Additional properties are not allowed ({} were unexpected)",
            extras.join(", ")
        )),
    }
}

/// `parameter_types.project_id`: string, 1..=255 characters, `^[a-zA-Z0-9-]*$`.
fn check_project_id(value: &Value) -> Result<(), String> {
    let Some(text) = value.as_str() else {
        return Err(format!("{} is not of type 'string'", py_repr(value)));
    };
    let length = text.chars().count();
    if length < 1 {
        return Err(format!("{} is too short", py_repr(value)));
    }
    if length > 255 {
        return Err(format!("{} is too long", py_repr(value)));
    }
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "{} does not match '{PROJECT_ID_PATTERN}'",
            py_repr(value)
        ));
    }
    Ok(())
}

/// `parameter_types.ip_address`: a string that is an IPv4 or an IPv6 address (`oneOf`).
fn check_ip_address(value: &Value) -> Result<(), String> {
    let Some(text) = value.as_str() else {
        return Err(format!("{} is not of type 'string'", py_repr(value)));
    };
    if is_ipv4(text) || text.parse::<std::net::Ipv6Addr>().is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{} is not valid under any of the given schemas",
            py_repr(value)
        ))
    }
}

/// jsonschema 2.x's `ipv4` format: four groups of 1-3 digits, each at most 255. Laxer than
/// Rust's parser (it accepts leading zeros), so written out.
fn is_ipv4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('.').collect();
    groups.len() == 4
        && groups.iter().all(|group| {
            (1..=3).contains(&group.len())
                && group.bytes().all(|b| b.is_ascii_digit())
                && group.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// `parameter_types.tcp_udp_port`: an integer 0..=65535, or a non-empty string of digits (as in
/// jsonschema, the bounds do not apply to strings).
fn check_port(value: &Value) -> Result<(), String> {
    match value {
        Value::Number(number) if number.is_i64() || number.is_u64() => {
            if number.as_i64().is_some_and(|n| n < 0) {
                Err(format!("{number} is less than the minimum of 0"))
            } else if number.as_u64().is_some_and(|n| n > 65535) {
                Err(format!("{number} is greater than the maximum of 65535"))
            } else {
                Ok(())
            }
        }
        Value::String(text) => {
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                Err(format!(
                    "{} does not match '{PORT_PATTERN}'",
                    py_repr(value)
                ))
            } else if text.is_empty() {
                Err(format!("{} is too short", py_repr(value)))
            } else {
                Ok(())
            }
        }
        _ => Err(format!(
            "{} is not of type 'integer', 'string'",
            py_repr(value)
        )),
    }
}

/// Python's `str()` of a decoded JSON value: strings bare, everything else as `repr()`.
fn py_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a decoded JSON value.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => match number.as_f64() {
            Some(float) if !(number.is_i64() || number.is_u64()) => py_float(float),
            _ => number.to_string(),
        },
        Value::String(text) => py_repr_str(text),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(key, item)| format!("{}: {}", py_repr_str(key), py_repr(item)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_float(float: f64) -> String {
    if float.fract() == 0.0 && float.abs() < 1e16 {
        format!("{float:.1}")
    } else {
        float.to_string()
    }
}

/// Python picks double quotes only when the text holds a single quote and no double quote.
fn py_repr_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_messages_follow_nova() {
        assert_eq!(validate_create(&json!({"cloudpipe": {}})), Ok(()));
        assert_eq!(
            validate_create(&json!({})).unwrap_err(),
            "'cloudpipe' is a required property"
        );
        assert_eq!(
            validate_create(&Value::Null).unwrap_err(),
            "None is not of type 'object'"
        );
        assert_eq!(
            validate_create(&json!({"cloudpipe": {"project_id": "bad.project.id"}})).unwrap_err(),
            "Invalid input for field/attribute project_id. Value: bad.project.id. \
             'bad.project.id' does not match '^[a-zA-Z0-9-]*$'"
        );
        assert_eq!(
            validate_create(&json!({"cloudpipe": {"x": 1}})).unwrap_err(),
            "Invalid input for field/attribute cloudpipe. Value: {'x': 1}. \
             Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            validate_create(&json!({"cloudpipe": {}, "a": 1, "b": 2})).unwrap_err(),
            "Additional properties are not allowed ('a', 'b' were unexpected)"
        );
    }

    #[test]
    fn configure_messages_follow_nova() {
        let ok = json!({"configure_project": {"vpn_ip": "192.0.2.10", "vpn_port": "1194"}});
        assert_eq!(validate_configure(&ok), Ok(()));
        assert_eq!(
            validate_configure(
                &json!({"configure_project": {"vpn_ip": "1.2.3.4", "vpn_port": 70000}})
            )
            .unwrap_err(),
            "Invalid input for field/attribute vpn_port. Value: 70000. 70000 is greater than the maximum of 65535"
        );
        assert_eq!(
            validate_configure(&json!({"configure_project": {"vpn_ip": "nope", "vpn_port": 1}}))
                .unwrap_err(),
            "Invalid input for field/attribute vpn_ip. Value: nope. 'nope' is not valid under any of the given schemas"
        );
        assert_eq!(
            validate_configure(&json!({"configure_project": {"vpn_port": ""}})).unwrap_err(),
            "Invalid input for field/attribute vpn_port. Value: . '' is too short"
        );
        assert_eq!(
            validate_configure(&json!({"configure_project": {"vpn_port": true}})).unwrap_err(),
            "Invalid input for field/attribute vpn_port. Value: True. True is not of type 'integer', 'string'"
        );
        assert_eq!(
            validate_configure(&json!({"configure_project": {"vpn_port": "1"}})).unwrap_err(),
            "Invalid input for field/attribute configure_project. Value: {'vpn_port': '1'}. \
             'vpn_ip' is a required property"
        );
    }

    #[test]
    fn python_repr_of_strings_and_floats() {
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_repr(&json!("a'\"b")), "'a\\'\"b'");
        assert_eq!(py_repr(&json!(1.0)), "1.0");
        assert_eq!(py_repr(&json!([null, false])), "[None, False]");
    }
}
