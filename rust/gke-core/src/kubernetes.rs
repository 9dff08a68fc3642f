//! Talking to a cluster's Kubernetes API with `kube`: a client from GKE's endpoint and CA with
//! a token from our credential chain, and the cluster-admin binding for DSS's identity.

use base64::Engine;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Config};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::json;

use crate::error::{GkeError, Result};
use crate::http::install_crypto_provider;
use crate::retry::Backoff;

/// Field manager of everything gke-native applies, so re-applying is idempotent.
pub const FIELD_MANAGER: &str = "gke-native";

pub fn kube_error(what: &str, e: kube::Error) -> GkeError {
    match &e {
        kube::Error::Api(status) => GkeError::Api(crate::error::ApiFailure {
            status: status.code,
            code: status.reason.clone(),
            message: status.message.clone(),
            request: what.to_string(),
        }),
        _ => GkeError::Api(crate::error::ApiFailure {
            status: 0,
            code: "UNAVAILABLE".into(),
            message: crate::metadata::error_chain(&e),
            request: what.to_string(),
        }),
    }
}

/// A short patience for reads that a report can do without (a few seconds in all).
pub const QUICK: Backoff = Backoff {
    initial: std::time::Duration::from_millis(300),
    max: std::time::Duration::from_secs(2),
    multiplier: 2.0,
    attempts: 3,
};

/// A client of the cluster at `https://{endpoint}` whose CA is GKE's base64 PEM.
pub fn client(endpoint: &str, ca_base64: &str, token: String) -> Result<Client> {
    install_crypto_provider();
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca_base64.trim())
        .map_err(|e| GkeError::Auth(format!("the cluster CA certificate is not base64: {e}")))?;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| GkeError::Auth(format!("the cluster CA certificate is not PEM: {e}")))?;
    let url = format!("https://{endpoint}")
        .parse::<http::Uri>()
        .map_err(|e| {
            GkeError::Auth(format!(
                "the cluster endpoint '{endpoint}' is not usable: {e}"
            ))
        })?;
    let mut config = Config::new(url);
    config.root_cert = Some(certs);
    config.auth_info.token = Some(token.into());
    // kube's own retries wait up to 15 times with a backoff reaching minutes; each call site
    // retries with our Backoff instead, as patient as the work it does needs.
    config.default_retry = false;
    config.proxy_url = proxy_for(&config.cluster_url);
    if let Some(proxy) = &config.proxy_url {
        tracing::debug!(
            "the Kubernetes API at {endpoint} through the proxy at {}",
            proxy.host().unwrap_or_default()
        );
    }
    Client::try_from(config).map_err(|e| kube_error("connect", e))
}

/// The proxy for `url` as our reqwest calls pick theirs: `HTTPS_PROXY` (else `ALL_PROXY`),
/// unless `NO_PROXY` names the host, read by hyper-util's matcher (the one reqwest uses).
/// kube takes the proxy's user and password from its URL, which the matcher keeps aside.
fn proxy_for(url: &http::Uri) -> Option<http::Uri> {
    use base64::Engine;
    use hyper_util::client::proxy::matcher::Matcher;
    let intercept = Matcher::from_env().intercept(url)?;
    let proxy = intercept.uri().clone();
    let Some(basic) = intercept.basic_auth() else {
        return Some(proxy);
    };
    let userinfo = basic
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok())?;
    let (user, password) = userinfo.split_once(':').unwrap_or((&userinfo, ""));
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let authority = format!(
        "{}:{}@{}",
        encode(user),
        encode(password),
        proxy.authority()?.as_str()
    );
    http::Uri::builder()
        .scheme(proxy.scheme_str()?)
        .authority(authority)
        .path_and_query("/")
        .build()
        .ok()
}

/// The binding's name for an identity: stable, so applying it again changes nothing.
pub fn admin_binding_name(identity: &str) -> String {
    let cleaned: String = identity
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("gke-native-admin-{}", cleaned.trim_matches('-'))
        .chars()
        .take(253)
        .collect()
}

/// Makes `identity` (a Google account email, as GKE maps it to a Kubernetes user) a cluster
/// admin, by server-side apply: idempotent.
pub async fn ensure_cluster_admin(client: &Client, identity: &str) -> Result<String> {
    let name = admin_binding_name(identity);
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "gke-native"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": identity}],
    }))
    .map_err(|e| GkeError::Auth(format!("cannot build the binding: {e}")))?;
    let api: Api<ClusterRoleBinding> = Api::all(client.clone());
    let what = format!("apply clusterrolebinding {name}");
    Backoff::default()
        .retry(&what, || async {
            api.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&binding),
            )
            .await
            .map_err(|e| kube_error(&what, e))
        })
        .await?;
    tracing::info!("{identity} is cluster-admin (ClusterRoleBinding {name})");
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test for every case: the environment is the process's.
    #[test]
    fn proxies_come_from_the_environment_like_reqwest() {
        let cluster: http::Uri = "https://10.1.2.3:443".parse().unwrap();
        let vars = [
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
            "REQUEST_METHOD",
        ];
        for v in vars {
            std::env::remove_var(v);
        }
        assert_eq!(proxy_for(&cluster), None);
        std::env::set_var("HTTPS_PROXY", "http://proxy.corp:3128");
        assert_eq!(
            proxy_for(&cluster).unwrap().to_string(),
            "http://proxy.corp:3128/"
        );
        std::env::set_var("HTTPS_PROXY", "http://dss%40corp:p%3Ass@proxy.corp:3128");
        assert_eq!(
            proxy_for(&cluster).unwrap().authority().unwrap().as_str(),
            "dss%40corp:p%3Ass@proxy.corp:3128"
        );
        std::env::set_var("NO_PROXY", "example.com,10.0.0.0/8");
        assert_eq!(proxy_for(&cluster), None);
        std::env::set_var("NO_PROXY", "example.com");
        assert!(proxy_for(&cluster).is_some());
        for v in vars {
            std::env::remove_var(v);
        }
    }

    #[test]
    fn binding_names_are_valid_and_stable() {
        assert_eq!(
            admin_binding_name("DSS@proj.iam.gserviceaccount.com"),
            "gke-native-admin-dss-proj.iam.gserviceaccount.com"
        );
    }
}
