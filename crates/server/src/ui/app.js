// TaskPilot web page: talks to /api/v1 with fetch. No framework, no build step.
// Every value from the server is inserted with textContent, never as HTML.
// Refreshes update the page in place (keyed by task id), so what a person types survives them.
"use strict";

const STATUSES = ["pending", "review", "approved", "executed", "failed", "rejected"];
const TOKEN_KEY = "taskpilot.token";
const REFRESH_MS = 5000;
const COLUMN_PAGE = 10;
const QUEUE_PAGE = 20;

const state = {
  authorized: false,
  queueOffset: 0,
  columnOffset: Object.fromEntries(STATUSES.map((s) => [s, 0])),
  taskId: null,
  refreshing: false,
};

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role") node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}

// Text for a value that may be missing: never the word "null" or "undefined".
function text(value, fallback) {
  if (value === null || value === undefined || value === "") return fallback === undefined ? "—" : fallback;
  return String(value);
}

// Replaces a node's children, skipping missing ones (replaceChildren itself would print
// "null" for them).
function fill(node, ...children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

function showError(message) {
  $("error").textContent = message || "";
}

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (token()) headers["Authorization"] = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    const message = data && data.error && data.error.message ? data.error.message : (response.statusText || "HTTP " + response.status);
    throw new ApiError(message, response.status, data && data.error ? data.error.code : undefined);
  }
  return { data, status: response.status };
}

async function get(path) {
  return (await api("GET", path)).data;
}

// ---------------------------------------------------------------- time

function parseTime(value) {
  if (!value) return null;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? null : t;
}

function age(value) {
  const t = parseTime(value);
  if (!t) return "";
  const s = Math.round((Date.now() - t.getTime()) / 1000);
  if (s < 0) return "just now";
  if (s < 45) return s + " s ago";
  const m = Math.round(s / 60);
  if (m < 60) return m + " min ago";
  const h = Math.round(m / 60);
  if (h < 48) return h + " h ago";
  const d = Math.round(h / 24);
  if (d < 60) return d + " days ago";
  return Math.round(d / 30) + " months ago";
}

function stamp(value) {
  const t = parseTime(value);
  if (!t) return text(value);
  return t.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// A <time> showing "5 min ago" with the full timestamp on hover and for screen readers.
function timeEl(value, cls) {
  const t = parseTime(value);
  if (!t) return el("span", { class: cls }, text(value));
  return el("time", { class: cls, dateTime: t.toISOString(), title: stamp(value), "data-time": value }, age(value));
}

function tickAges() {
  for (const node of document.querySelectorAll("time[data-time]")) {
    const a = age(node.getAttribute("data-time"));
    if (node.textContent !== a) node.textContent = a;
  }
}

// ---------------------------------------------------------------- sign-in

function setAuthorized(ok) {
  state.authorized = ok;
  document.body.dataset.auth = ok ? "ok" : "needed";
  $("token-clear").hidden = !token();
}

function authProblem(err) {
  if (err.status === 401) {
    setAuthorized(false);
    $("auth-state").textContent = "token needed";
    const msg = $("auth-message");
    msg.hidden = false;
    msg.textContent = token()
      ? "Sign-in failed — the server said: " + err.message
      : "This server needs an API token: enter it above and choose Sign in. (The server said: " + err.message + ")";
    for (const id of ["review-count", "board-total", "review-badge"]) $(id).hidden = true;
    return true;
  }
  if (err.status === 403) {
    showError("Your token's role may not do that — the server said: " + err.message);
    return true;
  }
  return false;
}

function signedIn() {
  $("auth-message").hidden = true;
  $("auth-message").textContent = "";
  $("auth-state").textContent = token() ? "token in use" : "open server (no token needed)";
  setAuthorized(true);
}

// ---------------------------------------------------------------- keyed lists

// Makes `container`'s children the elements for `items`, in order, reusing the element of an
// item already shown (found by its data-key) and only moving elements that are out of place,
// so focus and typed text inside them survive.
function reconcile(container, items, key, create, update) {
  const existing = new Map();
  for (const child of Array.from(container.children)) existing.set(child.dataset.key, child);
  const wanted = new Set(items.map(key));
  for (const [k, child] of existing) if (!wanted.has(k)) child.remove();
  items.forEach((item, i) => {
    const k = key(item);
    let node = existing.get(k);
    if (!node) {
      node = create(item);
      node.dataset.key = k;
    } else {
      update(node, item);
    }
    const at = container.children[i];
    if (at !== node) container.insertBefore(node, at || null);
  });
}

function setText(node, value) {
  if (node && node.textContent !== value) node.textContent = value;
}

function taskLink(task, cls) {
  return el("a", { href: "#/task/" + encodeURIComponent(task.id), class: cls || "task-link" }, text(task.title, "(untitled)"));
}

// ---------------------------------------------------------------- board

function filters() {
  return {
    status: $("filter-status").value,
    priority: $("filter-priority").value,
    q: $("filter-text").value.trim(),
  };
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, String(v));
  return q.toString();
}

