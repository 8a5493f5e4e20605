//! The body rules provider-connectivity's two resources share (`ecl.rs` for tenant connection
//! requests, `ecl_connections.rs` for tenant connections): the wrapped object, refused unknown
//! keys, text, id and tag fields, and the update split between the requesting tenant (`name`,
//! `description`, `tags`) and the network owner (the `*_other` fields).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::body::{self, BodyError};
use crate::caller::Caller;
use crate::errors::{self, Service};

const MAX_TEXT: usize = 255;

pub const REQUESTER_FIELDS: [&str; 3] = ["name", "description", "tags"];
pub const OWNER_FIELDS: [&str; 3] = ["name_other", "description_other", "tags_other"];

pub fn bad_request(message: &str) -> Response {
    errors::cause(StatusCode::BAD_REQUEST, message)
}

/// The `key` object of a create or update body (`tenant_connection_request`, `tenant_connection`).
pub async fn read_object(body: Body, key: &str) -> Result<Map<String, Value>, Response> {
    let request = match body::read_json(body).await {
        Ok(request) => request.unwrap_or(Value::Null),
        Err(BodyError::TooLarge) => return Err(errors::too_large(Service::Ecl)),
        Err(BodyError::Malformed) => return Err(bad_request("Malformed request body")),
    };
    match request.get(key) {
        Some(Value::Object(fields)) => Ok(fields.clone()),
        _ => Err(bad_request(&format!(
            "Invalid request body: a '{key}' object is required."
        ))),
    }
}

/// Unknown keys are refused rather than ignored, Neutron-style: a client sending a misspelt field
/// should find out here, not in production.
pub fn refuse_unknown(fields: &Map<String, Value>, known: &[&str]) -> Result<(), Response> {
    let unknown: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(bad_request(&format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        )))
    }
}

/// An update may not touch what is fixed once created.
pub fn refuse_fixed(fields: &Map<String, Value>, fixed: &[&str]) -> Result<(), Response> {
    match fields.keys().find(|k| fixed.contains(&k.as_str())) {
        Some(key) => Err(bad_request(&format!(
            "Attribute '{key}' cannot be updated."
        ))),
        None => Ok(()),
    }
}

pub fn text_field(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, Response> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::String(text)) if text.chars().count() <= MAX_TEXT => Ok(Some(text.clone())),
        Some(_) => Err(bad_request(&format!(
            "Invalid input for {key}: must be a string of at most {MAX_TEXT} characters."
        ))),
    }
}

pub fn id_field(fields: &Map<String, Value>, key: &str) -> Result<String, Response> {
    match text_field(fields, key)? {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(bad_request(&format!(
            "Invalid input for {key}: it is required and must not be empty."
        ))),
    }
}

/// Tags are a string-to-string map (eclcloud types them `map[string]string`).
pub fn tags_field(
    fields: &Map<String, Value>,
    key: &str,
) -> Result<Option<BTreeMap<String, String>>, Response> {
    let Some(value) = fields.get(key) else {
        return Ok(None);
    };
    let invalid = || {
        bad_request(&format!(
            "Invalid input for {key}: must be an object whose values are strings."
        ))
    };
    let object = value.as_object().ok_or_else(invalid)?;
    object
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|v| (k.clone(), v.to_owned()))
                .ok_or_else(invalid)
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Each side updates only its own fields: the requester (`tenant_id`) name/description/tags, the
/// network owner (`tenant_id_other`) the `*_other` ones. The other side's field is refused with 403
/// (the DOCS say who "can update", not what the other side gets).
pub fn check_sides(
    fields: &Map<String, Value>,
    caller: &Caller,
    requester: &str,
    owner: &str,
) -> Result<(), Response> {
    for (side_fields, side_tenant, side) in [
        (
            &REQUESTER_FIELDS,
            requester,
            "the requesting tenant (tenant_id)",
        ),
        (
            &OWNER_FIELDS,
            owner,
            "the network owner tenant (tenant_id_other)",
        ),
    ] {
        if let Some(field) = side_fields.iter().find(|f| fields.contains_key(**f))
            && side_tenant != caller.project_id
        {
            return Err(errors::cause(
                StatusCode::FORBIDDEN,
                &format!("Only {side} can update {field}."),
            ));
        }
    }
    Ok(())
}

/// The six fields both sides label a resource with, borrowed for an update.
pub struct Labels<'a> {
    pub name: &'a mut String,
    pub description: &'a mut String,
    pub tags: &'a mut BTreeMap<String, String>,
    pub name_other: &'a mut String,
    pub description_other: &'a mut String,
    pub tags_other: &'a mut BTreeMap<String, String>,
}

/// An update's new values, checked before anything is touched. Only the fields sent change; `""`
/// and `{}` clear (eclcloud's `UpdateNilRequest` / `UpdateBlankRequest` fixtures).
pub struct Changes {
    name: Option<String>,
    description: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    name_other: Option<String>,
    description_other: Option<String>,
    tags_other: Option<BTreeMap<String, String>>,
}

impl Changes {
    /// Reads an update body whose fixed fields were refused already; anything else unknown is
    /// refused here.
    pub fn read(fields: &Map<String, Value>) -> Result<Changes, Response> {
        let known: Vec<&str> = REQUESTER_FIELDS
            .iter()
            .chain(OWNER_FIELDS.iter())
            .copied()
            .collect();
        refuse_unknown(fields, &known)?;
        Ok(Changes {
            name: text_field(fields, "name")?,
            description: text_field(fields, "description")?,
            tags: tags_field(fields, "tags")?,
            name_other: text_field(fields, "name_other")?,
            description_other: text_field(fields, "description_other")?,
            tags_other: tags_field(fields, "tags_other")?,
        })
    }

    pub fn apply(self, labels: Labels<'_>) {
        fn set<T>(target: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *target = value;
            }
        }
        set(labels.name, self.name);
        set(labels.description, self.description);
        set(labels.tags, self.tags);
        set(labels.name_other, self.name_other);
        set(labels.description_other, self.description_other);
        set(labels.tags_other, self.tags_other);
    }
}
