#!/usr/bin/env python3
"""Structural checks of the deployment files that no schema expresses.

Called by scripts/validate-deploy (which runs the schema validators, promtool, hadolint and
kubectl kustomize); each subcommand prints what it checked and exits non-zero on a problem.

  checks.py dockerfile   deploy/Dockerfile
  checks.py compose      deploy/docker-compose*.yml
  checks.py kubernetes   FILE_STORE_RENDERED.yaml POSTGRES_RENDERED.yaml
  checks.py observability deploy
  checks.py dashboard-rules DASHBOARD.json OUT_RULES.yml     (dashboard exprs as recording rules)
  checks.py reference-metrics OUT_METRICS.json               (every documented dotted name)
  checks.py metric-names EXPOSITION_ACTIVITY EXPOSITION_REFERENCE FILE...
"""

import json
import os
import re
import sys

import yaml

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print(f"  FAIL {msg}")


def ok(msg):
    print(f"  ok   {msg}")


def check(cond, msg):
    (ok if cond else fail)(msg)


def done():
    if FAILURES:
        print(f"{len(FAILURES)} problem(s)")
        sys.exit(1)


LOCATIONS = {
    "TASKS_FILE": "/data/.tasks.json",
    "METRICS_FILE": "/data/metrics.json",
    "TRACES_FILE": "/data/traces.jsonl",
    "DECISION_LOGS_FILE": "/data/decision_logs.jsonl",
    "LOGS_DIR": "/var/log/taskpilot",
    "PROMPTS_DIR": "/app/prompts",
    "POLICIES_DIR": "/app/policies",
    "GUARDRAILS_CONFIG_DIR": "/app/guardrails",
    "OBSERVABILITY_DIR": "/app/observability",
}


def claim_lease(env, label):
    """CLAIM_LEASE_SECONDS is set to whole seconds above TOOL_TIMEOUT_SECONDS (default 30): a
    lease shorter than the executor's longest step hands a slow worker's task to another."""
    raw = str(env.get("CLAIM_LEASE_SECONDS", ""))
    lease = int(raw) if raw.isdigit() else 0
    timeout = float(str(env.get("TOOL_TIMEOUT_SECONDS", "30")))
    check(lease >= 1, f"{label}: CLAIM_LEASE_SECONDS is set to whole seconds (got {raw!r})")
    check(lease > timeout, f"{label}: CLAIM_LEASE_SECONDS ({raw}) is above TOOL_TIMEOUT_SECONDS ({timeout:g})")


# ---- Dockerfile --------------------------------------------------------------------------


def dockerfile(path):
    print(f"{path}: structure")
    root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    lines, cur = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not cur and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
        else:
            lines.append(cur + line)
            cur = ""
    ins = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
    froms = [a for i, a in ins if i == "FROM"]
    check(len(froms) >= 2, f"multi-stage build ({len(froms)} stages)")
    check(any("rust" in f and " as " in f.lower() for f in froms), "a rust builder stage")
    check("slim" in froms[-1], f"a slim runtime image ({froms[-1]})")
    runtime = ins[max(i for i, (k, _) in enumerate(ins) if k == "FROM"):]
    users = [a for i, a in runtime if i == "USER"]
    check(users and users[-1].split(":")[0] not in ("root", "0"), f"runs as a non-root user ({users})")
    check(any(i == "EXPOSE" and "8000" in a.split() for i, a in runtime), "EXPOSE 8000")
    hc = [a for i, a in runtime if i == "HEALTHCHECK"]
    check(hc and "/health" in hc[-1], "HEALTHCHECK requests /health")
    vols = " ".join(a for i, a in runtime if i == "VOLUME")
    check("/data" in vols and "/var/log/taskpilot" in vols, "VOLUME /data and /var/log/taskpilot")
    env = {}
    for i, a in runtime:
        if i == "ENV":
            for pair in a.split():
                k, _, v = pair.partition("=")
                env[k] = v
    for var, want in LOCATIONS.items():
        check(env.get(var) == want, f"ENV {var}={want}")
    ep = [a for i, a in runtime if i == "ENTRYPOINT"]
    cmd = [a for i, a in runtime if i == "CMD"]
    check(ep and "taskpilot" in ep[-1] and cmd and "serve" in cmd[-1], "default command `taskpilot serve`")
    # Every COPY source from the build context exists and is not excluded by .dockerignore.
    ignore = []
    di = os.path.join(root, ".dockerignore")
    if os.path.exists(di):
        ignore = [l.strip().rstrip("/") for l in open(di) if l.strip() and not l.startswith("#")]
    for i, a in ins:
        if i != "COPY" or "--from=" in a:
            continue
        srcs = [s for s in a.split() if not s.startswith("--")][:-1]
        for s in srcs:
            check(os.path.exists(os.path.join(root, s)), f"COPY source {s} exists")
            check(not any(s.rstrip("/") == g or s.startswith(g + "/") for g in ignore), f"COPY source {s} not in .dockerignore")
    # The defaults the image copies are what the binary compiles in.
    for d in ("prompts", "policies", "guardrails"):
        check(any(i == "COPY" and f"defaults/{d}" in a and f"/app/{d}" in a for i, a in ins), f"defaults/{d} copied to /app/{d}")


