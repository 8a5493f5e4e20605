//! Which pending approval requests a policy decides. Pure.

use std::collections::HashSet;

use crate::api::tenant_connection_approval_policy::MatchRule;

/// Past this many decisions a look stops and the policy looks again at once: a burst of requests
/// is decided in steps, each step's decisions written to status before the next.
pub const MOST_PER_LOOK: usize = 50;

/// An approval request as the network owner sees it, with what its tenant connection request
/// says of the requester (absent when the owner cannot see that request).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidate {
    pub approval_request_id: String,
    /// SSS's status: only `registered` can be decided.
    pub status: String,
    /// Whether these credentials may decide it.
    pub approver: bool,
    pub tenant_connection_request_id: Option<String>,
    /// The request's name, as the requester named it.
    pub name: Option<String>,
    pub requester_tenant_id: Option<String>,
    pub network_id: Option<String>,
    /// When SSS registered it (`YYYY-MM-DD hh:mm:ss`): older requests are decided first.
    pub registered_time: Option<String>,
}

/// Whether `candidate` satisfies every field `rule` gives. What the owner cannot see never
/// matches: an unknown tenant is nobody's, an unknown name fits no pattern.
pub fn matches(rule: &MatchRule, candidate: &Candidate) -> bool {
    let within = |allowed: &[String], value: &Option<String>| {
        allowed.is_empty() || value.as_ref().is_some_and(|v| allowed.contains(v))
    };
    within(&rule.requester_tenant_ids, &candidate.requester_tenant_id)
        && within(&rule.network_ids, &candidate.network_id)
        && rule.name_pattern.as_deref().is_none_or(|pattern| {
            candidate
                .name
                .as_deref()
                .is_some_and(|name| glob(pattern, name))
        })
}

/// The requests to decide now, oldest first and at most [`MOST_PER_LOOK`]: pending, ours to
/// decide, matching, and not named by an explicit decision (`decided_elsewhere` holds approval
/// request and tenant connection request ids that a `TenantConnectionApproval` names: the owner's
/// word on one request wins over a rule). Whether more were left is the second value.
pub fn choose<'a>(
    rule: &MatchRule,
    candidates: &'a [Candidate],
    decided_elsewhere: &HashSet<String>,
) -> (Vec<&'a Candidate>, bool) {
    let named = |c: &Candidate| {
        decided_elsewhere.contains(&c.approval_request_id)
            || c.tenant_connection_request_id
                .as_ref()
                .is_some_and(|id| decided_elsewhere.contains(id))
    };
    let mut chosen: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.status == "registered" && c.approver && !named(c) && matches(rule, c))
        .collect();
    chosen.sort_by(|a, b| {
        (&a.registered_time, &a.approval_request_id)
            .cmp(&(&b.registered_time, &b.approval_request_id))
    });
    let more = chosen.len() > MOST_PER_LOOK;
    chosen.truncate(MOST_PER_LOOK);
    (chosen, more)
}

/// `*`: any run of characters (also none); `?`: exactly one; anything else: itself. At most
/// pattern × text steps (the walk backtracks only to the last star, never exponentially), and
/// both are at most 255 characters: no pattern can make the operator spin.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, tenant: &str, network: &str, name: &str) -> Candidate {
        Candidate {
            approval_request_id: id.into(),
            status: "registered".into(),
            approver: true,
            tenant_connection_request_id: Some(format!("tcr-{id}")),
            name: Some(name.into()),
            requester_tenant_id: Some(tenant.into()),
            network_id: Some(network.into()),
            registered_time: Some(format!("2026-12-01 00:00:{id:0>2}")),
        }
    }

    fn rule(tenants: &[&str], networks: &[&str], pattern: Option<&str>) -> MatchRule {
        MatchRule {
            requester_tenant_ids: tenants.iter().map(|s| s.to_string()).collect(),
            network_ids: networks.iter().map(|s| s.to_string()).collect(),
            name_pattern: pattern.map(str::to_owned),
        }
    }

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("team-a-*", "team-a-1", true),
            ("team-a-*", "team-a-", true),
            ("team-a-*", "team-b-1", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*-prod", "eu-prod", true),
            ("*-prod", "eu-prod-2", false),
            ("a*b*c", "a-b-x-c", true),
            ("a*b*c", "a-c-b", false),
            ("**x", "yyx", true),
            ("é?", "éü", true),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern:?} on {text:?}");
        }
    }

    #[test]
    fn a_pathological_pattern_is_answered_without_exponential_backtracking() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(100));
        assert!(!glob(&pattern, &text));
    }

    #[test]
    fn every_given_field_must_match() {
        let c = candidate("1", "t1", "n1", "team-a-1");
        assert!(matches(&rule(&["t1"], &[], None), &c));
        assert!(matches(&rule(&[], &["n1"], None), &c));
        assert!(matches(&rule(&["t0", "t1"], &["n1"], Some("team-a-*")), &c));
        assert!(!matches(&rule(&["t2"], &["n1"], None), &c));
        assert!(!matches(&rule(&["t1"], &["n2"], None), &c));
        assert!(!matches(&rule(&["t1"], &[], Some("team-b-*")), &c));
    }

    #[test]
    fn what_the_owner_cannot_see_never_matches() {
        let hidden = Candidate {
            name: None,
            requester_tenant_id: None,
            network_id: None,
            ..candidate("1", "t1", "n1", "x")
        };
        assert!(!matches(&rule(&["t1"], &[], None), &hidden));
        assert!(!matches(&rule(&[], &["n1"], None), &hidden));
        let named_only = Candidate {
            name: None,
            ..candidate("1", "t1", "n1", "x")
        };
        assert!(!matches(&rule(&["t1"], &[], Some("*")), &named_only));
    }

    #[test]
    fn only_pending_requests_this_tenant_may_decide_and_nobody_named_elsewhere() {
        let candidates = vec![
            candidate("4", "t1", "n1", "a"),
            Candidate {
                status: "approved".into(),
                ..candidate("5", "t1", "n1", "a")
            },
            Candidate {
                approver: false,
                ..candidate("6", "t1", "n1", "a")
            },
            candidate("7", "t1", "n1", "a"),
            candidate("8", "t1", "n1", "a"),
            candidate("3", "t2", "n1", "a"),
            candidate("2", "t1", "n1", "a"),
        ];
        let elsewhere: HashSet<String> = ["7".to_owned(), "tcr-8".to_owned()].into();
        let (chosen, more) = choose(&rule(&["t1"], &[], None), &candidates, &elsewhere);
        let ids: Vec<&str> = chosen
            .iter()
            .map(|c| c.approval_request_id.as_str())
            .collect();
        assert_eq!(ids, ["2", "4"], "oldest first");
        assert!(!more);
    }

    #[test]
    fn a_burst_is_decided_in_steps() {
        let candidates: Vec<Candidate> = (0..MOST_PER_LOOK + 3)
            .map(|i| candidate(&format!("{i:03}"), "t1", "n1", "a"))
            .collect();
        let (chosen, more) = choose(&rule(&["t1"], &[], None), &candidates, &HashSet::new());
        assert_eq!(chosen.len(), MOST_PER_LOOK);
        assert_eq!(chosen[0].approval_request_id, "000");
        assert!(more);
    }
}
