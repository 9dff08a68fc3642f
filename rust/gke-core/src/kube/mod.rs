//! A cluster's Kubernetes API: the client, DSS's admin binding, the network test pod.

pub mod client;
pub mod netcheck;
pub mod rbac;
