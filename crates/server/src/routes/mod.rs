//! The router: [`endpoints`] is the one list of routes — method, path, the [`Access`] each
//! needs, the handler and its `operationId` in `/openapi.json`. The router, the auth check,
//! `GET /` and the tests that hold `openapi.json` to the routes all read it, so a new route is
//! one entry here (plus its operation in `openapi.rs`, which a test asks for by name).
//! Also here: the body limit and JSON answers for unknown routes, wrong methods and panics.
//! Handlers live in one file per area and stay thin: they parse, call the runtime or the
//! store, and answer; errors go through [`ApiError`].
//!
//! Not here: the web page's routes (`ui`, open, not part of the API document).

pub mod info;
pub mod observability;
pub mod runs;
pub mod tasks;

use std::any::Any;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth::{self, Access};
use crate::error::{ApiError, MAX_BODY_BYTES};
use crate::state::SharedState;
use crate::ui;

/// One route of the API.
pub struct Endpoint {
    /// The HTTP method.
    pub method: Method,
    /// The path as the router matches it (`{id}` is a path parameter).
    pub path: &'static str,
    /// Who may call it (the least role, or public).
    pub access: Access,
    /// The operation's `operationId` in `/openapi.json`.
    pub operation_id: &'static str,
    handler: MethodRouter<SharedState>,
}

impl Endpoint {
    fn new<H, T>(
        method: Method,
        path: &'static str,
        access: Access,
        operation_id: &'static str,
        handler: H,
    ) -> Endpoint
    where
        H: Handler<T, SharedState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} cannot be routed ({path})"));
        Endpoint {
            method,
            path,
            access,
            operation_id,
            handler: on(filter, handler),
        }
    }
}

/// Every API route, in the order `GET /` lists them.
#[rustfmt::skip]
pub fn endpoints() -> Vec<Endpoint> {
    use Access::{Admin, Open, Operate, Read, Review};
    use Method as M;
    vec![
        Endpoint::new(M::GET, "/", Open, "serviceInfo", |state: State<SharedState>| {
            info::index(state, endpoint_list())
        }),
        Endpoint::new(M::GET, "/openapi.json", Open, "openapi", info::openapi),
        Endpoint::new(M::GET, "/health", Open, "health", observability::health),
        Endpoint::new(M::GET, "/metrics", Open, "metrics", observability::metrics),
        Endpoint::new(M::GET, "/golden-signals", Read, "goldenSignals", observability::golden_signals),
        Endpoint::new(M::GET, "/cost-report", Read, "costReport", observability::cost_report),
        Endpoint::new(M::GET, "/api/v1/runs", Read, "listRuns", runs::list),
        Endpoint::new(M::POST, "/api/v1/runs", Operate, "submitRun", runs::submit),
        Endpoint::new(M::GET, "/api/v1/runs/{id}", Read, "showRun", runs::show),
        Endpoint::new(M::GET, "/api/v1/runs/{id}/events", Read, "runEvents", runs::events),
        Endpoint::new(M::GET, "/api/v1/stats", Read, "stats", tasks::stats),
        Endpoint::new(M::GET, "/api/v1/tasks", Read, "listTasks", tasks::list),
        Endpoint::new(M::POST, "/api/v1/tasks", Operate, "createTask", tasks::create),
        Endpoint::new(M::GET, "/api/v1/tasks/{id}", Read, "getTask", tasks::show),
        Endpoint::new(M::DELETE, "/api/v1/tasks/{id}", Admin, "deleteTask", tasks::delete),
        Endpoint::new(M::GET, "/api/v1/tasks/{id}/decisions", Read, "taskDecisions", tasks::decisions),
        Endpoint::new(M::GET, "/api/v1/tasks/{id}/history", Read, "taskHistory", runs::task_history),
        Endpoint::new(M::POST, "/api/v1/tasks/{id}/approve", Review, "approveTask", tasks::approve),
        Endpoint::new(M::POST, "/api/v1/tasks/{id}/reject", Review, "rejectTask", tasks::reject),
    ]
}

