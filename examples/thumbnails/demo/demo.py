#!/usr/bin/env python3
"""Run the thumbnail pipeline on sample images the way Lambda runs it, and check what it did.

    demo.py --build BUILD_DIR [--out DIR] [--count N] [--seed S] [--function BOOTSTRAP]
            [--fetch-limit N] [--fetch-timeout-ms MS] [--slow-ms MS] [--decoder threads|processes]
            [--size PX] [--max-pixels N] [--timeout S] [--memory MB] [--env K=V ...]

1. Samples: BUILD_DIR/examples/thumbnails/demo/thumbnails_samples writes OUT/samples/ (images/
   and manifest.json), unless a manifest with this count and seed is already there.
2. Origin: thumbnails_origin serves OUT/samples/ on 127.0.0.1 (a free port), answering /slow/
   paths after --slow-ms, one log line per request in OUT/origin.log.
3. Events: OUT/events.json, a JSON array of two SQS events, one record per manifest item each
   (bad cases spread through the batch, every messageId unique): the cold invocation, then the
   same images again, warm. Doing the same work twice is what shows warmth best: the difference
   between the two REPORT lines is the cold start itself (the process, the decoder
   workers, the database), and the origin's log shows the warm invocation fetching over the
   connections the cold one left open. A smaller warm batch would mix the cold start with the
   change of size. (Both write to the same output directory: the function's environment is fixed
   for its process, so the warm invocation rewrites the same thumbnails and metadata.)
4. Invoke: BUILD_DIR/tools/muster/muster invoke --event OUT/events.json --trace OUT/trace ...
   -- BUILD_DIR/examples/thumbnails/thumbnails (or --function), its stderr kept in
   OUT/invoke.log. A muster without --trace gets MUSTER_TRACE=OUT/trace in the function's
   environment instead. The decoder runs in worker processes (--decoder processes) with the
   samples' crash marker armed, so that the images carrying it crash their worker alone; with
   --decoder threads the marker is not armed and those images are expected to succeed.
5. Report: per invocation its response (abridged), its REPORT line, what succeeded and what failed
   and why, checked against the manifest, its wall time against the sum of its task times (from
   the trace), its connections; then where the outputs are, with the number of thumbnail files
   and of rows per SQLite table (shown, not checked: their layout is the function's business).

What this script assumes of the function (each assumption lives in one function below):
- Responses: the SQS partial batch response, {"batchItemFailures": [{"itemIdentifier": ID}]},
  one per invocation on muster's stdout (check_invocation).
- One log line per failed record, on stderr, naming its messageId and a reason word; the Text or
  the JSON log format of muster::lambda (parse_failure_line).
- Traces: OUT/trace/<request-id>.trace.json, Chrome trace events; a task is a complete event
  ("ph": "X", "dur" in µs) with "args": {"status": ...}; OUT/trace/<request-id>.html beside it.
  Both are optional (summarise_trace).

Exit codes: 0 every record did what the manifest expects; 1 a mismatch (each one printed);
2 the demo could not run (a missing build, bad arguments, a tool that failed to start).
"""

import argparse
import collections
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

MANIFEST_FORMAT = "muster-thumbnails-samples/1"

# At most this many rows of per-task detail in a summary.
SUMMARY_ROWS = 8

# The reasons the function gives for a failed record, as the manifest spells them.
REASONS = ("not_found", "not_an_image", "truncated", "too_many_pixels", "timeout",
           "worker_crashed")

# Other spellings a log line may use for the same reasons. Adjust when the function's log
# format is settled; everything that reads its log lines goes through parse_failure_line.
REASON_ALIASES = {
    "timed_out": "timeout",
    "fetch_timeout": "timeout",
    "http_404": "not_found",
    "image_missing": "not_found",
    "corrupt": "truncated",
    "crashed": "worker_crashed",
    "worker_crash": "worker_crashed",
    "too_large": "too_many_pixels",
    "unsupported_format": "not_an_image",
}

UUID = re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")
REASON_FIELD = re.compile(r"""\breason["']?\s*[=:]\s*["']?([A-Za-z][A-Za-z0-9_]*)""")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class demo_error(Exception):
    """The demo cannot run: a missing build, a tool that fails. Exit 2."""


