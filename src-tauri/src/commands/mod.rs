//! Tauri commands, grouped by domain. Each is a thin shim over the engine API.

pub mod app;
pub mod backup;
pub mod repo;
pub mod settings;
pub mod snapshots;