function card(task) {
  const node = el("article", { class: "task priority-" + task.priority, "data-id": task.id, "data-status": task.status },
    taskLink(task, "title"),
    el("div", { class: "meta" },
      el("span", { class: "priority" }, text(task.priority)), " · ", timeEl(task.created_at)),
    el("div", { class: "id" }, task.id));
  return node;
}

function updateCard(node, task) {
  node.className = "task priority-" + task.priority;
  node.dataset.status = task.status;
  setText(node.querySelector(".title"), text(task.title, "(untitled)"));
  setText(node.querySelector(".priority"), text(task.priority));
}

function column(status) {
  const col = el("div", { class: "column", id: "column-" + status, "data-status": status },
    el("h3", {}, status + " ", el("span", { class: "count", hidden: true })),
    el("div", { class: "cards" }),
    el("p", { class: "empty", hidden: true }, "No tasks."),
    el("div", { class: "pager", hidden: true },
      el("button", { type: "button", class: "secondary prev", "aria-label": "Newer " + status + " tasks" }, "Newer"),
      el("span", { class: "range" }),
      el("button", { type: "button", class: "secondary next", "aria-label": "Older " + status + " tasks" }, "Older")));
  col.querySelector(".prev").addEventListener("click", () => {
    state.columnOffset[status] = Math.max(0, state.columnOffset[status] - COLUMN_PAGE);
    loadColumn(status);
  });
  col.querySelector(".next").addEventListener("click", () => {
    state.columnOffset[status] += COLUMN_PAGE;
    loadColumn(status);
  });
  return col;
}

function ensureBoard() {
  const board = $("board");
  if (board.children.length === 0) for (const s of STATUSES) board.append(column(s));
}

function pagerRange(offset, count, total) {
  if (total === 0) return "0 of 0";
  return (offset + 1).toLocaleString() + "–" + (offset + count).toLocaleString() + " of " + total.toLocaleString();
}

async function loadColumn(status) {
  const col = $("column-" + status);
  const f = filters();
  const shown = !f.status || f.status === status;
  col.hidden = !shown;
  if (!shown) return null;
  const data = await get("/api/v1/tasks?" + query({
    status, priority: f.priority, q: f.q, limit: COLUMN_PAGE, offset: state.columnOffset[status],
  }));
  if (data.tasks.length === 0 && data.total > 0 && state.columnOffset[status] > 0) {
    // The page emptied (tasks moved on): go back to the first page.
    state.columnOffset[status] = 0;
    return loadColumn(status);
  }
  const count = col.querySelector("h3 .count");
  count.hidden = false;
  setText(count, data.total.toLocaleString());
  reconcile(col.querySelector(".cards"), data.tasks, (t) => t.id, card, updateCard);
  col.querySelector(".empty").hidden = data.total !== 0;
  const pager = col.querySelector(".pager");
  pager.hidden = data.total <= COLUMN_PAGE;
  setText(pager.querySelector(".range"), pagerRange(data.offset, data.count, data.total));
  pager.querySelector(".prev").disabled = data.offset === 0;
  pager.querySelector(".next").disabled = data.offset + data.count >= data.total;
  return data.total;
}

