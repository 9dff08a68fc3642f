//! Everything the emulator remembers, and its persistence to `--state-file` (written atomically
//! after every API call, read back at start-up).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifact_registry::RepositoryOperation;
use crate::container::operations::GkeOperation;
use crate::container::ClusterRecord;
use crate::kubernetes::pods::PodScript;
use crate::metadata::InstanceMetadata;
use crate::oauth::IssuedToken;
use crate::plans::OperationPlans;
use crate::timeline::Timeline;

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    /// By full name, `projects/{p}/locations/{l}/clusters/{c}`.
    pub clusters: BTreeMap<String, ClusterRecord>,
    /// GKE operations by their short name (`operation-…`), as GKE names them.
    pub operations: BTreeMap<String, GkeOperation>,
    /// Artifact Registry repositories by full name.
    pub repositories: BTreeMap<String, Value>,
    /// Artifact Registry long-running operations by full name.
    pub repository_operations: BTreeMap<String, RepositoryOperation>,
    /// What the metadata server and Compute say about the VM the client runs on.
    pub instance: InstanceMetadata,
    pub plans: OperationPlans,
    /// Feeds unique ids (operation names, cluster ids).
    pub sequence: u64,
    /// Access tokens `POST /token` issued, by token.
    pub issued_tokens: BTreeMap<String, IssuedToken>,
    /// Scripted outcomes waiting for the pods they match.
    pub pod_scripts: Vec<PodScript>,
}

impl State {
    pub fn load(path: &Path) -> Result<Option<State>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("state file {} is not valid: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read state file {}: {e}", path.display())),
        }
    }

    /// Write-then-rename, so an emulator killed mid-write leaves the previous state intact.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }

    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Every operation's clock by name, GKE's and Artifact Registry's, for holding and releasing.
    pub fn timelines_mut(&mut self) -> impl Iterator<Item = (&String, &mut Timeline)> {
        let gke = self
            .operations
            .iter_mut()
            .map(|(n, op)| (n, &mut op.timeline));
        let registry = self
            .repository_operations
            .iter_mut()
            .map(|(n, op)| (n, &mut op.timeline));
        gke.chain(registry)
    }

    /// Completes every operation whose time has come, applying its effect.
    pub fn settle(&mut self, now_ms: u64) {
        crate::container::operations::settle(self, now_ms);
        crate::artifact_registry::settle(self, now_ms);
        crate::kubernetes::settle(self, now_ms);
    }
}
