//! "Test network connectivity": a short-lived pod in the cluster resolves the DSS host and
//! connects to its backend port, as containerized DSS jobs must; the pod is always deleted.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, LogParams, PostParams};
use kube::Api;
use serde::Serialize;
use serde_json::json;

use crate::error::{ApiFailure, GkeError, Problem, Result};
use crate::html::{Report, ToHtml, Verdict};
use crate::kube::client::kube_error;
use crate::net::retry::Backoff;

/// What the test pod found.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkTest {
    pub cluster: String,
    pub host: String,
    pub port: u16,
    pub pod: String,
    /// The pod's last phase: Succeeded, Failed, or Pending / Running when it timed out.
    pub phase: String,
    pub exit_code: Option<i32>,
    /// What the pod printed.
    pub output: String,
    pub verdict: Verdict,
    pub summary: String,
    pub seconds: f64,
}

impl NetworkTest {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Ok
    }
}

impl ToHtml for NetworkTest {
    fn to_html(&self) -> String {
        let verdict = if self.passed() {
            Verdict::Ok
        } else {
            Verdict::Failed
        };
        let mut report = Report::new(&format!("Network from {} to DSS", self.cluster))
            .verdict(verdict, &self.summary)
            .table(
                &[
                    "DSS host",
                    "Port",
                    "Test pod",
                    "Phase",
                    "Exit code",
                    "Seconds",
                ],
                [vec![
                    self.host.clone(),
                    self.port.to_string(),
                    self.pod.clone(),
                    self.phase.clone(),
                    self.exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    format!("{:.1}", self.seconds),
                ]],
            );
        report = report.paragraph("What the pod printed:");
        report.preformatted(&self.output).finish()
    }
}

/// The DSS backend the pods must reach: the given host/port, else DSS's environment
/// (`DKU_BACKEND_EXT_HOST`, else the host name; `DKU_BACKEND_PORT`). Loopback names are refused:
/// a pod's loopback is the pod itself.
pub fn backend_target(host: &str, port: Option<i64>) -> Result<(String, u16)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let host = match host.trim() {
        "" => env("DKU_BACKEND_EXT_HOST")
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .unwrap_or_default(),
        given => given.to_string(),
    };
    let mut problems = Vec::new();
    if host.is_empty() {
        problems.push(Problem::new(
            "DSS host",
            "unknown: give the name or IP the cluster's nodes reach DSS by",
        ));
    } else if is_loopback(&host) {
        problems.push(Problem::new(
            "DSS host",
            format!("'{host}' is a loopback address: inside a pod it is the pod itself, never DSS. Set DKU_BACKEND_EXT_HOST in DSS's install.ini (or this action's DSS host) to the name or IP the cluster's nodes reach DSS by"),
        ));
    }
    let port = match port {
        Some(p) => match u16::try_from(p).ok().filter(|p| *p > 0) {
            Some(p) => Some(p),
            None => {
                problems.push(Problem::new(
                    "DSS port",
                    format!("{p} is not between 1 and 65535"),
                ));
                Some(0)
            }
        },
        None => env("DKU_BACKEND_PORT").and_then(|p| p.trim().parse().ok()),
    };
    if port.is_none() || (port == Some(0) && problems.is_empty()) {
        problems.push(Problem::new(
            "DSS port",
            "unknown: give DSS's backend port (DKU_BACKEND_PORT, e.g. 11000)",
        ));
    }
    if !problems.is_empty() {
        return Err(GkeError::Validation(problems));
    }
    Ok((host, port.unwrap_or_default()))
}

fn is_loopback(host: &str) -> bool {
    let host = host
        .trim_matches(|c| c == '[' || c == ']')
        .to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// The pod's shell script: resolve (names only), then connect.
fn script(host: &str, port: u16) -> String {
    let resolve = if host.parse::<IpAddr>().is_ok() {
        String::new()
    } else {
        format!("nslookup {host} || {{ echo 'cannot resolve {host}'; exit 2; }}; ")
    };
    format!(
        "{resolve}if nc -z -w 5 {host} {port}; then echo 'connected to {host}:{port}'; else echo 'cannot connect to {host}:{port}'; exit 3; fi"
    )
}

/// Deletes the test pod: awaited on every normal path; when the wait itself is dropped
/// (Ctrl-C in a notebook), the deletion is spawned on the runtime instead.
struct PodGuard {
    api: Api<Pod>,
    name: String,
    armed: bool,
}

impl PodGuard {
    async fn delete(mut self) {
        self.armed = false;
        delete_pod(self.api.clone(), self.name.clone()).await;
    }
}

async fn delete_pod(api: Api<Pod>, name: String) {
    let what = format!("delete pod {name}");
    let deleted = Backoff::default()
        .retry(&what, || async {
            api.delete(&name, &DeleteParams::background())
                .await
                .map_err(|e| kube_error(&what, e))
        })
        .await;
    match deleted {
        Ok(_) | Err(GkeError::Api(ApiFailure { status: 404, .. })) => {
            tracing::info!("test pod {name} deleted")
        }
        Err(e) => tracing::warn!("could not delete test pod {name}: {e}; delete it with kubectl"),
    }
}

impl Drop for PodGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(delete_pod(self.api.clone(), self.name.clone()));
        }
    }
}

