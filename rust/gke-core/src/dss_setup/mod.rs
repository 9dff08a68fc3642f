//! "Set up DSS for this cluster": the reference architecture's DSS-side steps done through DSS's
//! admin API. The Artifact Registry repository ensured, a Kubernetes containerized-execution
//! config and a Spark config (by name) pointing at it, one GCS connection per bucket, then the
//! base images pushed. A plan by default (nothing touched); settings it did not create are
//! never rewritten unless asked, and never deleted.
//!
//! DSS itself is reached through [`DssAdmin`] (the shim implements it with `dataikuapi`); the
//! JSON written is limited to what Dataiku's public material settles ([`fields`]).

pub mod fields;
pub mod plan;
pub mod report;
pub mod request;

use serde_json::Value;

use crate::auth::credentials::GoogleCredentials;
use crate::error::Result;
use crate::push::artifact_registry;
use crate::push::base_images::push_base_images;
use crate::push::copy::Progress;

pub use plan::{Outcome, Plan, Step, Target};
pub use report::SetupReport;
pub use request::{SetupParams, SetupRequest};

/// DSS, as the action reads and writes it (`dataiku.api_client()` in the shim). Errors carry
/// DSS's own message.
pub trait DssAdmin: Send + Sync {
    /// `client.get_general_settings().get_raw()`.
    fn general_settings(&self) -> Result<Value>;
    /// The whole general settings saved at once (`DSSGeneralSettings.save()`).
    fn save_general_settings(&self, settings: &Value) -> Result<()>;
    /// `client.get_connection(name).get_settings().get_raw()`, `None` when there is none.
    fn connection(&self, name: &str) -> Result<Option<Value>>;
    /// `client.create_connection(...)` with the body's `name`, `type`, `params`, `usableBy`,
    /// `allowedGroups` and `description`.
    fn create_connection(&self, body: &Value) -> Result<()>;
    /// `DSSConnectionSettings.save()` of an existing connection's whole settings.
    fn save_connection(&self, name: &str, settings: &Value) -> Result<()>;
}

/// Runs the action: the plan, and with `apply` the changes in order (the repository; the
/// general settings, read again and saved at once; each connection, whole; the push). A step
/// that fails leaves what it writes as it was; nothing after a failed repository or general
/// settings save is run.
pub async fn run(
    request: &SetupRequest,
    admin: &dyn DssAdmin,
    progress: Option<Progress>,
) -> Result<SetupReport> {
    let google = GoogleCredentials::from_key_or_default(
        &request.push.options.google_key,
        "Service-account key",
    )?;
    let endpoint = request.push.options.api_endpoint.clone();
    let repo = request.repository();
    let gcs_key = fields::GcsKey::of(&request.gcs_key)?;
    let read = |repository_exists: bool| -> Result<Plan> {
        Ok(plan::plan(
            request,
            &gcs_key,
            repository_exists,
            &admin.general_settings()?,
            &read_connections(request, admin)?,
        ))
    };
    let exists = artifact_registry::find_repository(&google, endpoint.clone(), &repo).await?;
    let mut plan = read(exists)?;
    if !request.apply {
        return Ok(SetupReport::new(request, plan, None));
    }
    if !exists {
        let created = artifact_registry::ensure_repository(
            &google,
            endpoint,
            &repo,
            request.push.options.create_repository,
        )
        .await;
        if let Err(e) = created {
            plan.done(Target::Repository, Err(e.to_string()));
            return Ok(SetupReport::new(request, plan, None));
        }
        // DSS's settings may have moved while the repository was made: plan them again.
        plan = read(true)?;
        plan.created_repository();
    }
    if let Some(settings) = plan.general_settings.clone() {
        let saved = admin.save_general_settings(&settings);
        plan.done(Target::GeneralSettings, saved.map_err(|e| e.to_string()));
        if plan.failed() {
            return Ok(SetupReport::new(request, plan, None));
        }
    }
    for write in plan.connection_writes.clone() {
        let done = if write.create {
            admin.create_connection(&write.body)
        } else {
            admin.save_connection(&write.name, &write.body)
        };
        plan.done(
            Target::Connection(write.name.clone()),
            done.map_err(|e| e.to_string()),
        );
    }
    let pushed = if request.push_images {
        Some(push_base_images(&request.push, progress).await)
    } else {
        None
    };
    Ok(SetupReport::new(request, plan, pushed))
}

fn read_connections(
    request: &SetupRequest,
    admin: &dyn DssAdmin,
) -> Result<Vec<(String, Option<Value>)>> {
    request
        .connections
        .iter()
        .map(|(name, _)| Ok((name.clone(), admin.connection(name)?)))
        .collect()
}