async function loadBoard() {
  ensureBoard();
  const totals = await Promise.all(STATUSES.map(loadColumn));
  const sum = totals.reduce((a, n) => a + (n || 0), 0);
  const badge = $("board-total");
  badge.hidden = false;
  const f = filters();
  setText(badge, sum.toLocaleString() + (f.status || f.priority || f.q ? " match" : " tasks"));
}

// ---------------------------------------------------------------- review queue

// Why a task waits for a person, each reason once.
function reasonsFrom(detail, task) {
  const reasons = [];
  const seen = new Set();
  const add = (label, reason) => {
    const r = text(reason, "").trim();
    if (!r) return;
    const norm = r.toLowerCase();
    for (const s of seen) if (s.includes(norm) || norm.includes(s)) return;
    seen.add(norm);
    reasons.push(label + r);
  };
  const decisions = (detail && detail.decisions) || [];
  add("Reviewer: ", (detail && detail.reviewer_response) || (task && task.reviewer_response));
  for (const d of decisions) {
    if (d.decision_type === "tool_call" && d.result !== "allow") {
      add("Policy (" + text(d.tool_name, "tool") + ", " + d.result.replace("_", " ") + "): ", d.reason);
    }
  }
  for (const d of decisions) {
    if (d.decision_type === "review") {
      const forced = d.context && d.context.policy_require_approval === true;
      add(forced ? "Review forced by the policy: " : "Review decision: ", d.reason);
    }
  }
  if (reasons.length === 0) reasons.push("Created by hand; waiting for a decision.");
  return reasons;
}

function decisionControls(task, onDone) {
  const reasonId = "reason-" + task.id;
  const reason = el("input", { type: "text", id: reasonId, placeholder: "reason (optional)", class: "reason", maxLength: 2000 });
  const label = el("label", { htmlFor: reasonId, class: "visually-hidden" }, "Reason for " + text(task.title, task.id));
  const approve = el("button", { type: "button", class: "approve" }, "Approve");
  const reject = el("button", { type: "button", class: "reject" }, "Reject");
  approve.addEventListener("click", () => decide(task.id, "approve", reason, [approve, reject], onDone));
  reject.addEventListener("click", () => decide(task.id, "reject", reason, [approve, reject], onDone));
  return el("div", { class: "actions" }, label, reason, approve, reject);
}

function reviewItem(entry) {
  const task = entry.task;
  return el("li", { class: "review-item", "data-id": task.id },
    el("div", { class: "head" }, taskLink(task, "title"),
      el("span", { class: "meta" }, " ", el("span", { class: "priority" }, task.priority), " priority · added ", timeEl(task.created_at))),
    el("div", { class: "id" }, task.id),
    el("ul", { class: "reasons" }, ...reasonsFrom(entry.detail, task).map((r) => el("li", {}, r))),
    decisionControls(task, null));
}

function updateReviewItem(node, entry) {
  setText(node.querySelector(".title"), text(entry.task.title, "(untitled)"));
  const reasons = reasonsFrom(entry.detail, entry.task);
  const list = node.querySelector(".reasons");
  const now = Array.from(list.children).map((li) => li.textContent);
  if (now.join("\n") !== reasons.join("\n")) fill(list, ...reasons.map((r) => el("li", {}, r)));
}

const detailCache = new Map();

