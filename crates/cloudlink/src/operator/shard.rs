//! Shards: several operators, each reconciling the objects that match its label selector
//! (`cloudlink run --watch-label-selector`), as Flux shards its controllers. Objects name their
//! shard with the label [`KEY`]; the default shard watches `!KEY`, so every unlabelled object has
//! exactly one shard. Each shard elects its own leader, on a Lease of its own ([`lease_name`]).

use std::collections::BTreeSet;

use kube::core::{Expression, Selector};

/// The label that puts an object in a shard (Flux's `sharding.fluxcd.io/key`, in cloudlink's name).
pub const KEY: &str = "sharding.cloudlink.dev/key";

/// The Lease name when none is given and the operator watches everything, or the default shard.
pub const DEFAULT_LEASE: &str = "cloudlink-leader";

/// A Kubernetes label selector as `kubectl get -l` takes it, checked as the API server would
/// check it: a typo fails at start-up, not as an endless watch error. Returns the selector as it
/// is sent (kube's canonical form); an empty text selects everything.
pub fn parse(text: &str) -> Result<Selector, String> {
    split(text)?
        .into_iter()
        .map(|requirement| expression(requirement).map_err(|e| format!("{requirement:?}: {e}")))
        .collect()
}

/// The requirements of a selector: its commas, except those inside `in (…)` sets.
fn split(text: &str) -> Result<Vec<&str>, String> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(format!("unbalanced parentheses in {text:?}"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses in {text:?}"));
    }
    parts.push(text[start..].trim());
    if parts.len() == 1 && parts[0].is_empty() {
        return Ok(Vec::new());
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("empty requirement in {text:?}"));
    }
    Ok(parts)
}

fn expression(requirement: &str) -> Result<Expression, String> {
    if let Some(key) = requirement.strip_prefix('!') {
        return Ok(Expression::DoesNotExist(key_of(key.trim())?));
    }
    if let Some(open) = requirement.find('(') {
        let (head, set) = requirement.split_at(open);
        let mut words = head.split_whitespace();
        let (key, operator) = (words.next().unwrap_or_default(), words.next());
        let values = set
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .ok_or("a set is written (a,b) and ends the requirement")?;
        let values = values
            .split(',')
            .map(|v| value_of(v.trim()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if values.iter().all(String::is_empty) {
            return Err("a set needs at least one value".into());
        }
        return match (operator, words.next()) {
            (Some("in"), None) => Ok(Expression::In(key_of(key)?, values)),
            (Some("notin"), None) => Ok(Expression::NotIn(key_of(key)?, values)),
            _ => Err("a set needs `in` or `notin` between the key and the set".into()),
        };
    }
    if requirement.contains(['<', '>']) {
        return Err("numeric comparisons (< and >) are not supported".into());
    }
    for (operator, negated) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = requirement.split_once(operator) {
            let (key, value) = (key_of(key.trim())?, value_of(value.trim())?);
            return Ok(match negated {
                true => Expression::NotEqual(key, value),
                false => Expression::Equal(key, value),
            });
        }
    }
    Ok(Expression::Exists(key_of(requirement)?))
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters.
fn key_of(key: &str) -> Result<String, String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if prefix.len() > 253 || !prefix.split('.').all(label) {
            return Err(format!(
                "the key's prefix {prefix:?} is not a DNS subdomain (lowercase letters, digits, '-' and '.')"
            ));
        }
    }
    if name.is_empty() || !is_label_value(name) {
        return Err(format!(
            "{key:?} is not a label key: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, after an optional prefix and '/'"
        ));
    }
    Ok(key.to_owned())
}

