"""The driver of scripts/policy-diff: TaskPilot's policy decisions against the real OPA engine.

Run it through scripts/policy-diff, which installs the OPA oracle first. Only the standard
library and the oracle's `opa_bindings` are used.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "defaults" / "policies"
CORPUS = ROOT / "crates" / "govern" / "tests" / "policies"
PACKAGE = "taskpilot.tool_calls"

TOOLS = ["create_task", "notify_external_system", "delete_task"]
AGENTS = ["PlannerAgent", "ReviewerAgent", "ExecutorAgent"]

# Every character Unicode calls white space, and some that look like it but are not.
WHITESPACE = [
    "\t", "\n", "\v", "\f", "\r", " ", "\u0085", "\u00a0", "\u1680",
    *[chr(c) for c in range(0x2000, 0x200B)],
    "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
]
NOT_WHITESPACE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u180e", "\u00ad"]

# Pieces that case mapping, trimming and counting treat differently across engines.
PIECES = [
    "a", "Z", "é", "e\u0301", "İ", "ı", "ẞ", "ß", "ſ", "\u212a", "Σ", "ς", "ǅ", "ﬁ", "ᾳ",
    "😀", "👨\u200d👩\u200d👧", "𝒜", "𐐀", "𐐨", "中", "\U0001F1EB\U0001F1F7", "\u0301",
    "sensitive", "SENSİTİVE", "Sensitive", "ſensitive", "delete", "DELETE", "DELETİNG", "dElEtE",
    "de\u200blete", "delete\u0301", "%v", "%d", "\\", '"', "\x00", "\x7f",
]

WORDS = ["Prepare the board deck", "Move the sensitive payroll files", "Task ready",
         "please delete it", "All done", "SENSITIVE", "insensitive remarks", "Undeleted"]

NUMBERS = [0, -1, 1, 7, 1.5, 1.0, 1e3, -0.0, 2**53, 12345678901234567890, 0.1]


def fill(rng, length, unit):
    """A string of exactly `length` code points made of `unit` (code points counted)."""
    units = list(unit)
    return "".join(units[i % len(units)] for i in range(length))


def title(rng):
    kind = rng.randrange(10)
    if kind < 3:
        length = rng.choice([0, 1, 2, 498, 499, 500, 501, 502, 1000])
        unit = rng.choice(["a", "é", "😀", "中", "e\u0301", "İ", "ẞ", "𝒜"])
        core = fill(rng, length, unit)
        pad = rng.choice(["", "", *WHITESPACE, *NOT_WHITESPACE])
        return pad + core + pad * rng.randrange(3)
    if kind < 5:
        return "".join(rng.choice(PIECES + WHITESPACE) for _ in range(rng.randrange(1, 8)))
    if kind < 6:
        return rng.choice(WHITESPACE) * rng.randrange(0, 4) + rng.choice(NOT_WHITESPACE)
    if kind < 8:
        return rng.choice(WORDS) + rng.choice(["", " ", *PIECES])
    return wrong_type(rng)


def wrong_type(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(NUMBERS)
    if kind == 1:
        return rng.choice([True, False, None])
    if kind == 2:
        return [rng.choice(WORDS), rng.choice(NUMBERS)]
    if kind == 3:
        return {"text": rng.choice(WORDS), "n": rng.choice(NUMBERS)}
    if kind == 4:
        return []
    return {}


def priority(rng):
    if rng.random() < 0.2:
        return wrong_type(rng)
    base = rng.choice(["high", "medium", "low", "urgent", "", "hİgh", "hıgh", "ＨＩＧＨ", "critical"])
    cased = rng.choice([base, base.upper(), base.title(), base.capitalize()])
    pad = rng.choice(["", "", " ", *WHITESPACE, *NOT_WHITESPACE])
    return pad + cased + pad


def message(rng):
    if rng.random() < 0.15:
        return wrong_type(rng)
    return "".join(rng.choice(WORDS + PIECES + WHITESPACE) for _ in range(rng.randrange(0, 5)))


def name(rng, known):
    roll = rng.random()
    if roll < 0.8:
        return rng.choice(known)
    if roll < 0.9:
        return rng.choice(["Rogue", "", "plannerAgent", "CREATE_TASK", "send_email", "delete_task "])
    return wrong_type(rng)


def document(rng):
    """One input document; sometimes with fields missing, of the wrong type, or extra."""
    params = {}
    for key, make in (("title", title), ("priority", priority), ("message", message),
                      ("description", message)):
        if rng.random() < 0.8:
            params[key] = make(rng)
    if rng.random() < 0.1:
        params["extra"] = wrong_type(rng)
    doc = {
        "tool_name": name(rng, TOOLS),
        "parameters": params if rng.random() < 0.9 else wrong_type(rng),
        "agent_type": name(rng, AGENTS),
        "agent_id": "agent-1",
        "request_id": "req-1",
    }
    for key in list(doc):
        if rng.random() < 0.04:
            del doc[key]
    if rng.random() < 0.05:
        doc["extra"] = wrong_type(rng)
    return doc


def systematic():
    """Every tool with every agent, on a few parameter sets: the table's rows, exhaustively."""
    params = [
        {"title": "Prepare the board deck", "priority": "medium"},
        {"title": "Sensitive merger memo", "priority": "high"},
        {"title": "SENSİTİVE merger memo", "priority": "HIGH"},
        {"title": "x" * 500, "priority": "low"},
        {"title": "😀" * 499, "priority": "low"},
        {"title": "😀" * 500, "priority": "low"},
        {"title": "😀" * 501, "priority": "low"},
        {"title": "e\u0301" * 250, "priority": "low"},
        {"priority": "high"},
        {"title": "", "priority": "low"},
        {"message": "Task ready"},
        {"message": "Please DELETE the records"},
        {"message": "DELETİNG"},
        {},
    ]
    return [
        {"tool_name": tool, "parameters": p, "agent_type": agent, "agent_id": "a", "request_id": "r"}
        for tool in TOOLS + ["send_email"]
        for agent in AGENTS + ["Rogue"]
        for p in params
    ]


