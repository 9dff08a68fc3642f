//! GKE's rules for names, locations, GCP resource labels and Kubernetes node labels.

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};

const MAX_NAME: usize = 40;
const MAX_LABELS: usize = 64;
const MAX_LABEL: usize = 63;
const MAX_DNS_SUBDOMAIN: usize = 253;

/// Where a cluster lives: a zone (zonal cluster) or a region (regional cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Zone { region: String, zone: String },
    Region(String),
}

impl Location {
    pub fn parse(location: &str) -> ApiResult<Location> {
        let parts: Vec<&str> = location.split('-').collect();
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
        let numbered = |s: &str| {
            let letters = s.trim_end_matches(|c: char| c.is_ascii_digit());
            word(letters) && letters.len() < s.len()
        };
        match parts.as_slice() {
            [geo, area] if word(geo) && numbered(area) => Ok(Location::Region(location.into())),
            [geo, area, letter] if word(geo) && numbered(area) && letter.len() == 1 && word(letter) => {
                Ok(Location::Zone {
                    region: format!("{geo}-{area}"),
                    zone: location.into(),
                })
            }
            _ => Err(ApiError::invalid_field(
                "parent",
                format!("Location \"{location}\" is neither a zone (us-central1-a) nor a region (us-central1)."),
            )),
        }
    }

    pub fn region(&self) -> &str {
        match self {
            Location::Zone { region, .. } => region,
            Location::Region(region) => region,
        }
    }

    /// The zones nodes go to when the client names none: the zone itself, or three of the region's.
    pub fn default_zones(&self) -> Vec<String> {
        match self {
            Location::Zone { zone, .. } => vec![zone.clone()],
            Location::Region(region) => crate::catalogue::default_zones(region),
        }
    }

    /// The zones the client asked for in `field`, checked to be in this location's region.
    pub fn zones(&self, requested: &Value, field: &str) -> ApiResult<Vec<String>> {
        let Some(list) = requested.as_array().filter(|l| !l.is_empty()) else {
            return Ok(self.default_zones());
        };
        let mut zones = Vec::new();
        for zone in list {
            let zone = zone.as_str().unwrap_or_default();
            match Location::parse(zone) {
                Ok(Location::Zone { region, .. }) if region == self.region() => {
                    zones.push(zone.to_string())
                }
                _ => {
                    return Err(ApiError::invalid_field(
                        field,
                        format!(
                            "Invalid value for field \"{field}\": \"{zone}\" is not a zone of region {}.",
                            self.region()
                        ),
                    ))
                }
            }
        }
        Ok(zones)
    }
}

/// Cluster and node pool names: a lowercase letter, then lowercase letters, digits and hyphens,
/// not ending with a hyphen, at most 40 characters.
pub fn check_name(name: &str, field: &str) -> ApiResult<()> {
    let valid = name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        field,
        format!(
            "Invalid value for field \"{field}\": \"{name}\". Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,38}}[a-z0-9])?)' (only alphanumerics and '-' allowed, must start with a letter and end with an alphanumeric, and must be no longer than 40 characters)."
        ),
    ))
}