# ---- reading what the function says ---------------------------------------------------------


def normalise_reason(word):
    word = word.strip().lower()
    return REASON_ALIASES.get(word, word)


def parse_failure_line(line, known_ids):
    """(messageId, reason) when `line` reports a failed record, else None.

    A line qualifies when it names one of `known_ids` and gives a reason:
    - Text format, `time<TAB>request-id<TAB>LEVEL<TAB>message`, or any plain line: the first
      known id anywhere in it; the reason from `reason=WORD` / `reason: WORD` / `"reason":
      "WORD"` when present, otherwise the first word that is one of REASONS (or an alias).
    - JSON format, {"level", "requestId", "message", ...}: fields "messageId" (or
      "itemIdentifier") and "reason" when the line has them, at the top level or inside a
      "message" object; otherwise the message text, read as above.
    An unknown reason word is returned as written (lower case), so that a mismatch shows it.
    """
    text = line
    fields = {}
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            document = None
        if isinstance(document, dict):
            fields = dict(document)
            message = document.get("message")
            if isinstance(message, dict):
                fields.update(message)
                text = json.dumps(message)
            elif isinstance(message, str):
                text = message

    message_id = fields.get("messageId") or fields.get("itemIdentifier")
    if message_id not in known_ids:
        message_id = next((m for m in UUID.findall(text) if m in known_ids), None)
    if message_id is None:
        return None

    reason = fields.get("reason")
    if not isinstance(reason, str) or not reason:
        found = REASON_FIELD.search(text)
        if found:
            reason = found.group(1)
        else:
            reason = next((w for w in WORD.findall(text)
                           if normalise_reason(w) in REASONS), None)
    if reason is None:
        return None
    return message_id, normalise_reason(reason)


def failure_reasons(lines, known_ids):
    """{messageId: reason} from the function's log lines; a later line overrides an earlier."""
    reasons = {}
    for line in lines:
        parsed = parse_failure_line(line, known_ids)
        if parsed:
            reasons[parsed[0]] = parsed[1]
    return reasons


@dataclasses.dataclass
class platform_record:
    """What muster printed about one invocation."""
    request_id: str
    started_at: float = None  # when its START line arrived (time.time())
    ended_at: float = None  # when its END line arrived
    report_line: str = None
    report: dict = dataclasses.field(default_factory=dict)  # REPORT's fields, "Duration": "1.2 ms"
    problems: list = dataclasses.field(default_factory=list)  # timeouts, crashes


START = re.compile(r"^START RequestId: (\S+)")
END = re.compile(r"^END RequestId: (\S+)")
REPORT = re.compile(r"^REPORT RequestId: (\S+)\s*(.*)$")
# What muster says when an invocation goes wrong: "RequestId: ID Error: Task timed out after 3.00
# seconds", "muster: RequestId: ID the runtime's connection broke ...".
PROBLEM = re.compile(r"^(?:muster: )?RequestId: (\S+) ")


def parse_platform_lines(stamped_lines):
    """The invocations muster reported, in order, from (arrival time, line) pairs of its stderr."""
    records = []
    by_id = {}
    for stamp, line in stamped_lines:
        line = line.rstrip("\n")
        if m := START.match(line):
            # An invocation the emulator delivers again (its runtime died first) keeps its record.
            if m.group(1) not in by_id:
                record = platform_record(m.group(1), started_at=stamp)
                records.append(record)
                by_id[record.request_id] = record
        elif m := END.match(line):
            if m.group(1) in by_id:
                by_id[m.group(1)].ended_at = stamp
        elif m := REPORT.match(line):
            if m.group(1) in by_id:
                record = by_id[m.group(1)]
                record.report_line = line
                for field in m.group(2).split("\t"):
                    key, _, value = field.partition(":")
                    if value:
                        record.report[key.strip()] = value.strip()
        elif m := PROBLEM.match(line):
            if m.group(1) in by_id:
                by_id[m.group(1)].problems.append(line)
    return records


def report_ms(record, field):
    """A REPORT field in milliseconds ("Duration: 12.34 ms"), or None."""
    value = record.report.get(field, "")
    m = re.match(r"([0-9.]+)\s*ms", value)
    return float(m.group(1)) if m else None


