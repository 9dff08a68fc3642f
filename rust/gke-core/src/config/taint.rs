//! Node taints as admins write them (`key=value:NoSchedule`) and as the GKE API takes them.

use std::str::FromStr;

use google_cloud_container_v1::model;
use serde::Serialize;

use crate::config::names::check_k8s_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// One taint, serialized as GKE's `NodeTaint` (`{key, value, effect}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

impl From<&Taint> for model::NodeTaint {
    fn from(t: &Taint) -> Self {
        let effect = match t.effect {
            TaintEffect::NoSchedule => model::node_taint::Effect::NoSchedule,
            TaintEffect::PreferNoSchedule => model::node_taint::Effect::PreferNoSchedule,
            TaintEffect::NoExecute => model::node_taint::Effect::NoExecute,
        };
        model::NodeTaint::new()
            .set_key(t.key.clone())
            .set_value(t.value.clone())
            .set_effect(effect)
    }
}

impl FromStr for Taint {
    type Err = String;

    /// `key[=value]:Effect`, the form `kubectl taint` uses; the effect may also be written as
    /// GKE names it (`NO_SCHEDULE`).
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let Some((key_value, effect)) = text.rsplit_once(':') else {
            return Err(format!(
                "'{text}' has no effect: write key=value:NoSchedule (or PreferNoSchedule, NoExecute)"
            ));
        };
        let effect = match effect.replace('_', "").to_ascii_lowercase().as_str() {
            "noschedule" => TaintEffect::NoSchedule,
            "prefernoschedule" => TaintEffect::PreferNoSchedule,
            "noexecute" => TaintEffect::NoExecute,
            _ => {
                return Err(format!(
                    "'{text}': effect '{effect}' is not NoSchedule, PreferNoSchedule or NoExecute"
                ))
            }
        };
        let (key, value) = key_value.split_once('=').unwrap_or((key_value, ""));
        check_k8s_label(key, value).map_err(|e| format!("'{text}': {e}"))?;
        Ok(Taint {
            key: key.to_string(),
            value: value.to_string(),
            effect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubectl_form() {
        let t: Taint = "dedicated=spark:NoSchedule".parse().unwrap();
        assert_eq!((t.key.as_str(), t.value.as_str()), ("dedicated", "spark"));
        assert_eq!(t.effect, TaintEffect::NoSchedule);
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            serde_json::json!({"key": "dedicated", "value": "spark", "effect": "NO_SCHEDULE"})
        );
        let t: Taint = "gpu:NO_EXECUTE".parse().unwrap();
        assert_eq!((t.value.as_str(), t.effect), ("", TaintEffect::NoExecute));
    }

    #[test]
    fn a_taint_without_effect_is_explained() {
        let e = "dedicated=spark".parse::<Taint>().unwrap_err();
        assert!(e.contains("has no effect"), "{e}");
        let e = "dedicated=spark:Never".parse::<Taint>().unwrap_err();
        assert!(e.contains("'Never' is not NoSchedule"), "{e}");
        let e = "bad key=x:NoSchedule".parse::<Taint>().unwrap_err();
        assert!(e.contains("key 'bad key'"), "{e}");
    }
}