/// `METHOD path` for every API route, in the table's order (`GET /` lists them).
pub fn endpoint_list() -> Vec<String> {
    endpoints()
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// The whole application: each endpoint behind the auth check for its access, the web page,
/// and the fallbacks.
pub fn router(state: SharedState) -> Router {
    let mut router = Router::new();
    for e in endpoints() {
        let handler = if e.access == Access::Open {
            e.handler
        } else {
            e.handler.route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), e.access),
                require,
            ))
        };
        router = router.route(e.path, handler);
    }
    router
        .merge(ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panicked))
        .with_state(state)
}

/// The auth middleware of a protected route: checks the bearer token against the route's
/// access and passes the [`auth::Caller`] to the handler as a request extension.
async fn require(
    State((state, access)): State<(SharedState, Access)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = auth::authorize(
        &state.tokens,
        access,
        request.headers(),
        request.method(),
        request.uri().path(),
    )?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Passes callers who may read; the fallbacks use it so that an unknown route or a wrong
/// method answers 401 to a stranger, not a map of which routes exist.
struct MayRead;

impl FromRequestParts<SharedState> for MayRead {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<MayRead, ApiError> {
        let (headers, method, path) = (&parts.headers, &parts.method, parts.uri.path());
        auth::authorize(&state.tokens, Access::Read, headers, method, path).map(|_| MayRead)
    }
}

async fn not_found(_: MayRead, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {}; GET / lists the endpoints",
        uri.path()
    ))
}

async fn method_not_allowed(_: MayRead, method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; see /openapi.json",
            uri.path()
        ),
    )
}

fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal("internal error; see the server log").into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn table() -> BTreeSet<(String, String)> {
        endpoints()
            .iter()
            .map(|e| (e.method.to_string(), e.path.to_owned()))
            .collect()
    }

    #[test]
    fn every_route_is_listed_once() {
        let all = endpoints();
        assert_eq!(table().len(), all.len(), "a method and path listed twice");
        let ids: BTreeSet<_> = all.iter().map(|e| e.operation_id).collect();
        assert_eq!(ids.len(), all.len(), "an operationId used twice");
    }

    /// openapi.json documents exactly the routes of [`endpoints`], with their operationIds,
    /// and says which are open.
    #[test]
    fn openapi_documents_every_route_and_nothing_else() {
        let doc = crate::openapi::document();
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented = BTreeSet::new();
        for (path, ops) in paths {
            for method in ops.as_object().expect("operations").keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let routed = table();
        if let Some(missing) = routed.difference(&documented).next() {
            panic!(
                "{} {} is routed but not in openapi.rs; add its operation",
                missing.0, missing.1
            );
        }
        if let Some(extra) = documented.difference(&routed).next() {
            panic!(
                "{} {} is in openapi.rs but not routed; add it to endpoints() or remove it",
                extra.0, extra.1
            );
        }
        for e in endpoints() {
            let op = &doc["paths"][e.path][e.method.as_str().to_lowercase()];
            assert_eq!(op["operationId"], e.operation_id, "{} {}", e.method, e.path);
            let open = op["security"].as_array().is_some_and(Vec::is_empty);
            assert_eq!(
                open,
                e.access == Access::Open,
                "{} {}: security",
                e.method,
                e.path
            );
            if e.access != Access::Open {
                for code in ["401", "403"] {
                    assert!(
                        op["responses"][code].is_object(),
                        "{} {} documents {code}",
                        e.method,
                        e.path
                    );
                }
            }
        }
    }

    #[test]
    fn access_by_route() {
        let access = |m: Method, p: &str| {
            endpoints()
                .into_iter()
                .find(|e| e.method == m && e.path == p)
                .map(|e| e.access)
        };
        assert_eq!(access(Method::GET, "/health"), Some(Access::Open));
        assert_eq!(access(Method::GET, "/api/v1/tasks"), Some(Access::Read));
        assert_eq!(access(Method::POST, "/api/v1/tasks"), Some(Access::Operate));
        assert_eq!(
            access(Method::POST, "/api/v1/tasks/{id}/approve"),
            Some(Access::Review)
        );
        assert_eq!(
            access(Method::DELETE, "/api/v1/tasks/{id}"),
            Some(Access::Admin)
        );
    }
}
