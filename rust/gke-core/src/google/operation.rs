//! Waiting for GKE operations: one poll every 2 s from the submission on (a fixed, drift-free
//! schedule), progress logged, an overall timeout.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use google_cloud_container_v1::model::{self, operation::Status};

use crate::error::{GkeError, Result};
use crate::google::gke::{is_operation_in_progress, operation_path, GkeApi};
use crate::net::retry::Rounds;

/// The polling schedule: a poll every `period`, counted from the start of the wait (so the
/// time a poll takes does not push the next one back). An operation's end is seen
/// `period / 2` late on average, whatever its length, for one call per `period`: with 2 s,
/// 1 s late where a fixed 5 s poll (Dataiku's GKE plugin) is 2.5 s late, and 150 calls for a
/// five-minute creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    pub period: Duration,
}

/// `GKE_NATIVE_OPERATION_POLL_SECONDS` (0.05 to 60) sets the period, e.g. for emulated
/// operations of a fraction of a second; else 2 s.
pub const PERIOD_ENV: &str = "GKE_NATIVE_OPERATION_POLL_SECONDS";
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(2);

fn configured_period() -> Duration {
    static PERIOD: OnceLock<Duration> = OnceLock::new();
    *PERIOD.get_or_init(|| {
        std::env::var(PERIOD_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite())
            .map(|s| Duration::from_secs_f64(s.clamp(0.05, 60.0)))
            .unwrap_or(DEFAULT_PERIOD)
    })
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            period: configured_period(),
        }
    }
}

impl Polling {
    /// How long to sleep, `waited` after the start, until the next poll of the schedule.
    pub fn pause(&self, waited: Duration) -> Duration {
        let period = self.period.max(Duration::from_millis(1)).as_nanos();
        let next = (waited.as_nanos() / period + 1) * period;
        Duration::from_nanos(u64::try_from(next - waited.as_nanos()).unwrap_or(u64::MAX))
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
    fn polls_come_every_period_from_the_start_whatever_each_took() {
        let p = Polling {
            period: Duration::from_secs(2),
        };
        assert_eq!(p.pause(Duration::ZERO), Duration::from_secs(2));
        // A poll that took 300 ms does not push the schedule back.
        assert_eq!(
            p.pause(Duration::from_millis(2300)),
            Duration::from_millis(1700)
        );
        assert_eq!(p.pause(Duration::from_secs(4)), Duration::from_secs(2));
        // One that took longer than a period: the next slot, never a burst.
        assert_eq!(
            p.pause(Duration::from_millis(6500)),
            Duration::from_millis(1500)
        );
        let mut waited = Duration::ZERO;
        let mut polls = 0;
        while waited < Duration::from_secs(600) {
            waited += p.pause(waited) + Duration::from_millis(40);
            polls += 1;
        }
        assert_eq!(polls, 300, "one poll per 2 s over ten minutes");
    }
}
