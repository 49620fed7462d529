//! Health-check building blocks: a [`Check`] result, the [`HealthReport`] that combines them,
//! and the checks this crate can run itself (a data path is writable, the OTLP endpoint is
//! reachable). The store, policy and guardrails checks live with those crates.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// The status of one check or of the whole report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Healthy,
    /// Works, with a problem worth attention.
    Degraded,
    /// Does not work.
    Unhealthy,
}

impl HealthStatus {
    /// The lower-case name shown (`degraded`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The value of the `health.status` gauge: 2 healthy, 1 degraded, 0 unhealthy.
    pub fn gauge_value(self) -> f64 {
        match self {
            HealthStatus::Healthy => 2.0,
            HealthStatus::Degraded => 1.0,
            HealthStatus::Unhealthy => 0.0,
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`store`, `policies`, `guardrails`).
    pub name: String,
    /// How it went.
    pub status: HealthStatus,
    /// What was found, for people.
    pub message: String,
}

impl Check {
    /// A check result.
    pub fn new(name: impl Into<String>, status: HealthStatus, message: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status,
            message: message.into(),
        }
    }
}

/// All checks and the overall status: the worst of them (healthy when there are none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The worst status of the checks.
    pub status: HealthStatus,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl HealthReport {
    /// The report of `checks`.
    pub fn from_checks(checks: Vec<Check>) -> HealthReport {
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(HealthStatus::Healthy);
        HealthReport { status, checks }
    }

    /// HTTP status for `GET /health`: 200 unless unhealthy (503).
    pub fn http_status(&self) -> u16 {
        if self.status == HealthStatus::Unhealthy {
            503
        } else {
            200
        }
    }
}

/// Checks that the file or directory `path` (named by the setting `variable`) can be written:
/// for a directory, by creating and removing a probe file in it; for a file, by opening it for
/// appending (or, if it does not exist, creating its directory and a probe next to it).
pub fn check_path_writable(variable: &str, path: &Path, is_dir: bool) -> Check {
    let (status, detail) = match probe_writable(variable, path, is_dir) {
        Ok(()) => (
            HealthStatus::Healthy,
            format!("{} is writable", path.display()),
        ),
        Err(problem) => (HealthStatus::Unhealthy, problem),
    };
    Check::new(format!("path:{variable}"), status, detail)
}

/// Why `path` cannot be written (see [`check_path_writable`]), naming `variable`.
fn probe_writable(variable: &str, path: &Path, is_dir: bool) -> Result<(), String> {
    let dir = if is_dir { Some(path) } else { path.parent() };
    let dir = dir.ok_or_else(|| format!("{variable} ({}) has no directory", path.display()))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{variable}: cannot create {}: {e}", dir.display()))?;
    if !is_dir && path.exists() {
        return std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|e| format!("{variable}: {} is not writable: {e}", path.display()));
    }
    let probe = dir.join(format!(".taskpilot-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .map_err(|e| format!("{variable}: {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Checks that the OTLP endpoint URL accepts TCP connections within `timeout`. An unreachable
/// collector degrades observability but not the service: the status is `degraded`.
pub fn check_otlp_endpoint(endpoint: &str, timeout: Duration) -> Check {
    let name = "otlp_endpoint";
    let endpoint_shown = taskpilot_config::redact_url(endpoint);
    let endpoint_shown = endpoint_shown.as_str();
    let Some((host, port)) = host_port(endpoint) else {
        return Check::new(
            name,
            HealthStatus::Degraded,
            format!("OTEL_EXPORTER_OTLP_ENDPOINT ({endpoint_shown}) is not a valid http(s) URL"),
        );
    };
    let addrs: Vec<_> = match (host.as_str(), port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return Check::new(
                name,
                HealthStatus::Degraded,
                format!("cannot resolve {host}: {e}"),
            );
        }
    };
    let mut last_error = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => {
                return Check::new(
                    name,
                    HealthStatus::Healthy,
                    format!("{endpoint_shown} is reachable"),
                );
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    Check::new(
        name,
        HealthStatus::Degraded,
        format!("{endpoint_shown} is not reachable: {last_error}"),
    )
}

fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map(str::parse)
            .transpose()
            .ok()?
            .unwrap_or(default_port);
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None if !authority.is_empty() => Some((authority.to_owned(), default_port)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_the_worst_check() {
        let r = HealthReport::from_checks(vec![
            Check::new("a", HealthStatus::Healthy, ""),
            Check::new("b", HealthStatus::Degraded, ""),
        ]);
        assert_eq!(r.status, HealthStatus::Degraded);
        assert_eq!(r.http_status(), 200);
        assert_eq!(
            HealthReport::from_checks(vec![]).status,
            HealthStatus::Healthy
        );
    }

    #[test]
    fn writable_and_unwritable_paths() {
        let dir = tempfile::tempdir().unwrap();
        let ok = check_path_writable("METRICS_FILE", &dir.path().join("x/metrics.json"), false);
        assert_eq!(ok.status, HealthStatus::Healthy, "{}", ok.message);
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let bad = check_path_writable("LOGS_DIR", &blocker.join("logs"), true);
        assert_eq!(bad.status, HealthStatus::Unhealthy);
        assert!(bad.message.contains("LOGS_DIR"));
    }

    #[test]
    fn otlp_endpoint_reachable_and_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let ok = check_otlp_endpoint(&format!("http://127.0.0.1:{port}"), Duration::from_secs(1));
        assert_eq!(ok.status, HealthStatus::Healthy);
        drop(listener);
        let bad = check_otlp_endpoint(
            &format!("http://127.0.0.1:{port}/"),
            Duration::from_millis(200),
        );
        assert_eq!(bad.status, HealthStatus::Degraded);
        assert_eq!(host_port("https://[::1]/v1"), Some(("::1".into(), 443)));
    }
}