def split_responses(text):
    """Each response muster printed on stdout: parsed JSON, or the raw text of a line that is not
    JSON."""
    responses = []
    decoder = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return responses
        try:
            value, i = decoder.raw_decode(text, i)
        except ValueError:
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            value, i = text[i:end], end
        responses.append(value)


# ---- checking against the manifest ----------------------------------------------------------


@dataclasses.dataclass
class check_result:
    ok: int = 0
    failed: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    failures: list = dataclasses.field(default_factory=list)  # (path, reason or None, expected)
    mismatches: list = dataclasses.field(default_factory=list)
    batch_response: bool = True


def batch_item_failures(response):
    """The identifiers a partial batch response reports, or None when it is not one."""
    if not isinstance(response, dict) or not isinstance(response.get("batchItemFailures"), list):
        return None
    ids = []
    for entry in response["batchItemFailures"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("itemIdentifier"), str):
            return None
        ids.append(entry["itemIdentifier"])
    return ids


def check_invocation(records, response, reasons):
    """Compares one invocation with the manifest.

    records: [(messageId, manifest item)] in batch order; response: the parsed response;
    reasons: {messageId: reason} from the log lines.
    """
    result = check_result()
    reported = batch_item_failures(response)
    if reported is None:
        result.batch_response = False
        if isinstance(response, dict) and "errorType" in response:
            what = f"{response.get('errorType')}: {response.get('errorMessage')}"
        else:
            what = abridge(json.dumps(response) if not isinstance(response, str) else response)
        result.mismatches.append(f"the response is not a partial batch response: {what}")
        return result
    failed_ids = set(reported)
    known = {message_id for message_id, _ in records}
    for message_id in sorted(failed_ids - known):
        result.mismatches.append(f"batchItemFailures names {message_id}, no record of this batch")
    if len(reported) != len(failed_ids):
        result.mismatches.append("batchItemFailures names a record more than once")
    for message_id, item in records:
        path = item["path"]
        if message_id not in failed_ids:
            result.ok += 1
            if item["expected"] != "ok":
                result.mismatches.append(
                    f"{path}: succeeded, expected to fail with {item['reason']}")
            continue
        reason = reasons.get(message_id)
        result.failed[reason or "no reason logged"] += 1
        result.failures.append((path, reason, item.get("reason")))
        if item["expected"] == "ok":
            result.mismatches.append(
                f"{path}: failed ({reason or 'no reason logged'}), expected to succeed")
        elif reason is None:
            result.mismatches.append(
                f"{path}: failed, but no log line gives its reason (expected {item['reason']})")
        elif reason != item["reason"]:
            result.mismatches.append(f"{path}: failed with {reason}, expected {item['reason']}")
    return result


def expected_counts(items):
    ok = sum(1 for i in items if i["expected"] == "ok")
    failed = collections.Counter(i["reason"] for i in items if i["expected"] != "ok")
    return ok, failed


# ---- traces -----------------------------------------------------------------------------------


def summarise_trace(document):
    """Task times from a Chrome trace: None when it has no complete events.

    Tasks are the complete events ("ph": "X", with "dur") that carry "args.status"; one that
    spans the whole trace while others exist is the invocation itself, not a task. Returns
    {"span_us", "tasks", "task_us", "by_name": {name: {"count", "us", "statuses": Counter}}}.
    """
    events = document.get("traceEvents", []) if isinstance(document, dict) else document
    spans = [e for e in events or [] if isinstance(e, dict) and e.get("ph") == "X"
             and isinstance(e.get("ts"), (int, float)) and isinstance(e.get("dur"), (int, float))]
    if not spans:
        return None
    begin = min(e["ts"] for e in spans)
    end = max(e["ts"] + e["dur"] for e in spans)
    tasks = [e for e in spans if isinstance(e.get("args"), dict) and "status" in e["args"]]
    if len(tasks) > 1:
        tasks = [e for e in tasks if not (e["ts"] <= begin and e["ts"] + e["dur"] >= end)]
    by_name = {}
    for e in tasks:
        entry = by_name.setdefault(e.get("name", "?"),
                                   {"count": 0, "us": 0, "statuses": collections.Counter()})
        entry["count"] += 1
        entry["us"] += e["dur"]
        entry["statuses"][str(e["args"]["status"])] += 1
    return {"span_us": end - begin, "tasks": len(tasks), "task_us": sum(e["dur"] for e in tasks),
            "by_name": by_name}


