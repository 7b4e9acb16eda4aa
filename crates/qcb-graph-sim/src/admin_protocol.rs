//! [`Admin`] methods for the protocol side: throttling, faults, token
//! timings, revocation, app registrations and device code approval.

use crate::admin::Admin;
use crate::error::SimError;
use crate::faults::{FaultConfig, FaultRule};
use crate::identity::{App, AppRegistration, DeviceState, parse_cert};
use crate::options::AuthConfig;
use crate::throttle::ThrottleConfig;

impl Admin {
    /// The throttling limits in force.
    pub fn throttle(&self) -> ThrottleConfig {
        self.shared.proto.throttle.config()
    }

    /// Changes the throttling limits (counters of windows in progress stay).
    pub fn set_throttle(&self, config: ThrottleConfig) {
        self.shared.proto.throttle.set_config(config);
    }

    /// Forgets every throttling counter (all windows start empty).
    pub fn reset_throttle(&self) {
        self.shared.proto.throttle.reset();
    }

    /// The fault injection in force.
    pub fn faults(&self) -> FaultConfig {
        self.shared.proto.faults.config()
    }

    /// Replaces the fault injection (and restarts rule and rate counts).
    pub fn set_faults(&self, config: FaultConfig) {
        self.shared.proto.faults.set_config(config);
    }

    /// Adds one scripted fault (its count starts now).
    pub fn add_fault_rule(&self, rule: FaultRule) {
        self.shared.proto.faults.add_rule(rule);
    }

    /// No faults any more.
    pub fn clear_faults(&self) {
        self.shared.proto.faults.set_config(FaultConfig::default());
    }

    pub fn auth_config(&self) -> AuthConfig {
        self.shared.proto.auth()
    }

    /// Token lifetime, device code interval and lifetime… (for tokens and
    /// codes issued from now on).
    pub fn set_auth_config(&self, config: AuthConfig) {
        self.shared.proto.set_auth(config);
    }

    /// Revokes every access and refresh token issued so far: they answer
    /// 401 `InvalidAuthenticationToken` / `invalid_grant` from now on.
    pub fn revoke_tokens(&self) {
        self.shared.proto.identity().revoke_all();
    }

    /// Every app registration (the tenant's own first).
    pub fn apps(&self) -> Vec<AppRegistration> {
        self.shared
            .proto
            .identity()
            .apps
            .iter()
            .map(|a| a.reg.clone())
            .collect()
    }

    /// Registers another app; an empty `client_id` gets a GUID. Returns
    /// the registration as stored. Fails if the client id is taken.
    pub fn register_app(&self, mut reg: AppRegistration) -> Result<AppRegistration, SimError> {
        if reg.client_id.is_empty() {
            reg.client_id = crate::rng::random_guid();
        }
        if reg.display_name.is_empty() {
            reg.display_name = "Test app".into();
        }
        reg.certificate_thumbprints.clear();
        let mut id = self.shared.proto.identity();
        if id.app(&reg.client_id).is_some() {
            return Err(SimError::Invalid(format!(
                "client id '{}' is already registered",
                reg.client_id
            )));
        }
        id.apps.push(App {
            reg: reg.clone(),
            certs: Vec::new(),
        });
        Ok(reg)
    }

    /// Sets an app's consented application permissions (`roles` of tokens
    /// issued from now on) and delegated permissions.
    pub fn set_app_permissions(
        &self,
        client_id: &str,
        application: &[&str],
        delegated: &[&str],
    ) -> Result<(), SimError> {
        let mut id = self.shared.proto.identity();
        let app = id
            .app_mut(client_id)
            .ok_or_else(|| SimError::Invalid(format!("unknown app '{client_id}'")))?;
        app.reg.application_permissions = application.iter().map(|s| s.to_string()).collect();
        app.reg.delegated_permissions = delegated.iter().map(|s| s.to_string()).collect();
        Ok(())
    }

    /// Scopes an app's application permissions to some mailboxes (Exchange RBAC for
    /// Applications), or lifts the scope with `None`.
    pub fn set_app_mailbox_scope(
        &self,
        client_id: &str,
        mailboxes: Option<&[&str]>,
    ) -> Result<(), SimError> {
        let mut id = self.shared.proto.identity();
        let app = id
            .app_mut(client_id)
            .ok_or_else(|| SimError::Invalid(format!("unknown app '{client_id}'")))?;
        app.reg.mailbox_scope = mailboxes.map(|m| m.iter().map(|s| s.to_string()).collect());
        Ok(())
    }

    /// Registers a certificate credential: `pem` is an X.509 certificate
    /// (its SHA-1 `x5t` and SHA-256 `x5t#S256` thumbprints are computed) or
    /// an RSA public key, with the `x5t` the client will send (or `None`:
    /// any assertion without a matching thumbprint is tried against it).
    /// Returns the `x5t` thumbprint, if known.
    pub fn add_app_certificate(
        &self,
        client_id: &str,
        pem: &str,
        thumbprint: Option<&str>,
    ) -> Result<Option<String>, SimError> {
        let cert = parse_cert(pem, thumbprint).map_err(SimError::Invalid)?;
        let mut id = self.shared.proto.identity();
        let app = id
            .app_mut(client_id)
            .ok_or_else(|| SimError::Invalid(format!("unknown app '{client_id}'")))?;
        let x5t = cert.x5t.clone();
        if let Some(t) = &x5t {
            app.reg.certificate_thumbprints.push(t.clone());
        }
        app.certs.push(cert);
        Ok(x5t)
    }

    /// Completes a device code sign-in as the user `user` (id or UPN) would
    /// on the verification page: approves it, or declines it.
    pub fn complete_device_code(
        &self,
        user_code: &str,
        user: &str,
        approve: bool,
    ) -> Result<(), SimError> {
        let user_id = {
            let t = self.shared.lock();
            t.mailbox_index(user)
                .map(|i| t.mailboxes.user(i).id.clone())
        };
        let user_id = match (user_id, approve) {
            (Some(u), _) => Some(u),
            (None, false) => None,
            (None, true) => return Err(SimError::UnknownUser(user.to_string())),
        };
        let now = self.shared.lock().now();
        let mut id = self.shared.proto.identity();
        let code = user_code.trim().replace('-', "");
        let d = id
            .devices
            .iter_mut()
            .find(|d| d.user_code.eq_ignore_ascii_case(&code))
            .ok_or_else(|| SimError::Invalid(format!("unknown code '{user_code}'")))?;
        if d.expires <= now {
            return Err(SimError::Invalid(format!("code '{user_code}' has expired")));
        }
        if d.state != DeviceState::Pending {
            return Err(SimError::Invalid(format!(
                "code '{user_code}' was already used"
            )));
        }
        d.state = if approve {
            DeviceState::Approved
        } else {
            DeviceState::Declined
        };
        d.user_id = user_id;
        Ok(())
    }

    /// Approves a device code for `user` (see [`Admin::complete_device_code`]).
    pub fn approve_device_code(&self, user_code: &str, user: &str) -> Result<(), SimError> {
        self.complete_device_code(user_code, user, true)
    }
}
