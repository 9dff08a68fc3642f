//! The metadata server, over plain HTTP and through google-cloud-auth's metadata credentials.

use serde_json::json;

use crate::support::*;

async fn metadata(emulator: &Emulator, path: &str) -> (u16, String) {
    let response = emulator
        .http()
        .get(format!("{}/computeMetadata/v1/{path}", emulator.url))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["metadata-flavor"], "Google");
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_metadata_server_describes_the_instance_set_by_the_admin() {
    let emulator = Emulator::start();
    let missing_header = emulator
        .http()
        .get(format!(
            "{}/computeMetadata/v1/project/project-id",
            emulator.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_header.status(), 403);

    emulator
        .admin(
            reqwest::Method::PUT,
            "metadata",
            Some(json!({
                "projectId": "dss-prod",
                "projectNumber": "555",
                "zone": "europe-west1-b",
                "instanceName": "dss-vm",
                "network": "shared-vpc",
                "ip": "10.1.2.3",
                "serviceAccountEmail": "dss@dss-prod.iam.gserviceaccount.com",
                "accessToken": "ya29.test",
            })),
        )
        .await;
    let expect = [
        ("project/project-id", "dss-prod"),
        ("project/numeric-project-id", "555"),
        ("instance/zone", "projects/555/zones/europe-west1-b"),
        ("instance/name", "dss-vm"),
        (
            "instance/network-interfaces/0/network",
            "projects/555/networks/shared-vpc",
        ),
        ("instance/network-interfaces/0/ip", "10.1.2.3"),
        (
            "instance/service-accounts/default/email",
            "dss@dss-prod.iam.gserviceaccount.com",
        ),
        (
            "instance/service-accounts/default/scopes",
            "https://www.googleapis.com/auth/cloud-platform\n",
        ),
    ];
    for (path, value) in expect {
        assert_eq!(
            metadata(&emulator, path).await,
            (200, value.to_string()),
            "{path}"
        );
    }
    let (status, token) = metadata(&emulator, "instance/service-accounts/default/token").await;
    assert_eq!(status, 200);
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    assert_eq!(token["access_token"], "ya29.test");
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_in"].as_u64().unwrap() > 0);
    // Python's google-auth reads the account this way.
    let (status, account) = metadata(
        &emulator,
        "instance/service-accounts/default/?recursive=true",
    )
    .await;
    assert_eq!(status, 200);
    let account: serde_json::Value = serde_json::from_str(&account).unwrap();
    assert_eq!(account["email"], "dss@dss-prod.iam.gserviceaccount.com");
    assert_eq!(metadata(&emulator, "instance/nothing-here").await.0, 404);
    let probe = emulator
        .http()
        .get(format!("{}/", emulator.url))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.headers()["metadata-flavor"], "Google");

    let refused = emulator
        .http()
        .put(format!("{}/_emulator/metadata", emulator.url))
        .json(&json!({"colour": "blue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn google_cloud_auth_gets_its_token_from_the_emulated_metadata_server() {
    let emulator = Emulator::start();
    emulator
        .admin(
            reqwest::Method::PUT,
            "metadata",
            Some(json!({"accessToken": "ya29.from-metadata"})),
        )
        .await;
    // Only this test reads GCE_METADATA_HOST; google-cloud-auth resolves it when credentials are built.
    std::env::set_var("GCE_METADATA_HOST", emulator.host());
    let credentials = google_cloud_auth::credentials::mds::Builder::default()
        .build()
        .unwrap();
    let gke = google_cloud_container_v1::client::ClusterManager::builder()
        .with_endpoint(&emulator.url)
        .with_credentials(credentials)
        .build()
        .await
        .unwrap();
    gke.list_clusters()
        .set_parent(parent(ZONE))
        .send()
        .await
        .unwrap();
    let log = emulator.requests().await;
    let token_calls = log
        .iter()
        .filter(|r| r["path"] == "/computeMetadata/v1/instance/service-accounts/default/token")
        .count();
    assert_eq!(token_calls, 1, "{log:?}");
    let list = log
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/clusters"))
        .unwrap();
    // The log keeps the scheme only (tokens are secrets); the one token fetched is the one sent.
    assert_eq!(list["headers"]["authorization"], "Bearer [redacted]");
    assert!(!format!("{log:?}").contains("ya29.from-metadata"));
}
