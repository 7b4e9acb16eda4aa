use std::path::PathBuf;
use std::sync::Arc;

use qcb_engine::{Location, RepoHandle, S3Location, Secret};
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The open repository.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RepoSummary {
    id: String,
    /// Human-readable location: a folder path, or `s3://bucket/prefix` at the endpoint.
    path: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    snapshot_count: usize,
    /// Set when the password could not be remembered in the OS keychain (the repository is
    /// open).
    keychain_warning: Option<String>,
}

impl RepoSummary {
    pub async fn of(h: Arc<RepoHandle>) -> ApiResult<RepoSummary> {
        let (id, path) = (h.repository().id().to_string(), h.repository().location());
        let snapshot_count = qcb_engine::api::list_snapshots(h).await?.len();
        Ok(RepoSummary {
            id,
            path,
            snapshot_count,
            keychain_warning: None,
        })
    }
}

/// Where the repository is, as the UI describes it. The S3 secret access key is not part of
/// the location (locations may be shown, logged and remembered); it travels separately in
/// `RepoOpenArgs.s3SecretAccessKey`.
#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RepoLocation {
    /// A folder of this computer (or a mounted share).
    Local { path: String },
    /// A bucket of an S3-compatible object store.
    #[serde(rename_all = "camelCase")]
    S3 {
        /// e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:8333`.
        endpoint: String,
        bucket: String,
        /// e.g. `eu-central-1`; `us-east-1` when the store ignores regions.
        region: String,
        /// Key prefix inside the bucket ("" for the bucket root, else no leading slash).
        prefix: String,
        access_key_id: String,
    },
}

/// What `repo_open` takes.
#[derive(Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RepoOpenArgs {
    location: RepoLocation,
    password: String,
    /// Initialise a new, empty repository instead of opening an existing one.
    create: bool,
    /// Store the password (and the S3 secret key, if any) in the OS keychain so the app can
    /// open this repository without asking. `false` forgets anything stored for it before.
    remember: bool,
    /// The S3 secret access key; `null` for a local repository.
    s3_secret_access_key: Option<String>,
}

impl RepoLocation {
    /// The engine's location; an S3 secret key travels separately (`None` or empty: the one
    /// remembered in the keychain).
    fn into_location(self, secret_access_key: Option<String>) -> ApiResult<Location> {
        let bad = |m: &str| Err(ApiError::new("invalid_input", m.to_string()));
        match self {
            RepoLocation::Local { path } if path.trim().is_empty() => {
                bad("Choose a folder for the repository.")
            }
            RepoLocation::Local { path } => Ok(Location::Local(PathBuf::from(path.trim()))),
            RepoLocation::S3 {
                endpoint,
                bucket,
                region,
                prefix,
                access_key_id,
            } => {
                if access_key_id.trim().is_empty() {
                    return bad("Enter the S3 access key id.");
                }
                let prefix = prefix.trim().trim_matches('/');
                let url = format!(
                    "{}/{}{}{prefix}",
                    endpoint.trim().trim_end_matches('/'),
                    bucket.trim(),
                    if prefix.is_empty() { "" } else { "/" }
                );
                let region = Some(region.trim())
                    .filter(|r| !r.is_empty())
                    .unwrap_or(qcb_engine::DEFAULT_S3_REGION);
                let s3 = S3Location::from_url(
                    &url,
                    access_key_id.trim(),
                    Secret::new(secret_access_key.unwrap_or_default()),
                    region,
                )
                .map_err(|e| ApiError::new("invalid_input", e.to_string()))?;
                Ok(Location::S3(s3))
            }
        }
    }
}

/// Opens (or, with `create`, initialises) a repository in a folder or an S3 bucket; remembers
/// its password (and S3 keys) in the OS keychain when asked (an empty password or secret key
/// uses the remembered one).
#[tauri::command]
pub async fn repo_open(state: State<'_, AppState>, args: RepoOpenArgs) -> ApiResult<RepoSummary> {
    let location = args.location.into_location(args.s3_secret_access_key)?;
    let opened = qcb_engine::api::open_repository_for_user(
        location,
        args.password,
        state.cache_root.clone(),
        args.create,
        args.remember,
        state.secrets.clone(),
    )
    .await?;
    state.set_repo(opened.handle.clone());
    let mut summary = RepoSummary::of(opened.handle).await?;
    summary.keychain_warning = opened.keychain_warning;
    Ok(summary)
}