def load_trace(trace_dir, request_id):
    """(path, summary or None, problem or None); path is None when there is no trace file."""
    path = os.path.join(trace_dir, f"{request_id}.trace.json")
    if not os.path.exists(path):
        return None, None, None
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, ValueError) as e:
        return path, None, f"cannot read it: {e}"
    summary = summarise_trace(document)
    return path, summary, None if summary else "it holds no complete (\"ph\": \"X\") events"


# ---- the origin's log ----------------------------------------------------------------------


@dataclasses.dataclass
class origin_request:
    at: float  # seconds since the epoch
    connection: int
    sequence: int
    status: int
    target: str


def parse_origin_log(text):
    requests = []
    for line in text.splitlines():
        parts = line.split(" ", 5)
        if len(parts) == 6 and all(p.isdigit() for p in parts[:5]):
            requests.append(origin_request(int(parts[0]) / 1e6, int(parts[1]), int(parts[2]),
                                           int(parts[3]), parts[5]))
    return requests


def connection_use(requests, ends):
    """Per invocation (ends: when each one's END line arrived), how many requests it made, on how
    many connections, and how many of those an earlier invocation had opened."""
    seen = set()
    use = []
    remaining = sorted(requests, key=lambda r: r.at)
    for end in ends:
        mine = [r for r in remaining if end is None or r.at <= end]
        remaining = remaining[len(mine):]
        connections = {r.connection for r in mine}
        use.append({"requests": len(mine), "connections": len(connections),
                    "reused": len(connections & seen)})
        seen |= connections
    return use


ORIGIN_COUNTS = re.compile(r"thumbnails_origin: (.*)$")


def parse_origin_counts(line):
    m = ORIGIN_COUNTS.search(line or "")
    if not m:
        return None
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


# ---- presentation -------------------------------------------------------------------------


def abridge(text, limit=300):
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def abridge_response(response, limit=160):
    """A response as JSON; a long partial batch response shows its first identifier and a
    count."""
    if isinstance(response, str):
        return abridge(response, limit)
    text = json.dumps(response, separators=(",", ":"))
    ids = batch_item_failures(response)
    if len(text) <= limit or not ids:
        return abridge(text, limit)
    first = json.dumps({"itemIdentifier": ids[0]}, separators=(",", ":"))
    return (f'{{"batchItemFailures":[{first}, … {len(ids) - 1} more]}}'
            f"  ({len(ids)} failures, {len(text)} characters)")


def seconds(ms):
    return "?" if ms is None else f"{ms / 1000:.2f} s"


def counts_text(counter):
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


