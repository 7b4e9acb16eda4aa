//! App settings shared by the desktop app and the CLI: appearance, concurrency, log level.
//! Stored as JSON in the app's config folder. Nothing secret is ever stored here.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSettings {
    pub theme: Theme,
    /// Mailboxes worked on at once (1–16).
    pub concurrency: u32,
    pub log_level: LogLevel,
    /// Also notify when a scheduled backup succeeds (warnings and failures always notify).
    #[serde(default)]
    pub notify_on_success: bool,
    /// Closing the window keeps the app (and its schedules) running in the tray.
    #[serde(default = "yes")]
    pub close_to_tray: bool,
    /// The desktop app starts when the person logs in (to the tray, running its schedules).
    #[serde(default)]
    pub start_at_login: bool,
}

fn yes() -> bool {
    true
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            theme: Theme::System,
            concurrency: 4,
            log_level: LogLevel::Info,
            notify_on_success: false,
            close_to_tray: true,
            start_at_login: false,
        }
    }
}

impl AppSettings {
    pub fn validate(&self) -> Result<()> {
        if !(1..=16).contains(&self.concurrency) {
            return Err(EngineError::InvalidInput(format!(
                "concurrency must be between 1 and 16, not {}",
                self.concurrency
            )));
        }
        Ok(())
    }

    /// The saved settings, or the defaults when none were saved. A damaged file is reported,
    /// not silently replaced.
    pub fn load(path: &Path) -> Result<AppSettings> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let s: AppSettings = serde_json::from_slice(&bytes).map_err(|e| {
                    EngineError::InvalidInput(format!(
                        "the settings file {} is damaged ({e}); fix or delete it",
                        path.display()
                    ))
                })?;
                s.validate()?;
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AppSettings::default()),
            Err(e) => Err(EngineError::Internal(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    /// Validates and saves (write to a temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate()?;
        let io =
            |e: std::io::Error| EngineError::Internal(format!("saving {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("settings serialise"),
        )
        .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_save_load_and_refuse_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("settings.json");
        assert_eq!(AppSettings::load(&path).unwrap(), AppSettings::default());
        let s = AppSettings {
            theme: Theme::Dark,
            concurrency: 8,
            log_level: LogLevel::Debug,
            notify_on_success: true,
            close_to_tray: false,
            start_at_login: true,
        };
        s.save(&path).unwrap();
        assert_eq!(AppSettings::load(&path).unwrap(), s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"logLevel\": \"debug\""), "{text}");
        let bad = AppSettings {
            concurrency: 0,
            ..s.clone()
        };
        assert_eq!(bad.save(&path).unwrap_err().code(), "invalid_input");
        assert_eq!(
            AppSettings::load(&path).unwrap(),
            s,
            "a refused save changes nothing"
        );
        // A file from before the notification and tray settings gets their defaults.
        std::fs::write(
            &path,
            br#"{"theme":"dark","concurrency":2,"logLevel":"warn"}"#,
        )
        .unwrap();
        let old = AppSettings::load(&path).unwrap();
        assert!(
            !old.notify_on_success && old.close_to_tray && !old.start_at_login,
            "{old:?}"
        );
        std::fs::write(&path, b"{\"theme\":\"neon\"}").unwrap();
        let e = AppSettings::load(&path).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
    }
}
