//! Talking to a cluster's Kubernetes API with `kube`: a client from GKE's endpoint and CA with
//! a token from our credential chain, through the proxy the environment names.

use base64::Engine;
use kube::{Client, Config};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::{GkeError, Result};
use crate::net::http::install_crypto_provider;
use crate::net::retry::Backoff;

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
            message: crate::net::http::error_chain(&e),
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
        .map_err(|e| GkeError::Setup(format!("the cluster CA certificate is not base64: {e}")))?;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| GkeError::Setup(format!("the cluster CA certificate is not PEM: {e}")))?;
    let url = format!("https://{endpoint}")
        .parse::<http::Uri>()
        .map_err(|e| {
            GkeError::Setup(format!(
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
}
