//! Fault injection: by rate (seeded and deterministic) or by script ("the
//! Nth request matching X gets fault Y"). Everything is off by default.
//!
//! Rate faults are decided per request from a hash of the seed, the method,
//! path and query and how many times that exact request was seen before, so
//! the same client sending the same requests meets the same faults however
//! its requests interleave, and a retry is a new draw.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 503 `ServiceUnavailable`, with `Retry-After: n` when `retry_after` is set.
    ServiceUnavailable {
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// 504 `GatewayTimeout`, with `Retry-After: n` when `retry_after` is set.
    GatewayTimeout {
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// 429 `TooManyRequests` with `Retry-After` (as a throttled request).
    TooManyRequests {
        #[serde(default = "one")]
        retry_after: u64,
    },
    /// The request is carried out, then the TCP connection is reset
    /// instead of answering (no status line reaches the client).
    ConnectionReset,
    /// The request is carried out; the answer announces its full
    /// `Content-Length` but the connection closes after half the body.
    TruncatedBody,
    /// The answer is delayed by `millis`.
    Slow { millis: u64 },
    /// 400 `syncStateNotFound` (an expired delta or skip token).
    SyncStateNotFound,
    /// 410 Gone `syncStateNotFound` with `Location:` the same delta URL
    /// without its tokens (start over).
    SyncStateGone,
    /// Every access and refresh token issued so far is revoked; this
    /// request (and every later one with an old token) answers 401.
    RevokeTokens,
}

fn one() -> u64 {
    1
}

impl Fault {
    /// Short name written to the request log.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::ServiceUnavailable { .. } => "service_unavailable",
            Fault::GatewayTimeout { .. } => "gateway_timeout",
            Fault::TooManyRequests { .. } => "too_many_requests",
            Fault::ConnectionReset => "connection_reset",
            Fault::TruncatedBody => "truncated_body",
            Fault::Slow { .. } => "slow",
            Fault::SyncStateNotFound => "sync_state_not_found",
            Fault::SyncStateGone => "sync_state_gone",
            Fault::RevokeTokens => "revoke_tokens",
        }
    }
}

/// "The `nth` (1-based) request matching this rule, and the `times - 1`
/// matching ones after it, get `fault`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Method to match (`GET`, `POST`…); `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// The percent-decoded request path must contain this (after path
    /// normalisation, e.g. `/messages/` or `/$value`); empty matches any.
    #[serde(default)]
    pub path_contains: String,
    /// The raw query must contain this (e.g. `$deltatoken`), when set.
    #[serde(default)]
    pub query_contains: Option<String>,
    /// 1-based: which matching request gets the fault first.
    #[serde(default = "one")]
    pub nth: u64,
    /// How many matching requests in a row get it (0 = every one from `nth` on).
    #[serde(default = "one")]
    pub times: u64,
    pub fault: Fault,
}

impl FaultRule {
    /// The `nth` request with `path_contains` gets `fault`, once.
    pub fn nth(nth: u64, path_contains: impl Into<String>, fault: Fault) -> Self {
        Self {
            method: None,
            path_contains: path_contains.into(),
            query_contains: None,
            nth,
            times: 1,
            fault,
        }
    }

    fn matches(&self, method: &str, path: &str, query: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
            && self
                .query_contains
                .as_deref()
                .is_none_or(|q| query.contains(q) || percent_q(query).contains(q))
    }
}

fn percent_q(q: &str) -> String {
    q.replace("%24", "$")
}

/// What faults to inject. Default: none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FaultConfig {
    /// Seed of the rate draws.
    pub seed: u64,
    /// Probability (0.0–1.0) that a Graph request (`/v1.0/…`) gets one of
    /// `kinds`.
    pub rate: f64,
    /// The faults drawn from when `rate` hits (uniformly). Empty: 503 with
    /// `Retry-After: 1`.
    pub kinds: Vec<Fault>,
    /// Rate faults only for paths containing this (empty: every `/v1.0` path).
    pub path_contains: String,
    /// Scripted faults, checked before the rate.
    pub rules: Vec<FaultRule>,
}

#[derive(Default)]
struct State {
    config: FaultConfig,
    /// Matches seen per rule (same index as `config.rules`).
    rule_hits: Vec<u64>,
    /// How often each exact request was seen (rate draws).
    seen: HashMap<String, u64>,
}

#[derive(Default)]
pub(crate) struct Faults {
    state: Mutex<State>,
}

fn draw(seed: u64, key: &str, n: u64) -> (f64, u64) {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(key.as_bytes());
    h.update(&n.to_le_bytes());
    let out = h.finalize();
    let b = out.as_bytes();
    let a = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let c = u64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
    ((a >> 11) as f64 / (1u64 << 53) as f64, c)
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let f = Self::default();
        f.set_config(config);
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// Replaces the configuration and restarts every count.
    pub fn set_config(&self, config: FaultConfig) {
        let mut s = self.lock();
        s.rule_hits = vec![0; config.rules.len()];
        s.seen.clear();
        s.config = config;
    }

    pub fn add_rule(&self, rule: FaultRule) {
        let mut s = self.lock();
        s.config.rules.push(rule);
        s.rule_hits.push(0);
    }

    /// The fault for this request, if any. Every call counts.
    pub fn pick(&self, method: &str, path: &str, query: &str) -> Option<Fault> {
        let mut s = self.lock();
        let mut hit = None;
        let State {
            config, rule_hits, ..
        } = &mut *s;
        for (i, rule) in config.rules.iter().enumerate() {
            if !rule.matches(method, path, query) {
                continue;
            }
            rule_hits[i] += 1;
            let n = rule_hits[i];
            let first = rule.nth.max(1);
            let in_range = n >= first && (rule.times == 0 || n < first + rule.times);
            if in_range && hit.is_none() {
                hit = Some(rule.fault.clone());
            }
        }
        if hit.is_some() {
            return hit;
        }
        if s.config.rate <= 0.0
            || !path.starts_with("/v1.0")
            || !path.contains(&s.config.path_contains)
        {
            return None;
        }
        let key = format!("{method} {path}?{query}");
        let n = {
            let c = s.seen.entry(key.clone()).or_insert(0);
            *c += 1;
            *c
        };
        let (x, k) = draw(s.config.seed, &key, n);
        if x >= s.config.rate {
            return None;
        }
        if s.config.kinds.is_empty() {
            return Some(Fault::ServiceUnavailable {
                retry_after: Some(1),
            });
        }
        let i = (k % s.config.kinds.len() as u64) as usize;
        Some(s.config.kinds[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_rule_fires_once() {
        let f = Faults::new(FaultConfig {
            rules: vec![FaultRule::nth(
                2,
                "/messages",
                Fault::GatewayTimeout { retry_after: None },
            )],
            ..FaultConfig::default()
        });
        assert_eq!(f.pick("GET", "/v1.0/users/a/messages", ""), None);
        assert_eq!(f.pick("GET", "/v1.0/users", ""), None);
        assert!(f.pick("GET", "/v1.0/users/a/messages", "").is_some());
        assert_eq!(f.pick("GET", "/v1.0/users/a/messages", ""), None);
    }

    #[test]
    fn rate_is_deterministic_and_roughly_right() {
        let cfg = FaultConfig {
            seed: 9,
            rate: 0.25,
            ..FaultConfig::default()
        };
        let run = || {
            let f = Faults::new(cfg.clone());
            (0..400)
                .map(|i| {
                    f.pick("GET", &format!("/v1.0/users/u/messages/{i}"), "")
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|x| **x).count();
        assert!((60..140).contains(&hits), "{hits}");
    }
}