fn value_of(value: &str) -> Result<String, String> {
    if !is_label_value(value) {
        return Err(format!(
            "{value:?} is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(value.to_owned())
}

fn is_label_value(value: &str) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && edge(value.chars().next())
        && edge(value.chars().last())
}

/// The Lease of a shard when `--lease-name` is not given, so that each shard elects its own
/// leader without a flag to forget: [`DEFAULT_LEASE`] for the default shard (`!KEY`) and without
/// a selector (an unsharded replica and the default shard then exclude each other while a
/// cluster moves to shards, as both reconcile the unlabelled objects); `cloudlink-leader-NAME` for
/// `KEY=NAME`; any other selector, written as a Lease name can be.
pub fn lease_name(selector: &Selector) -> String {
    let expressions: Vec<Expression> = selector.clone().into_iter().collect();
    let suffix = match expressions.as_slice() {
        [] => return DEFAULT_LEASE.to_owned(),
        [Expression::DoesNotExist(key)] if key == KEY => return DEFAULT_LEASE.to_owned(),
        [Expression::Equal(key, name)] if key == KEY => name.clone(),
        [Expression::In(key, names)] if key == KEY && names.len() == 1 => {
            names.first().cloned().unwrap_or_default()
        }
        _ => selector.to_string(),
    };
    let mut name = String::from(DEFAULT_LEASE);
    name.push('-');
    for c in suffix.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' {
            c
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    name.truncate(253);
    name.trim_end_matches(['-', '.']).to_owned()
}

/// The User-Agent of every request to the API server: the audit log then says which shard (and
/// which pod) wrote what.
pub fn user_agent(selector: &Selector, pod: Option<&str>) -> String {
    let mut about = Vec::new();
    if let Some(pod) = pod {
        about.push(format!("pod {pod}"));
    }
    if !selector.selects_all() {
        about.push(format!("selector {selector}"));
    }
    let agent = format!("cloudlink/{}", env!("CARGO_PKG_VERSION"));
    match about.is_empty() {
        true => agent,
        false => format!("{agent} ({})", about.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::SelectorExt;
    use std::collections::BTreeMap;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_selector_forms_kubectl_takes_are_read_as_the_api_server_reads_them() {
        for (text, sent) in [
            ("", ""),
            (
                "sharding.cloudlink.dev/key=shard1",
                "sharding.cloudlink.dev/key=shard1",
            ),
            (
                "sharding.cloudlink.dev/key == shard1",
                "sharding.cloudlink.dev/key=shard1",
            ),
            ("!sharding.cloudlink.dev/key", "!sharding.cloudlink.dev/key"),
            ("team, tier != db", "team,tier!=db"),
            ("env in (prod, staging),app", "env in (prod,staging),app"),
            ("env notin (dev)", "env notin (dev)"),
            ("k=", "k="),
        ] {
            assert_eq!(parse(text).unwrap().to_string(), sent, "{text:?}");
        }
    }

    #[test]
    fn a_wrong_selector_is_refused_saying_what_is_wrong() {
        for (text, says) in [
            ("sharding.cloudlink.dev/key=shard 1", "not a label value"),
            ("Sharding.Cloudlink.dev/key=a", "not a DNS subdomain"),
            ("a,,b", "empty requirement"),
            ("env in (a", "unbalanced"),
            ("env in ()", "at least one value"),
            ("env (a)", "`in` or `notin`"),
            ("replicas > 2", "not supported"),
            ("-bad", "not a label key"),
            (&format!("k={}", "v".repeat(64)), "not a label value"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_default_shard_and_a_named_shard_never_select_the_same_object() {
        let default = parse(&format!("!{KEY}")).unwrap();
        let shard1 = parse(&format!("{KEY}=shard1")).unwrap();
        let unlabelled = labels(&[("app", "x")]);
        let in_shard1 = labels(&[(KEY, "shard1")]);
        let in_shard2 = labels(&[(KEY, "shard2")]);
        assert!(default.matches(&unlabelled) && !shard1.matches(&unlabelled));
        assert!(!default.matches(&in_shard1) && shard1.matches(&in_shard1));
        assert!(!default.matches(&in_shard2) && !shard1.matches(&in_shard2));
    }

    #[test]
    fn each_shard_has_a_lease_of_its_own() {
        let lease = |text: &str| lease_name(&parse(text).unwrap());
        assert_eq!(lease(""), "cloudlink-leader");
        assert_eq!(lease(&format!("!{KEY}")), "cloudlink-leader");
        assert_eq!(lease(&format!("{KEY}=shard1")), "cloudlink-leader-shard1");
        assert_eq!(
            lease(&format!("{KEY} in (Shard_2)")),
            "cloudlink-leader-shard-2"
        );
        assert_eq!(
            lease("team=a,tier notin (db)"),
            "cloudlink-leader-team-a-tier-notin-db"
        );
        let long = lease(&format!("a={},b={}", "x".repeat(63), "y".repeat(63)));
        assert!(long.len() <= 253 && long.ends_with('y'), "{long}");
    }

    #[test]
    fn the_user_agent_names_the_pod_and_the_shard() {
        let shard1 = parse(&format!("{KEY}=shard1")).unwrap();
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            user_agent(&shard1, Some("p-1")),
            format!("cloudlink/{version} (pod p-1; selector {KEY}=shard1)")
        );
        assert_eq!(
            user_agent(&Selector::default(), None),
            format!("cloudlink/{version}")
        );
    }
}
