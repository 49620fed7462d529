//! The OpenAPI 3.0 document of the API, written by hand so it says exactly what the handlers
//! do (checked by `openapi-spec-validator` and exercised by `schemathesis` in
//! `scripts/api-fuzz`). Its paths, methods, `operationId`s and open/protected markings must
//! match the route table (`routes::endpoints`); the tests in `routes/mod.rs` fail naming any
//! route missing on either side. Keep docs/API.md in step too.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn task_id_param() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "task id, task_YYYYMMDD_HHMMSS_ffffff",
        "schema": {"type": "string"}
    })
}

fn run_id_param() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "run id, run_YYYYMMDD_HHMMSS_ffffff_xxxxxxxx",
        "schema": {"type": "string"}
    })
}

/// One server-sent event of `GET /runs/{id}/events`, as OpenAPI 3.0 describes the events of a
/// `text/event-stream` (one schema per event): `event` names it and `data` is one line of JSON,
/// a step (`seq`, `step`, `at`, `detail`) for `step` and the finished run for `end`.
fn sse_event() -> Value {
    json!({
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["step", "end"]},
            "data": {"type": "string", "description": "JSON: a run step for `step`, the Run for `end`"},
            "id": {"type": "string"},
            "retry": {"type": "integer"}
        }
    })
}

fn decision_op(summary: &str, op_id: &str) -> Value {
    json!({
        "summary": summary,
        "operationId": op_id,
        "tags": ["tasks"],
        "parameters": [task_id_param()],
        "requestBody": {
            "required": false,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DecisionRequest"}}}
        },
        "responses": {
            "200": json_response("the decision and, for approval, the execution", json!({"$ref": "#/components/schemas/RunResult"})),
            "400": error_response("malformed JSON"),
            "401": error_response("no or unknown bearer token"),
            "403": error_response("the role may not decide (reviewer or admin)"),
            "404": error_response("no such task"),
            "409": error_response("the task is not waiting for a decision, or another decision won"),
            "413": error_response("body over 1 MiB"),
            "422": error_response("invalid fields")
        }
    })
}

