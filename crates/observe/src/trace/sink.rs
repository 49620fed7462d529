//! Where finished spans go: the [`SpanSink`] trait, and [`FileSink`], which appends each span
//! as one JSON line to `TRACES_FILE`.
//!
//! Not here: the OTLP sink (`otlp`), reading the file back (`reader`).

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::span::SpanRecord;
use crate::error::ObserveError;
use crate::fsutil::ensure_parent;

/// A destination for finished spans. `record` is called on the thread that ends the span, so
/// it must be quick (queue, or one buffered write).
pub trait SpanSink: Debug + Send + Sync {
    /// Takes one finished span. An error is logged by the tracer, never returned to the caller
    /// of `Span::end`.
    fn record(&self, span: &SpanRecord) -> Result<(), ObserveError>;

    /// Waits (at most `timeout`) until queued spans are delivered.
    fn flush(&self, timeout: Duration) {
        let _ = timeout;
    }
}

/// Appends spans to `TRACES_FILE`, opening it (and its directory) on the first span.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl FileSink {
    /// A sink appending to `TRACES_FILE` at `path`.
    pub fn new(path: PathBuf) -> FileSink {
        FileSink {
            path,
            file: Mutex::new(None),
        }
    }
}

impl SpanSink for FileSink {
    fn record(&self, span: &SpanRecord) -> Result<(), ObserveError> {
        let mut line = serde_json::to_vec(span).map_err(|e| ObserveError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        line.push(b'\n');
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            ensure_parent(&self.path)?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| ObserveError::io("cannot open TRACES_FILE", &self.path, e))?;
            *guard = Some(file);
        }
        if let Some(file) = guard.as_mut() {
            // One write per line: with O_APPEND, lines from several processes do not interleave.
            file.write_all(&line)
                .map_err(|e| ObserveError::io("cannot append to TRACES_FILE", &self.path, e))?;
        }
        Ok(())
    }
}
