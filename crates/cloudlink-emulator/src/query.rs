//! A request's query string, read once the way every emulated service reads it: form-urlencoded
//! pairs in their order, a name possibly repeated.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The query parameters of a request (a handler argument).
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::parse(parts.uri.query().unwrap_or_default()))
    }
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// Every pair, in the order sent.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Whether `name` is present, with or without a value.
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in the order sent.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A list filter: whether `actual` passes `name`, i.e. `name` is absent or one of its values
    /// is `actual` (a repeated parameter matches any of its values).
    pub fn admits(&self, name: &str, actual: &str) -> bool {
        !self.has(name) || self.values(name).any(|v| v == actual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_flags() {
        let q = Query::parse("status=registered&status=approved&name=a%20b&nocatalog");
        assert!(q.admits("status", "approved") && !q.admits("status", "denied"));
        assert!(q.admits("network_id", "anything"));
        assert_eq!(q.first("name"), Some("a b"));
        assert!(q.has("nocatalog") && !q.has("catalog"));
        assert_eq!(q.pairs().len(), 4);
    }
}
