//! Tauri commands, grouped by domain. Each is a thin shim over the engine API.

pub mod app;
pub mod backup;
pub mod directory;
pub mod repo;
pub mod restore;
pub mod search;
pub mod sets;
pub mod settings;
pub mod signin;
pub mod snapshots;

use qcb_engine::{Progress, ProgressEvent};
use tauri::ipc::Channel;

use crate::state::Stopped;

/// Streams engine progress to the window that started the job, and tells the job when the
/// person pressed Stop.
pub struct ChannelProgress {
    channel: Channel<ProgressEvent>,
    stop: Option<Stopped>,
}

impl ChannelProgress {
    pub fn new(channel: Channel<ProgressEvent>) -> Self {
        ChannelProgress {
            channel,
            stop: None,
        }
    }

    /// Progress for a job that `stopped` can end.
    pub fn stoppable(channel: Channel<ProgressEvent>, stopped: &Stopped) -> Self {
        ChannelProgress {
            channel,
            stop: Some(stopped.clone()),
        }
    }
}

impl Progress for ChannelProgress {
    fn event(&self, event: ProgressEvent) {
        // A closed window just stops listening; the job goes on.
        let _ = self.channel.send(event);
    }

    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(Stopped::is_set)
    }
}

/// The shell's own DTOs in TypeScript, generated like the engine's (see `qcb_engine::ts`).
#[cfg(all(test, feature = "ts"))]
mod ts_types {
    use std::path::Path;

    use ts_rs::TS;

    #[test]
    fn the_ui_types_of_the_shell_are_generated_from_the_rust_dtos() {
        let committed =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/backend/generated-shell");
        let fresh = tempfile::tempdir().expect("tempdir");
        let cfg = ts_rs::Config::new().with_out_dir(fresh.path());
        super::app::AppInfo::export_all(&cfg).expect("AppInfo");
        super::repo::RepoOpenArgs::export_all(&cfg).expect("RepoOpenArgs");
        super::signin::DeviceCodePrompt::export_all(&cfg).expect("DeviceCodePrompt");
        let exported = qcb_engine::ts::sync_generated(&committed, fresh.path())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            exported, 5,
            "AppInfo, RepoSummary, RepoOpenArgs, RepoLocation, DeviceCodePrompt"
        );
    }
}
