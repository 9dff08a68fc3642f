//! The HTTP client setup every gke-native call shares: rustls with the ring provider.

use std::sync::Once;

use crate::error::{ApiFailure, GkeError, Result};

/// Installs ring as the process's rustls provider (once). The Google crates are built without
/// their own provider (theirs is aws-lc, which the manylinux build avoids), so this must run
/// before any of their clients is built.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with TLS ready.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder().user_agent(concat!("gke-native/", env!("CARGO_PKG_VERSION")))
}

/// The error with its causes, which reqwest keeps apart ("error sending request" says little).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The body of a 2xx answer; any other status is the API's refusal, its status and Google's
/// error body kept (`request` names the call: `METHOD path`, no query).
pub async fn success_body(response: reqwest::Response, request: &str) -> Result<String> {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(GkeError::Api(ApiFailure::from_response(
            status,
            request.to_string(),
            &body,
        )))
    }
}
