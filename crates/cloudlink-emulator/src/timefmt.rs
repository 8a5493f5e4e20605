//! The time formats the emulated APIs print (each service has its own).

use jiff::Timestamp;

/// Nova's `created_at` / `created`: whole seconds, `Z` (`nova.utils.isotime`).
pub fn nova(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Keystone's `expires_at` / `issued_at`: microseconds, `Z`.
pub fn keystone(ts: Timestamp) -> String {
    format!(
        "{}.{:06}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ts.subsec_microsecond()
    )
}

/// SSS approval times: `YYYY-MM-DD hh:mm:ss` (UTC), as in eclcloud's fixtures.
pub fn sss(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S").to_string()
}
