//! Waiting for GKE operations: a fast first poll, backing off with the time already waited to
//! at most 10 s, progress logged, an overall timeout.

use std::time::{Duration, Instant};

use google_cloud_container_v1::model::{self, operation::Status};

use crate::error::{GkeError, Result};
use crate::google::gke::{is_operation_in_progress, operation_path, GkeApi};
use crate::net::retry::Rounds;

/// The polling schedule: a short operation is seen done soon after it ends; a five-minute
/// creation costs a few dozen calls.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub first: Duration,
    pub max: Duration,
    /// The pause is the time waited so far divided by this.
    pub divisor: u32,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(150),
            max: Duration::from_secs(10),
            divisor: 10,
        }
    }
}

impl Polling {
    pub fn pause(&self, waited: Duration) -> Duration {
        (waited / self.divisor).clamp(self.first, self.max)
    }
}

fn status_name(op: &model::Operation) -> &str {
    op.status.name().unwrap_or("UNKNOWN")
}

fn type_name(op: &model::Operation) -> String {
    op.operation_type.name().unwrap_or("operation").to_string()
}

/// Waits until `op` is DONE; its error becomes `OperationFailed`, the timeout
/// `OperationTimeout`. `progress` sees the operation after every poll.
pub async fn wait(
    gke: &GkeApi,
    parent: &str,
    op: model::Operation,
    timeout: Duration,
    polling: Polling,
    mut progress: impl FnMut(&model::Operation),
) -> Result<model::Operation> {
    let path = operation_path(parent, &op);
    let what = type_name(&op);
    let start = Instant::now();
    let mut current = op;
    let mut last_status = String::new();
    loop {
        if status_name(&current) != last_status {
            last_status = status_name(&current).to_string();
            tracing::info!("{what} {}: {last_status}", current.name);
        }
        progress(&current);
        if current.status == Status::Done {
            return match &current.error {
                Some(e) if e.code != 0 => Err(GkeError::OperationFailed {
                    operation: format!("{what} {}", current.name),
                    message: e.message.clone(),
                    code: Some(
                        google_cloud_gax::error::rpc::Code::from(e.code)
                            .name()
                            .to_string(),
                    ),
                }),
                _ => Ok(current),
            };
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(GkeError::OperationTimeout {
                operation: format!("{what} {}", current.name),
                waited,
            });
        }
        tokio::time::sleep(polling.pause(waited).min(timeout - waited)).await;
        current = gke.get_operation(&path).await?;
    }
}

/// Whether `op` works on the cluster `name` or one of its parts (a node pool).
pub fn targets_cluster(op: &model::Operation, name: &str) -> bool {
    let suffix = format!("/clusters/{name}");
    op.target_link.ends_with(&suffix) || op.target_link.contains(&format!("{suffix}/"))
}

/// The operations running now on the cluster `name` (GKE runs one at a time).
pub async fn running_operations(
    gke: &GkeApi,
    parent: &str,
    name: &str,
) -> Result<Vec<model::Operation>> {
    Ok(gke
        .list_operations(parent)
        .await?
        .into_iter()
        .filter(|op| op.status != Status::Done && targets_cluster(op, name))
        .collect())
}

/// The running operation whose target is this cluster, if any.
pub async fn running_operation(
    gke: &GkeApi,
    parent: &str,
    name: &str,
) -> Result<Option<model::Operation>> {
    Ok(running_operations(gke, parent, name)
        .await?
        .into_iter()
        .next())
}

/// Waits out whatever runs on the cluster now (another creation, a node-pool change).
pub async fn wait_running_operations(
    gke: &GkeApi,
    parent: &str,
    name: &str,
    timeout: Duration,
) -> Result<()> {
    while let Some(op) = running_operation(gke, parent, name).await? {
        tracing::info!(
            "waiting for {} already running on {name}",
            op.operation_type.name().unwrap_or("an operation")
        );
        match wait(gke, parent, op, timeout, Polling::default(), |_| {}).await {
            Ok(_) | Err(GkeError::OperationFailed { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Submits a change of the cluster `name` (`call`), GKE's refusal "an operation is in progress"
/// answered by waiting that operation out and submitting again, within `rounds`. When the
/// running operation already does what was asked (`ours`, e.g. a deletion), it is returned
/// instead of submitting. The operation returned is not waited for. `what` names the change in
/// the timeout error.
#[allow(clippy::too_many_arguments)]
pub async fn submit_when_idle<F, Fut>(
    gke: &GkeApi,
    parent: &str,
    name: &str,
    what: &str,
    timeout: Duration,
    rounds: Rounds,
    ours: impl Fn(&model::Operation) -> bool,
    call: F,
) -> Result<model::Operation>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<model::Operation>>,
{
    let start = Instant::now();
    for round in 0..rounds.max {
        rounds.pause_before(round).await;
        match call().await {
            Ok(op) => return Ok(op),
            Err(e) if is_operation_in_progress(&e) => {
                tracing::info!("an operation runs on {name}: waiting for it before the {what}");
                match running_operation(gke, parent, name).await? {
                    Some(op) if ours(&op) => return Ok(op),
                    Some(_) => wait_running_operations(gke, parent, name, timeout).await?,
                    None => {}
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(GkeError::OperationTimeout {
        operation: format!("{what} of {name}"),
        waited: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_with_the_wait() {
        let p = Polling::default();
        assert_eq!(p.pause(Duration::ZERO), Duration::from_millis(150));
        assert_eq!(p.pause(Duration::from_secs(2)), Duration::from_millis(200));
        assert_eq!(p.pause(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(p.pause(Duration::from_secs(300)), Duration::from_secs(10));
    }
}
