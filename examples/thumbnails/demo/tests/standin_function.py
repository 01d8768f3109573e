#!/usr/bin/env python3
"""A stand-in for the thumbnails function, for demo.py's end-to-end test only.

A Lambda bootstrap on the Runtime API that does what the real function's contract says, cheaply:
fetches each SQS record's URL (THUMBNAILS_FETCH_LIMIT threads, each keeping its connection alive
across invocations), judges the bytes instead of decoding them, writes a small file and a SQLite
row per good image, logs one line per failed record, answers with the partial batch response, and
writes a Chrome trace to $MUSTER_TRACE when set.

Test switches: STANDIN_MISREPORT=REASON reports that reason as "gone"; STANDIN_NO_TRACE=1 writes
no trace even when MUSTER_TRACE is set.
"""

import concurrent.futures
import datetime
import http.client
import json
import os
import socket
import sqlite3
import struct
import sys
import threading
import time
import urllib.parse

API = os.environ["AWS_LAMBDA_RUNTIME_API"].removeprefix("http://").rstrip("/")
API_HOST, _, API_REST = API.partition("/")
API_PREFIX = "/" + API_REST if API_REST else ""
OUTPUT_DIR = os.environ["THUMBNAILS_OUTPUT_DIR"]
DB = os.environ.get("THUMBNAILS_DB", os.path.join(OUTPUT_DIR, "metadata.sqlite"))
LIMIT = int(os.environ.get("THUMBNAILS_FETCH_LIMIT", "8"))
FETCH_TIMEOUT = int(os.environ.get("THUMBNAILS_FETCH_TIMEOUT_MS", "1000")) / 1000
MAX_PIXELS = int(os.environ.get("THUMBNAILS_MAX_PIXELS", "40000000"))
MARKER = os.environ.get("THUMBNAILS_CRASH_ON_MARKER", "").encode()
JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "Text").upper() == "JSON"
MISREPORT = os.environ.get("STANDIN_MISREPORT")
TRACE_DIR = None if os.environ.get("STANDIN_NO_TRACE") else os.environ.get("MUSTER_TRACE")

POOL = concurrent.futures.ThreadPoolExecutor(LIMIT)
LOCAL = threading.local()


def log_failure(request_id, message_id, reason, url):
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    if JSON_LOGS:
        line = json.dumps({"timestamp": now, "level": "ERROR", "requestId": request_id,
                           "message": {"event": "record failed", "messageId": message_id,
                                       "reason": reason, "url": url}})
    else:
        line = f"{now}\t{request_id}\tERROR\trecord failed messageId={message_id} " \
               f"reason={reason} url={url}"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def fetch(url):
    """(status, bytes); raises socket.timeout."""
    parts = urllib.parse.urlsplit(url)
    connection = getattr(LOCAL, "connection", None)
    if connection is None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=FETCH_TIMEOUT)
        LOCAL.connection = connection
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        return response.status, response.read()
    except Exception:
        connection.close()
        LOCAL.connection = None
        raise


def judge(data):
    """The reason a real decoder would give, or None for a good image."""
    if MARKER and MARKER in data:
        return "worker_crashed"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        width, height = struct.unpack(">II", data[16:24])
        return "too_many_pixels" if width * height > MAX_PIXELS else None
    if data.startswith(b"\xff\xd8"):
        return None if data.rstrip(b"\0").endswith(b"\xff\xd9") else "truncated"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return None
    return "not_an_image"


def handle(record):
    """(messageId, url, reason or None, data, start, end) for one record."""
    start = time.monotonic()
    url = json.loads(record["body"])["url"]
    try:
        status, data = fetch(url)
        reason = "not_found" if status == 404 else judge(data) if status == 200 else "http_error"
    except (socket.timeout, TimeoutError):
        status, data, reason = 0, b"", "timeout"
    return record["messageId"], url, reason, data, start, time.monotonic()


def process(request_id, event):
    outcomes = list(POOL.map(handle, event["Records"]))
    failures = []
    rows = []
    trace = [{"name": "invocation", "ph": "X", "pid": 1, "tid": 0, "ts": 0, "dur": 0,
              "args": {"request_id": request_id}}]
    first = min((o[4] for o in outcomes), default=time.monotonic())
    for n, (message_id, url, reason, data, start, end) in enumerate(outcomes):
        trace.append({"name": "fetch", "ph": "X", "pid": 1, "tid": 1 + n % LIMIT,
                      "ts": round((start - first) * 1e6), "dur": round((end - start) * 1e6),
                      "args": {"status": "ok" if reason is None else "failed", "url": url}})
        if reason is None:
            name = os.path.basename(urllib.parse.urlsplit(url).path) + ".thumb"
            with open(os.path.join(OUTPUT_DIR, name), "wb") as f:
                f.write(data[:64])
            rows.append((name, url, len(data)))
            continue
        if reason == MISREPORT:
            reason = "gone"
        failures.append({"itemIdentifier": message_id})
        log_failure(request_id, message_id, reason, url)
    db = sqlite3.connect(DB)
    with db:
        db.execute("CREATE TABLE IF NOT EXISTS thumbnails (name TEXT PRIMARY KEY, url TEXT, "
                   "bytes INTEGER)")
        db.executemany("INSERT OR REPLACE INTO thumbnails VALUES (?, ?, ?)", rows)
    db.close()
    if TRACE_DIR:
        trace[0]["dur"] = max((e["ts"] + e["dur"] for e in trace[1:]), default=0)
        with open(os.path.join(TRACE_DIR, f"{request_id}.trace.json"), "w") as f:
            json.dump({"traceEvents": trace}, f)
        with open(os.path.join(TRACE_DIR, f"{request_id}.html"), "w") as f:
            f.write("<!doctype html><title>trace</title>\n")
    return {"batchItemFailures": failures}


def main():
    api = http.client.HTTPConnection(API_HOST)
    while True:
        api.request("GET", API_PREFIX + "/2018-06-01/runtime/invocation/next")
        response = api.getresponse()
        body = response.read()
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        answer = json.dumps(process(request_id, json.loads(body))).encode()
        api.request("POST", f"{API_PREFIX}/2018-06-01/runtime/invocation/{request_id}/response",
                    body=answer, headers={"Content-Type": "application/json"})
        api.getresponse().read()


if __name__ == "__main__":
    main()