async function loadReviewQueue() {
  const data = await get("/api/v1/tasks?" + query({ status: "review", order: "oldest", limit: QUEUE_PAGE, offset: state.queueOffset }));
  if (data.tasks.length === 0 && data.total > 0 && state.queueOffset > 0) {
    state.queueOffset = 0;
    return loadReviewQueue();
  }
  const entries = await Promise.all(data.tasks.map(async (task) => {
    const key = task.id + "@" + task.status + "@" + text(task.reviewer_response, "");
    let detail = detailCache.get(key);
    if (!detail) {
      detail = await get("/api/v1/tasks/" + encodeURIComponent(task.id) + "/decisions").catch(() => ({ decisions: [] }));
      detailCache.set(key, detail);
    }
    return { task, detail };
  }));
  for (const id of ["review-count", "review-badge"]) {
    $(id).hidden = false;
    setText($(id), data.total.toLocaleString());
  }
  reconcile($("review-queue"), entries, (e) => e.task.id, reviewItem, updateReviewItem);
  $("review-empty").hidden = data.total !== 0;
  $("review-pager").hidden = data.total <= QUEUE_PAGE;
  setText($("review-range"), pagerRange(data.offset, data.count, data.total));
  $("review-prev").disabled = data.offset === 0;
  $("review-next").disabled = data.offset + data.count >= data.total;
}

async function decide(id, verb, reasonInput, buttons, onDone) {
  buttons.forEach((b) => { b.disabled = true; });
  showError("");
  try {
    const body = reasonInput.value.trim() ? { reason: reasonInput.value.trim() } : {};
    const { data } = await api("POST", "/api/v1/tasks/" + encodeURIComponent(id) + "/" + verb, body);
    showOutcome(data);
  } catch (err) {
    buttons.forEach((b) => { b.disabled = false; });
    if (!authProblem(err)) showError("Could not " + verb + " " + id + ": " + err.message);
  }
  await refresh();
  if (onDone) await onDone();
}

// ---------------------------------------------------------------- submit and outcome

function outcomeTask(task) {
  return el("div", { id: "outcome-task", "data-id": task.id },
    "Task ", el("a", { href: "#/task/" + encodeURIComponent(task.id) }, text(task.title, task.id)),
    " — " + text(task.priority) + " priority, now " + text(task.status));
}

function showOutcome(result) {
  const outcome = $("outcome");
  const task = result && result.task;
  fill(outcome,
    el("div", {}, "Outcome: ", el("span", { class: "status status-" + text(result && result.status, "unknown"), id: "outcome-status" }, text(result && result.status, "unknown"))),
    task ? outcomeTask(task) : el("div", {}, "No task was stored."),
    result && result.reason ? el("div", { class: "why" }, "Why: " + result.reason) : null);
}

// A step's detail for people: "key: value" pairs, without the empty ones (never "null").
function stepDetail(detail) {
  if (detail === null || detail === undefined || detail === "") return "";
  if (typeof detail !== "object") return String(detail);
  const drop = (_, v) => (v === null || v === undefined || v === "" ? undefined : v);
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => k.replace(/_/g, " ") + ": " + (typeof v === "object" ? JSON.stringify(v, drop) : String(v)))
    .join(", ");
}

function stepLine(step) {
  const detail = stepDetail(step.detail);
  return el("li", { "data-seq": text(step.seq, ""), "data-step": text(step.step, "") },
    el("span", { class: "step-name" }, text(step.step, "step")),
    detail ? " — " + detail : "",
    step.at ? el("span", { class: "meta" }, " ", timeEl(step.at)) : null);
}

function showRunProgress(run) {
  const outcome = $("outcome");
  let list = outcome.querySelector("ol.steps");
  if (!list || outcome.dataset.run !== run.run_id) {
    outcome.dataset.run = run.run_id;
    list = el("ol", { class: "steps" });
    fill(outcome,
      el("div", {}, "Run ", el("code", {}, run.run_id), ": ", el("span", { class: "run-status" }, text(run.status, "queued"))),
      list);
  }
  setText(outcome.querySelector(".run-status"), text(run.status, "queued"));
  const seen = new Set(Array.from(list.children).map((li) => li.dataset.seq));
  for (const step of run.steps || []) {
    if (!seen.has(String(step.seq))) { list.append(stepLine(step)); seen.add(String(step.seq)); }
  }
}