def opa_engine(oracle, files):
    sys.path.insert(0, oracle)
    from opa_bindings import OpaEngine  # noqa: PLC0415 (the oracle's path is known only now)

    engine = OpaEngine()
    engine.print_handler = lambda message, location: None
    for path in files:
        engine.add_policy(path.name, path.read_text())
    return engine


def normalise(allow, deny, require_approval):
    """The compared triple: allow, the set of deny reasons, require_approval."""
    reasons = tuple(sorted(r if isinstance(r, str) else json.dumps(r, sort_keys=True) for r in deny))
    return (allow is True, reasons, require_approval is True)


def opa_decide(engine, doc):
    from opa_bindings import OpaError  # noqa: PLC0415

    try:
        value = engine.eval_document(PACKAGE, doc)
    except OpaError as e:
        if e.code == "undefined":
            return normalise(False, [], False)
        return ("error",)
    deny = value.get("deny", [])
    if isinstance(deny, bool):
        deny = ["denied by policy"] if deny else []
    elif isinstance(deny, str):
        deny = [deny]
    return normalise(value.get("allow"), deny, value.get("require_approval"))


def taskpilot_decide(binary, policies_dir, docs, workdir):
    path = Path(workdir) / "inputs.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    env = {k: v for k, v in os.environ.items() if k not in ("ENV_FILE_PATH",)}
    env["BASE_DIR"] = workdir
    env["POLICIES_DIR"] = str(policies_dir)
    out = subprocess.run(
        [binary, "policy", "eval", "--jsonl", "--input", str(path)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )
    if out.returncode != 0:
        sys.exit(f"policy-diff: {binary} policy eval --jsonl failed: {out.stderr.strip()}")
    results = []
    # Only "\n" ends a line: results may hold U+2028 or U+0085, which str.splitlines() splits on.
    for line in out.stdout.split("\n"):
        if not line:
            continue
        r = json.loads(line)
        results.append(("error",) if "error" in r else normalise(r["allow"], r["deny"], r["require_approval"]))
    if len(results) != len(docs):
        sys.exit(f"policy-diff: {len(docs)} inputs but {len(results)} results")
    return results


def compare(label, docs, expected, actual, disagreements):
    for doc, want, got in zip(docs, expected, actual):
        if want != got:
            disagreements.append((label, doc, want, got))


def test_rules(engine, files):
    """The `test_*` rules of the test files, evaluated by OPA as `opa test` does."""
    from opa_bindings import OpaError  # noqa: PLC0415

    failed, total = [], 0
    for path in files:
        text = path.read_text()
        package = re.search(r"^package\s+(\S+)", text, re.M).group(1)
        for rule in dict.fromkeys(re.findall(r"^(test_\w+)", text, re.M)):
            total += 1
            try:
                rs = engine.eval_query(f"x := data.{package}.{rule}")
                if not rs or rs[0].get("x") is False:
                    failed.append(f"{path.name}: {rule}: FAIL")
            except OpaError as e:
                failed.append(f"{path.name}: {rule}: ERROR {e}")
    return total, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--oracle", required=True)
    parser.add_argument("--count", type=int, default=4000, help="generated inputs for the shipped policy")
    parser.add_argument("--corpus-count", type=int, default=1000, help="generated inputs per corpus policy")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--bin", default=os.environ.get("TASKPILOT_BIN"))
    args = parser.parse_args()
    binary = args.bin
    if not binary or not Path(binary).is_file():
        sys.exit(f"policy-diff: no taskpilot binary at {binary!r}: build it (cargo build -p taskpilot-cli) or pass --bin")

    started = time.monotonic()
    rng = random.Random(args.seed)
    docs = systematic() + [document(rng) for _ in range(args.count)]
    disagreements = []
    compared = 0

    with tempfile.TemporaryDirectory(prefix="policy-diff-") as work:
        work_path = Path(work)
        # The shipped policy: built-in (VM) and from POLICIES_DIR, changed by a comment so it is
        # a custom policy (interpreter).
        shipped = SHIPPED / "tool_calls.rego"
        engine = opa_engine(args.oracle, [shipped, SHIPPED / "tool_calls_test.rego"])
        expected = [opa_decide(engine, d) for d in docs]
        custom = work_path / "custom"
        custom.mkdir()
        (custom / "tool_calls.rego").write_text(shipped.read_text() + "\n# policy-diff: a changed copy runs on the interpreter\n")
        for label, policies in (("built-in (vm)", work_path / "none"), ("POLICIES_DIR (interpreter)", custom)):
            actual = taskpilot_decide(binary, policies, docs, work)
            compare(f"tool_calls.rego, {label}", docs, expected, actual, disagreements)
            compared += len(docs)

        tests_total, tests_failed = test_rules(engine, [SHIPPED / "tool_calls_test.rego"])
        for failure in tests_failed:
            disagreements.append(("opa test", failure, "pass", "fail"))

        corpus = sorted(CORPUS.glob("*.rego"))
        corpus_docs = docs[: len(systematic()) + args.corpus_count]
        for policy in corpus:
            engine = opa_engine(args.oracle, [policy])
            expected = [opa_decide(engine, d) for d in corpus_docs]
            directory = work_path / policy.stem
            directory.mkdir()
            (directory / "tool_calls.rego").write_text(policy.read_text())
            actual = taskpilot_decide(binary, directory, corpus_docs, work)
            compare(f"corpus {policy.name}", corpus_docs, expected, actual, disagreements)
            compared += len(corpus_docs)

    by_label = {}
    for label, *_ in disagreements:
        by_label[label] = by_label.get(label, 0) + 1
    for label, n in sorted(by_label.items()):
        print(f"  {n:6d} disagreements: {label}")
    shown = {}
    for label, doc, want, got in disagreements:
        shown[label] = shown.get(label, 0) + 1
        if shown[label] > 4:
            continue
        print(f"DISAGREE {label}\n  input: {json.dumps(doc, ensure_ascii=False)}\n  opa:       {want}\n  taskpilot: {got}")
    seconds = time.monotonic() - started
    print(
        f"policy-diff: {compared} decisions compared ({len(docs)} inputs, shipped policy on 2 paths, "
        f"{len(corpus)} corpus policies), {tests_total} OPA tests run, "
        f"{len(disagreements)} disagreements, {seconds:.1f}s"
    )
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
