#!/usr/bin/env python3
"""Runs seed_patterns and checks what it prints; used by ctest.

  check_output.py --exe EXE run PATTERN --event FILE [--stdin FILE] [--deadline-ms N]
                  --statuses S0,S1,... [--attempts A0,...] [--values JSON]
                  [--error-types T0,...] [--max-elapsed-ms N] [--prepend-dataset N]
  check_output.py --exe EXE error PATTERN --event FILE [--stdin-text TEXT]
                  --stderr-contains TEXT...
  check_output.py --exe EXE demo
  check_output.py --exe LAMBDA_EXE --invoke MUSTER stream PATTERN --event FILE
                  --statuses S0,S1,... [--values JSON] [--error-types T0,...]
  check_output.py --exe LAMBDA_EXE --invoke MUSTER run|error ...

With --invoke, EXE is the Lambda function (seed_patterns_lambda) and every
run goes through `MUSTER invoke --handler PATTERN --event FILE -- EXE`, as
on Lambda: the response on stdout, a function error as an error document on
stdout with exit code 1.

`stream` runs the function's streamed mode (`--handler stream.PATTERN`) and
checks the NDJSON it streams: one line per input, each index once, then the
summary line, whose counts agree with the lines.

A list item may offer alternatives, `ok|timed_out`, or be empty to skip that
position. Exits non-zero with every mismatch listed.
"""

import argparse
import json
import subprocess
import sys
import time

STATUSES = ("ok", "failed", "timed_out", "cancelled", "not_started")


def fail(problems):
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    sys.exit(1)


INVOKE = None  # the muster CLI, when runs go through `muster invoke`


def run(exe, args, stdin_text=None, timeout=30):
    start = time.monotonic()
    if INVOKE:
        pattern, _, event, *rest = args
        if rest:
            raise SystemExit(f"--invoke does not support {rest}")
        command = [INVOKE, "invoke", "--handler", pattern, "--event", event, "--", exe]
    else:
        command = [exe] + args
    proc = subprocess.run(command, input=stdin_text, capture_output=True, text=True,
                          timeout=timeout)
    return proc, time.monotonic() - start


def split_list(text):
    return text.split(",") if text is not None else None


def describe_input(item):
    """What the response's "input" says about an event element."""
    if isinstance(item, list):
        return {"elements": len(item)}
    if isinstance(item, dict):
        return {"keys": len(item)}
    return item


def check_entry_shape(i, entry, event_items, problems):
    where = f"results[{i}]"
    for key in ("index", "input", "status", "attempts", "timing_us"):
        if key not in entry:
            problems.append(f"{where} has no '{key}': {entry}")
            return
    if entry["index"] != i:
        problems.append(f"{where} has index {entry['index']}: results are not in input order")
    want = describe_input(event_items[i])
    if entry["input"] != want or type(entry["input"]) is not type(want):
        problems.append(f"{where} is for input {entry['input']!r}, expected {want!r}")
    status = entry["status"]
    if status not in STATUSES:
        problems.append(f"{where} has unknown status {status!r}")
    if status == "ok":
        if "value" not in entry or "error" in entry:
            problems.append(f"{where} is ok but lacks 'value' or has 'error': {entry}")
    else:
        err = entry.get("error")
        if (not isinstance(err, dict) or not isinstance(err.get("type"), str)
                or not isinstance(err.get("message"), str) or not err["message"]):
            problems.append(f"{where} is {status} without an error object: {entry}")
        if "value" in entry:
            problems.append(f"{where} is {status} but has a value")
    if status == "not_started" and entry["attempts"] != 0:
        problems.append(f"{where} never started but reports {entry['attempts']} attempts")
    if status != "not_started" and entry["attempts"] < 1:
        problems.append(f"{where} ran but reports {entry['attempts']} attempts")


def check_summary(response, problems):
    results = response["results"]
    summary = response.get("summary")
    if not isinstance(summary, dict):
        problems.append("no summary object")
        return
    if summary.get("total") != len(results):
        problems.append(f"summary.total is {summary.get('total')}, results has {len(results)}")
    for s in STATUSES:
        n = sum(1 for e in results if e.get("status") == s)
        if summary.get(s) != n:
            problems.append(f"summary.{s} is {summary.get(s)}, the results have {n}")
    ran = sorted(i for i, e in enumerate(results) if e.get("status") != "not_started")
    if sorted(summary.get("completion_order", [])) != ran:
        problems.append(f"summary.completion_order {summary.get('completion_order')} is not a "
                        f"permutation of the tasks that ran {ran}")