function finishRun(run) {
  if (run.result && typeof run.result === "object" && run.result.status) {
    const steps = $("outcome").querySelector("ol.steps");
    showOutcome(run.result);
    if (steps && steps.children.length) $("outcome").append(el("details", {}, el("summary", {}, "Steps"), steps));
  } else {
    showRunProgress(run);
    showError("The run " + run.run_id + " " + text(run.status, "ended") + (run.error ? ": " + run.error : "."));
  }
}

// Reads the run's server-sent events through fetch (EventSource cannot send a bearer token).
async function followEvents(run) {
  const headers = { "Accept": "text/event-stream" };
  if (token()) headers["Authorization"] = "Bearer " + token();
  const response = await fetch("/api/v1/runs/" + encodeURIComponent(run.run_id) + "/events", { headers });
  if (!response.ok || !response.body) throw new ApiError("no event stream", response.status);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const current = Object.assign({ steps: [] }, run);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length === 0) continue;
      let payload;
      try { payload = JSON.parse(data.join("\n")); } catch (_) { continue; }
      if (event === "step") {
        current.status = "running";
        current.steps.push(payload);
        showRunProgress(current);
      } else if (event === "end") {
        return payload;
      }
    }
  }
  return get("/api/v1/runs/" + encodeURIComponent(run.run_id));
}

async function pollRun(run) {
  for (;;) {
    const now = await get("/api/v1/runs/" + encodeURIComponent(run.run_id));
    showRunProgress(now);
    if (now.status === "succeeded" || now.status === "failed") return now;
    await new Promise((r) => setTimeout(r, 700));
  }
}

async function submitRequest(request) {
  let answer;
  try {
    answer = await api("POST", "/api/v1/runs", { request, wait: false });
  } catch (err) {
    // A server without background runs refuses the field: run synchronously instead.
    if (err.status === 400 || err.status === 404 || err.status === 422) {
      showOutcome((await api("POST", "/api/v1/runs", { request })).data);
      return;
    }
    throw err;
  }
  const data = answer.data;
  if (!data || !data.run_id) {
    showOutcome(data); // the server ran it synchronously
    return;
  }
  showRunProgress(data);
  let final;
  try {
    final = await followEvents(data);
  } catch (err) {
    if (err.status === 401 || err.status === 403) throw err;
    final = await pollRun(data);
  }
  finishRun(final);
}

// ---------------------------------------------------------------- task page

function field(label, value) {
  if (value === null || value === undefined || value === "") return null;
  return el("div", { class: "field" }, el("dt", {}, label), el("dd", {}, value));
}

function decisionSummary(d) {
  // A person's decision names the person; the others name the agent or tool that made them.
  const actor = d.decision_type === "human_approval" ? d.user_id : (d.agent_id || null);
  const who = actor ? " by " + actor : "";
  const what = {
    guardrails_input: "Input guardrails",
    guardrails_output: "Output guardrails",
    tool_call: "Policy" + (d.tool_name ? " (" + d.tool_name + ")" : ""),
    review: "Reviewer",
    human_approval: "Person",
  }[d.decision_type] || d.decision_type;
  return what + ": " + text(d.result).replace("_", " ") + who;
}

// The steps of the task's runs in GET /api/v1/tasks/{id}/history (`runs[].steps[]`, every
// run that created the task, from any replica), as events of the task page's history.
function historyEntries(history) {
  const runs = history && Array.isArray(history.runs) ? history.runs : [];
  const entries = [];
  for (const run of runs) {
    for (const step of run.steps || []) {
      entries.push({
        at: step.at || null,
        title: "Run step: " + text(step.step, "step").replace(/_/g, " "),
        detail: stepDetail(step.detail),
        kind: "step",
        step: text(step.step, ""),
        run: text(run.run_id, ""),
      });
    }
  }
  return entries;
}