def describe_invocation(label, record, response, records, reasons, trace_dir, out=print):
    """Prints one invocation's part of the report; returns its check_result."""
    rid = record.request_id if record else None
    out(f"\n== {label} invocation{f' (RequestId {rid})' if rid else ''}: {len(records)} records")
    if response is None:
        out("   response: none (muster printed no response for it)")
        result = check_result(batch_response=False)
        result.mismatches.append("no response")
    else:
        out(f"   response: {abridge_response(response)}")
        result = check_invocation(records, response, reasons)
    if record and record.report_line:
        out(f"   {record.report_line.replace(chr(9), '  ')}")
    for problem in (record.problems if record else []):
        out(f"   !! {problem}")

    items = [item for _, item in records]
    want_ok, want_failed = expected_counts(items)
    if result.batch_response:
        out(f"   ok: {result.ok} (expected {want_ok})")
        expected = ("as the manifest expects" if result.failed == want_failed else
                    f"expected {sum(want_failed.values())}: {counts_text(want_failed)}")
        out(f"   failed: {sum(result.failed.values())}: {counts_text(result.failed)} ({expected})")
        for path, reason, expected in result.failures[:20]:
            note = "" if reason == expected else f"   expected {expected or 'ok'}"
            out(f"      {path:<40} {reason or 'no reason logged'}{note}")
        if len(result.failures) > 20:
            out(f"      … and {len(result.failures) - 20} more")

    duration = report_ms(record, "Duration") if record else None
    if rid is None:
        out("   trace: no request id, so no trace to look for")
    else:
        path, summary, problem = load_trace(trace_dir, rid)
        if path is None:
            out(f"   trace: none at {os.path.join(trace_dir, rid + '.trace.json')}"
                " (this build writes no traces); wall time from REPORT only: "
                f"{seconds(duration)}")
        elif summary is None:
            out(f"   trace: {path}: {problem}")
        else:
            wall_us = summary["span_us"]
            ratio = summary["task_us"] / wall_us if wall_us else 0
            out(f"   wall {seconds(duration)} (REPORT), {wall_us / 1e6:.2f} s traced;"
                f" sum of {summary['tasks']} task times {summary['task_us'] / 1e6:.2f} s"
                f" = {ratio:.1f}× the traced wall time")
            by_name = summary["by_name"]
            if len(by_name) <= SUMMARY_ROWS:
                for name, entry in sorted(by_name.items()):
                    out(f"      {name:<24} {entry['count']:>5} tasks {entry['us'] / 1e6:>8.2f} s"
                        f"   {counts_text(entry['statuses'])}")
            else:
                # One name per record: the slowest few say more than three hundred rows.
                slowest = sorted(by_name.items(), key=lambda kv: -kv[1]["us"])[:SUMMARY_ROWS]
                out(f"      slowest of {len(by_name)} tasks:")
                for name, entry in slowest:
                    out(f"      {entry['us'] / 1e6:>8.2f} s  {counts_text(entry['statuses']):<12}"
                        f" {name}")
    for m in result.mismatches:
        out(f"   !! MISMATCH ({label}): {m}")
    return result


def describe_outputs(output_dir, db_path, out=print):
    skip = {db_path, db_path + "-wal", db_path + "-shm", db_path + "-journal"}
    files = collections.Counter()
    total = 0
    for root, _, names in os.walk(output_dir):
        for name in names:
            path = os.path.join(root, name)
            if path in skip:
                continue
            files[os.path.splitext(name)[1].lstrip(".") or "(no extension)"] += 1
            total += os.path.getsize(path)
    out(f"   thumbnails: {output_dir} — {sum(files.values())} files ({counts_text(files)}),"
        f" {total / 1e6:.1f} MB")
    if not os.path.exists(db_path):
        out(f"   SQLite: none at {db_path}")
        return
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            rows = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            db.close()
        out(f"   SQLite: {db_path} — " +
            (", ".join(f"{t}: {n} rows" for t, n in rows.items()) or "no tables"))
    except sqlite3.Error as e:
        out(f"   SQLite: {db_path} — cannot read it: {e}")


# ---- running things ---------------------------------------------------------------------------


def executable(path, what, hint):
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise demo_error(f"{what} is not built: {path} does not exist.\n{hint}")
    return path


