//! Access tokens for the kubeconfig's exec helper, cached in a 0600 file so that kubectl
//! does not start a credential exchange for every call.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::credentials::GoogleCredentials;
use crate::error::Result;
use crate::net::private_file::write_private;

/// How long a cached token is handed out. The Google library does not tell a token's expiry,
/// and a metadata-server token may have only minutes left; four minutes stays safely inside.
pub const CACHE_LIFETIME: Duration = Duration::from_secs(240);

#[derive(Serialize, Deserialize)]
struct Cached {
    token: String,
    /// Seconds since the epoch.
    expires: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A token valid for a while more: from the cache, else fresh from `credentials` (and cached).
/// Returns the token and its expiry (seconds since the epoch).
pub async fn token(credentials: &GoogleCredentials, cache: &Path) -> Result<(String, u64)> {
    if let Ok(text) = std::fs::read_to_string(cache) {
        if let Ok(cached) = serde_json::from_str::<Cached>(&text) {
            if cached.expires > now() + 30 {
                return Ok((cached.token, cached.expires));
            }
        }
    }
    let token = credentials.access_token().await?;
    let expires = now() + CACHE_LIFETIME.as_secs();
    let record = serde_json::to_vec(&Cached {
        token: token.clone(),
        expires,
    })
    .unwrap_or_default();
    write_private(cache, &record)?;
    Ok((token, expires))
}

/// The ExecCredential kubectl expects on the helper's standard output.
pub fn exec_credential(token: &str, expires: u64) -> serde_json::Value {
    let expiry = time_rfc3339(expires);
    json!({
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": expiry},
    })
}

/// `2026-11-23T22:00:00Z` for seconds since the epoch (UTC, no leap seconds, as Kubernetes).
fn time_rfc3339(secs: u64) -> String {
    // Past the year 9999 (never, for a token's expiry): the latest time jiff writes.
    i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::MAX)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(time_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(time_rfc3339(1795478400), "2026-11-24T00:00:00Z");
        assert_eq!(time_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
