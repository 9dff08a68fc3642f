//! Who is calling a cluster's API: the bearer token mapped to a Google identity, as GKE's
//! authenticator does, so RBAC subjects and the request log can name the caller.

use base64::Engine;
use serde_json::Value;

use crate::state::State;
use crate::timeline::now_ms;

/// Accepted by every cluster's API as identity [`TEST_IDENTITY`], for tests and kubectl by hand.
pub const TEST_TOKEN: &str = "gke-emulator-test-token";
pub const TEST_IDENTITY: &str = "test-admin@gke-emulator.local";

/// The identity behind `Authorization: Bearer …`, or None when the token is unknown.
///
/// Accepted: the metadata server's current access token (identity: its service account email),
/// tokens the emulator's `POST /token` issued and that have not expired (the service account of
/// the key), self-signed service-account JWTs (what google-cloud-auth sends for a key: identity is
/// their `iss`), and [`TEST_TOKEN`].
pub fn identity(state: &State, authorization: Option<&str>) -> Option<String> {
    let token = authorization?.strip_prefix("Bearer ")?.trim();
    if token.is_empty() {
        return None;
    }
    if token == TEST_TOKEN {
        return Some(TEST_IDENTITY.to_string());
    }
    if token == state.instance.access_token {
        return Some(state.instance.service_account_email.clone());
    }
    if let Some(issued) = state.issued_tokens.get(token) {
        return (issued.expires_ms > now_ms()).then(|| issued.email.clone());
    }
    self_signed_issuer(token)
}

/// The service account of a self-signed JWT access token. The signature is not checked: the
/// emulator has no registry of public keys.
fn self_signed_issuer(token: &str) -> Option<String> {
    let claims = jwt_claims(token)?;
    let issuer = claims["iss"].as_str()?;
    let unexpired = claims["exp"]
        .as_u64()
        .is_some_and(|exp| exp * 1000 > now_ms());
    (issuer.ends_with(".iam.gserviceaccount.com") && claims["sub"] == issuer && unexpired)
        .then(|| issuer.to_string())
}

/// The claims of a compact JWT (`header.claims.signature`), without verifying it.
pub fn jwt_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
