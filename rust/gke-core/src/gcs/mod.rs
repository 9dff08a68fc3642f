//! Google Cloud Storage: access checks for the admin and the incremental folder ↔ bucket sync.

pub mod access;
pub mod checksum;
pub mod client;
pub mod config;
pub mod folder;
pub mod location;
pub mod resumable;
pub mod sync;

pub use access::{check_access, AccessReport};
pub use client::{GcsClient, GcsOptions};
pub use folder::{FolderIo, LocalDir};
pub use location::GcsLocation;
pub use sync::{sync, Direction, SyncAction, SyncOptions, SyncReport};
