//! Signing a backup set in to Microsoft 365: an Entra app (secret or certificate, kept in the
//! keychain once it works) or a person (device code, or the browser with PKCE; their refresh
//! token kept in the keychain).

use qcb_engine::connect::{AppSecret, SignedIn};
use qcb_engine::sets::ConnectionForm;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::error::ApiResult;
use crate::state::AppState;

/// What the person does in the device code flow (the code is theirs to see).
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceCodePrompt {
    user_code: String,
    verification_uri: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    expires_in_seconds: u64,
    message: String,
}

#[tauri::command]
pub async fn demo_connection(state: State<'_, AppState>) -> ApiResult<Option<ConnectionForm>> {
    Ok(state.demo_connection())
}

#[tauri::command]
pub async fn signin_app(
    state: State<'_, AppState>,
    connection: ConnectionForm,
    secret: AppSecret,
) -> ApiResult<SignedIn> {
    let secret = state.app_secret(&connection, secret);
    Ok(qcb_engine::connect::sign_in_app(&connection, secret, state.secrets.clone()).await?)
}

#[tauri::command]
pub async fn signin_device(
    state: State<'_, AppState>,
    connection: ConnectionForm,
    on_prompt: Channel<DeviceCodePrompt>,
) -> ApiResult<SignedIn> {
    let flow = qcb_engine::connect::sign_in_device(&connection, state.secrets.clone(), |p| {
        let _ = on_prompt.send(DeviceCodePrompt {
            user_code: p.user_code.clone(),
            verification_uri: p.verification_uri.clone(),
            expires_in_seconds: p.expires_in.as_secs(),
            message: p.message.clone(),
        });
    });
    state.signing_in(flow).await
}

#[tauri::command]
pub async fn signin_browser(
    app: AppHandle,
    state: State<'_, AppState>,
    connection: ConnectionForm,
) -> ApiResult<SignedIn> {
    let flow = qcb_engine::connect::sign_in_browser(&connection, state.secrets.clone(), |url| {
        crate::desktop::open_url(&app, url)
    });
    state.signing_in(flow).await
}

#[tauri::command]
pub async fn signin_cancel(state: State<'_, AppState>) -> ApiResult<()> {
    state.jobs.stop(crate::state::SIGN_IN_SLOT);
    Ok(())
}
