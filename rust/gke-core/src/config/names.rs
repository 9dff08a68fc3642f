//! The naming rules GKE and Kubernetes enforce, checked before anything is sent.

/// Cluster and node pool names: a lowercase letter, then lowercase letters, digits and
/// hyphens, not ending with a hyphen, at most 40 characters.
pub fn check_resource_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty: give a name like 'dss-batch'".into());
    }
    if name.len() > 40 {
        return Err(format!(
            "'{name}' has {} characters; at most 40",
            name.len()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("'{name}' must start with a lowercase letter"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "'{name}' contains '{bad}': use only lowercase letters, digits and hyphens"
        ));
    }
    if name.ends_with('-') {
        return Err(format!("'{name}' must not end with a hyphen"));
    }
    Ok(())
}

fn gcp_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

/// A GCP resource label: keys of 1–63 lowercase letters, digits, `_` and `-` starting with a
/// lowercase letter; values of 0–63 of the same characters.
/// An Artifact Registry repository id: 1-63 lowercase letters, digits and hyphens, starting
/// with a letter and not ending with a hyphen.
pub fn check_repository_id(id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!("'{id}' is not an Artifact Registry repository id: 1-63 lowercase letters, digits and hyphens, starting with a letter, e.g. dss-images"))
    }
}

pub fn check_gcp_label(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 63 {
        return Err(format!("key '{key}' must have 1 to 63 characters"));
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("key '{key}' must start with a lowercase letter"));
    }
    if !key.chars().all(gcp_label_char) {
        return Err(format!(
            "key '{key}' may only contain lowercase letters, digits, '_' and '-'"
        ));
    }
    if value.len() > 63 {
        return Err(format!(
            "value of '{key}' has {} characters; at most 63",
            value.len()
        ));
    }
    if !value.chars().all(gcp_label_char) {
        return Err(format!(
            "value '{value}' of '{key}' may only contain lowercase letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// GCP allows at most this many labels on one resource.
pub const MAX_GCP_LABELS: usize = 64;

fn k8s_name_ok(part: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    part.len() <= 63
        && edge_ok(part.chars().next())
        && edge_ok(part.chars().last())
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn dns_subdomain_ok(prefix: &str) -> bool {
    prefix.len() <= 253
        && prefix.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A Kubernetes label (or taint key): optional DNS-subdomain prefix + `/` + a name of at
/// most 63 characters, alphanumeric at both ends; values likewise, or empty.
pub fn check_k8s_label(key: &str, value: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if !dns_subdomain_ok(prefix) {
                return Err(format!(
                    "key '{key}': prefix '{prefix}' must be a DNS subdomain like example.com"
                ));
            }
            name
        }
        None => key,
    };
    if !k8s_name_ok(name) {
        return Err(format!(
            "key '{key}' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    if !value.is_empty() && !k8s_name_ok(value) {
        return Err(format!(
            "value '{value}' of '{key}' must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names() {
        assert!(check_resource_name("dss-batch-1").is_ok());
        assert!(check_resource_name("a").is_ok());
        for (bad, why) in [
            ("", "is empty"),
            ("1abc", "start with a lowercase letter"),
            ("Dss", "start with a lowercase letter"),
            ("dss_batch", "contains '_'"),
            ("dss-", "end with a hyphen"),
            (&"a".repeat(41), "at most 40"),
        ] {
            let err = check_resource_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn gcp_labels() {
        assert!(check_gcp_label("team", "").is_ok());
        assert!(check_gcp_label("cost-center", "dss_42").is_ok());
        assert!(check_gcp_label("Team", "x")
            .unwrap_err()
            .contains("start with a lowercase"));
        assert!(check_gcp_label("team", "Data")
            .unwrap_err()
            .contains("value 'Data'"));
        assert!(check_gcp_label("a.b", "x")
            .unwrap_err()
            .contains("may only contain"));
        assert!(check_gcp_label(&"k".repeat(64), "")
            .unwrap_err()
            .contains("1 to 63"));
    }

    #[test]
    fn k8s_labels() {
        assert!(check_k8s_label("dataiku.com/role", "spark").is_ok());
        assert!(check_k8s_label("Team_A", "").is_ok());
        assert!(check_k8s_label("nvidia.com/gpu", "present").is_ok());
        assert!(check_k8s_label("-x", "")
            .unwrap_err()
            .contains("starting and ending"));
        assert!(check_k8s_label("Bad_Prefix/x", "")
            .unwrap_err()
            .contains("DNS subdomain"));
        assert!(check_k8s_label("x", "a b")
            .unwrap_err()
            .contains("value 'a b'"));
    }
}
