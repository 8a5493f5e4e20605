//! A string that must never be printed: passwords, application-credential secrets, tokens.
//!
//! `Secret` has no `Display`, and its `Debug` prints `<redacted>`, so a `{:?}` of any struct that
//! holds one (a parsed clouds.yaml, a session, a token) cannot leak it into logs, events or
//! error messages. The value is reachable only through [`Secret::expose`], which is easy to grep.

use std::fmt;

/// A credential or token. Compared and hashed by value so that a cache keyed by credentials can
/// tell two credentials apart, but never shown.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call only where it goes onto the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:#?}", Some(&s)), "Some(\n    <redacted>,\n)");
        assert_eq!(s.expose(), "hunter2");
    }
}
