//! What a push did: the pushed digest and, per layer, whether it was uploaded, already there or
//! mounted — as data (Python) and as the HTML the "Push base images" action shows.

use serde::Serialize;

use crate::html::{Report, ToHtml, Verdict};
use crate::push::digest::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Uploaded by this push.
    Pushed,
    /// The repository already had it.
    Skipped,
    /// Mounted from another repository of the registry.
    Mounted,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    pub digest: Digest,
    /// Bytes in the registry (compressed).
    pub size: u64,
    pub outcome: Outcome,
    /// Compressed by this push (the source stored it uncompressed).
    pub compressed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub source: String,
    pub destination: String,
    /// The manifest digest the tag now points at.
    pub digest: String,
    /// The Artifact Registry repository was created by this push.
    pub repository_created: bool,
    pub layers: Vec<LayerReport>,
    pub layers_pushed: usize,
    pub layers_skipped: usize,
    pub layers_mounted: usize,
    /// Bytes uploaded (layers and config).
    pub bytes_uploaded: u64,
    /// Bytes of the image in the registry (layers and config).
    pub bytes_total: u64,
    pub seconds: f64,
}

pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl PushReport {
    pub fn summary(&self) -> String {
        format!(
            "{} layers pushed, {} already there, {} mounted; {} uploaded of {} in {:.1} s",
            self.layers_pushed,
            self.layers_skipped,
            self.layers_mounted,
            mb(self.bytes_uploaded),
            mb(self.bytes_total),
            self.seconds
        )
    }
}

impl ToHtml for PushReport {
    fn to_html(&self) -> String {
        Report::new("Image push")
            .verdict(
                Verdict::Ok,
                &format!("{} is {}", self.destination, self.digest),
            )
            .paragraph(&format!("From {}: {}.", self.source, self.summary()))
            .table(
                &["layer", "size", "outcome"],
                self.layers.iter().map(|l| {
                    vec![
                        l.digest.to_string(),
                        mb(l.size),
                        match l.outcome {
                            Outcome::Pushed if l.compressed => {
                                "pushed (compressed here)".to_string()
                            }
                            Outcome::Pushed => "pushed".to_string(),
                            Outcome::Skipped => "already there".to_string(),
                            Outcome::Mounted => "mounted".to_string(),
                        },
                    ]
                }),
            )
            .finish()
    }
}

/// Several images pushed by the action: each one's report, or why it failed.
#[derive(Debug, Clone, Serialize)]
pub struct PushBatch {
    pub repository: String,
    pub repository_created: bool,
    pub images: Vec<BatchEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchEntry {
    pub image: String,
    pub report: Option<PushReport>,
    pub error: Option<String>,
}

impl PushBatch {
    pub fn failed(&self) -> usize {
        self.images.iter().filter(|i| i.error.is_some()).count()
    }
}

impl ToHtml for PushBatch {
    fn to_html(&self) -> String {
        let failed = self.failed();
        let (verdict, text) = if failed == 0 {
            (
                Verdict::Ok,
                format!(
                    "{} image(s) pushed to {}",
                    self.images.len(),
                    self.repository
                ),
            )
        } else {
            (
                Verdict::Failed,
                format!(
                    "{failed} of {} image(s) failed: see the rows marked Failed",
                    self.images.len()
                ),
            )
        };
        let mut report = Report::new("Push base images").verdict(verdict, &text);
        if self.repository_created {
            report = report.paragraph(&format!(
                "Created the Artifact Registry repository {}.",
                self.repository
            ));
        }
        report
            .table(
                &[
                    "image",
                    "destination",
                    "result",
                    "digest",
                    "layers pushed / already there / mounted",
                    "uploaded",
                    "seconds",
                ],
                self.images.iter().map(|i| match (&i.report, &i.error) {
                    (Some(r), _) => vec![
                        i.image.clone(),
                        r.destination.clone(),
                        "OK".to_string(),
                        r.digest.clone(),
                        format!(
                            "{} / {} / {}",
                            r.layers_pushed, r.layers_skipped, r.layers_mounted
                        ),
                        mb(r.bytes_uploaded),
                        format!("{:.1}", r.seconds),
                    ],
                    (None, e) => vec![
                        i.image.clone(),
                        String::new(),
                        "Failed".to_string(),
                        e.clone().unwrap_or_default(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ],
                }),
            )
            .finish()
    }
}
