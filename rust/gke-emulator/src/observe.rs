//! The log-and-fault layer every listener shares (the Google APIs' and each cluster's Kubernetes
//! API): the request is logged with its answer, and the first injected fault matching it applies.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;

use crate::connection::Connection;
use crate::faults::Action;
use crate::request_log::LoggedRequest;
use crate::server::App;

/// Logs `entry`, then answers with `serve` or as the matching fault says: `injected` builds the
/// error answer of the listener's API for a status. A cluster's Kubernetes API (an entry naming a
/// cluster) only takes faults that name a path, so "fail the next request" keeps meaning a Google
/// API call.
pub async fn observe<Served: Future<Output = Response>>(
    app: &App,
    entry: LoggedRequest,
    connection: Option<Arc<Connection>>,
    injected: impl FnOnce(u16) -> Response,
    serve: impl FnOnce() -> Served,
) -> Response {
    let (method, path) = (entry.method.clone(), entry.path.clone());
    let for_cluster = entry.cluster.is_some();
    let index = app.log.push(entry);
    let fault = if for_cluster {
        app.faults.take_with_path(&method, &path)
    } else {
        app.faults.take(&method, &path)
    };
    let kind = fault.as_ref().map(Action::kind);
    let response = match fault {
        Some(Action::Error { status }) => injected(status),
        Some(Action::Reset) => {
            app.log.answered(index, None, kind);
            return reset(connection).await;
        }
        Some(Action::Delay { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            serve().await
        }
        Some(Action::ActThenReset) => {
            let response = serve().await;
            app.log
                .answered(index, Some(response.status().as_u16()), kind);
            return reset(connection).await;
        }
        None => serve().await,
    };
    app.log
        .answered(index, Some(response.status().as_u16()), kind);
    response
}

/// Resets the connection and never answers.
async fn reset(connection: Option<Arc<Connection>>) -> Response {
    if let Some(connection) = connection {
        connection.reset();
    }
    std::future::pending().await
}
