//! A tenant connection's `device_type`, `device_interface_id` and `attachment_opts`, checked the
//! way eclcloud builds them (`ComputeServer`, `BaremetalServer` and `Vna` in
//! `tenant_connections/requests.go`) and terraform-provider-ecl validates them:
//!
//! | device_type | device_interface_id | attachment_opts keys |
//! |---|---|---|
//! | `ECL::Compute::Server` | not allowed | `fixed_ips [{ip_address, subnet_id}]`, `allowed_address_pairs [{ip_address, mac_address}]` |
//! | `ECL::Baremetal::Server` | required | the same, plus `segmentation_type` (`flat`, `vlan`) and `segmentation_id` |
//! | `ECL::VirtualNetworkAppliance::VSRX` | required | `fixed_ips [{ip_address}]` |
//!
//! Where the sources are silent the emulator is strict (unknown keys are refused) except for
//! what real clients send: eclcli sends `segmentation_id` as a string of digits, and
//! terraform-provider-ecl sends `0` for one not set.

use std::net::IpAddr;

use axum::response::Response;
use serde_json::{Map, Value};

use crate::ecl_fields::{bad_request, refuse_unknown};
use crate::resources::DeviceType;

pub fn device_type(fields: &Map<String, Value>) -> Result<DeviceType, Response> {
    let choices = DeviceType::ALL.map(DeviceType::as_str).join(", ");
    match fields.get("device_type") {
        Some(Value::String(text)) => DeviceType::parse(text).ok_or_else(|| {
            bad_request(&format!(
                "Invalid input for device_type: '{text}' is not one of {choices}."
            ))
        }),
        _ => Err(bad_request(&format!(
            "Invalid input for device_type: it is required and must be one of {choices}."
        ))),
    }
}

/// `""` for a compute server; the device's interface (a physical port, a vSRX interface such as
/// `interface_2`) otherwise.
pub fn device_interface_id(
    fields: &Map<String, Value>,
    device: DeviceType,
) -> Result<String, Response> {
    let given = match fields.get("device_interface_id") {
        None => "",
        Some(Value::String(text)) => text.as_str(),
        Some(_) => {
            return Err(bad_request(
                "Invalid input for device_interface_id: must be a string.",
            ));
        }
    };
    match device {
        DeviceType::ComputeServer if !given.is_empty() => Err(bad_request(
            "device_interface_id must not be given for ECL::Compute::Server.",
        )),
        DeviceType::BaremetalServer | DeviceType::Vsrx if given.is_empty() => {
            Err(bad_request(&format!(
                "device_interface_id is required when device_type is {}.",
                device.as_str()
            )))
        }
        _ => Ok(given.to_owned()),
    }
}

/// The checked `attachment_opts`, as sent (`{}` when absent).
pub fn attachment_opts(fields: &Map<String, Value>, device: DeviceType) -> Result<Value, Response> {
    let opts = match fields.get("attachment_opts") {
        None => return Ok(Value::Object(Map::new())),
        Some(Value::Object(opts)) => opts,
        Some(_) => {
            return Err(bad_request(
                "Invalid input for attachment_opts: must be an object.",
            ));
        }
    };
    let (known, fixed_ip_keys): (&[&str], &[&str]) = match device {
        DeviceType::ComputeServer => (
            &["fixed_ips", "allowed_address_pairs"],
            &["ip_address", "subnet_id"],
        ),
        DeviceType::BaremetalServer => (
            &[
                "fixed_ips",
                "allowed_address_pairs",
                "segmentation_type",
                "segmentation_id",
            ],
            &["ip_address", "subnet_id"],
        ),
        DeviceType::Vsrx => (&["fixed_ips"], &["ip_address"]),
    };
    refuse_unknown(opts, known).map_err(|_| {
        bad_request(&format!(
            "Invalid input for attachment_opts: {} takes only {}.",
            device.as_str(),
            known.join(", ")
        ))
    })?;
    list(opts, "fixed_ips", fixed_ip_keys, check_fixed_ip)?;
    list(
        opts,
        "allowed_address_pairs",
        &["ip_address", "mac_address"],
        check_address_pair,
    )?;
    if let Some(kind) = opts.get("segmentation_type")
        && !matches!(kind.as_str(), Some("flat" | "vlan"))
    {
        return Err(bad_request(
            "Invalid input for attachment_opts.segmentation_type: must be flat or vlan.",
        ));
    }
    if let Some(id) = opts.get("segmentation_id") {
        let number = match id {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        };
        if number.is_none_or(|n| n > 65535) {
            return Err(bad_request(
                "Invalid input for attachment_opts.segmentation_id: must be an integer from 0 to 65535.",
            ));
        }
    }
    Ok(Value::Object(opts.clone()))
}

/// `key` is absent or a list of objects holding only `item_keys`, each passing `check`.
fn list(
    opts: &Map<String, Value>,
    key: &str,
    item_keys: &[&str],
    check: fn(&Map<String, Value>) -> Result<(), String>,
) -> Result<(), Response> {
    let Some(value) = opts.get(key) else {
        return Ok(());
    };
    let invalid =
        |why: &str| bad_request(&format!("Invalid input for attachment_opts.{key}: {why}"));
    let items = value.as_array().ok_or_else(|| invalid("must be a list."))?;
    for item in items {
        let item = item.as_object().ok_or_else(|| {
            invalid(&format!(
                "each item must be an object with {}.",
                item_keys.join(", ")
            ))
        })?;
        if let Some(extra) = item.keys().find(|k| !item_keys.contains(&k.as_str())) {
            return Err(invalid(&format!(
                "unknown key '{extra}' (an item takes {}).",
                item_keys.join(", ")
            )));
        }
        check(item).map_err(|why| invalid(&why))?;
    }
    Ok(())
}

fn string<'a>(item: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match item.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string.")),
    }
}

fn check_fixed_ip(item: &Map<String, Value>) -> Result<(), String> {
    let ip = string(item, "ip_address")?;
    let subnet = string(item, "subnet_id")?;
    if ip.is_none() && subnet.is_none() {
        return Err("each item needs an ip_address or a subnet_id.".to_owned());
    }
    match ip {
        Some(ip) if ip.parse::<IpAddr>().is_err() => {
            Err(format!("'{ip}' is not a valid IP address."))
        }
        _ => Ok(()),
    }
}

/// eclcli documents the address as `ipv4|cidr`.
fn check_address_pair(item: &Map<String, Value>) -> Result<(), String> {
    let Some(address) = string(item, "ip_address")? else {
        return Err("each item needs an ip_address.".to_owned());
    };
    let (ip, prefix) = address.split_once('/').unwrap_or((address, "0"));
    let valid_prefix = prefix.parse::<u8>().is_ok_and(|p| p <= 128);
    if ip.parse::<IpAddr>().is_err() || !valid_prefix {
        return Err(format!("'{address}' is not a valid IP address or CIDR."));
    }
    if let Some(mac) = string(item, "mac_address")? {
        let octets: Vec<&str> = mac.split(':').collect();
        let valid = octets.len() == 6
            && octets
                .iter()
                .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            return Err(format!("'{mac}' is not a valid MAC address."));
        }
    }
    Ok(())
}
