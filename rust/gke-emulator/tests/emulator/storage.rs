//! Cloud Storage's JSON API over plain HTTP, as Google's clients call it: a multipart upload
//! listed and read back with its CRC32C (its links lead back to the emulator), a resumable upload
//! in two chunks with a status query in between, and the checks GCS makes (announced checksums,
//! `ifGenerationMatch`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::support::*;

fn crc32c_of(data: &[u8]) -> String {
    STANDARD.encode(crc32c::crc32c(data).to_be_bytes())
}

async fn create_bucket(emulator: &Emulator, name: &str) {
    let (status, bucket) = emulator
        .raw(
            reqwest::Method::POST,
            "/storage/v1/b?project=p",
            Some(json!({"name": name, "location": "europe-west1"})),
        )
        .await;
    assert_eq!(status, 200, "{bucket}");
    assert_eq!(bucket["location"], "EUROPE-WEST1");
}

/// A `media` upload of `body` as `bucket/name`, which must succeed.
async fn put_media(emulator: &Emulator, bucket: &str, name: &str, body: &'static str) {
    let response = emulator
        .http()
        .post(format!(
            "{}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
            emulator.url,
            name.replace('/', "%2F")
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// `multipart/related` with a JSON metadata part and a media part, as Python's client sends it.
fn multipart(metadata: &Value, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "===============7330845974216740156==";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n\
             --{boundary}\r\ncontent-type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
    (format!("multipart/related; boundary=\"{boundary}\""), body)
}

#[tokio::test]
async fn a_multipart_upload_is_listed_and_read_back_with_its_crc32c() {
    let emulator = Emulator::start();
    create_bucket(&emulator, "data").await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let crc = crc32c_of(&data);
    let name = "dir/sub/file one.bin";
    let (content_type, body) = multipart(&json!({"name": name, "crc32c": crc}), &data);
    let url = format!(
        "{}/upload/storage/v1/b/data/o?uploadType=multipart",
        emulator.url
    );
    let response = emulator
        .http()
        .post(&url)
        .header("content-type", &content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let object: Value = response.json().await.unwrap();
    assert_eq!(object["name"], name);
    assert_eq!(object["size"], "100000");
    assert_eq!(object["crc32c"], crc);
    assert_eq!(object["contentType"], "application/octet-stream");
    let generation = object["generation"].as_str().unwrap().to_string();

    // Listing by prefix, a page at a time.
    for other in ["dir/a", "other/b"] {
        put_media(&emulator, "data", other, "x").await;
    }
    let (status, page) = emulator
        .raw(
            reqwest::Method::GET,
            "/storage/v1/b/data/o?prefix=dir%2F&maxResults=1&fields=items(name)",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["name"], "dir/a");
    let token = page["nextPageToken"].as_str().expect("a next page");
    let (_, page) = emulator
        .raw(
            reqwest::Method::GET,
            &format!("/storage/v1/b/data/o?prefix=dir%2F&maxResults=1&pageToken={token}"),
            None,
        )
        .await;
    let item = &page["items"][0];
    assert_eq!(item["name"], name);
    assert_eq!(
        (item["size"].as_str(), item["crc32c"].as_str()),
        (Some("100000"), Some(crc.as_str()))
    );
    assert_eq!(item["generation"], generation.as_str());
    assert!(page.get("nextPageToken").is_none(), "{page}");

    // The object's metadata and its content, whole and in part.
    let path = "/storage/v1/b/data/o/dir%2Fsub%2Ffile%20one.bin";
    let (status, meta) = emulator.raw(reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "{meta}");
    assert_eq!(
        meta["md5Hash"]
            .as_str()
            .map(|m| STANDARD.decode(m).unwrap().len()),
        Some(16)
    );
    let response = emulator
        .http()
        .get(format!("{}{path}?alt=media", emulator.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let hash = response.headers()["x-goog-hash"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(hash.contains(&format!("crc32c={crc}")), "{hash}");
    assert_eq!(response.headers()["x-goog-generation"], generation.as_str());
    assert_eq!(response.bytes().await.unwrap().as_ref(), data.as_slice());
    let response = emulator
        .http()
        .get(format!("{}{path}?alt=media", emulator.url))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()["content-range"], "bytes 10-19/100000");
    assert_eq!(response.bytes().await.unwrap().as_ref(), &data[10..20]);
    // The object's links lead back to the emulator (rclone downloads through `mediaLink`).
    let media_link = meta["mediaLink"].as_str().unwrap();
    assert!(media_link.starts_with(&emulator.url), "{media_link}");
    let response = emulator.http().get(media_link).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), data.as_slice());

    // Deleted, it is gone.
    let (status, _) = emulator.raw(reqwest::Method::DELETE, path, None).await;
    assert_eq!(status, 204);
    let (status, _) = emulator.raw(reqwest::Method::GET, path, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_resumable_upload_in_two_chunks_answers_status_queries() {
    let emulator = Emulator::start();
    create_bucket(&emulator, "data").await;
    let size = 512 * 1024 + 1000;
    let data: Vec<u8> = (0..size as u32).map(|i| (i % 253) as u8).collect();
    let crc = crc32c_of(&data);
    let response = emulator
        .http()
        .post(format!(
            "{}/upload/storage/v1/b/data/o?uploadType=resumable&name=big.bin",
            emulator.url
        ))
        .header("x-upload-content-length", size.to_string())
        .json(&json!({"crc32c": crc}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let session = response.headers()["location"].to_str().unwrap().to_string();
    assert!(session.starts_with(&emulator.url), "{session}");
    assert!(session.contains("upload_id="), "{session}");

    let put = |range: String, body: Vec<u8>| {
        emulator
            .http()
            .put(&session)
            .header("content-range", range)
            .body(body)
            .send()
    };
    // Nothing yet: 308 without Range.
    let response = put(format!("bytes */{size}"), Vec::new()).await.unwrap();
    assert_eq!(response.status(), 308);
    assert!(response.headers().get("range").is_none());

    let first = 256 * 1024;
    let response = put(
        format!("bytes 0-{}/{size}", first - 1),
        data[..first].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(
        response.headers()["range"],
        format!("bytes=0-{}", first - 1)
    );

    let response = put(format!("bytes */{size}"), Vec::new()).await.unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(
        response.headers()["range"],
        format!("bytes=0-{}", first - 1)
    );
    // Google's Go client (rclone's) asks for no 308: GCS answers 200 with an override header.
    let response = emulator
        .http()
        .post(&session)
        .header("content-range", format!("bytes */{size}"))
        .header("x-guploader-no-308", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-http-status-code-override"], "308");
    assert_eq!(
        response.headers()["range"],
        format!("bytes=0-{}", first - 1)
    );

    let response = put(
        format!("bytes {first}-{}/{size}", size - 1),
        data[first..].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let object: Value = response.json().await.unwrap();
    assert_eq!(object["size"], size.to_string());
    assert_eq!(object["crc32c"], crc);

    // The finished session answers with the object.
    let response = put(format!("bytes */{size}"), Vec::new()).await.unwrap();
    assert_eq!(response.status(), 200);
    let response = emulator
        .http()
        .get(format!(
            "{}/storage/v1/b/data/o/big.bin?alt=media",
            emulator.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), data.as_slice());
}

#[tokio::test]
async fn announced_checksums_and_generation_preconditions_are_enforced() {
    let emulator = Emulator::start();
    create_bucket(&emulator, "data").await;
    let (content_type, body) = multipart(&json!({"name": "a", "crc32c": "AAAAAA=="}), b"hello");
    let response = emulator
        .http()
        .post(format!(
            "{}/upload/storage/v1/b/data/o?uploadType=multipart",
            emulator.url
        ))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CRC32C"),
        "{error}"
    );

    let upload = |query: &'static str| {
        emulator
            .http()
            .post(format!(
                "{}/upload/storage/v1/b/data/o?uploadType=media&name=a{query}",
                emulator.url
            ))
            .body("hello")
            .send()
    };
    assert_eq!(upload("&ifGenerationMatch=0").await.unwrap().status(), 200);
    assert_eq!(upload("&ifGenerationMatch=0").await.unwrap().status(), 412);
    let (_, bucket) = emulator
        .raw(reqwest::Method::GET, "/storage/v1/b/data", None)
        .await;
    assert_eq!(bucket["name"], "data");
    let (status, _) = emulator
        .raw(reqwest::Method::GET, "/storage/v1/b/missing/o", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_copy_onto_itself_sets_metadata_as_rclone_sets_modification_times() {
    let emulator = Emulator::start();
    create_bucket(&emulator, "data").await;
    put_media(&emulator, "data", "r/a.bin", "abc").await;
    let path = "/storage/v1/b/data/o/r%2Fa.bin";
    let (_, before) = emulator.raw(reqwest::Method::GET, path, None).await;
    let (status, copied) = emulator
        .raw(
            reqwest::Method::POST,
            &format!("{path}/copyTo/b/data/o/r%2Fa.bin"),
            Some(json!({"metadata": {"mtime": "2026-12-06T21:29:22.950412463Z"}})),
        )
        .await;
    assert_eq!(status, 200, "{copied}");
    let (_, after) = emulator.raw(reqwest::Method::GET, path, None).await;
    assert_eq!(after["metadata"]["mtime"], "2026-12-06T21:29:22.950412463Z");
    assert_eq!(after["crc32c"], crc32c_of(b"abc"));
    assert_eq!(after["size"], "3");
    assert_ne!(after["generation"], before["generation"]);
    let (status, _) = emulator
        .raw(
            reqwest::Method::POST,
            "/storage/v1/b/data/o/missing/copyTo/b/data/o/x",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn gke_cores_listing_finds_every_object_once_whatever_the_tree() {
    use gke_core::gcs::client::{GcsClient, GcsOptions};
    let emulator = Emulator::start();
    create_bucket(&emulator, "tree").await;
    let mut names = vec!["p/top.bin".to_string(), "p/one/two/deep.bin".to_string()];
    // A chain of single folders, then 20 folders side by side; and 300 small folders (more
    // than are listed apart).
    for i in 0..200 {
        names.push(format!("p/one/two/three/{:02}/{i:03}.bin", i % 20));
    }
    for i in 0..300 {
        names.push(format!("p/many/{i:03}/f.bin"));
    }
    names.push("p/folder-placeholder/".into());
    names.push("other/outside.bin".into());
    for name in &names {
        put_media(&emulator, "tree", name, "x").await;
    }
    let client = GcsClient::connect(&GcsOptions {
        endpoint: Some(emulator.url.clone()),
        key: String::new(),
        key_field: "key".into(),
    })
    .await
    .unwrap();
    for prefix in ["p/", "p/one/", "p/many/", "p/one/two/three/05/"] {
        let mut listed: Vec<String> = client
            .list("tree", prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        listed.sort();
        let mut expected: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "under {prefix}");
    }
}
