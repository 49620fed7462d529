//! Application logs: human-readable lines on stderr (warnings and up by default, `RUST_LOG`
//! honoured, `--verbose` for info), and JSON lines in `<LOGS_DIR>/taskpilot.log` with
//! `timestamp`, `level`, `target`, `message`, `fields` and `request_id` (from the event or the
//! nearest enclosing span that has one), for Filebeat/Kibana.
//!
//! The file rotates by size: when it would pass `max_bytes` it becomes `taskpilot.log.1`, the
//! older ones shift up, and only `max_files` files are kept in total, so the directory cannot
//! grow without bound. Writing happens on a background thread (`tracing-appender`), so logging
//! never waits for the disk. Fields whose names look like credentials (`api_key`, `token`, …)
//! and strings that look like API keys are written as `[REDACTED]`; URLs in either output go
//! through `taskpilot_config::redact`.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::ObserveError;
use crate::redact::{REDACTED, is_secret_key, looks_like_secret};
use taskpilot_config::redact::redact_urls_in;

/// The log file's name inside `LOGS_DIR`.
pub const LOG_FILE_NAME: &str = "taskpilot.log";

/// Rotation limits of the JSON log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Rotate when the file would pass this size (default 10 MiB).
    pub max_bytes: u64,
    /// Files kept in total, the current one included (default 5).
    pub max_files: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_bytes: 10 * 1024 * 1024,
            max_files: 5,
        }
    }
}

/// Keeps the background log writer alive; drop it at exit to flush the last lines.
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _worker: tracing_appender::non_blocking::WorkerGuard,
    path: PathBuf,
}

impl LogGuard {
    /// The JSON log file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Installs the global logger with the default rotation. See the module docs.
pub fn init_logging(logs_dir: &Path, verbose: bool) -> Result<LogGuard, ObserveError> {
    init_logging_with(logs_dir, verbose, LogOptions::default())
}

/// Installs the global logger. Fails when `LOGS_DIR` cannot be created or written (the error
/// names `LOGS_DIR` and the path) or when a global logger is already installed.
pub fn init_logging_with(
    logs_dir: &Path,
    verbose: bool,
    options: LogOptions,
) -> Result<LogGuard, ObserveError> {
    let file = RotatingFile::open(logs_dir, options)?;
    let path = file.path.clone();
    let (writer, worker) = tracing_appender::non_blocking(file);
    let file_filter = EnvFilter::new(if verbose { "debug" } else { "info" });
    let console = tracing_subscriber::fmt::layer()
        .with_writer(|| RedactingStderr)
        .with_ansi(console_colour())
        .with_target(false)
        .with_filter(console_filter(verbose));
    tracing_subscriber::registry()
        .with(console)
        .with(JsonLayer::new(writer).with_filter(file_filter))
        .try_init()
        .map_err(|e| ObserveError::Logger(e.to_string()))?;
    Ok(LogGuard {
        _worker: worker,
        path,
    })
}

/// Installs a console-only logger (stderr), for commands that run without a usable
/// `LOGS_DIR` (`config`, `doctor`, …). Does nothing when a logger is already installed.
pub fn init_console_logging(verbose: bool) {
    let _ = tracing_subscriber::fmt()
        .with_writer(|| RedactingStderr)
        .with_ansi(console_colour())
        .with_target(false)
        .with_env_filter(console_filter(verbose))
        .try_init();
}

/// Standard error with every URL of each line redacted (`taskpilot_config::redact`): the
/// console formatter prints fields as they are, and a field may hold a URL with a password.
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        if text.contains("://") {
            io::stderr().write_all(redact_urls_in(&text).as_bytes())?;
        } else {
            io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// What the console shows: `RUST_LOG` when it is a valid filter, else warnings and up (with
/// `--verbose`, informational lines too).
fn console_filter(verbose: bool) -> EnvFilter {
    taskpilot_config::console::log_filter()
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new(if verbose { "info" } else { "warn" }))
}

/// Colour on the console only when stderr is a terminal and `NO_COLOR` is unset or empty, so
/// a redirected stderr (`taskpilot serve 2> file`) gets plain text.
fn console_colour() -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal() && !taskpilot_config::console::no_color()
}