/// GCP resource labels: keys 1–63 of `[a-z0-9_-]` starting with a letter, values 0–63 of the
/// same, at most 64 of them.
pub fn check_resource_labels(labels: &Value, field: &str) -> ApiResult<()> {
    let Some(labels) = labels.as_object() else {
        return Ok(());
    };
    let invalid = |message: String| {
        Err(ApiError::invalid_field(
            field,
            format!("Invalid value for field \"{field}\": {message}"),
        ))
    };
    if labels.len() > MAX_LABELS {
        return invalid(format!(
            "at most {MAX_LABELS} labels are allowed, got {}.",
            labels.len()
        ));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    for (key, value) in labels {
        let value = value.as_str().unwrap_or_default();
        if key.is_empty()
            || key.len() > MAX_LABEL
            || !key.starts_with(|c: char| c.is_ascii_lowercase())
            || !key.chars().all(allowed)
        {
            return invalid(format!("label key \"{key}\" must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter."));
        }
        if value.len() > MAX_LABEL || !value.chars().all(allowed) {
            return invalid(format!("label value \"{value}\" of key \"{key}\" must be 0-63 lowercase letters, digits, '_' or '-'."));
        }
    }
    Ok(())
}

/// Kubernetes node labels: `[prefix/]name` keys and ≤63-character values.
pub fn check_node_labels(labels: &Value, field: &str) -> ApiResult<()> {
    let Some(labels) = labels.as_object() else {
        return Ok(());
    };
    for (key, value) in labels {
        check_label_key(key, field)?;
        check_label_value(value.as_str().unwrap_or_default(), field)?;
    }
    Ok(())
}

/// Node taints: a label-like key, a label-like value, and an effect that is set.
pub fn check_taints(taints: &Value, field: &str) -> ApiResult<()> {
    for (index, taint) in taints.as_array().into_iter().flatten().enumerate() {
        let at = format!("{field}[{index}]");
        check_label_key(
            taint["key"].as_str().unwrap_or_default(),
            &format!("{at}.key"),
        )?;
        check_label_value(
            taint["value"].as_str().unwrap_or_default(),
            &format!("{at}.value"),
        )?;
        let effect = &taint["effect"];
        if effect.is_null() || effect == "EFFECT_UNSPECIFIED" || effect == 0 {
            return Err(ApiError::invalid_field(
                &format!("{at}.effect"),
                format!("Invalid value for field \"{at}.effect\": a taint needs an effect (NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE)."),
            ));
        }
    }
    Ok(())
}

fn check_label_key(key: &str, field: &str) -> ApiResult<()> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= MAX_DNS_SUBDOMAIN
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    if prefix_ok && !name.is_empty() && is_label_name(name) {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        field,
        format!("Invalid value for field \"{field}\": \"{key}\" is not a valid Kubernetes label key (an optional DNS subdomain prefix and '/', then 1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)."),
    ))
}

fn check_label_value(value: &str, field: &str) -> ApiResult<()> {
    if value.is_empty() || is_label_name(value) {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        field,
        format!("Invalid value for field \"{field}\": \"{value}\" is not a valid Kubernetes label value (at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)."),
    ))
}

fn is_label_name(name: &str) -> bool {
    name.len() <= MAX_LABEL
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn locations_are_zones_or_regions() {
        assert_eq!(
            Location::parse("europe-west1-b").unwrap(),
            Location::Zone {
                region: "europe-west1".into(),
                zone: "europe-west1-b".into()
            }
        );
        assert_eq!(
            Location::parse("us-central1").unwrap(),
            Location::Region("us-central1".into())
        );
        assert!(Location::parse("mars").is_err());
        assert!(Location::parse("us-central-a").is_err());
    }

    #[test]
    fn names_follow_gke_rules() {
        assert!(check_name("dss-cluster-1", "n").is_ok());
        for bad in ["", "1abc", "Abc", "abc-", "a_b", &"a".repeat(41)] {
            assert!(check_name(bad, "n").is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_labels_follow_gcp_rules() {
        assert!(check_resource_labels(&json!({"team": "dss", "env": ""}), "l").is_ok());
        assert!(check_resource_labels(&json!({"Team": "dss"}), "l").is_err());
        assert!(check_resource_labels(&json!({"team": "DSS"}), "l").is_err());
    }

    #[test]
    fn node_labels_follow_kubernetes_rules() {
        assert!(check_node_labels(&json!({"dataiku.com/role": "Spark_1", "x": ""}), "l").is_ok());
        assert!(check_node_labels(&json!({"-bad": "v"}), "l").is_err());
        assert!(check_node_labels(&json!({"k": "bad value"}), "l").is_err());
        assert!(check_node_labels(&json!({"Bad.Prefix/k": "v"}), "l").is_err());
    }
}
