use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Listing mailboxes and folders.
    Listing,
    Mailbox,
    Folder,
    Items,
    /// Writing trees, index and snapshot.
    Saving,
    Done,
}

/// One progress report. Totals grow while folders are discovered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    pub phase: Phase,
    pub mailbox: Option<String>,
    pub folder: Option<String>,
    pub items_done: u64,
    pub items_total: u64,
    pub bytes_done: u64,
    /// Speed, time left and throttling (jobs that talk to Graph fill it in).
    #[serde(flatten)]
    pub pace: Pace,
}

/// How fast a job goes and what holds it back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Pace {
    /// Since the job started.
    pub elapsed_ms: u64,
    /// Items per second over the last ten seconds or so.
    pub items_per_second: f64,
    /// Seconds left at that rate, once the total is known and items move.
    pub eta_seconds: Option<u64>,
    /// Requests sent to Graph so far (retries included).
    pub requests: u64,
    /// Requests waiting out Exchange's throttling (`Retry-After`) right now.
    pub throttled_now: u64,
    /// Time requests spent waiting on throttling so far, summed.
    pub throttle_wait_ms: u64,
}

/// Where a job reports progress: the CLI prints it, the desktop app streams it to the window.
/// `event` is called with the job's progress lock held: it must return quickly (queue, print).
pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent);

    /// True once the person asked the job to stop. Jobs that run on a blocking thread (which
    /// dropping their future cannot stop), such as an export, look at it between items.
    fn stopped(&self) -> bool {
        false
    }
}

/// Discards progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: ProgressEvent) {}
}

impl<F: Fn(ProgressEvent) + Send + Sync> Progress for F {
    fn event(&self, event: ProgressEvent) {
        self(event)
    }
}