function approvalLine(decisions) {
  const human = decisions.filter((d) => d.decision_type === "human_approval");
  if (human.length === 0) return null;
  const d = human[human.length - 1];
  const verb = d.result === "allow" ? "Approved" : "Rejected";
  return el("p", { class: "approval", id: "task-approver" },
    verb + " by " + text(d.user_id, "an unnamed person") + " ", timeEl(d.timestamp), " (" + stamp(d.timestamp) + ")",
    d.reason ? " — " + d.reason : "");
}

async function loadTaskPage(id, keepControls) {
  const page = $("task-page");
  let task;
  try {
    task = await get("/api/v1/tasks/" + encodeURIComponent(id));
  } catch (err) {
    if (authProblem(err)) return;
    fill(page, el("h2", {}, "Task not found"), el("p", {}, err.message));
    return;
  }
  const [detail, history] = await Promise.all([
    get("/api/v1/tasks/" + encodeURIComponent(id) + "/decisions").catch(() => ({ decisions: [] })),
    get("/api/v1/tasks/" + encodeURIComponent(id) + "/history").catch(() => null),
  ]);
  const decisions = detail.decisions || [];
  // Passed guardrail checks are many and alike: one line per rail says how many passed.
  const passed = (d) => (d.decision_type === "guardrails_input" || d.decision_type === "guardrails_output") && d.result === "allow";
  const rails = new Map();
  for (const d of decisions.filter(passed)) {
    const key = d.decision_type + "@" + text(d.agent_id, "");
    const r = rails.get(key) || { at: d.timestamp, n: 0, d };
    r.n += 1;
    rails.set(key, r);
  }
  const events = decisions.filter((d) => !passed(d)).map((d) => ({
    at: d.timestamp, title: decisionSummary(d), detail: d.reason, kind: d.decision_type, result: d.result,
  })).concat(Array.from(rails.values()).map((r) => ({
    at: r.at, title: decisionSummary(r.d), detail: r.n + (r.n === 1 ? " check passed" : " checks passed"), kind: r.d.decision_type, result: "allow",
  }))).concat(historyEntries(history));
  if (task.executed_at) events.push({ at: task.executed_at, title: "Executor: " + task.status, detail: task.error || "", kind: "executor" });
  events.sort((a, b) => (parseTime(a.at) || 0) - (parseTime(b.at) || 0));

  const decidable = task.status === "pending" || task.status === "review";
  // The page has three parts; a refresh rebuilds the top and the bottom and keeps the
  // decision controls (and the reason being typed, with its focus) while they are wanted.
  if (!keepControls || page.dataset.id !== task.id || !page.querySelector(".task-top")) {
    page.dataset.id = task.id;
    fill(page, el("div", { class: "task-top" }), el("div", { class: "task-actions" }), el("div", { class: "task-rest" }));
  }
  const slot = page.querySelector(".task-actions");
  if (!decidable) fill(slot);
  else if (!slot.querySelector(".actions")) fill(slot, decisionControls(task, () => loadTaskPage(task.id, false)));
  fill(page.querySelector(".task-top"),
    el("h2", { id: "task-title" }, text(task.title, "(untitled)")),
    el("p", { class: "badges" }, el("span", { class: "status status-" + task.status, id: "task-status" }, task.status),
      " ", el("span", { class: "priority priority-" + task.priority }, task.priority + " priority")),
    approvalLine(decisions),
    reasonsBlock(task, detail));
  fill(page.querySelector(".task-rest"),
    el("dl", { class: "fields" },
      field("Id", el("code", {}, task.id)),
      field("Created", el("span", {}, stamp(task.created_at) + " · ", timeEl(task.created_at))),
      field("Reviewed", task.reviewed_at ? el("span", {}, stamp(task.reviewed_at) + " · ", timeEl(task.reviewed_at)) : null),
      field("Executed", task.executed_at ? el("span", {}, stamp(task.executed_at) + " · ", timeEl(task.executed_at)) : null),
      field("Request", task.description || null),
      field("Reviewer's reply", task.reviewer_response || null),
      field("Error", task.error || null)),
    el("h3", {}, "History"),
    events.length
      ? el("ol", { class: "history", id: "task-history" }, ...events.map((e) => el("li", { class: "event event-" + e.kind + (e.result ? " result-" + e.result : ""), "data-step": e.step || null, "data-run": e.run || null },
        el("div", {}, el("strong", {}, e.title), " ", e.at ? timeEl(e.at, "meta") : null),
        e.detail ? el("div", { class: "detail" }, e.detail) : null)))
      : el("p", { class: "empty" }, "No decisions recorded for this task (created by hand, or the decision log was cleared)."));
}