def load_manifest(samples_dir):
    path = os.path.join(samples_dir, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == MANIFEST_FORMAT else None


def ensure_samples(samples_tool, samples_dir, count, seed):
    manifest = load_manifest(samples_dir)
    if manifest and manifest.get("count") == count and manifest.get("seed") == seed:
        print(f"== samples: {samples_dir} (already there: {count} images, seed {seed})")
        return manifest
    if os.path.exists(samples_dir):
        shutil.rmtree(samples_dir)
    print(f"== samples: writing {count} images, seed {seed}, into {samples_dir}")
    proc = subprocess.run([samples_tool, "--out", samples_dir, "--count", str(count),
                           "--seed", str(seed)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise demo_error(f"thumbnails_samples failed ({proc.returncode}):\n{proc.stderr}")
    print("   " + proc.stdout.strip())
    manifest = load_manifest(samples_dir)
    if manifest is None:
        raise demo_error(f"thumbnails_samples wrote no readable manifest in {samples_dir}")
    return manifest


class origin_process:
    """thumbnails_origin, started, and stopped with SIGTERM."""

    def __init__(self, tool, root, slow_ms, log_path):
        self.proc = subprocess.Popen(
            [tool, "--root", root, "--port", "0", "--slow-ms", str(slow_ms), "--log", log_path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()))
        reader.start()
        reader.join(10)
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", first[0] if first else "")
        if not m:
            self.proc.kill()
            raise demo_error("thumbnails_origin did not say where it listens: "
                             f"{(first or [''])[0]!r} {self.proc.stderr.read()}")
        self.url = m.group(1)

    def stop(self):
        """Its last line (the connection and request counts), or None."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate()
        lines = [l for l in rest.splitlines() if l.strip()]
        return lines[-1] if lines else None


def expectations(items, crash_marker_armed):
    """The manifest's items as this run should see them. Without the crash marker armed (the
    threads decoder, where a crash would end the whole function), the images that carry it are
    ordinary good ones."""
    if crash_marker_armed:
        return list(items)
    return [dict(i, expected="ok", reason=None) if i.get("reason") == "worker_crashed" else i
            for i in items]


def batch_order(items):
    """Manifest items with the bad cases spread evenly among the good ones, so that each one
    fails among neighbours that succeed."""
    good = [i for i in items if i["expected"] == "ok"]
    bad = [i for i in items if i["expected"] != "ok"]
    order = list(good)
    for k, item in enumerate(bad):
        order.insert((k + 1) * len(good) // (len(bad) + 1) + k, item)
    return order


def sqs_event(origin_url, items, seed, label, sent_ms):
    """An SQS event with a record per item; returns (event, [(messageId, item)])."""
    records = []
    pairs = []
    for index, item in enumerate(items):
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                    f"muster-thumbnails-demo/{seed}/{label}/{index}"))
        body = json.dumps({"url": origin_url + item["path"]})
        records.append({
            "messageId": message_id,
            "receiptHandle": "AQEB" + hashlib.sha256(message_id.encode()).hexdigest(),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(sent_ms),
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": str(sent_ms),
            },
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:thumbnails",
            "awsRegion": "us-east-1",
        })
        pairs.append((message_id, item))
    return {"Records": records}, pairs


def muster_has_trace_option(muster):
    proc = subprocess.run([muster, "invoke", "--help"], capture_output=True, text=True)
    return "--trace" in proc.stdout


# The lines of muster's stderr that are echoed as they come: the platform's, not the function's.
PLATFORM_LINE = re.compile(
    r"^(START|END|REPORT|INIT_START|INIT_REPORT) |^muster|^RequestId: |^Runtime\.")


def run_invoke(command, log_path, timeout_s):
    """Runs `muster invoke`, echoing its platform lines as they come; returns (exit code, stdout,
    [(arrival time, stderr line)])."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace")
    stamped = []
    stdout = []

    def read_stderr():
        with open(log_path, "w", encoding="utf-8") as log:
            for line in proc.stderr:
                stamped.append((time.time(), line))
                log.write(line)
                if PLATFORM_LINE.search(line):
                    print("   | " + line.rstrip("\n").replace("\t", "  "), flush=True)

    readers = [threading.Thread(target=read_stderr),
               threading.Thread(target=lambda: stdout.append(proc.stdout.read()))]
    for r in readers:
        r.start()
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        for r in readers:
            r.join()
        raise demo_error(f"muster invoke was still running after {timeout_s} s; stopped it "
                         f"(its output is in {log_path})")
    for r in readers:
        r.join()
    return code, "".join(stdout), stamped


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True, help="CMake build directory (e.g. build/release)")
    p.add_argument("--out", help="Where everything goes (default: BUILD/demo)")
    p.add_argument("--count", type=int, default=300, help="Good sample images (default 300)")
    p.add_argument("--seed", type=int, default=1, help="Seed of the samples (default 1)")
    p.add_argument("--function", help="The function's bootstrap "
                   "(default: BUILD/examples/thumbnails/thumbnails)")
    p.add_argument("--fetch-limit", type=int, default=16, help="THUMBNAILS_FETCH_LIMIT")
    p.add_argument("--fetch-timeout-ms", type=int, default=1000,
                   help="THUMBNAILS_FETCH_TIMEOUT_MS (default 1000)")
    p.add_argument("--slow-ms", type=int,
                   help="How late the origin answers /slow/ (default: 3 × the fetch timeout)")
    p.add_argument("--decoder", choices=("threads", "processes"), default="processes",
                   help="THUMBNAILS_DECODER (default processes: a crashing decoder fails alone)")
    p.add_argument("--size", type=int, default=256, help="THUMBNAILS_SIZE (default 256)")
    p.add_argument("--max-pixels", type=int, default=40_000_000,
                   help="THUMBNAILS_MAX_PIXELS (default 40000000)")
    p.add_argument("--timeout", type=float, default=120, help="Invocation timeout in seconds")
    p.add_argument("--memory", type=int, default=1024, help="Memory size in MB")
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="More environment for the function (repeatable)")
    args = p.parse_args(argv)
    if args.count < 1:
        p.error("--count must be at least 1")
    if args.slow_ms is None:
        args.slow_ms = 3 * args.fetch_timeout_ms
    if args.slow_ms <= args.fetch_timeout_ms:
        p.error("--slow-ms must exceed --fetch-timeout-ms, or the slow image cannot time out")
    for kv in args.env:
        if "=" not in kv or kv.startswith("="):
            p.error(f"--env expects K=V, got {kv!r}")
    return args


