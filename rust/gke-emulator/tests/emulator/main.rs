//! End-to-end tests of `gke-emulator`: the real binary on loopback, driven through Google's official
//! Rust clients (GKE, Artifact Registry, auth) and plain HTTP (metadata server, Compute, admin).

mod artifact_registry;
mod cluster_api;
mod clusters;
mod compute;
mod errors;
mod faults;
mod kube_client;
mod kubectl;
mod kubernetes_api;
mod lifecycle;
mod metadata;
mod node_pools;
mod operations;
mod restart;
mod storage;
mod support;
mod validation;
