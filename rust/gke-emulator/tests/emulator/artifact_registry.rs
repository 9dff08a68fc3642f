//! Artifact Registry repositories through the official client, create as a long-running operation.

use google_cloud_artifactregistry_v1::model::{repository, Repository};
use google_cloud_gax::error::rpc::Code;
use google_cloud_lro::Poller;
use serde_json::json;

use crate::support::*;

const REGION: &str = "us-central1";

fn docker() -> Repository {
    Repository::new()
        .set_format(repository::Format::Docker)
        .set_description("DSS images")
}

#[tokio::test]
async fn a_repository_is_created_by_an_operation_then_listed() {
    let emulator = Emulator::start();
    let registry = emulator.registry().await;
    let created = registry
        .create_repository()
        .set_parent(parent(REGION))
        .set_repository_id("dss-images")
        .set_repository(docker())
        .poller()
        .until_done()
        .await
        .expect("the operation completes");
    let name = format!("{}/repositories/dss-images", parent(REGION));
    assert_eq!(created.name, name);
    assert_eq!(created.format, repository::Format::Docker);
    assert_eq!(
        created.registry_uri,
        format!("{REGION}-docker.pkg.dev/{PROJECT}/dss-images")
    );

    let fetched = registry
        .get_repository()
        .set_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.description, "DSS images");
    let listed = registry
        .list_repositories()
        .set_parent(parent(REGION))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.repositories.len(), 1);
    let operation_polls = emulator
        .requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/operations/"))
        .count();
    assert!(operation_polls >= 1);
}

#[tokio::test]
async fn repository_errors_are_googles() {
    let emulator = Emulator::start();
    let registry = emulator.registry().await;
    let create = |id: &str| {
        registry
            .create_repository()
            .set_parent(parent(REGION))
            .set_repository_id(id)
            .set_repository(docker())
            .poller()
            .until_done()
    };
    create("taken").await.unwrap();
    let duplicate = create("taken").await.unwrap_err();
    assert_eq!(status_of(&duplicate).0, Code::AlreadyExists);
    let invalid = create("Bad_Id").await.unwrap_err();
    assert_eq!(status_of(&invalid).0, Code::InvalidArgument);
    let missing = registry
        .get_repository()
        .set_name(format!("{}/repositories/none", parent(REGION)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&missing).0, Code::NotFound);

    emulator
        .post_admin(
            "operations/fail-next",
            json!({"code": 7, "message": "denied"}),
        )
        .await;
    let failed = create("failing").await.unwrap_err();
    let (code, message) = status_of(&failed);
    assert_eq!(code, Code::PermissionDenied);
    assert_eq!(message, "denied");
}
