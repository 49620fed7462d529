//! Where `taskpilot serve` may listen, given its tokens (docs/API.md, threat model). An API
//! without tokens lets anyone who reaches it create, approve and delete tasks, so:
//!
//! - no token configured: the server listens on loopback only. A non-loopback `HOST` setting
//!   is replaced by `127.0.0.1` (and the log says why); an explicit `--host` that is not
//!   loopback is refused. `--allow-open` (logged) lifts both.
//! - tokens configured: any address.
//!
//! A token configuration that is present but holds no token is refused earlier, by
//! [`crate::Tokens::from_settings`].

use std::net::IpAddr;

/// The address loopback-only servers listen on.
pub const LOOPBACK: &str = "127.0.0.1";

/// The decision: the host to bind and, when it differs from what was asked, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindPlan {
    /// The address to bind.
    pub host: String,
    /// Why it differs from the address asked for, to print.
    pub note: Option<String>,
}

/// Why the server will not listen where it was asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "refusing to serve an API without tokens on {host}: anyone who can reach it could create, \
     approve and delete tasks. Configure tokens (TASKPILOT_API_TOKENS or \
     TASKPILOT_API_TOKENS_FILE), listen on 127.0.0.1, or pass --allow-open if the network is \
     trusted"
)]
pub struct OpenOnNetwork {
    /// The address asked for.
    pub host: String,
}

/// Whether `host` (an address or a name) only reaches this machine.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Where to listen. `explicit` is true when the host came from `--host` rather than the `HOST`
/// setting; `open` is true when no token is configured.
pub fn plan(
    host: &str,
    explicit: bool,
    open: bool,
    allow_open: bool,
) -> Result<BindPlan, OpenOnNetwork> {
    if !open || allow_open || is_loopback(host) {
        return Ok(BindPlan {
            host: host.to_owned(),
            note: None,
        });
    }
    if explicit {
        return Err(OpenOnNetwork {
            host: host.to_owned(),
        });
    }
    Ok(BindPlan {
        host: LOOPBACK.to_owned(),
        note: Some(format!(
            "no API tokens are configured (TASKPILOT_API_TOKENS or TASKPILOT_API_TOKENS_FILE), \
             so the server listens on {LOOPBACK} instead of HOST={host}; configure tokens to \
             serve the network, or pass --allow-open to serve it without them"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_api_stays_on_loopback() {
        let p = plan("0.0.0.0", false, true, false).unwrap();
        assert_eq!(p.host, LOOPBACK);
        assert!(p.note.unwrap().contains("HOST=0.0.0.0"));
        assert_eq!(
            plan("0.0.0.0", true, true, false),
            Err(OpenOnNetwork {
                host: "0.0.0.0".to_owned()
            })
        );
        assert_eq!(plan("0.0.0.0", true, true, true).unwrap().host, "0.0.0.0");
        assert_eq!(
            plan("0.0.0.0", false, false, false).unwrap().host,
            "0.0.0.0"
        );
        for host in ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"] {
            assert_eq!(plan(host, true, true, false).unwrap().host, host);
        }
        assert!(plan("192.168.1.10", true, true, false).is_err());
    }
}
