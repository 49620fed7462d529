// TaskPilot web page: talks to /api/v1 with fetch. No framework, no build step.
// Every value from the server is inserted with textContent, never as HTML.
"use strict";

const STATUSES = ["pending", "review", "approved", "executed", "failed", "rejected"];
const TOKEN_KEY = "taskpilot.token";

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

function showError(message) {
  document.getElementById("error").textContent = message || "";
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
    const message = data && data.error ? data.error.message : response.statusText;
    const err = new Error(message);
    err.status = response.status;
    throw err;
  }
  return data;
}

function authProblem(err) {
  if (err.status === 401) {
    document.getElementById("auth-state").textContent = "token needed";
    showError("This server needs an API token: enter it above.");
    return true;
  }
  if (err.status === 403) {
    showError("Your token's role may not do that: " + err.message);
    return true;
  }
  return false;
}

function taskCard(task) {
  return el("div", { class: "task priority-" + task.priority, "data-id": task.id, "data-status": task.status },
    el("div", { class: "title" }, task.title),
    el("div", { class: "meta" }, task.priority + " · " + task.id));
}

async function loadBoard() {
  const data = await api("GET", "/api/v1/tasks?limit=200");
  const board = document.getElementById("board");
  board.replaceChildren();
  for (const status of STATUSES) {
    const tasks = data.tasks.filter((t) => t.status === status);
    const column = el("div", { class: "column", id: "column-" + status, "data-status": status },
      el("h3", {}, status + " ", el("span", { class: "count" }, String(tasks.length))));
    for (const t of tasks) column.append(taskCard(t));
    board.append(column);
  }
}

function reasonsFrom(detail) {
  const reasons = [];
  if (detail.reviewer_response) reasons.push("Reviewer: " + detail.reviewer_response);
  for (const d of detail.decisions || []) {
    if (d.decision_type === "tool_call" && d.result !== "allow") {
      reasons.push("Policy (" + (d.tool_name || "tool") + ", " + d.result + "): " + d.reason);
    } else if (d.decision_type === "review") {
      reasons.push("Review decision (" + d.result + "): " + d.reason);
    }
  }
  if (reasons.length === 0) reasons.push("Created by hand; waiting for a decision.");
  return reasons;
}

async function decide(id, verb, reasonInput, buttons) {
  buttons.forEach((b) => { b.disabled = true; });
  showError("");
  try {
    const result = await api("POST", "/api/v1/tasks/" + encodeURIComponent(id) + "/" + verb,
      { reason: reasonInput.value || null });
    showOutcome(result);
  } catch (err) {
    if (!authProblem(err)) showError("Could not " + verb + " " + id + ": " + err.message);
  }
  await refresh();
}

async function loadReviewQueue() {
  const data = await api("GET", "/api/v1/tasks?status=review&limit=50");
  const queue = document.getElementById("review-queue");
  document.getElementById("review-count").textContent = String(data.tasks.length);
  const details = await Promise.all(data.tasks.map((t) =>
    api("GET", "/api/v1/tasks/" + encodeURIComponent(t.id) + "/decisions").catch(() => ({ decisions: [] }))));
  queue.replaceChildren();
  data.tasks.forEach((task, i) => {
    const reason = el("input", { type: "text", placeholder: "reason (optional)", class: "reason" });
    const approve = el("button", { type: "button", class: "approve" }, "Approve");
    const reject = el("button", { type: "button", class: "reject" }, "Reject");
    approve.addEventListener("click", () => decide(task.id, "approve", reason, [approve, reject]));
    reject.addEventListener("click", () => decide(task.id, "reject", reason, [approve, reject]));
    const reasons = el("ul", { class: "reasons" },
      ...reasonsFrom(details[i]).map((r) => el("li", {}, r)));
    queue.append(el("li", { class: "review-item", "data-id": task.id },
      el("strong", { class: "title" }, task.title),
      el("span", { class: "meta" }, " " + task.priority + " · " + task.id),
      reasons,
      el("div", { class: "actions" }, reason, approve, reject)));
  });
}

function showOutcome(result) {
  const outcome = document.getElementById("outcome");
  const task = result.task;
  outcome.replaceChildren(
    el("div", {}, "Outcome: ", el("span", { class: "status", id: "outcome-status" }, result.status)),
    task ? el("div", { id: "outcome-task", "data-id": task.id }, "Task " + task.id + ": " + task.title + " (" + task.priority + ", " + task.status + ")") : null,
    result.reason ? el("div", { class: "reason" }, "Why: " + result.reason) : null);
}

async function refresh() {
  try {
    await Promise.all([loadBoard(), loadReviewQueue()]);
    document.getElementById("auth-state").textContent = token() ? "token in use" : "";
  } catch (err) {
    if (!authProblem(err)) showError("Could not load the tasks: " + err.message);
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = document.getElementById("token").value.trim();
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("token").value = "";
  showError("");
  refresh();
});

document.getElementById("run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("request");
  const button = document.getElementById("submit");
  if (!input.value.trim()) return;
  button.disabled = true;
  showError("");
  document.getElementById("outcome").textContent = "Running…";
  try {
    showOutcome(await api("POST", "/api/v1/runs", { request: input.value }));
    input.value = "";
  } catch (err) {
    document.getElementById("outcome").textContent = "";
    if (!authProblem(err)) showError("The request failed: " + err.message);
  } finally {
    button.disabled = false;
  }
  await refresh();
});

refresh();
setInterval(refresh, 5000);