# ---- Compose -----------------------------------------------------------------------------


def compose(*paths):
    for path in paths:
        print(f"{path}: structure")
        doc = yaml.safe_load(open(path))
        base = os.path.dirname(os.path.abspath(path))
        services = doc.get("services", {})
        check("taskpilot" in services, "has a taskpilot service")
        tp = services.get("taskpilot", {})
        env = tp.get("environment", {})
        name = os.path.basename(path)
        if name == "docker-compose.observability.yml":
            check(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").startswith("http://otel-collector:"),
                  "taskpilot exports spans to the otel-collector service")
            for svc in ("prometheus", "grafana", "otel-collector", "jaeger", "elasticsearch", "kibana", "filebeat"):
                check(svc in services, f"service {svc}")
        else:
            for var, want in LOCATIONS.items():
                if var == "TASKS_FILE" and "postgres" in name:
                    continue
                check(env.get(var) == want, f"environment {var}={want}")
            claim_lease(env, "environment")
            check("8000" in str(tp.get("ports")), "publishes port 8000")
            check("/health" in json.dumps(tp.get("healthcheck", {})), "healthcheck on /health")
            check(str(env.get("TASKPILOT_API_TOKENS", "")).startswith("${TASKPILOT_API_TOKENS:?")
                  or "--allow-open" in json.dumps(tp.get("command", "")),
                  "requires API tokens (or serves --allow-open knowingly)")
        if name == "docker-compose.postgres.yml":
            check(str(env.get("TASK_STORE_URL", "")).startswith("postgres://"), "TASK_STORE_URL is postgres://")
            check(tp.get("deploy", {}).get("replicas", 1) > 1, "several replicas")
            check(not any(":/data" in str(v) for v in tp.get("volumes", [])), "no shared /data volume (per-replica metrics)")
            check(tp.get("depends_on", {}).get("postgres", {}).get("condition") == "service_healthy", "waits for a healthy PostgreSQL")
        if name == "docker-compose.yml":
            vols = [str(v) for v in tp.get("volumes", [])]
            check("taskpilot-data:/data" in vols and "taskpilot-logs:/var/log/taskpilot" in vols, "named volumes at /data and /var/log/taskpilot")
            check("TASK_STORE_URL" not in env and tp.get("deploy", {}).get("replicas", 1) == 1, "file store: one container")
        if name == "docker-compose.bind-mounts.yml":
            targets = {v.get("target"): v for v in tp.get("volumes", []) if isinstance(v, dict)}
            check(targets.get("/data", {}).get("type") == "bind" and targets.get("/var/log/taskpilot", {}).get("type") == "bind",
                  "bind mounts at /data and /var/log/taskpilot")
        # Bind-mounted configuration files exist (relative to the compose file).
        for sname, svc in services.items():
            for v in svc.get("volumes", []) or []:
                src = v.get("source") if isinstance(v, dict) else str(v).split(":")[0]
                if src and src.startswith("./observability"):
                    check(os.path.exists(os.path.join(base, src)), f"{sname}: mounted file {src} exists")
            build = svc.get("build")
            if isinstance(build, dict):
                ctx = os.path.join(base, build.get("context", "."))
                check(os.path.exists(os.path.join(ctx, build.get("dockerfile", "Dockerfile"))), f"{sname}: build dockerfile exists")
            # Named volumes are declared at the top level.
            for v in svc.get("volumes", []) or []:
                src = v.get("source") if isinstance(v, dict) else str(v).split(":")[0]
                if src and not src.startswith((".", "/", "$")):
                    check(src in (doc.get("volumes") or {}), f"{sname}: volume {src} is declared")


