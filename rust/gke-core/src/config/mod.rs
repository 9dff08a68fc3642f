//! What DSS hands the plugin, parsed once and validated once: forms, presets, names, ranges, the plugin data; pure data, no I/O.

pub mod attach;
pub mod cidr;
pub mod cluster;
pub mod connection;
pub mod create_request;
pub mod credential_helper;
pub mod form;
pub mod host;
pub mod location;
pub mod names;
pub mod node_pool;
pub mod params;
pub mod plugin_data;
pub mod record;
pub mod settings;
pub mod taint;
