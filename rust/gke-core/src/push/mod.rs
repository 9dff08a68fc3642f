//! Pushing images to a registry (Artifact Registry, or any OCI registry) on the OCI
//! distribution protocol, without a docker CLI: sources as skopeo names them, layers streamed
//! (compressed on every core when stored uncompressed), blobs skipped or mounted when the
//! registry has them, the manifest last.

pub mod artifact_registry;
pub mod base_images;
pub mod blob_cache;
pub mod copy;
pub mod digest;
pub mod docker_daemon;
pub mod gzip;
pub mod image;
pub mod reference;
pub mod registry;
pub mod report;

pub use base_images::push_base_images;
pub use copy::{push, Progress, PushOptions, PushProgress};
pub use report::{PushBatch, PushReport};