function reasonsBlock(task, detail) {
  if (task.status !== "review") return null;
  return el("div", { class: "why" }, el("strong", {}, "Why it is waiting"),
    el("ul", { class: "reasons" }, ...reasonsFrom(detail, task).map((r) => el("li", {}, r))));
}

// ---------------------------------------------------------------- routing and refresh

function route() {
  const hash = decodeURIComponent(location.hash || "#/");
  const m = hash.match(/^#\/task\/(.+)$/);
  state.taskId = m ? m[1] : null;
  $("view-home").hidden = !!m;
  $("view-task").hidden = !m;
  if (m) {
    fill($("task-page"), el("p", {}, "Loading " + m[1] + "…"));
    if (state.authorized) loadTaskPage(m[1], false);
    $("main").focus();
  } else if (hash === "#/review") {
    $("review-section").scrollIntoView();
  } else if (hash === "#/submit") {
    $("request").focus();
  }
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    if (state.taskId) {
      await get("/api/v1/stats");
      signedIn();
      await loadTaskPage(state.taskId, true);
    } else {
      await Promise.all([loadBoard(), loadReviewQueue()]);
      signedIn();
    }
  } catch (err) {
    if (!authProblem(err)) showError("Could not load the tasks: " + err.message);
  } finally {
    state.refreshing = false;
  }
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  $("token").value = "";
  showError("");
  detailCache.clear();
  refresh().then(() => { if (state.taskId && state.authorized) loadTaskPage(state.taskId, false); });
});

$("token-clear").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

$("run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("request");
  const button = $("submit");
  if (!input.value.trim()) return;
  button.disabled = true;
  showError("");
  $("outcome").textContent = "Running…";
  try {
    await submitRequest(input.value);
    input.value = "";
  } catch (err) {
    $("outcome").textContent = "";
    if (!authProblem(err)) showError("The request failed: " + err.message);
  } finally {
    button.disabled = false;
  }
  await refresh();
});

$("request").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("run-form").requestSubmit();
});

let filterTimer = null;
function filtersChanged() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    for (const s of STATUSES) state.columnOffset[s] = 0;
    loadBoard().catch((err) => { if (!authProblem(err)) showError("Could not filter: " + err.message); });
  }, 250);
}
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("filter-status").addEventListener("change", filtersChanged);
$("filter-priority").addEventListener("change", filtersChanged);
$("filter-text").addEventListener("input", filtersChanged);
$("review-prev").addEventListener("click", () => { state.queueOffset = Math.max(0, state.queueOffset - QUEUE_PAGE); loadReviewQueue(); });
$("review-next").addEventListener("click", () => { state.queueOffset += QUEUE_PAGE; loadReviewQueue(); });

window.addEventListener("hashchange", route);
route();
refresh();
setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
setInterval(tickAges, 30000);
