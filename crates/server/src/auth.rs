//! Bearer-token auth with roles (SPEC section 8).
//!
//! Tokens come from `TASKPILOT_API_TOKENS` (`token:role,token:role`) and/or the file named by
//! `TASKPILOT_API_TOKENS_FILE` (the same entries, separated by commas or new lines, `#` starts
//! a comment). Roles: `viewer` reads (GET), `operator` also submits requests and creates
//! tasks, `reviewer` also approves and rejects, `admin` may do everything, deletion included.
//!
//! Tokens are compared in constant time (every configured token is compared, whatever
//! matches) and never logged: a caller is known by its role and the token's position
//! (`operator#2`). With no token configured the API is open; `taskpilot serve` says so loudly.
//!
//! Not here: which route needs which [`Access`] (the route table in `routes/mod.rs`).

use std::fmt;

use axum::http::{HeaderMap, Method, header};
use serde::Serialize;
use subtle::ConstantTimeEq;
use taskpilot_config::Settings;

use crate::error::ApiError;

/// What a token may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Role {
    /// Reads tasks, runs, decisions, metrics and traces.
    Viewer,
    /// Reads, creates tasks and starts runs.
    Operator,
    /// Reads, approves and rejects tasks.
    Reviewer,
    /// Everything: what operators and reviewers may do, and deletions.
    Admin,
}

impl Role {
    /// The lower-case name used in token entries (`viewer`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The role named `s`, in any case.
    pub fn parse(s: &str) -> Option<Role> {
        s.trim().parse().ok()
    }

    /// Whether this role may perform `access`.
    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::Open | Access::Read => true,
            Access::Operate => matches!(self, Role::Operator | Role::Admin),
            Access::Review => matches!(self, Role::Reviewer | Role::Admin),
            Access::Admin => self == Role::Admin,
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Open,
    /// Any role.
    Read,
    /// operator or admin.
    Operate,
    /// reviewer or admin.
    Review,
    /// admin only.
    Admin,
}

impl Access {
    /// The least role that may perform this access (for error messages).
    fn roles(self) -> &'static str {
        match self {
            Access::Open | Access::Read => "viewer, operator, reviewer or admin",
            Access::Operate => "operator or admin",
            Access::Review => "reviewer or admin",
            Access::Admin => "admin",
        }
    }
}

/// Who is calling: the role and a name for the decision log (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What the caller may do.
    pub role: Role,
    /// Who the caller is in the decision log (derived from the token, never the token).
    pub user_id: String,
}

/// A configuration error; messages name the entry by position, never the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// An entry is not `token:role`.
    #[error(
        "{source_name} entry {index} is not `token:role`; write entries like `s3cr3t:viewer`, separated by commas"
    )]
    Malformed {
        /// `TASKPILOT_API_TOKENS` or the tokens file.
        source_name: String,
        /// The entry's position, from 1.
        index: usize,
    },
    /// An entry names a role that does not exist.
    #[error(
        "{source_name} entry {index} has the unknown role '{role}'; roles are viewer, operator, reviewer, admin"
    )]
    UnknownRole {
        /// `TASKPILOT_API_TOKENS` or the tokens file.
        source_name: String,
        /// The entry's position, from 1.
        index: usize,
        /// The role as written.
        role: String,
    },
    /// The variable or file is set but holds no token.
    #[error(
        "{source_name} is set but holds no token; write entries like `s3cr3t:viewer`, or unset \
         it (then the server listens on 127.0.0.1 only)"
    )]
    Empty {
        /// `TASKPILOT_API_TOKENS` or the tokens file.
        source_name: String,
    },
    /// Two entries give one token.
    #[error(
        "{source_name} entry {index} repeats the token of an earlier entry with the role \
         '{earlier}'; give every token one role"
    )]
    Duplicate {
        /// `TASKPILOT_API_TOKENS` or the tokens file.
        source_name: String,
        /// The later entry's position, from 1.
        index: usize,
        /// The role the earlier entry gave the token.
        earlier: Role,
    },
    /// The tokens file cannot be read.
    #[error("cannot read TASKPILOT_API_TOKENS_FILE {path}: {source}")]
    File {
        /// `TASKPILOT_API_TOKENS_FILE`.
        path: String,
        /// What the system reported.
        source: std::io::Error,
    },
}

struct Entry {
    token: Vec<u8>,
    role: Role,
    user_id: String,
}

