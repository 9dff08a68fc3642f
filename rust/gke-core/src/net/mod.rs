//! HTTP plumbing every Google client shares: the client builder, retries with backoff.

pub mod http;
pub mod private_file;
pub mod retry;