/// The document served at `/openapi.json`.
pub fn document() -> Value {
    let unauthorized = error_response("no or unknown bearer token");
    let forbidden = error_response("the token's role may not do this");
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "TaskPilot API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Submit requests to the governed three-agent workflow, list and create tasks, work the review queue. Errors are {\"error\": {\"code\", \"message\"}}. Bearer tokens with roles viewer, operator, reviewer, admin (TASKPILOT_API_TOKENS)."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "runs"}, {"name": "tasks"}, {"name": "observability"}, {"name": "service"}
        ],
        "paths": {
            "/": {"get": {
                "summary": "service, version, endpoints and observability links",
                "operationId": "serviceInfo", "tags": ["service"], "security": [],
                "responses": {"200": json_response("service information", json!({"type": "object"}))}
            }},
            "/openapi.json": {"get": {
                "summary": "this document", "operationId": "openapi", "tags": ["service"], "security": [],
                "responses": {"200": json_response("the OpenAPI document", json!({"type": "object"}))}
            }},
            "/health": {"get": {
                "summary": "health checks: store, policies, guardrails, prompts, provider, paths",
                "operationId": "health", "tags": ["observability"], "security": [],
                "responses": {
                    "200": json_response("healthy or degraded", json!({"$ref": "#/components/schemas/Health"})),
                    "503": json_response("unhealthy", json!({"$ref": "#/components/schemas/Health"}))
                }
            }},
            "/metrics": {"get": {
                "summary": "Prometheus text exposition", "operationId": "metrics",
                "tags": ["observability"], "security": [],
                "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
            }},
            "/golden-signals": {"get": {
                "summary": "success rate, p95 latency, cost per task, policy violation rate",
                "operationId": "goldenSignals", "tags": ["observability"],
                "responses": {
                    "200": json_response("the signals with their bands", json!({"type": "object"})),
                    "401": unauthorized, "403": forbidden
                }
            }},
            "/cost-report": {"get": {
                "summary": "LLM cost by agent and model", "operationId": "costReport",
                "tags": ["observability"],
                "parameters": [{"name": "format", "in": "query", "required": false,
                    "schema": {"type": "string", "enum": ["text", "json", "csv"], "default": "json"}}],
                "responses": {
                    "200": {"description": "the report", "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/plain": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}}
                    }},
                    "401": unauthorized, "403": forbidden,
                    "422": error_response("unknown format")
                }
            }},
            "/api/v1/runs": {"get": {
                "summary": "the newest runs first", "operationId": "listRuns", "tags": ["runs"],
                "parameters": [{"name": "limit", "in": "query", "required": false,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}],
                "responses": {
                    "200": json_response("the runs", json!({"type": "object", "properties": {
                        "count": {"type": "integer"},
                        "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}}
                    }})),
                    "401": unauthorized, "403": forbidden,
                    "422": error_response("bad limit")
                }
            }, "post": {
                "summary": "run the workflow on a request (operator, admin); waits unless \"wait\": false or Prefer: respond-async",
                "operationId": "submitRun", "tags": ["runs"],
                "parameters": [{"name": "Prefer", "in": "header", "required": false,
                    "description": "respond-async: answer 202 with a queued run at once", "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunRequest"}}}},
                "responses": {
                    "202": json_response("the run is queued; follow it at links.self or links.events", json!({"type": "object", "properties": {
                        "run_id": {"type": "string"},
                        "status": {"type": "string", "enum": ["queued"]},
                        "links": {"type": "object", "properties": {"self": {"type": "string"}, "events": {"type": "string"}}}
                    }})),
                    "200": json_response("the run's result, whatever the verdict", json!({"$ref": "#/components/schemas/RunResult"})),
                    "400": error_response("malformed JSON"),
                    "401": unauthorized, "403": forbidden,
                    "413": error_response("body over 1 MiB"),
                    "422": error_response("missing or empty request")
                }
            }},
            "/api/v1/runs/{id}": {"get": {
                "summary": "one run with its steps and result", "operationId": "showRun", "tags": ["runs"],
                "parameters": [run_id_param()],
                "responses": {
                    "200": json_response("the run", json!({"$ref": "#/components/schemas/Run"})),
                    "401": unauthorized, "403": forbidden,
                    "404": error_response("no such run")
                }
            }},
            "/api/v1/runs/{id}/events": {"get": {
                "summary": "server-sent events: event step per step, then event end with the run",
                "operationId": "runEvents", "tags": ["runs"],
                "parameters": [run_id_param()],
                "responses": {
                    "200": {"description": "the event stream", "content": {"text/event-stream": {"schema": sse_event()}}},
                    "401": unauthorized, "403": forbidden,
                    "404": error_response("no such run")
                }
            }},
            "/api/v1/tasks/{id}/history": {"get": {
                "summary": "a task's whole history: its runs' steps, the decisions, who approved",
                "operationId": "taskHistory", "tags": ["tasks"],
                "parameters": [task_id_param()],
                "responses": {
                    "200": json_response("the history", json!({"type": "object", "properties": {
                        "task_id": {"type": "string"},
                        "task": {"$ref": "#/components/schemas/Task"},
                        "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                        "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}},
                        "approvals": {"type": "array", "items": {"type": "object"}}
                    }})),
                    "401": unauthorized, "403": forbidden,
                    "404": error_response("no such task")
                }
            }},
            "/api/v1/stats": {"get": {
                "summary": "tasks per status", "operationId": "stats", "tags": ["tasks"],
                "responses": {
                    "200": json_response("counts", json!({"type": "object", "properties": {
                        "total": {"type": "integer"},
                        "by_status": {"type": "object", "additionalProperties": {"type": "integer"}}
                    }})),
                    "401": unauthorized, "403": forbidden
                }
            }},
            "/api/v1/tasks": {
                "get": {
                    "summary": "one page of the tasks that match, newest first (order=oldest for the review queue's order)", "operationId": "listTasks", "tags": ["tasks"],
                    "parameters": [
                        {"name": "status", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/Status"}},
                        {"name": "priority", "in": "query", "required": false, "schema": {"type": "string", "enum": ["high", "medium", "low"]}},
                        {"name": "q", "in": "query", "required": false, "description": "text in the id, title or description (any case)", "schema": {"type": "string"}},
                        {"name": "order", "in": "query", "required": false, "schema": {"type": "string", "enum": ["newest", "oldest"]}},
                        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 10000}},
                        {"name": "offset", "in": "query", "required": false, "description": "matches to skip before the page", "schema": {"type": "integer", "minimum": 0}}
                    ],
                    "responses": {
                        "200": json_response("the page", json!({"type": "object", "required": ["count", "total", "offset", "tasks"], "properties": {
                            "count": {"type": "integer", "description": "tasks in this page"},
                            "total": {"type": "integer", "description": "tasks that match, over all pages"},
                            "offset": {"type": "integer"},
                            "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}
                        }})),
                        "401": unauthorized, "403": forbidden,
                        "422": error_response("unknown status, priority or order, or a bad limit or offset")
                    }
                },
                "post": {
                    "summary": "create a manual task, pending (operator, admin)",
                    "operationId": "createTask", "tags": ["tasks"],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewTask"}}}},
                    "responses": {
                        "201": json_response("the task", json!({"$ref": "#/components/schemas/Task"})),
                        "400": error_response("malformed JSON"),
                        "401": unauthorized, "403": forbidden,
                        "413": error_response("body over 1 MiB"),
                        "422": error_response("invalid title, priority or description")
                    }
                }
            },
            "/api/v1/tasks/{id}": {
                "get": {
                    "summary": "one task", "operationId": "getTask", "tags": ["tasks"],
                    "parameters": [task_id_param()],
                    "responses": {
                        "200": json_response("the task", json!({"$ref": "#/components/schemas/Task"})),
                        "401": unauthorized, "403": forbidden,
                        "404": error_response("no such task")
                    }
                },
                "delete": {
                    "summary": "delete a task (admin)", "operationId": "deleteTask", "tags": ["tasks"],
                    "parameters": [task_id_param()],
                    "responses": {
                        "200": json_response("deleted", json!({"type": "object", "properties": {"deleted": {"type": "string"}}})),
                        "401": unauthorized, "403": forbidden,
                        "404": error_response("no such task")
                    }
                }
            },
            "/api/v1/tasks/{id}/decisions": {"get": {
                "summary": "the logged decisions about a task (why it is in review)",
                "operationId": "taskDecisions", "tags": ["tasks"],
                "parameters": [task_id_param()],
                "responses": {
                    "200": json_response("the decisions", json!({"type": "object", "properties": {
                        "task_id": {"type": "string"},
                        "status": {"$ref": "#/components/schemas/Status"},
                        "reviewer_response": {"type": "string", "nullable": true},
                        "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}}
                    }})),
                    "401": unauthorized, "403": forbidden,
                    "404": error_response("no such task")
                }
            }},
            "/api/v1/tasks/{id}/approve": {"post": decision_op("a person approves; the executor runs (reviewer, admin)", "approveTask")},
            "/api/v1/tasks/{id}/reject": {"post": decision_op("a person rejects (reviewer, admin)", "rejectTask")}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}
                    }}
                }},
                "Status": {"type": "string", "enum": ["pending", "approved", "rejected", "review", "executed", "failed"]},
                "Priority": {"type": "string", "enum": ["high", "medium", "low"]},
                "Task": {"type": "object", "required": ["id", "title", "priority", "description", "status", "created_at"], "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "priority": {"$ref": "#/components/schemas/Priority"},
                    "description": {"type": "string"},
                    "status": {"$ref": "#/components/schemas/Status"},
                    "created_at": {"type": "string"},
                    "reviewed_at": {"type": "string", "nullable": true},
                    "executed_at": {"type": "string", "nullable": true},
                    "reviewer_response": {"type": "string", "nullable": true},
                    "error": {"type": "string", "nullable": true}
                }},
                "NewTask": {"type": "object", "required": ["title"], "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S", "description": "1-500 characters after trimming"},
                    "priority": {"type": "string", "enum": ["high", "medium", "low"], "description": "high, medium or low (any case is accepted)", "default": "medium"},
                    "description": {"type": "string", "maxLength": 10000, "description": "at most 10,000 characters", "default": ""}
                }},
                "RunRequest": {"type": "object", "required": ["request"], "properties": {
                    "request": {"type": "string", "minLength": 1, "pattern": "\\S", "description": "the request in plain language"},
                    "wait": {"type": "boolean", "default": true, "description": "false: answer 202 with a queued run at once"}
                }},
                "Run": {"type": "object", "required": ["run_id", "status", "request", "created_at", "updated_at", "steps"], "properties": {
                    "run_id": {"type": "string"},
                    "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
                    "request": {"type": "string"},
                    "user_id": {"type": "string", "nullable": true},
                    "task_id": {"type": "string", "nullable": true},
                    "created_at": {"type": "string"},
                    "updated_at": {"type": "string"},
                    "steps": {"type": "array", "items": {"type": "object", "required": ["seq", "step", "at", "detail"], "properties": {
                        "seq": {"type": "integer"}, "step": {"type": "string"}, "at": {"type": "string"}, "detail": {"type": "object"}
                    }}},
                    "result": {"type": "object", "nullable": true},
                    "owner": {"type": "string", "nullable": true},
                    "lease_until": {"type": "string", "nullable": true},
                    "attempts": {"type": "integer"},
                    "version": {"type": "integer"}
                }},
                "DecisionRequest": {"type": "object", "properties": {
                    "reason": {"type": "string", "nullable": true}
                }},
                "Decision": {"type": "object", "properties": {
                    "decision_id": {"type": "string"},
                    "timestamp": {"type": "string"},
                    "decision_type": {"type": "string"},
                    "result": {"type": "string"},
                    "reason": {"type": "string"},
                    "context": {"type": "object"}
                }},
                "RunResult": {"type": "object", "required": ["request_id", "status", "decisions", "latency_ms", "trace_id"], "properties": {
                    "request_id": {"type": "string"},
                    "status": {"type": "string", "enum": ["executed", "review", "rejected", "failed", "denied", "blocked"]},
                    "task": {"allOf": [{"$ref": "#/components/schemas/Task"}], "nullable": true},
                    "reviewer_decision": {"type": "string", "nullable": true},
                    "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}},
                    "latency_ms": {"type": "number"},
                    "reason": {"type": "string", "nullable": true},
                    "trace_id": {"type": "string"}
                }},
                "Health": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["healthy", "degraded", "unhealthy"]},
                    "checks": {"type": "array", "items": {"type": "object"}}
                }}
            }
        }
    })
}
