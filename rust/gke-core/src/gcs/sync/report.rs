//! What a sync did: one entry per file, counts per action, and the report's text and HTML.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{GkeError, Result};
use crate::html::{Report, ToHtml, Verdict};

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncAction {
    #[serde(rename = "uploaded")]
    Uploaded,
    #[serde(rename = "downloaded")]
    Downloaded,
    #[serde(rename = "skipped")]
    Skipped,
    #[serde(rename = "deleted")]
    Deleted,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "would upload")]
    WouldUpload,
    #[serde(rename = "would download")]
    WouldDownload,
    #[serde(rename = "would delete")]
    WouldDelete,
}

impl SyncAction {
    pub fn label(self) -> &'static str {
        match self {
            SyncAction::Uploaded => "uploaded",
            SyncAction::Downloaded => "downloaded",
            SyncAction::Skipped => "skipped",
            SyncAction::Deleted => "deleted",
            SyncAction::Failed => "failed",
            SyncAction::WouldUpload => "would upload",
            SyncAction::WouldDownload => "would download",
            SyncAction::WouldDelete => "would delete",
        }
    }
}

/// One row of the report (and of the recipe's output dataset).
#[derive(Debug, Clone, Serialize)]
pub struct SyncEntry {
    /// Relative to the folder and to the prefix, `/`-separated.
    pub path: String,
    pub action: SyncAction,
    /// Bytes moved (for skipped files: their size; for deletions: 0).
    pub bytes: u64,
    /// Why: "new", "size differs", "same size and CRC32C", or the error.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub source: String,
    pub destination: String,
    pub dry_run: bool,
    pub entries: Vec<SyncEntry>,
    pub elapsed_seconds: f64,
}

impl SyncReport {
    /// Files and bytes per action, in the order of [`SyncAction`].
    pub fn counts(&self) -> BTreeMap<&'static str, (u64, u64)> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            let c = out.entry(e.action.label()).or_insert((0, 0));
            c.0 += 1;
            c.1 += e.bytes;
        }
        out
    }

    pub fn failures(&self) -> Vec<&SyncEntry> {
        self.entries
            .iter()
            .filter(|e| e.action == SyncAction::Failed)
            .collect()
    }

    pub fn summary(&self) -> String {
        let counts = self.counts();
        let parts: Vec<String> = counts
            .iter()
            .map(|(action, (files, bytes))| format!("{files} {action} ({})", human_bytes(*bytes)))
            .collect();
        format!(
            "{} → {}{}: {} in {:.1}s",
            self.source,
            self.destination,
            if self.dry_run { " (dry run)" } else { "" },
            if parts.is_empty() {
                "nothing to sync".to_string()
            } else {
                parts.join(", ")
            },
            self.elapsed_seconds
        )
    }

    /// A storage error naming the failed files, or `Ok` when none failed.
    pub fn check(&self) -> Result<()> {
        let failures = self.failures();
        let Some(first) = failures.first() else {
            return Ok(());
        };
        Err(GkeError::storage(format!(
            "{} of {} files failed to sync ({} → {}); first: {}: {}",
            failures.len(),
            self.entries.len(),
            self.source,
            self.destination,
            first.path,
            first.reason
        )))
    }
}

impl ToHtml for SyncReport {
    fn to_html(&self) -> String {
        let failures = self.failures();
        let verdict = if failures.is_empty() {
            Verdict::Ok
        } else {
            Verdict::Failed
        };
        let counts: Vec<Vec<String>> = self
            .counts()
            .into_iter()
            .map(|(a, (files, bytes))| vec![a.to_string(), files.to_string(), human_bytes(bytes)])
            .collect();
        let mut report = Report::new("GCS sync")
            .verdict(verdict, &self.summary())
            .table(&["action", "files", "bytes"], counts);
        let shown: Vec<&SyncEntry> = self
            .entries
            .iter()
            .filter(|e| e.action != SyncAction::Skipped)
            .take(200)
            .collect();
        if !shown.is_empty() {
            report = report.table(
                &["path", "action", "bytes", "reason"],
                shown.into_iter().map(|e| {
                    vec![
                        e.path.clone(),
                        e.action.label().to_string(),
                        e.bytes.to_string(),
                        e.reason.clone(),
                    ]
                }),
            );
        }
        report.finish()
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
