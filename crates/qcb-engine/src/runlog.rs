//! Each backup set run's own log: a `tracing` layer that copies every event logged inside a
//! run (the `set_run` span [`crate::sets::run_set`] opens, which the backup's tasks inherit)
//! into `<dir>/<run id>.log`, so the job history can show what happened in that run. The
//! engine logs no secret and no mail content, so neither do these files.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::error::{EngineError, Result};

/// The name of the span a set's run is logged under; its `run` field is the run's id.
pub const RUN_SPAN: &str = "set_run";

/// Writes the events of each run into its own file under a folder.
pub struct RunLogLayer {
    dir: PathBuf,
}

impl RunLogLayer {
    pub fn new(dir: impl Into<PathBuf>) -> RunLogLayer {
        RunLogLayer { dir: dir.into() }
    }
}

/// The run id stored on a `set_run` span.
struct RunId(i64);

struct RunField(Option<i64>);

impl Visit for RunField {
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "run" {
            self.0 = Some(value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "run" {
            self.0 = i64::try_from(value).ok();
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// `message` first, then `key=value` for the other fields.
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S> Layer<S> for RunLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() != RUN_SPAN {
            return;
        }
        let mut run = RunField(None);
        attrs.record(&mut run);
        if let (Some(run), Some(span)) = (run.0, ctx.span(id)) {
            span.extensions_mut().insert(RunId(run));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let Some(run) = scope
            .from_root()
            .find_map(|span| span.extensions().get::<RunId>().map(|r| r.0))
        else {
            return;
        };
        let mut line = Line {
            message: String::new(),
            fields: String::new(),
        };
        event.record(&mut line);
        let m = event.metadata();
        let text = format!(
            "{} {:>5} {}: {}{}\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            m.level(),
            m.target(),
            line.message,
            line.fields
        );
        // A log that cannot be written must not disturb the backup.
        let _ = std::fs::create_dir_all(&self.dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{run}.log")))
                .and_then(|mut f| f.write_all(text.as_bytes()))
        });
    }
}

/// The log of run `id` (at most its last `max` bytes); empty when the run logged nothing here.
pub fn read_run_log(dir: &Path, id: i64, max: usize) -> Result<String> {
    let path = dir.join(format!("{id}.log"));
    match std::fs::read(&path) {
        Ok(bytes) => {
            let tail = &bytes[bytes.len().saturating_sub(max)..];
            Ok(String::from_utf8_lossy(tail).into_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(EngineError::Internal(format!("{}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    #[tokio::test]
    async fn events_inside_a_run_and_its_tasks_go_to_that_runs_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let subscriber = tracing_subscriber::registry().with(RunLogLayer::new(dir.path()));
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::info!("outside any run");
        async {
            tracing::info!(mailbox = "alice@x", "mailbox started");
            tokio::spawn(async { tracing::warn!("from a task") }.in_current_span())
                .await
                .unwrap();
        }
        .instrument(tracing::info_span!(RUN_SPAN, run = 7_i64))
        .await;
        async { tracing::info!("another run") }
            .instrument(tracing::info_span!(RUN_SPAN, run = 8_i64))
            .await;
        let seven = read_run_log(dir.path(), 7, 1 << 20).unwrap();
        assert!(seven.contains("mailbox started mailbox=alice@x"), "{seven}");
        assert!(
            seven.contains("WARN") && seven.contains("from a task"),
            "{seven}"
        );
        assert!(!seven.contains("outside") && !seven.contains("another run"));
        assert!(
            read_run_log(dir.path(), 8, 1 << 20)
                .unwrap()
                .contains("another run")
        );
        assert_eq!(read_run_log(dir.path(), 9, 1 << 20).unwrap(), "");
        // The tail only, when asked for less.
        assert!(read_run_log(dir.path(), 7, 10).unwrap().len() <= 10);
    }
}