# ---- Kubernetes --------------------------------------------------------------------------


def _docs(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]


def _deployment(docs):
    return next(d for d in docs if d["kind"] == "Deployment")


def _common_deployment(dep, label):
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    check(spec.get("securityContext", {}).get("runAsNonRoot") is True, f"{label}: runAsNonRoot")
    check(c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, f"{label}: no privilege escalation")
    for probe in ("readinessProbe", "livenessProbe"):
        check(c.get(probe, {}).get("httpGet", {}).get("path") == "/health", f"{label}: {probe} on /health")
    res = c.get("resources", {})
    check(res.get("requests", {}).get("cpu") and res.get("limits", {}).get("memory"), f"{label}: resource requests and limits")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    check("/data" in mounts and "/var/log/taskpilot" in mounts, f"{label}: /data and /var/log/taskpilot mounted")
    check(any(e.get("configMapRef", {}).get("name") == "taskpilot-config" for e in c.get("envFrom", [])), f"{label}: environment from the ConfigMap")
    return spec, c, mounts


def kubernetes(file_store, postgres):
    print("kubernetes overlays: multi-instance rules")
    fs = _docs(file_store)
    dep = _deployment(fs)
    spec, c, mounts = _common_deployment(dep, "file-store")
    check(dep["spec"].get("replicas") == 1, "file-store: exactly 1 replica")
    check(dep["spec"].get("strategy", {}).get("type") == "Recreate" and "rollingUpdate" not in dep["spec"]["strategy"], "file-store: strategy Recreate")
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    pvcs = [d["metadata"]["name"] for d in fs if d["kind"] == "PersistentVolumeClaim"]
    claim = vols.get(mounts.get("/data"), {}).get("persistentVolumeClaim", {}).get("claimName")
    check(claim in pvcs, f"file-store: the PVC {claim} is mounted at /data")
    check(all(e.get("name") != "TASK_STORE_URL" for e in c.get("env", [])), "file-store: no TASK_STORE_URL")
    cm = next(d for d in fs if d["kind"] == "ConfigMap")
    for var, want in LOCATIONS.items():
        check(cm["data"].get(var) == want, f"ConfigMap {var}={want}")
    for docs, label in ((fs, "file-store"), (_docs(postgres), "postgres")):
        claim_lease(next(d for d in docs if d["kind"] == "ConfigMap")["data"], f"{label} ConfigMap")
    secret = next(d for d in fs if d["kind"] == "Secret")
    for key in ("OPENAI_API_KEY", "TASKPILOT_API_TOKENS", "TASK_STORE_URL"):
        check(key in secret.get("stringData", {}) or key in secret.get("data", {}), f"Secret has {key}")

    pg = _docs(postgres)
    dep = _deployment(pg)
    spec, c, mounts = _common_deployment(dep, "postgres")
    check(dep["spec"].get("replicas") == 3, "postgres: 3 replicas")
    check(dep["spec"].get("strategy", {}).get("type") == "RollingUpdate", "postgres: RollingUpdate")
    check(not any(d["kind"] == "PersistentVolumeClaim" for d in pg), "postgres: no PVC")
    check(not any("persistentVolumeClaim" in v for v in spec.get("volumes", [])), "postgres: no volume from a PVC")
    url = [e for e in c.get("env", []) if e.get("name") == "TASK_STORE_URL"]
    check(url and url[0].get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "taskpilot-secrets", "postgres: TASK_STORE_URL from the Secret")
    for docs, label in ((fs, "file-store"), (pg, "postgres")):
        dep = _deployment(docs)
        sel = dep["spec"]["selector"]["matchLabels"]
        tl = dep["spec"]["template"]["metadata"]["labels"]
        check(all(tl.get(k) == v for k, v in sel.items()), f"{label}: selector matches the pod labels")
        svc = next(d for d in docs if d["kind"] == "Service")
        check(all(tl.get(k) == v for k, v in svc["spec"]["selector"].items()), f"{label}: Service selects the pods")
        names = {p.get("name") for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
        check(all(p["targetPort"] in names or p["targetPort"] == 8000 for p in svc["spec"]["ports"]), f"{label}: Service targets the container port")


# ---- Observability -----------------------------------------------------------------------


def observability(deploy):
    obs = os.path.join(deploy, "observability")
    print(f"{obs}: structure")
    otel = yaml.safe_load(open(os.path.join(obs, "otel-collector/config.yaml")))
    for kind in ("receivers", "processors", "exporters"):
        for pipe, p in otel["service"]["pipelines"].items():
            for name in p.get(kind, []):
                check(name in otel.get(kind, {}), f"otel: pipeline {pipe} {kind[:-1]} {name} is defined")
    for ext in otel["service"].get("extensions", []):
        check(ext in otel.get("extensions", {}), f"otel: extension {ext} is defined")
    check(otel["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318"), "otel: OTLP/HTTP on 4318 (TaskPilot's exporter)")
    jaeger = [e for n, e in otel["exporters"].items() if n.startswith("otlp")]
    check(jaeger and jaeger[0]["endpoint"].startswith("jaeger:"), "otel: exports to the jaeger service over OTLP")

    fb = yaml.safe_load(open(os.path.join(obs, "filebeat/filebeat.yml")))
    paths = [p for i in fb["filebeat.inputs"] for p in i.get("paths", [])]
    check("/var/log/taskpilot/taskpilot.log" in paths, "filebeat: reads <LOGS_DIR>/taskpilot.log")
    check(any(p.startswith("/var/log/taskpilot/taskpilot.log.") for p in paths), "filebeat: reads the rotated files")
    check(any("ndjson" in parser for i in fb["filebeat.inputs"] for parser in i.get("parsers", [])), "filebeat: decodes JSON lines")
    check("elasticsearch:9200" in json.dumps(fb.get("output.elasticsearch")), "filebeat: ships to the elasticsearch service")

    ds = yaml.safe_load(open(os.path.join(obs, "grafana/provisioning/datasources/prometheus.yml")))
    uids = {d["uid"] for d in ds["datasources"]}
    check(any(d["url"] == "http://prometheus:9090" for d in ds["datasources"]), "grafana: datasource points at the prometheus service")
    prov = yaml.safe_load(open(os.path.join(obs, "grafana/provisioning/dashboards/taskpilot.yml")))
    comp = yaml.safe_load(open(os.path.join(deploy, "docker-compose.observability.yml")))
    gvols = comp["services"]["grafana"]["volumes"]
    dpath = prov["providers"][0]["options"]["path"]
    check(any(v.endswith(":" + dpath + ":ro") and "grafana/dashboards" in v for v in gvols), f"grafana: dashboards mounted at {dpath}")
    dash_dir = os.path.join(obs, "grafana/dashboards")
    for f in sorted(os.listdir(dash_dir)):
        d = json.load(open(os.path.join(dash_dir, f)))
        check(d.get("uid") and d.get("title"), f"{f}: has uid and title")
        ids = [p["id"] for p in d["panels"]]
        check(len(ids) == len(set(ids)), f"{f}: panel ids are unique")
        for p in d["panels"]:
            if p["type"] == "row":
                continue
            for t in [p] + p.get("targets", []):
                if "datasource" in t:
                    check(t["datasource"].get("uid") in uids, f"{f}: panel '{p['title']}' uses a provisioned datasource")
                    break
            check(p.get("targets") and all(t.get("expr") for t in p["targets"]), f"{f}: panel '{p['title']}' has queries")


def dashboard_exprs(path):
    d = json.load(open(path))
    for p in d["panels"]:
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p["title"], t["expr"]


def dashboard_rules(path, out):
    """The dashboard's queries as recording rules, so `promtool check rules` parses them."""
    rules = []
    for n, (title, expr) in enumerate(dashboard_exprs(path)):
        e = expr.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$__interval", "1m")
        rules.append({"record": f"dashboard:query_{n}", "expr": e})
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"), sort_keys=False)
    print(f"{len(rules)} dashboard queries written to {out}")


# ---- Metric names ------------------------------------------------------------------------

# Every dotted name of docs/OBSERVABILITY.md's table, with example agents, tools and models.
REFERENCE_COUNTERS = [
    "workflow.runs", "workflow.success", "workflow.errors",
    "llm.cost.total", "llm.tokens.input", "llm.tokens.output", "llm.tokens.total",
    "policy.violations.total",
    "tasks.created", "tasks.approved", "tasks.rejected", "tasks.review", "tasks.executed",
    "human.approvals", "human.rejections",
    "otel.export.failures", "otel.export.dropped",
]
for agent in ("PlannerAgent", "ReviewerAgent", "ExecutorAgent"):
    REFERENCE_COUNTERS += [f"agent.{agent}.{w}" for w in ("invocations", "success", "errors")]
    REFERENCE_COUNTERS += [f"llm.agent.{agent}.model.gpt-4o-mini.{w}" for w in ("calls", "cost", "input_tokens", "output_tokens")]
for tool in ("create_task", "notify_external_system"):
    REFERENCE_COUNTERS += [f"tool.{tool}.{w}" for w in ("calls", "success", "errors")]
REFERENCE_HISTOGRAMS = ["workflow.latency_ms"] + [f"agent.{a}.latency_ms" for a in ("PlannerAgent", "ReviewerAgent", "ExecutorAgent")] + [
    f"tool.{t}.latency_ms" for t in ("create_task", "notify_external_system")]
BOUNDS = [5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 30000.0, 60000.0, 120000.0]


def reference_metrics(out):
    hist = {"bounds": BOUNDS, "counts": [1] + [0] * len(BOUNDS), "sum": 1.0, "count": 1, "recent": [1.0]}
    doc = {
        "counters": {n: 1.0 for n in REFERENCE_COUNTERS},
        "gauges": {"health.status": 2.0},
        "histograms": {n: hist for n in REFERENCE_HISTOGRAMS},
        "timestamp": "2025-01-01T00:00:00Z",
    }
    json.dump(doc, open(out, "w"), indent=2)
    print(f"{len(REFERENCE_COUNTERS)} counters, 1 gauge, {len(REFERENCE_HISTOGRAMS)} histograms written to {out}")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)")
