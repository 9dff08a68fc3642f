//! Google's OAuth2 token endpoint (`POST /token`), for service-account keys whose `token_uri`
//! points at the emulator: a signed JWT assertion is exchanged for an access token that each
//! cluster's Kubernetes API maps back to the key's service account.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::kubernetes::auth::jwt_claims;
use crate::state::State;

/// Lifetime of issued tokens, as Google's.
const LIFETIME_SECONDS: u64 = 3599;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub email: String,
    pub expires_ms: u64,
}

#[derive(Deserialize)]
pub struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    assertion: String,
}

/// The jwt-bearer grant. The assertion's signature is not verified (the emulator knows no
/// public keys); its `iss` must be a service account and its `exp` in the future.
pub fn exchange(state: &mut State, request: &TokenRequest, now_ms: u64) -> Response {
    if request.grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return oauth_error(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {}", request.grant_type),
        );
    }
    let Some(claims) = jwt_claims(&request.assertion) else {
        return oauth_error("invalid_grant", "Invalid JWT: the assertion is not a JWT.");
    };
    let Some(email) = claims["iss"].as_str().filter(|i| i.contains('@')) else {
        return oauth_error("invalid_grant", "Invalid JWT: no service account in iss.");
    };
    if claims["exp"]
        .as_u64()
        .is_none_or(|exp| exp * 1000 <= now_ms)
    {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    let sequence = state.next_sequence();
    let token = format!("ya29.emulated-{now_ms:x}-{sequence:x}");
    state.issued_tokens.insert(
        token.clone(),
        IssuedToken {
            email: email.to_string(),
            expires_ms: now_ms + LIFETIME_SECONDS * 1000,
        },
    );
    Json(json!({
        "access_token": token,
        "expires_in": LIFETIME_SECONDS,
        "token_type": "Bearer",
    }))
    .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}