def expect_list(name, expected, actual, problems, item):
    if expected is None:
        return
    if len(expected) != len(actual):
        problems.append(f"expected {len(expected)} {name}, the test lists {len(actual)}")
        return
    for i, (want, got) in enumerate(zip(expected, actual)):
        if want == "":
            continue
        if str(got) not in want.split("|"):
            problems.append(f"results[{i}] {item} is {got!r}, expected {want!r}")


def cmd_run(a):
    stdin_text = open(a.stdin).read() if a.stdin else None
    with open(a.stdin or a.event) as f:
        event = json.load(f)
    if a.prepend_dataset:
        # One large data set first: it finishes last, so a handler that kept
        # completion order instead of input order is caught.
        n = a.prepend_dataset
        event["dataSets"].insert(0, list(range(1, n + 1)))
        stdin_text = json.dumps(event)
        a.event = "-"
        a.statuses = "ok," + a.statuses
        if a.values is not None:
            a.values = json.dumps([n * (n + 1)] + json.loads(a.values))
        if a.error_types is not None:
            a.error_types = "," + a.error_types
    args = [a.pattern, "--event", a.event]
    if a.deadline_ms is not None:
        args += ["--deadline-ms", str(a.deadline_ms)]
    proc, seconds = run(a.exe, args, stdin_text)
    problems = []
    if proc.returncode != 0:
        fail([f"exit code {proc.returncode}, stderr: {proc.stderr.strip()}"])
    try:
        response = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        fail([f"stdout is not JSON ({e}): {proc.stdout[:300]!r}"])

    items = next(v for v in event.values() if isinstance(v, list))
    results = response.get("results")
    if not isinstance(results, list):
        fail(["no results array"])
    if len(results) != len(items):
        fail([f"{len(results)} results for {len(items)} inputs"])
    for i, entry in enumerate(results):
        check_entry_shape(i, entry, items, problems)
    check_summary(response, problems)

    expect_list("statuses", split_list(a.statuses), [e.get("status") for e in results], problems,
                "status")
    expect_list("attempts", split_list(a.attempts), [e.get("attempts") for e in results], problems,
                "attempts")
    expect_list("error types", split_list(a.error_types),
                [e.get("error", {}).get("type", "") for e in results], problems, "error type")
    if a.values is not None:
        want = json.loads(a.values)
        for i, (w, e) in enumerate(zip(want, results)):
            if w is None:
                continue
            got = e.get("value")
            if got != w or isinstance(got, float) != isinstance(w, float):
                problems.append(f"results[{i}] value is {got!r}, expected {w!r}")
    if a.max_elapsed_ms is not None:
        elapsed = response.get("summary", {}).get("elapsed_us", 1e12) / 1000.0
        if elapsed > a.max_elapsed_ms:
            problems.append(f"handler took {elapsed} ms, more than {a.max_elapsed_ms} ms")
    if problems:
        fail(problems + ["stdout: " + proc.stdout.strip()])
    print(f"ok: {len(results)} results in input order, {seconds:.2f} s")


def cmd_error(a):
    args = [a.pattern, "--event", a.event]
    proc, _ = run(a.exe, args, a.stdin_text)
    problems = []
    if INVOKE:
        # A function error: exit code 1, Lambda's error document on stdout.
        if proc.returncode != 1:
            problems.append(f"exit code {proc.returncode}, expected 1")
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            fail(problems + [f"stdout is not an error document: {proc.stdout[:300]!r}"])
        for text in a.stderr_contains:
            if text not in doc.get("errorMessage", "") + doc.get("errorType", ""):
                problems.append(f"the error document lacks {text!r}: {doc}")
        if problems:
            fail(problems + ["stderr: " + proc.stderr.strip()])
        print(f"ok: {doc['errorType']}: {doc['errorMessage']}")
        return
    if proc.returncode != 2:
        problems.append(f"exit code {proc.returncode}, expected 2")
    if proc.stdout.strip():
        problems.append(f"printed a response for a bad event: {proc.stdout.strip()[:200]}")
    for text in a.stderr_contains:
        if text not in proc.stderr:
            problems.append(f"stderr lacks {text!r}")
    if problems:
        fail(problems + ["stderr: " + proc.stderr.strip()])
    print("ok: " + proc.stderr.strip().splitlines()[0])