def run(args):
    build = os.path.abspath(args.build)
    out_dir = os.path.abspath(args.out or os.path.join(build, "demo"))
    demo_tools = os.path.join(build, "examples", "thumbnails", "demo")
    build_hint = (f"Build it: cmake --build {args.build} --target "
                  "thumbnails thumbnails_samples thumbnails_origin muster  (or `make demo`).")
    muster = executable(os.path.join(build, "tools", "muster", "muster"), "The muster CLI",
                        build_hint)
    samples_tool = executable(os.path.join(demo_tools, "thumbnails_samples"),
                              "thumbnails_samples", build_hint)
    origin_tool = executable(os.path.join(demo_tools, "thumbnails_origin"), "thumbnails_origin",
                             build_hint)
    if args.function:
        function = executable(os.path.abspath(args.function), "The function", "Check --function.")
    else:
        function = executable(
            os.path.join(build, "examples", "thumbnails", "thumbnails"),
            "The thumbnails function",
            "It is the target `thumbnails` of examples/thumbnails/. " + build_hint)

    os.makedirs(out_dir, exist_ok=True)
    manifest = ensure_samples(samples_tool, os.path.join(out_dir, "samples"), args.count,
                              args.seed)
    # A crashing decoder fails alone only in a worker process of its own.
    crash_marker_armed = args.decoder == "processes"
    items = batch_order(expectations(manifest["items"], crash_marker_armed))

    # A fresh output, trace directory and logs for every run.
    output_dir = os.path.join(out_dir, "output")
    trace_dir = os.path.join(out_dir, "trace")
    for d in (output_dir, trace_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    db_path = os.path.join(output_dir, "metadata.sqlite")
    origin_log = os.path.join(out_dir, "origin.log")
    invoke_log = os.path.join(out_dir, "invoke.log")
    if os.path.exists(origin_log):
        os.remove(origin_log)

    origin = origin_process(origin_tool, os.path.join(out_dir, "samples"), args.slow_ms,
                            origin_log)
    try:
        print(f"== origin: {origin.url} serves {os.path.join(out_dir, 'samples')}"
              f" (/slow/ after {args.slow_ms} ms)")
        sent_ms = int(time.time() * 1000)
        batches = []
        events = []
        for label in ("cold", "warm"):
            event, pairs = sqs_event(origin.url, items, args.seed, label, sent_ms)
            events.append(event)
            batches.append((label, pairs))
        events_path = os.path.join(out_dir, "events.json")
        with open(events_path, "w", encoding="utf-8") as f:
            json.dump(events, f, indent=1)

        env = {
            "THUMBNAILS_OUTPUT_DIR": output_dir,
            "THUMBNAILS_DB": db_path,
            "THUMBNAILS_FETCH_LIMIT": str(args.fetch_limit),
            "THUMBNAILS_FETCH_TIMEOUT_MS": str(args.fetch_timeout_ms),
            "THUMBNAILS_MAX_PIXELS": str(args.max_pixels),
            "THUMBNAILS_SIZE": str(args.size),
            "THUMBNAILS_DECODER": args.decoder,
        }
        if crash_marker_armed:
            env["THUMBNAILS_CRASH_ON_MARKER"] = manifest["crash_marker"]
        else:
            print("   decoder=threads: the crash marker is not armed (a crash would end the whole"
                  " function), so the images carrying it are expected to succeed")
        command = [muster, "invoke", "--event", events_path, "--timeout", f"{args.timeout:g}",
                   "--memory", str(args.memory), "--function-name", "thumbnails"]
        if muster_has_trace_option(muster):
            command += ["--trace", trace_dir]
        else:
            env["MUSTER_TRACE"] = trace_dir
        for k, v in env.items():
            command += ["--env", f"{k}={v}"]
        for kv in args.env:
            command += ["--env", kv]
        command += ["--", function]

        print(f"== invoking: 2 SQS events of {len(items)} records each (cold, then the same"
              f" images warm), decoder={args.decoder}, fetch limit {args.fetch_limit},"
              f" fetch timeout {args.fetch_timeout_ms} ms")
        print("   " + " ".join(command[:2] + ["--event", events_path, "…", "--", function]))
        started = time.monotonic()
        code, stdout, stamped = run_invoke(command, invoke_log, 2 * args.timeout + 60)
        elapsed = time.monotonic() - started
    finally:
        origin_counts_line = origin.stop()

    if code not in (0, 1):
        tail = "".join(line for _, line in stamped[-15:])
        raise demo_error(f"muster invoke failed (exit {code}):\n{tail}")

    records = parse_platform_lines(stamped)
    responses = split_responses(stdout)
    all_ids = {message_id for _, pairs in batches for message_id, _ in pairs}
    reasons = failure_reasons((line for _, line in stamped), all_ids)

    mismatches = []
    for n, (label, pairs) in enumerate(batches):
        record = records[n] if n < len(records) else None
        response = responses[n] if n < len(responses) else None
        result = describe_invocation(label, record, response, pairs, reasons, trace_dir)
        mismatches += [f"{label}: {m}" for m in result.mismatches]
    if len(records) != len(batches):
        mismatches.append(f"muster reported {len(records)} invocations, expected {len(batches)}")

    cold, warm = (records + [None, None])[:2]
    cold_ms = report_ms(cold, "Duration") if cold else None
    warm_ms = report_ms(warm, "Duration") if warm else None
    init_ms = report_ms(cold, "Init Duration") if cold else None
    print(f"\n== cold vs warm: {seconds(cold_ms)} (plus init {seconds(init_ms)}) vs"
          f" {seconds(warm_ms)}; `muster invoke` took {elapsed:.2f} s in all")

    counts = parse_origin_counts(origin_counts_line)
    with open(origin_log, encoding="utf-8") as f:
        requests = parse_origin_log(f.read())
    print(f"== origin: {origin_counts_line or 'printed no counts'}")
    if counts and requests:
        use = connection_use(requests, [r.ended_at if r else None for r in (cold, warm)])
        for label, u in zip(("cold", "warm"), use):
            new = u["connections"] - u["reused"]
            print(f"   {label}: {u['requests']} requests on {u['connections']} connections"
                  f" ({u['reused']} kept alive from before, {new} new)")

    print("\n== outputs")
    describe_outputs(output_dir, db_path)
    traces = sorted(os.listdir(trace_dir))
    if traces:
        for name in traces:
            print(f"   trace: {os.path.join(trace_dir, name)}")
    else:
        print(f"   traces: none in {trace_dir}")
    print(f"   events: {events_path}\n   function log: {invoke_log}\n   origin log: {origin_log}"
          f"\n   samples: {os.path.join(out_dir, 'samples')} (manifest.json)")

    if mismatches:
        print(f"\n!! {len(mismatches)} MISMATCH{'ES' if len(mismatches) > 1 else ''}"
              " against the manifest:")
        for m in mismatches:
            print(f"!!   {m}")
        return 1
    print("\n== every record did what the manifest expects")
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        return run(args)
    except (demo_error, OSError) as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