TOKEN = re.compile(r"\btaskpilot_[a-z0-9_]+\b")


def exposition_names(path):
    names = set()
    for line in open(path):
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            names.add(m.group(1))
    return names


def metric_names(activity, reference, *files):
    real = exposition_names(activity)
    ref = exposition_names(reference)
    print(f"metric names: {len(real)} exported after activity, {len(ref)} for every documented name")
    check(real, "the binary exported metrics after activity")
    check(real <= ref, f"every name exported after activity is documented ({sorted(real - ref)})")
    used = set()
    for f in files:
        if f.endswith(".json"):
            exprs = [e for _, e in dashboard_exprs(f)]
        else:
            exprs = [r.get("expr", "") for g in yaml.safe_load(open(f)).get("groups", []) for r in g.get("rules", [])]
        names = {n for e in exprs for n in TOKEN.findall(e)}
        used |= names
        unknown = sorted(names - ref - real)
        check(not unknown, f"{os.path.basename(f)}: every taskpilot_* name is exported by the binary (unknown: {unknown})")
        synthetic = sorted(names - real)
        if synthetic:
            print(f"       {os.path.basename(f)}: named by the exposition of the documented metrics, not seen in the short activity: {synthetic}")
    core = {"taskpilot_workflow_runs_total", "taskpilot_workflow_success_total", "taskpilot_workflow_duration_seconds_bucket", "taskpilot_llm_cost_usd_total"}
    check(core <= used, f"the dashboard and alerts cover the golden signals ({sorted(core - used)} missing)")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "dockerfile": dockerfile,
        "compose": compose,
        "kubernetes": kubernetes,
        "observability": observability,
        "dashboard-rules": dashboard_rules,
        "reference-metrics": reference_metrics,
        "metric-names": metric_names,
    }[cmd](*args)
    done()


if __name__ == "__main__":
    main()
