use std::path::PathBuf;
use std::sync::Arc;

use qcb_engine::{Location, RepoHandle, S3Location, Secret};
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoSummary {
    id: String,
    path: String,
    snapshot_count: usize,
    /// Set when the password could not be remembered in the OS keychain.
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

/// Where the repository is, as the UI describes it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RepoLocation {
    Local {
        path: String,
    },
    #[serde(rename_all = "camelCase")]
    S3 {
        endpoint: String,
        bucket: String,
        region: String,
        prefix: String,
        access_key_id: String,
    },
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
pub async fn repo_open(
    state: State<'_, AppState>,
    location: RepoLocation,
    password: String,
    create: bool,
    remember: bool,
    s3_secret_access_key: Option<String>,
) -> ApiResult<RepoSummary> {
    let location = location.into_location(s3_secret_access_key)?;
    let opened = qcb_engine::api::open_repository_for_user(
        location,
        password,
        state.cache_root.clone(),
        create,
        remember,
        state.secrets.clone(),
    )
    .await?;
    state.set_repo(opened.handle.clone());
    let mut summary = RepoSummary::of(opened.handle).await?;
    summary.keychain_warning = opened.keychain_warning;
    Ok(summary)
}