def cmd_stream(a):
    if not INVOKE:
        raise SystemExit("stream needs --invoke")
    with open(a.event) as f:
        event = json.load(f)
    items = next(v for v in event.values() if isinstance(v, list))
    start = time.monotonic()
    proc = subprocess.run([INVOKE, "invoke", "--handler", "stream." + a.pattern, "--event",
                           a.event, "--", a.exe], capture_output=True, text=True, timeout=30)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        fail([f"exit code {proc.returncode}, stderr: {proc.stderr.strip()}"])
    problems = []
    lines = []
    for text in proc.stdout.splitlines():
        if not text.strip():
            continue  # `muster invoke` ends the response with a newline
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError as e:
            fail([f"a line is not JSON ({e}): {text[:300]!r}"])
    if not lines or "summary" not in lines[-1]:
        fail(["the stream does not end with a summary line", proc.stdout])
    summary = lines[-1]["summary"]
    entries = lines[:-1]
    by_index = {}
    for e in entries:
        i = e.get("index")
        if not isinstance(i, int) or not 0 <= i < len(items):
            problems.append(f"a line has no valid index: {e}")
        elif i in by_index:
            problems.append(f"index {i} has two lines")
        else:
            by_index[i] = e
    if sorted(by_index) != list(range(len(items))):
        problems.append(f"lines for indices {sorted(by_index)}, expected 0..{len(items) - 1}")
    ordered = [by_index.get(i, {}) for i in range(len(items))]
    if summary.get("total") != len(items):
        problems.append(f"summary.total is {summary.get('total')}, for {len(items)} inputs")
    for s in STATUSES:
        n = sum(1 for e in entries if e.get("status") == s)
        if summary.get(s) != n:
            problems.append(f"summary.{s} is {summary.get(s)}, the lines have {n}")
    expect_list("statuses", split_list(a.statuses), [e.get("status") for e in ordered],
                problems, "status")
    expect_list("error types", split_list(a.error_types),
                [e.get("error", {}).get("type", "") for e in ordered], problems, "error type")
    if a.values is not None:
        for i, (w, e) in enumerate(zip(json.loads(a.values), ordered)):
            if w is not None and e.get("value") != w:
                problems.append(f"index {i} value is {e.get('value')!r}, expected {w!r}")
    if problems:
        fail(problems + ["stdout: " + proc.stdout.strip()])
    print(f"ok: {len(entries)} lines and a summary, streamed in {seconds:.2f} s")


def cmd_demo(a):
    proc, seconds = run(a.exe, ["demo"])
    problems = []
    if proc.returncode != 0:
        fail([f"exit code {proc.returncode}, stderr: {proc.stderr.strip()}"])
    out = proc.stdout
    sections = out.split("=== ")[1:]
    if len(sections) < 3:
        problems.append(f"expected a section per pattern, found {len(sections)}")
    seen = set()
    for section in sections:
        start = section.find("\n{")
        if start < 0:
            problems.append("a section has no JSON response")
            continue
        try:
            response, _ = json.JSONDecoder().raw_decode(section[start + 1:])
        except json.JSONDecodeError as e:
            problems.append(f"a section's response is not JSON: {e}")
            continue
        check_summary(response, problems)
        for i, e in enumerate(response["results"]):
            if e.get("index") != i:
                problems.append(f"a section's results[{i}] has index {e.get('index')}: "
                                "results are not in input order")
        seen.update(e["status"] for e in response["results"])
    for s in ("ok", "failed", "timed_out", "not_started"):
        if s not in seen:
            problems.append(f"the demo shows no {s} task")
    if problems:
        fail(problems)
    print(f"ok: demo with {len(sections)} sections in {seconds:.2f} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--invoke", metavar="MUSTER",
                   help="run EXE as a Lambda function through `MUSTER invoke`")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run")
    r.add_argument("pattern")
    r.add_argument("--event", required=True)
    r.add_argument("--stdin")
    r.add_argument("--deadline-ms", type=int)
    r.add_argument("--statuses", required=True)
    r.add_argument("--attempts")
    r.add_argument("--values")
    r.add_argument("--error-types")
    r.add_argument("--max-elapsed-ms", type=float)
    r.add_argument("--prepend-dataset", type=int, metavar="N")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("error")
    e.add_argument("pattern")
    e.add_argument("--event", required=True)
    e.add_argument("--stdin-text")
    e.add_argument("--stderr-contains", action="append", default=[])
    e.set_defaults(func=cmd_error)

    s = sub.add_parser("stream")
    s.add_argument("pattern")
    s.add_argument("--event", required=True)
    s.add_argument("--statuses", required=True)
    s.add_argument("--values")
    s.add_argument("--error-types")
    s.set_defaults(func=cmd_stream)

    d = sub.add_parser("demo")
    d.set_defaults(func=cmd_demo)

    a = p.parse_args()
    global INVOKE
    INVOKE = a.invoke
    a.func(a)


if __name__ == "__main__":
    main()