/// Runs the test pod (image with `sh`, `nslookup` and `nc`, e.g. busybox) in `namespace`.
pub async fn test_network(
    client: kube::Client,
    cluster: &str,
    target: (String, u16),
    image: &str,
    namespace: &str,
    timeout: Duration,
) -> Result<NetworkTest> {
    let (host, port) = target;
    let start = Instant::now();
    let api: Api<Pod> = Api::namespaced(client, namespace);
    let name = format!("gke-native-network-test-{:08x}", rand::random::<u32>());
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "gke-native"}},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": timeout.as_secs().max(1),
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": "test",
                "image": image,
                "command": ["sh", "-c", script(&host, port)],
            }],
        },
    }))
    .map_err(|e| GkeError::validation("pod", e.to_string()))?;
    let what = format!("create pod {name}");
    let created = Backoff::default()
        .retry(&what, || async {
            api.create(&PostParams::default(), &pod)
                .await
                .map_err(|e| kube_error(&what, e))
        })
        .await;
    match created {
        // An attempt whose answer was lost did create it.
        Ok(_) | Err(GkeError::Api(ApiFailure { status: 409, .. })) => {}
        Err(e) => return Err(e),
    }
    let guard = PodGuard {
        api: api.clone(),
        name: name.clone(),
        armed: true,
    };
    tracing::info!("test pod {name} created: {host}:{port}");
    let watched = watch(&api, &name, start, timeout).await;
    guard.delete().await;
    let (phase, exit_code, why_pending, output) = watched?;
    let (verdict, summary) = match phase.as_str() {
        "Succeeded" => (
            Verdict::Ok,
            format!("a pod in {cluster} resolved {host} and connected to port {port}"),
        ),
        "Failed" => (
            Verdict::Failed,
            format!("a pod in {cluster} could not reach {host}:{port} ({}): check firewall rules from the cluster's nodes and pod range to DSS, and that {host} resolves inside the VPC", output.lines().last().unwrap_or("no output").trim()),
        ),
        other => (
            Verdict::Failed,
            format!("the test pod did not finish within {}s (still {other}{}): the nodes may be unable to start it, or pull image {image}", timeout.as_secs(), if why_pending.is_empty() { String::new() } else { format!(", {why_pending}") }),
        ),
    };
    Ok(NetworkTest {
        cluster: cluster.to_string(),
        host,
        port,
        pod: name,
        phase,
        exit_code,
        output,
        verdict,
        summary,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Follows the pod until it ends or `timeout` passes: `(phase, exit code, why it is pending,
/// log)`.
async fn watch(
    api: &Api<Pod>,
    name: &str,
    start: Instant,
    timeout: Duration,
) -> Result<(String, Option<i32>, String, String)> {
    let mut phase = String::from("Pending");
    let mut exit_code = None;
    let mut why_pending = String::new();
    loop {
        let what = format!("get pod {name}");
        let seen = Backoff::default()
            .retry(&what, || async {
                api.get(name).await.map_err(|e| kube_error(&what, e))
            })
            .await?;
        let status = seen.status.unwrap_or_default();
        phase = status.phase.unwrap_or(phase);
        why_pending = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.status == "False" && c.reason.is_some())
            .map(|c| {
                format!(
                    "{}: {}",
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default()
                )
            })
            .unwrap_or(why_pending);
        exit_code = status
            .container_statuses
            .iter()
            .flatten()
            .find_map(|c| c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code))
            .or(exit_code);
        if matches!(phase.as_str(), "Succeeded" | "Failed") || start.elapsed() >= timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let output = match api.logs(name, &LogParams::default()).await {
        Ok(log) => log,
        Err(e) => format!("(no log: {e})"),
    };
    Ok((phase, exit_code, why_pending, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_refused_with_the_fix() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.8.0.1",
            "::1",
            "[::1]",
            "0.0.0.0",
        ] {
            let e = backend_target(host, Some(11000)).unwrap_err().to_string();
            assert!(
                e.contains("loopback") && e.contains("DKU_BACKEND_EXT_HOST"),
                "{host}: {e}"
            );
        }
        assert_eq!(
            backend_target("dss.internal", Some(11000)).unwrap(),
            ("dss.internal".to_string(), 11000)
        );
    }

    #[test]
    fn names_are_resolved_before_connecting() {
        assert!(script("dss.internal", 11000).starts_with("nslookup dss.internal"));
        assert!(script("10.0.0.2", 11000).starts_with("if nc -z -w 5 10.0.0.2 11000"));
    }
}
