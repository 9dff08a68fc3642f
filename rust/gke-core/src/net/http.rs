//! The HTTP client setup every gke-native call shares: rustls with the ring provider.

use std::sync::Once;

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
