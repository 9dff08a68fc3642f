//! `labelSelector` and `fieldSelector` of list and watch calls.

use serde_json::Value;

use super::status::{KubeError, KubeResult};

#[derive(Debug, Clone)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// A parsed label or field selector; empty selects everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
    pub fn labels(text: &str) -> KubeResult<Selector> {
        let mut requirements = Vec::new();
        for term in split_terms(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_term(term, true).ok_or_else(|| {
                KubeError::bad_request(format!(
                    "unable to parse requirement: invalid label selector: {term:?}"
                ))
            })?);
        }
        Ok(Selector { requirements })
    }

    /// Field selector syntax: `f=v`, `f==v`, `f!=v`, comma-separated.
    pub fn fields(text: &str) -> KubeResult<Selector> {
        let mut requirements = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            requirements.push(parse_term(term, false).ok_or_else(|| {
                KubeError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                ))
            })?);
        }
        Ok(Selector { requirements })
    }

    pub fn matches_labels(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.requirements
            .iter()
            .all(|r| check(r, |key| labels[key].as_str().map(str::to_string)))
    }

    /// Fields are dotted paths into the object (`spec.nodeName`, `status.phase`, `metadata.name`);
    /// an absent field reads as the empty string, as the API server's field sets do.
    pub fn matches_fields(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| {
            check(r, |key| {
                let mut current = object;
                for part in key.split('.') {
                    current = &current[part];
                }
                Some(match current {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
            })
        })
    }
}

fn check(requirement: &Requirement, get: impl Fn(&str) -> Option<String>) -> bool {
    match requirement {
        Requirement::Equals(k, v) => get(k).as_deref() == Some(v),
        Requirement::NotEquals(k, v) => get(k).as_deref() != Some(v),
        Requirement::In(k, vs) => get(k).is_some_and(|v| vs.contains(&v)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.contains(&v)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::Absent(k) => get(k).is_none(),
    }
}

/// Splits on commas outside parentheses.
fn split_terms(text: &str) -> Vec<String> {
    let mut terms = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(String::new());
                continue;
            }
            _ => {}
        }
        terms.last_mut().expect("never empty").push(c);
    }
    terms
}

fn parse_term(term: &str, sets: bool) -> Option<Requirement> {
    if let Some((k, v)) = term.split_once("!=") {
        return Some(Requirement::NotEquals(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Some(Requirement::Equals(k.trim().into(), v.trim().into()));
    }
    if !sets {
        return None;
    }
    let set = |rest: &str| -> Option<Vec<String>> {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        )
    };
    if let Some((k, rest)) = term.split_once(" notin ") {
        return Some(Requirement::NotIn(k.trim().into(), set(rest)?));
    }
    if let Some((k, rest)) = term.split_once(" in ") {
        return Some(Requirement::In(k.trim().into(), set(rest)?));
    }
    if let Some(k) = term.strip_prefix('!') {
        return Some(Requirement::Absent(k.trim().into()));
    }
    (!term.contains(' ')).then(|| Requirement::Exists(term.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_and_field_selectors_match_as_the_api_server_does() {
        let pod = json!({"metadata": {"name": "p", "labels": {"app": "x", "tier": "web"}},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        for (selector, expected) in [
            ("app=x", true),
            ("app==x,tier!=db", true),
            ("app in (y, x)", true),
            ("app notin (x)", false),
            ("tier", true),
            ("!tier", false),
            ("missing", false),
        ] {
            assert_eq!(
                Selector::labels(selector).unwrap().matches_labels(&pod),
                expected,
                "{selector}"
            );
        }
        for (selector, expected) in [
            ("spec.nodeName=n1", true),
            ("status.phase!=Running", false),
            ("metadata.name=p,status.phase=Running", true),
            ("spec.nodeName=", false),
        ] {
            assert_eq!(
                Selector::fields(selector).unwrap().matches_fields(&pod),
                expected,
                "{selector}"
            );
        }
        assert!(Selector::fields("spec.nodeName in (a)").is_err());
    }
}