/// The configured tokens.
#[derive(Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// No tokens: the API is open.
    pub fn open() -> Tokens {
        Tokens::default()
    }

    /// From `TASKPILOT_API_TOKENS` and `TASKPILOT_API_TOKENS_FILE` (both may be set).
    pub fn from_settings(settings: &Settings) -> Result<Tokens, TokenError> {
        let mut tokens = Tokens::default();
        if let Some(secret) = &settings.api_tokens.value
            && tokens.add(secret.expose(), "TASKPILOT_API_TOKENS")? == 0
        {
            return Err(TokenError::Empty {
                source_name: "TASKPILOT_API_TOKENS".to_owned(),
            });
        }
        if let Some(path) = &settings.api_tokens_file.value {
            let text = std::fs::read_to_string(path).map_err(|source| TokenError::File {
                path: path.display().to_string(),
                source,
            })?;
            let without_comments: String = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",");
            if tokens.add(&without_comments, "TASKPILOT_API_TOKENS_FILE")? == 0 {
                return Err(TokenError::Empty {
                    source_name: format!("TASKPILOT_API_TOKENS_FILE {}", path.display()),
                });
            }
        }
        Ok(tokens)
    }

    /// Parses `token:role,…` (for tests and callers with their own source).
    pub fn parse(text: &str) -> Result<Tokens, TokenError> {
        let mut tokens = Tokens::default();
        tokens.add(text, "TASKPILOT_API_TOKENS")?;
        Ok(tokens)
    }

    /// Adds the entries of `text`; how many there were.
    fn add(&mut self, text: &str, source_name: &str) -> Result<usize, TokenError> {
        let mut added = 0;
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let index = i + 1;
            let Some((token, role)) = entry.rsplit_once(':') else {
                return Err(TokenError::Malformed {
                    source_name: source_name.to_owned(),
                    index,
                });
            };
            let token = token.trim();
            if token.is_empty() {
                return Err(TokenError::Malformed {
                    source_name: source_name.to_owned(),
                    index,
                });
            }
            let role = Role::parse(role).ok_or_else(|| TokenError::UnknownRole {
                source_name: source_name.to_owned(),
                index,
                role: role.trim().chars().take(32).collect(),
            })?;
            if let Some(earlier) = self.entries.iter().find(|e| e.token == token.as_bytes()) {
                if earlier.role == role {
                    added += 1;
                    continue;
                }
                return Err(TokenError::Duplicate {
                    source_name: source_name.to_owned(),
                    index,
                    earlier: earlier.role,
                });
            }
            added += 1;
            let n = self.entries.iter().filter(|e| e.role == role).count() + 1;
            self.entries.push(Entry {
                token: token.as_bytes().to_vec(),
                role,
                user_id: format!("{role}#{n}"),
            });
        }
        Ok(added)
    }

    /// True when no token is configured (the API is open).
    pub fn is_open(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a presented token stands for. Every entry is compared in constant time.
    pub fn authenticate(&self, presented: &str) -> Option<Caller> {
        let presented = presented.as_bytes();
        let mut found: Option<&Entry> = None;
        for entry in &self.entries {
            let equal: bool = entry.token.as_slice().ct_eq(presented).into();
            if equal && found.is_none() {
                found = Some(entry);
            }
        }
        found.map(|e| Caller {
            role: e.role,
            user_id: e.user_id.clone(),
        })
    }
}

/// Who is calling, when the route needs `access`: 401 without a valid bearer token, 403 when
/// the role is not enough (`method` and `path` only name the request in that message). With
/// no token configured everyone is an anonymous admin; on open routes an anonymous viewer.
pub fn authorize(
    tokens: &Tokens,
    access: Access,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Result<Caller, ApiError> {
    if tokens.is_open() {
        return Ok(Caller {
            role: Role::Admin,
            user_id: "anonymous".to_owned(),
        });
    }
    if access == Access::Open {
        return Ok(Caller {
            role: Role::Viewer,
            user_id: "anonymous".to_owned(),
        });
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    let Some(presented) = presented else {
        return Err(ApiError::unauthorized(
            "this route needs a bearer token: send `Authorization: Bearer <token>` \
             (tokens are configured with TASKPILOT_API_TOKENS)",
        ));
    };
    let Some(caller) = tokens.authenticate(presented) else {
        return Err(ApiError::unauthorized(
            "the bearer token is not one of the configured TASKPILOT_API_TOKENS",
        ));
    };
    if !caller.role.allows(access) {
        return Err(ApiError::forbidden(format!(
            "the role '{}' may not {method} {path}; this needs {}",
            caller.role,
            access.roles()
        )));
    }
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_and_roles() {
        let t = Tokens::parse("a:viewer, b:Operator ,c:reviewer,d:admin").unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t.authenticate("b").unwrap().role, Role::Operator);
        assert_eq!(t.authenticate("d").unwrap().user_id, "admin#1");
        assert!(t.authenticate("e").is_none());
        assert!(t.authenticate("").is_none());
    }

    #[test]
    fn a_token_twice_with_different_roles_is_refused() {
        let e = Tokens::parse("same:viewer,same:admin").unwrap_err();
        assert!(
            matches!(
                e,
                TokenError::Duplicate {
                    index: 2,
                    earlier: Role::Viewer,
                    ..
                }
            ),
            "{e}"
        );
        assert!(!e.to_string().contains("same"), "{e}");
        assert_eq!(Tokens::parse("same:viewer, same:viewer").unwrap().len(), 1);
    }

    #[test]
    fn errors_never_contain_the_token() {
        let e = Tokens::parse("supersecret:boss").unwrap_err().to_string();
        assert!(!e.contains("supersecret"), "{e}");
        assert!(e.contains("boss"));
        let e = Tokens::parse("supersecret").unwrap_err().to_string();
        assert!(!e.contains("supersecret"), "{e}");
    }

    #[test]
    fn roles_allow_by_access() {
        assert!(Role::Admin.allows(Access::Review));
        assert!(!Role::Operator.allows(Access::Review));
        assert!(!Role::Reviewer.allows(Access::Operate));
        assert!(Role::Viewer.allows(Access::Read));
        assert!(!Role::Viewer.allows(Access::Operate));
    }
}
