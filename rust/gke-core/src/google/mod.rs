//! Google APIs as typed clients: the metadata server, GKE, its operations, Compute and the catalogue of what exists where.

pub mod catalogue;
pub mod compute;
pub mod gke;
pub mod metadata;
pub mod operation;
pub mod resolve;
