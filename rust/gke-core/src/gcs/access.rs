//! "Check GCS access": for each bucket, from the DSS host with the plugin's credentials, what
//! works (metadata, listing, a probe object written, read back and deleted) and which object
//! permissions the identity holds, with the role that grants a missing one.

use bytes::Bytes;
use google_cloud_storage::streaming_source::Payload;
use serde::Serialize;

use crate::gcs::checksum::Hasher;
use crate::gcs::client::GcsClient;
use crate::gcs::location::GcsLocation;
use crate::html::{Report, ToHtml, Verdict};

/// The object permissions a sync needs, with the predefined role an admin grants for each.
pub const PERMISSIONS: [(&str, &str); 4] = [
    ("storage.objects.get", "roles/storage.objectViewer"),
    ("storage.objects.list", "roles/storage.objectViewer"),
    ("storage.objects.create", "roles/storage.objectCreator"),
    ("storage.objects.delete", "roles/storage.objectUser"),
];

#[derive(Debug, Clone, Serialize)]
pub struct AccessCheck {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketAccess {
    pub location: String,
    pub checks: Vec<AccessCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    pub endpoint: String,
    pub identity: String,
    pub buckets: Vec<BucketAccess>,
}

impl AccessReport {
    pub fn verdict(&self) -> Verdict {
        let all = self.buckets.iter().flat_map(|b| &b.checks);
        let mut verdict = Verdict::Ok;
        for c in all {
            match c.verdict {
                Verdict::Failed => return Verdict::Failed,
                Verdict::Warning => verdict = Verdict::Warning,
                Verdict::Ok => {}
            }
        }
        verdict
    }
}

impl ToHtml for AccessReport {
    fn to_html(&self) -> String {
        let verdict = self.verdict();
        let text = match verdict {
            Verdict::Ok => format!("{} bucket(s) fully usable", self.buckets.len()),
            Verdict::Warning => "usable, with warnings below".to_string(),
            Verdict::Failed => "some checks failed: see the rows marked Failed".to_string(),
        };
        Report::new("GCS access")
            .verdict(verdict, &text)
            .paragraph(&format!(
                "Endpoint {}, as {}.",
                self.endpoint, self.identity
            ))
            .table(
                &["bucket", "check", "result", "detail"],
                self.buckets.iter().flat_map(|b| {
                    b.checks.iter().map(|c| {
                        vec![
                            b.location.clone(),
                            c.check.clone(),
                            c.verdict.label().to_string(),
                            c.detail.clone(),
                        ]
                    })
                }),
            )
            .finish()
    }
}

/// Checks every location; a failure is a row of the report, never an early exit.
pub async fn check_access(client: &GcsClient, locations: &[GcsLocation]) -> AccessReport {
    let mut buckets = Vec::new();
    for loc in locations {
        buckets.push(BucketAccess {
            location: loc.to_string(),
            checks: check_one(client, loc).await,
        });
    }
    AccessReport {
        endpoint: client.endpoint().to_string(),
        identity: client.identity().to_string(),
        buckets,
    }
}

fn row(check: &str, verdict: Verdict, detail: impl Into<String>) -> AccessCheck {
    AccessCheck {
        check: check.to_string(),
        verdict,
        detail: detail.into(),
    }
}

async fn check_one(client: &GcsClient, loc: &GcsLocation) -> Vec<AccessCheck> {
    let mut rows = Vec::new();
    match client.get_bucket(&loc.bucket).await {
        Ok(b) => rows.push(row(
            "bucket exists",
            Verdict::Ok,
            format!(
                "location {} ({}), storage class {}",
                b.location,
                if b.location_type.is_empty() {
                    "?"
                } else {
                    &b.location_type
                },
                b.storage_class
            ),
        )),
        Err(e) => {
            // Without the bucket nothing else can be checked; 403 here means no
            // storage.buckets.get, which object access does not need.
            let verdict = if e.status() == Some(403) {
                Verdict::Warning
            } else {
                Verdict::Failed
            };
            rows.push(row("bucket exists", verdict, e.to_string()));
            if verdict == Verdict::Failed {
                return rows;
            }
        }
    }
    match client.list_some(&loc.bucket, &loc.prefix, 5).await {
        Ok(objects) => rows.push(row(
            "list objects",
            Verdict::Ok,
            format!(
                "listed {}{} object(s) under {loc}",
                objects.len(),
                if objects.len() == 5 { "+" } else { "" }
            ),
        )),
        Err(e) => rows.push(row("list objects", Verdict::Failed, e.to_string())),
    }
    rows.extend(probe(client, loc).await);
    rows.push(permissions(client, loc).await);
    rows
}

/// Writes, reads back (comparing CRC32C) and deletes a small uniquely named object.
async fn probe(client: &GcsClient, loc: &GcsLocation) -> Vec<AccessCheck> {
    let name = loc.object_name(&format!(
        ".gke-native-access-probe-{:016x}",
        rand::random::<u64>()
    ));
    let content = Bytes::from(format!("gke-native access probe {name}\n"));
    let mut expected = Hasher::new(false);
    expected.update(&content);
    let written = match client
        .upload(
            &loc.bucket,
            &name,
            Payload::from(content.clone()),
            expected.crc32c(),
        )
        .await
    {
        Ok(o) => o,
        Err(e) => {
            return vec![
                row("write probe object", Verdict::Failed, e.to_string()),
                row(
                    "read probe back",
                    Verdict::Warning,
                    "not tried: nothing was written",
                ),
                row(
                    "delete probe object",
                    Verdict::Warning,
                    "not tried: nothing was written",
                ),
            ]
        }
    };
    let mut rows = vec![row(
        "write probe object",
        Verdict::Ok,
        format!("wrote gs://{}/{name} ({} bytes)", loc.bucket, content.len()),
    )];
    let read = async {
        let mut response = client
            .download(&loc.bucket, &name, written.generation)
            .await?;
        let mut got = Hasher::new(false);
        while let Some(chunk) = response.next().await {
            let chunk = chunk.map_err(|e| client.crate_error("reading the probe", e))?;
            got.update(&chunk);
        }
        Ok::<_, crate::GkeError>(got)
    };
    rows.push(match read.await {
        Ok(got) if got.len() == content.len() as u64 && got.crc32c() == expected.crc32c() => row(
            "read probe back",
            Verdict::Ok,
            format!("read {} bytes back, CRC32C matches", got.len()),
        ),
        Ok(got) => row(
            "read probe back",
            Verdict::Failed,
            format!(
                "read {} bytes back whose CRC32C differs from what was written",
                got.len()
            ),
        ),
        Err(e) => row("read probe back", Verdict::Failed, e.to_string()),
    });
    rows.push(
        match client
            .delete(&loc.bucket, &name, Some(written.generation))
            .await
        {
            Ok(()) => row("delete probe object", Verdict::Ok, "deleted"),
            Err(e) => row(
                "delete probe object",
                Verdict::Failed,
                format!("{e} (the probe object {name} is left behind)"),
            ),
        },
    );
    rows
}

async fn permissions(client: &GcsClient, loc: &GcsLocation) -> AccessCheck {
    let names: Vec<&str> = PERMISSIONS.iter().map(|(p, _)| *p).collect();
    match client.test_permissions(&loc.bucket, &names).await {
        Ok(Some(held)) => {
            let missing: Vec<String> = PERMISSIONS
                .iter()
                .filter(|(p, _)| !held.iter().any(|h| h == p))
                .map(|(p, role)| format!("{p} (granted by {role})"))
                .collect();
            if missing.is_empty() {
                row(
                    "IAM permissions",
                    Verdict::Ok,
                    format!("holds {}", names.join(", ")),
                )
            } else {
                row(
                    "IAM permissions",
                    Verdict::Failed,
                    format!(
                        "missing {}; or grant roles/storage.objectAdmin on the bucket for all of them",
                        missing.join(", ")
                    ),
                )
            }
        }
        Ok(None) => row(
            "IAM permissions",
            Verdict::Warning,
            "the endpoint does not answer testIamPermissions (an emulator?): judge by the probe rows above",
        ),
        Err(e) => row("IAM permissions", Verdict::Failed, e.to_string()),
    }
}
