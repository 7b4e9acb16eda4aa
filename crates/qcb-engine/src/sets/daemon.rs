//! The scheduler: runs saved backup sets when their schedules say ("Run on Server" through
//! `qcbackup daemon`; the desktop app can run the same loop for its own sets).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::RunOn;
use super::run::{RunContext, run_set};
use crate::api::blocking;
use crate::error::Result;
use crate::progress::NoProgress;

#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The longest sleep between two looks at the sets: how soon a new or changed set is
    /// noticed.
    pub poll: Duration,
    /// Which sets this scheduler runs.
    pub run_on: RunOn,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            poll: Duration::from_secs(60),
            run_on: RunOn::Server,
        }
    }
}

/// Runs due sets, one after another, until `shutdown` completes. A run cut short by the
/// shutdown is recorded as interrupted; the next backup of that set resumes from what the
/// repository already holds. Clock times of schedules are read in `zone`.
pub async fn run_daemon<Tz>(
    ctx: RunContext,
    opts: DaemonOptions,
    zone: Tz,
    shutdown: impl Future<Output = ()>,
) -> Result<()>
where
    Tz: TimeZone + Send + Sync + 'static,
{
    let ctx = RunContext {
        trigger: "schedule".into(),
        ..ctx
    };
    tokio::pin!(shutdown);
    tracing::info!(run_on = ?opts.run_on, "scheduler started");
    loop {
        let (due, next) = due_sets(&ctx, opts.run_on, &zone).await?;
        for name in &due {
            let run = run_set(&ctx, name, Utc::now(), Arc::new(NoProgress));
            tokio::select! {
                r = run => match r {
                    Ok(report) => tracing::info!(set = %name, status = ?report.status, "scheduled run finished"),
                    Err(e) => tracing::warn!(set = %name, code = e.code(), error = %e, "scheduled run failed"),
                },
                () = &mut shutdown => {
                    let store = ctx.store.clone();
                    blocking(move || store.interrupt_own_runs(Utc::now())).await?;
                    tracing::info!(set = %name, "scheduler stopped during a run; the run is recorded as interrupted");
                    return Ok(());
                }
            }
        }
        if !due.is_empty() {
            // Runs take time: look again before sleeping.
            continue;
        }
        let wait = next
            .and_then(|n| (n - Utc::now()).to_std().ok())
            .map_or(opts.poll, |d| d.min(opts.poll));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => {
                tracing::info!("scheduler stopped");
                return Ok(());
            }
        }
    }
}

/// The sets of `run_on` due now (by name) and when the next one after them is due. Marks
/// runs of this host whose process is gone as interrupted first.
pub async fn due_sets<Tz>(
    ctx: &RunContext,
    run_on: RunOn,
    zone: &Tz,
) -> Result<(Vec<String>, Option<DateTime<Utc>>)>
where
    Tz: TimeZone + Send + Sync + 'static,
{
    let (store, host) = (ctx.store.clone(), ctx.hostname.clone());
    let sets = blocking(move || {
        store.mark_interrupted(&host, Utc::now())?;
        let mut out = Vec::new();
        for s in store.list()? {
            if s.set.run_on == run_on {
                let last = store.last_started(&s.set.name)?;
                out.push((s.set.name.clone(), s.set.schedule.clone(), last, s.created));
            }
        }
        Ok(out)
    })
    .await?;
    let now = Utc::now();
    let (mut due, mut next) = (Vec::new(), None::<DateTime<Utc>>);
    for (name, schedule, last, created) in sets {
        match schedule.next_due(last, created, zone) {
            Some(at) if at <= now => due.push(name),
            Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
            None => {}
        }
    }
    Ok((due, next))
}