/// `taskpilot.log` with size-based rotation (`.1` … `.{max_files-1}`).
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    options: LogOptions,
}

impl RotatingFile {
    /// Opens `<logs_dir>/taskpilot.log` for appending, creating the directory.
    pub fn open(logs_dir: &Path, options: LogOptions) -> Result<RotatingFile, ObserveError> {
        let setting = |source| ObserveError::Setting {
            variable: "LOGS_DIR",
            path: logs_dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(logs_dir).map_err(setting)?;
        let path = logs_dir.join(LOG_FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(setting)?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(RotatingFile {
            path,
            file,
            size,
            options,
        })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        crate::fsutil::sibling(&self.path, &format!(".{n}"))
    }

    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.options.max_files.max(1);
        if keep == 1 {
            self.file = File::create(&self.path)?;
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(self.rotated(keep - 1));
        for n in (1..keep - 1).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.options.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A `tracing` layer writing one JSON object per event.
pub struct JsonLayer<W> {
    make_writer: W,
}

impl<W> JsonLayer<W> {
    /// A layer writing one JSON object per event to `make_writer`.
    pub fn new(make_writer: W) -> JsonLayer<W> {
        JsonLayer { make_writer }
    }
}

struct RequestId(String);

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let value = if is_secret_key(name) {
            Value::String(REDACTED.to_owned())
        } else {
            match value {
                Value::String(s) => Value::String(redact_urls_in(&redact_words(&s))),
                other => other,
            }
        };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.put(field, Value::String(s));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

/// Replaces the words of `s` that look like API keys.
fn redact_words(s: &str) -> String {
    if !s.split_whitespace().any(looks_like_secret) && !s.to_ascii_lowercase().contains("bearer ") {
        return s.to_owned();
    }
    let mut out = Vec::new();
    let mut after_bearer = false;
    for word in s.split(' ') {
        if after_bearer || looks_like_secret(word) {
            out.push(REDACTED);
            after_bearer = false;
        } else {
            after_bearer = word.eq_ignore_ascii_case("bearer");
            out.push(word);
        }
    }
    out.join(" ")
}

fn as_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(rid) = fields.0.remove("request_id")
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(RequestId(as_text(rid)));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(rid) = fields.0.remove("request_id")
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().replace(RequestId(as_text(rid)));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").map(as_text).unwrap_or_default();
        let request_id = fields.0.remove("request_id").map(as_text).or_else(|| {
            ctx.event_scope(event)?
                .find_map(|span| span.extensions().get::<RequestId>().map(|r| r.0.clone()))
        });
        let meta = event.metadata();
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": meta.level().as_str(),
            "target": meta.target(),
            "message": message,
            "fields": Value::Object(fields.0),
            "request_id": request_id,
        });
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let _ = self.make_writer.make_writer().write_all(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn the_log_file_is_json_per_line_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_bytes: 2_000,
            max_files: 3,
        };
        let file = RotatingFile::open(dir.path(), options).unwrap();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(Mutex::new(file)));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("run", request_id = "req-42");
            let _entered = span.enter();
            for i in 0..100 {
                tracing::warn!(
                    attempt = i,
                    api_key = "sk-abcdefghijklmnopqrstuvwxyz",
                    "retrying the call with Bearer abc.def"
                );
            }
        });
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["taskpilot.log", "taskpilot.log.1", "taskpilot.log.2"]
        );
        for name in &names {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(!text.contains("sk-abc"), "a secret was logged");
            assert!(!text.contains("abc.def"), "a bearer token was logged");
            for line in text.lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["level"], "WARN");
                assert_eq!(v["request_id"], "req-42");
                assert!(v["message"].as_str().unwrap().starts_with("retrying"));
                assert!(v["fields"]["attempt"].is_u64());
                assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
                assert!(v["target"].is_string());
            }
            assert!(text.len() <= 2_000);
        }
    }

    #[test]
    fn an_unusable_logs_dir_is_an_error_naming_logs_dir_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "").unwrap();
        let err = RotatingFile::open(&blocker.join("logs"), LogOptions::default())
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains("LOGS_DIR") && msg.contains("not-a-dir"),
            "{msg}"
        );
    }
}
