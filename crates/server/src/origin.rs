//! Browser-borne attacks on a server people run on their own machine (docs/API.md, threat
//! model): cross-site requests (CSRF) and DNS rebinding. One middleware, in front of the
//! routes:
//!
//! - `Host` must name this server: a loopback name (`localhost`, `127.0.0.1`, `[::1]`), the
//!   address it is bound to, or an entry of `TASKPILOT_ALLOWED_HOSTS`. Behind a specific
//!   bind, and whenever the API is open, nothing else is answered (421); on a wildcard bind
//!   with tokens, IP literals and any name are accepted unless `TASKPILOT_ALLOWED_HOSTS` is
//!   set (a rebinding page has no token to use).
//! - State-changing requests (anything but GET, HEAD, OPTIONS) with a body must be
//!   `Content-Type: application/json` (415): a page cannot send that cross-origin without a
//!   CORS preflight, which this server never grants.
//! - A state-changing request with an `Origin` must come from the server's own origin or one
//!   of `TASKPILOT_ALLOWED_ORIGINS` (403); without `Origin`, `Sec-Fetch-Site: cross-site` or
//!   `same-site` is refused too. Clients that are not browsers send neither and pass.
//!
//! Not here: tokens and roles (`auth`), body size (`routes`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// What the middleware accepts, fixed when the server starts.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    bound: SocketAddr,
    strict_hosts: bool,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
}

impl OriginPolicy {
    /// The policy for a server bound to `bound`; `open` is true when no token is configured.
    pub fn new(
        bound: SocketAddr,
        open: bool,
        allowed_hosts: &[String],
        allowed_origins: &[String],
    ) -> OriginPolicy {
        let allowed_hosts: Vec<String> = allowed_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        OriginPolicy {
            bound,
            strict_hosts: open || !bound.ip().is_unspecified() || !allowed_hosts.is_empty(),
            allowed_hosts,
            allowed_origins: allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a `Host` header value (`name[:port]`) names this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = host_name(&host);
        if self.allowed_hosts.iter().any(|h| *h == host || *h == name) {
            return true;
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        let ip = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        if let Some(ip) = ip {
            if ip.is_loopback() || ip == self.bound.ip() {
                return true;
            }
            // IP literals cannot be rebound; on a wildcard bind any of the machine's is fine.
            if self.bound.ip().is_unspecified() {
                return true;
            }
        }
        !self.strict_hosts
    }

    /// Whether `origin` (`scheme://host[:port]`) may change state, given the request's `Host`.
    pub fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return true;
        }
        let Some(host) = host.map(|h| h.trim().to_ascii_lowercase()) else {
            return false;
        };
        origin == format!("http://{host}") || origin == format!("https://{host}")
    }
}

/// The name part of a `Host` value: `[::1]:8000` → `[::1]`, `a:1` → `a`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn changes_state(method: &Method) -> bool {
    *method != Method::GET && *method != Method::HEAD && *method != Method::OPTIONS
}

/// Whether the request announces a body (HTTP/1.1: a length other than 0, or chunks).
fn has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| match v.to_str() {
            Ok(v) => v.trim() != "0",
            Err(_) => true,
        })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The middleware (see the module documentation).
pub async fn check(
    State(policy): State<Arc<OriginPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    match verdict(&policy, request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Why a request is refused, if it is.
pub fn verdict(
    policy: &OriginPolicy,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match host {
        Some(h) if policy.host_allowed(h) => {}
        Some(h) => {
            let shown: String = h.chars().take(100).collect();
            tracing::warn!(host = %shown, "refused a request for another host name (DNS rebinding?)");
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown_host",
                "this server does not answer for that host name; add it to TASKPILOT_ALLOWED_HOSTS \
                 or use the address the server listens on",
            ));
        }
        None => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_host",
                "the request has no Host header",
            ));
        }
    }
    if !changes_state(method) {
        return Ok(());
    }
    if has_body(headers) && !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.eq_ignore_ascii_case("cross-site") || v.eq_ignore_ascii_case("same-site")
        });
    let allowed = match origin {
        Some(o) => policy.origin_allowed(o, host),
        None => !cross_site,
    };
    if allowed {
        Ok(())
    } else {
        let shown: String = origin.unwrap_or("(none)").chars().take(100).collect();
        tracing::warn!(origin = %shown, %method, "refused a cross-origin request");
        Err(ApiError::forbidden(
            "requests that change state are accepted from this server's own pages only; add \
             the page's origin to TASKPILOT_ALLOWED_ORIGINS to allow another",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn loopback(open: bool) -> OriginPolicy {
        OriginPolicy::new("127.0.0.1:8000".parse().unwrap(), open, &[], &[])
    }

    #[test]
    fn hosts_are_the_loopback_names_the_bind_address_or_the_allow_list() {
        let p = loopback(true);
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "[::1]:8000",
            "LOCALHOST",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:8000",
            "10.0.0.5:8000",
            "localhost.evil.example",
        ] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
        let p = OriginPolicy::new("0.0.0.0:8000".parse().unwrap(), false, &[], &[]);
        assert!(p.host_allowed("10.0.0.5:8000") && p.host_allowed("tasks.internal"));
        let p = OriginPolicy::new(
            "0.0.0.0:8000".parse().unwrap(),
            false,
            &["tasks.example.com".to_owned()],
            &[],
        );
        assert!(p.host_allowed("tasks.example.com") && !p.host_allowed("evil.example"));
        let p = OriginPolicy::new("0.0.0.0:8000".parse().unwrap(), true, &[], &[]);
        assert!(!p.host_allowed("evil.example"));
    }

    #[test]
    fn state_changes_need_json_and_the_own_origin() {
        let p = loopback(true);
        let post = Method::POST;
        let json = ("content-type", "application/json; charset=utf-8");
        let host = ("host", "127.0.0.1:8000");
        let len = ("content-length", "12");
        assert!(verdict(&p, &post, &headers(&[host, json, len])).is_ok());
        let e = verdict(
            &p,
            &post,
            &headers(&[host, ("content-type", "text/plain"), len]),
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let e = verdict(&p, &post, &headers(&[host, len])).unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(verdict(&p, &Method::DELETE, &headers(&[host])).is_ok());
        let same = ("origin", "http://127.0.0.1:8000");
        assert!(verdict(&p, &post, &headers(&[host, json, len, same])).is_ok());
        for bad in ["http://127.0.0.1:9999", "null", "http://evil.example"] {
            let e = verdict(&p, &post, &headers(&[host, json, len, ("origin", bad)])).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{bad}");
        }
        let e = verdict(
            &p,
            &Method::DELETE,
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(
            verdict(
                &p,
                &Method::GET,
                &headers(&[host, ("origin", "http://evil.example")])
            )
            .is_ok()
        );
        let e = verdict(&p, &Method::GET, &headers(&[("host", "evil.example:8000")])).unwrap_err();
        assert_eq!(e.status, StatusCode::MISDIRECTED_REQUEST);
        let p = OriginPolicy::new(
            "127.0.0.1:8000".parse().unwrap(),
            true,
            &[],
            &["https://tasks.example.com/".to_owned()],
        );
        let other = ("origin", "https://tasks.example.com");
        assert!(verdict(&p, &post, &headers(&[host, json, len, other])).is_ok());
    }
}
