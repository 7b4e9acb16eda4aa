//! Exchange Online's throttling of Outlook resources, per app per mailbox:
//! a sliding window of requests (10,000 per 10 minutes), at most 4 requests
//! in flight, and a sliding window of uploaded bytes (150 MB per 5
//! minutes). Each (app, mailbox) pair has its own state behind its own
//! lock, so one mailbox over its limits never delays another.
//!
//! `time_scale` compresses the windows: with 60.0 the 10-minute window
//! lasts 10 real seconds. `Retry-After` is always in real seconds.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Throttling limits (per app per mailbox). [`ThrottleConfig::default`]
/// is off; [`ThrottleConfig::exchange`] is Exchange Online's documented
/// limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleConfig {
    pub enabled: bool,
    /// Requests admitted per `window_secs` (sliding window). Exchange: 10,000.
    pub requests_per_window: u64,
    /// Exchange: 600 (10 minutes).
    pub window_secs: u64,
    /// Requests in flight at once. Exchange: 4.
    pub max_concurrent: usize,
    /// Bytes of request bodies (POST/PUT/PATCH, upload-session chunks)
    /// admitted per `upload_window_secs`. Exchange: 150 MB.
    pub upload_bytes_per_window: u64,
    /// Exchange: 300 (5 minutes).
    pub upload_window_secs: u64,
    /// Real time runs this many times faster than the windows: 60.0 makes
    /// the 10-minute window last 10 s. Must be > 0.
    pub time_scale: f64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        let mut c = Self::exchange();
        c.enabled = false;
        c
    }
}

impl ThrottleConfig {
    /// Throttling off (the default).
    pub fn off() -> Self {
        Self::default()
    }

    /// Exchange Online's limits, in real time.
    pub fn exchange() -> Self {
        Self {
            enabled: true,
            requests_per_window: 10_000,
            window_secs: 600,
            max_concurrent: 4,
            upload_bytes_per_window: 150 * 1024 * 1024,
            upload_window_secs: 300,
            time_scale: 1.0,
        }
    }

    /// The same limits with windows `factor` times shorter in real time.
    pub fn scaled(mut self, factor: f64) -> Self {
        self.time_scale = factor;
        self
    }

    fn real(&self, nominal_secs: u64) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        Duration::from_secs_f64(nominal_secs as f64 / scale)
    }
}

/// Why a request was refused, with the `Retry-After` to send (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Throttled {
    pub retry_after: u64,
    /// The Exchange limit name, for the error message.
    pub limit: &'static str,
}

#[derive(Default)]
struct KeyState {
    requests: VecDeque<Instant>,
    uploads: VecDeque<(Instant, u64)>,
    uploaded: u64,
    in_flight: usize,
}

type Key = (String, String);

/// The throttle: its config and one state per (app id, mailbox id).
#[derive(Default)]
pub(crate) struct Throttle {
    config: Mutex<ThrottleConfig>,
    keys: Mutex<HashMap<Key, Arc<Mutex<KeyState>>>>,
}

/// Holds one in-flight slot of a mailbox until dropped.
pub(crate) struct Slot {
    state: Arc<Mutex<KeyState>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

impl Throttle {
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config: Mutex::new(config),
            keys: Mutex::default(),
        }
    }

    pub fn config(&self) -> ThrottleConfig {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the limits; counters are kept (a window in progress stays).
    pub fn set_config(&self, c: ThrottleConfig) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = c;
    }

    /// Forgets every counter.
    pub fn reset(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn state(&self, app: &str, mailbox: &str) -> Arc<Mutex<KeyState>> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.entry((app.to_ascii_lowercase(), mailbox.to_ascii_lowercase()))
            .or_default()
            .clone()
    }

    /// Admits a request of `app` on `mailbox` carrying `upload` body bytes,
    /// or says why not. `None` when throttling is off.
    pub fn admit(&self, app: &str, mailbox: &str, upload: u64) -> Result<Option<Slot>, Throttled> {
        let c = self.config();
        if !c.enabled {
            return Ok(None);
        }
        let state = self.state(app, mailbox);
        let now = Instant::now();
        {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            let window = c.real(c.window_secs);
            while s
                .requests
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                s.requests.pop_front();
            }
            let upload_window = c.real(c.upload_window_secs);
            while let Some(&(t, n)) = s.uploads.front() {
                if now.duration_since(t) < upload_window {
                    break;
                }
                s.uploads.pop_front();
                s.uploaded = s.uploaded.saturating_sub(n);
            }
            if s.in_flight >= c.max_concurrent.max(1) {
                return Err(Throttled {
                    retry_after: 1,
                    limit: "MailboxConcurrency",
                });
            }
            if s.requests.len() as u64 >= c.requests_per_window {
                let oldest = s.requests.front().copied().unwrap_or(now);
                return Err(Throttled {
                    retry_after: ceil_secs(window.saturating_sub(now.duration_since(oldest))),
                    limit: "RequestCount",
                });
            }
            if upload > 0 && s.uploaded + upload > c.upload_bytes_per_window {
                // When the oldest uploads have left the window, this one fits
                // (or the window is empty and it never will: retry after a window).
                let mut freed = 0u64;
                let mut wait = upload_window;
                for &(t, n) in &s.uploads {
                    freed += n;
                    if s.uploaded - freed + upload <= c.upload_bytes_per_window {
                        wait = upload_window.saturating_sub(now.duration_since(t));
                        break;
                    }
                }
                return Err(Throttled {
                    retry_after: ceil_secs(wait),
                    limit: "IncomingBytes",
                });
            }
            s.requests.push_back(now);
            if upload > 0 {
                s.uploads.push_back((now, upload));
                s.uploaded += upload;
            }
            s.in_flight += 1;
        }
        Ok(Some(Slot { state }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight() -> ThrottleConfig {
        ThrottleConfig {
            requests_per_window: 3,
            max_concurrent: 2,
            upload_bytes_per_window: 100,
            ..ThrottleConfig::exchange()
        }
    }

    #[test]
    fn off_admits_everything() {
        let t = Throttle::new(ThrottleConfig::off());
        for _ in 0..100 {
            assert!(t.admit("a", "m", 1 << 40).expect("admitted").is_none());
        }
    }

    #[test]
    fn concurrency_count_and_bytes() {
        let t = Throttle::new(tight());
        let a = t.admit("app", "m1", 0).expect("1");
        let b = t.admit("app", "m1", 0).expect("2");
        assert_eq!(
            t.admit("app", "m1", 0).err().map(|e| e.limit),
            Some("MailboxConcurrency")
        );
        // another mailbox is not affected
        assert!(t.admit("app", "m2", 0).is_ok());
        drop(a);
        let c = t.admit("app", "m1", 0).expect("3");
        drop((b, c));
        let e = t.admit("app", "m1", 0).err().expect("over count");
        assert_eq!(e.limit, "RequestCount");
        assert!(e.retry_after >= 599, "{e:?}");
        // bytes
        let t = Throttle::new(tight());
        drop(t.admit("app", "m", 60).expect("60 bytes"));
        assert_eq!(
            t.admit("app", "m", 60).err().map(|e| e.limit),
            Some("IncomingBytes")
        );
        drop(t.admit("app", "m", 40).expect("40 more fit"));
    }

    #[test]
    fn scaled_window_slides() {
        let t = Throttle::new(ThrottleConfig {
            requests_per_window: 1,
            window_secs: 1,
            ..ThrottleConfig::exchange().scaled(20.0)
        });
        drop(t.admit("app", "m", 0).expect("first"));
        assert!(t.admit("app", "m", 0).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.admit("app", "m", 0).is_ok());
    }
}
