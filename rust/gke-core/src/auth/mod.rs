//! Google credentials, cached access tokens and the kubeconfig that carries them to kubectl.

pub mod credentials;
pub mod kubeconfig;
pub mod token_cache;
