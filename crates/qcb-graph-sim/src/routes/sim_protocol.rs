//! `/_sim/...` for the protocol side (no auth, snake_case JSON, not
//! logged): throttling, faults, token timings, revocation, apps, device
//! codes. Bodies are the Rust types of [`crate::Admin`]'s methods.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Shared;
use crate::admin::Admin;
use crate::faults::{FaultConfig, FaultRule};
use crate::identity::AppRegistration;
use crate::options::AuthConfig;
use crate::throttle::ThrottleConfig;

type Sh = State<Arc<Shared>>;

fn admin(shared: &Arc<Shared>) -> Admin {
    Admin {
        shared: shared.clone(),
    }
}

fn sim_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

async fn parse<T: DeserializeOwned>(body: Body) -> Result<T, Response> {
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| sim_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))?;
    serde_json::from_slice(&bytes).map_err(|e| sim_error(StatusCode::BAD_REQUEST, e.to_string()))
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/throttle", get(get_throttle).put(put_throttle))
        .route("/_sim/throttle/reset", post(reset_throttle))
        .route(
            "/_sim/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/_sim/faults/rules", post(add_rule))
        .route("/_sim/auth", get(get_auth).put(put_auth))
        .route("/_sim/tokens/revoke", post(revoke))
        .route("/_sim/apps", get(apps).post(register_app))
        .route("/_sim/apps/{client_id}/permissions", put(permissions))
        .route("/_sim/apps/{client_id}/certificates", post(certificate))
        .route("/_sim/devicecode/approve", post(approve))
        .route("/_sim/devicecode/deny", post(deny))
}

async fn get_throttle(State(s): Sh) -> Response {
    axum::Json(admin(&s).throttle()).into_response()
}

async fn put_throttle(State(s): Sh, body: Body) -> Response {
    match parse::<ThrottleConfig>(body).await {
        Ok(c) => {
            admin(&s).set_throttle(c);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn reset_throttle(State(s): Sh) -> Response {
    admin(&s).reset_throttle();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(s): Sh) -> Response {
    axum::Json(admin(&s).faults()).into_response()
}

async fn put_faults(State(s): Sh, body: Body) -> Response {
    match parse::<FaultConfig>(body).await {
        Ok(c) => {
            admin(&s).set_faults(c);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn clear_faults(State(s): Sh) -> Response {
    admin(&s).clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn add_rule(State(s): Sh, body: Body) -> Response {
    match parse::<FaultRule>(body).await {
        Ok(r) => {
            admin(&s).add_fault_rule(r);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn get_auth(State(s): Sh) -> Response {
    axum::Json(admin(&s).auth_config()).into_response()
}

async fn put_auth(State(s): Sh, body: Body) -> Response {
    match parse::<AuthConfig>(body).await {
        Ok(c) => {
            admin(&s).set_auth_config(c);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn revoke(State(s): Sh) -> Response {
    admin(&s).revoke_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn apps(State(s): Sh) -> Response {
    axum::Json(admin(&s).apps()).into_response()
}

async fn register_app(State(s): Sh, body: Body) -> Response {
    let reg = match parse::<AppRegistration>(body).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match admin(&s).register_app(reg) {
        Ok(r) => (StatusCode::CREATED, axum::Json(r)).into_response(),
        Err(e) => sim_error(StatusCode::CONFLICT, e.to_string()),
    }
}

#[derive(Deserialize)]
struct Permissions {
    #[serde(default)]
    application_permissions: Vec<String>,
    #[serde(default)]
    delegated_permissions: Vec<String>,
}

async fn permissions(State(s): Sh, Path(client_id): Path<String>, body: Body) -> Response {
    let p = match parse::<Permissions>(body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let app: Vec<&str> = p
        .application_permissions
        .iter()
        .map(String::as_str)
        .collect();
    let del: Vec<&str> = p.delegated_permissions.iter().map(String::as_str).collect();
    match admin(&s).set_app_permissions(&client_id, &app, &del) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => sim_error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

#[derive(Deserialize)]
struct CertBody {
    pem: String,
    #[serde(default)]
    thumbprint: Option<String>,
}

async fn certificate(State(s): Sh, Path(client_id): Path<String>, body: Body) -> Response {
    let c = match parse::<CertBody>(body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match admin(&s).add_app_certificate(&client_id, &c.pem, c.thumbprint.as_deref()) {
        Ok(x5t) => (StatusCode::CREATED, axum::Json(json!({"x5t": x5t}))).into_response(),
        Err(e) => sim_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Deserialize)]
struct DeviceBody {
    user_code: String,
    #[serde(default)]
    user: String,
}

async fn approve(State(s): Sh, body: Body) -> Response {
    let d = match parse::<DeviceBody>(body).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match admin(&s).complete_device_code(&d.user_code, &d.user, true) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => sim_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn deny(State(s): Sh, body: Body) -> Response {
    let d = match parse::<DeviceBody>(body).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match admin(&s).complete_device_code(&d.user_code, &d.user, false) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => sim_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
