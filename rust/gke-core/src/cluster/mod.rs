//! A GKE cluster through its life: plan, create or attach, node-pool changes, inventory and
//! health, delete. Inside, arrows point one way: handle ← {inventory ← health, node_pool_changes,
//! delete, kubeconfig}; plan ← create ← start (create uses delete to clean up).

pub mod create;
pub mod delete;
pub mod handle;
pub mod health;
pub mod inventory;
pub mod kubeconfig;
pub mod node_pool_changes;
pub mod plan;
pub mod start;
