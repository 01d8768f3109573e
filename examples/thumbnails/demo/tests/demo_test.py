#!/usr/bin/env python3
"""demo.py's reading and checking, on canned muster output, log lines and traces: no function,
no build."""

import collections
import io
import json
import os
import sys
import tempfile
import unittest

# Imported from the source tree, which must stay free of __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import demo  # noqa: E402

ID_OK = "0b7d2f6e-5f1c-5b8e-9a57-3d2c1f0e4a11"
ID_404 = "1c8e3a7f-6a2d-5c9f-8b68-4e3d2a1f5b22"
ID_BOMB = "2d9f4b80-7b3e-5da0-9c79-5f4e3b2a6c33"
ID_SLOW = "3ea05c91-8c4f-5eb1-8d8a-6a5f4c3b7d44"
REQUEST = "8f14e45f-ceea-467a-9d1e-2a5f0b6c7d88"

ITEMS = {
    ID_OK: {"path": "/images/0000-640x480.jpg", "kind": "jpeg", "expected": "ok", "reason": None},
    ID_404: {"path": "/images/missing.jpg", "kind": "missing", "expected": "failed",
             "reason": "not_found"},
    ID_BOMB: {"path": "/images/bad-bomb.png", "kind": "png_bomb", "expected": "failed",
              "reason": "too_many_pixels"},
    ID_SLOW: {"path": "/slow/images/slow.jpg", "kind": "slow", "expected": "failed",
              "reason": "timeout"},
}
RECORDS = list(ITEMS.items())
KNOWN = set(ITEMS)


def failures_response(*ids):
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


class ParseFailureLineTest(unittest.TestCase):
    def test_text_format_with_reason_field(self):
        line = f"2025-01-01T00:00:00.000Z\t{REQUEST}\tERROR\trecord failed messageId={ID_404} " \
               "reason=not_found url=http://127.0.0.1:1/images/missing.jpg\n"
        self.assertEqual(demo.parse_failure_line(line, KNOWN), (ID_404, "not_found"))

    def test_text_format_with_the_reason_as_a_bare_word(self):
        line = f"2025-01-01T00:00:00.000Z\t{REQUEST}\tWARN\t{ID_BOMB}: too_many_pixels " \
               "(100000x100000)"
        self.assertEqual(demo.parse_failure_line(line, KNOWN), (ID_BOMB, "too_many_pixels"))

    def test_json_format_with_fields(self):
        line = json.dumps({"timestamp": "t", "level": "ERROR", "requestId": REQUEST,
                           "messageId": ID_SLOW, "reason": "timed_out"})
        self.assertEqual(demo.parse_failure_line(line, KNOWN), (ID_SLOW, "timeout"))

    def test_json_format_with_fields_inside_the_message(self):
        line = json.dumps({"level": "ERROR", "requestId": REQUEST,
                           "message": {"messageId": ID_404, "reason": "not_found"}})
        self.assertEqual(demo.parse_failure_line(line, KNOWN), (ID_404, "not_found"))

    def test_json_format_with_a_text_message(self):
        line = json.dumps({"level": "ERROR", "requestId": REQUEST,
                           "message": f"record {ID_BOMB} failed: reason: too_many_pixels"})
        self.assertEqual(demo.parse_failure_line(line, KNOWN), (ID_BOMB, "too_many_pixels"))

    def test_an_unknown_reason_is_kept_as_written(self):
        line = f"t\t{REQUEST}\tERROR\tmessageId={ID_404} reason=Gone"
        self.assertEqual(demo.parse_failure_line(line, KNOWN), (ID_404, "gone"))

    def test_lines_without_a_known_id_or_a_reason_are_not_failures(self):
        self.assertIsNone(demo.parse_failure_line(f"START RequestId: {REQUEST} Version: 1", KNOWN))
        self.assertIsNone(demo.parse_failure_line(f"t\t{REQUEST}\tINFO\tstored {ID_OK}", KNOWN))
        unknown = "99999999-9999-5999-8999-999999999999"
        self.assertIsNone(demo.parse_failure_line(f"{unknown} reason=not_found", KNOWN))

    def test_the_last_line_for_a_record_wins(self):
        lines = [f"{ID_SLOW} attempt 1: reason=timeout", f"{ID_SLOW} gave up: reason=not_found"]
        self.assertEqual(demo.failure_reasons(lines, KNOWN), {ID_SLOW: "not_found"})


class PlatformLinesTest(unittest.TestCase):
    LINES = [
        "INIT_START Runtime Version: provided (muster emulator)\tPid: 42\n",
        "START RequestId: aaaa Version: $LATEST\n",
        "t\taaaa\tERROR\tsomething\n",
        "END RequestId: aaaa\n",
        "REPORT RequestId: aaaa\tDuration: 2412.50 ms\tBilled Duration: 2431 ms\tMemory Size: "
        "1024 MB\tMax Memory Used: 88 MB\tInit Duration: 18.20 ms\n",
        "START RequestId: bbbb Version: $LATEST\n",
        "RequestId: bbbb Error: Task timed out after 3.00 seconds\n",
        "END RequestId: bbbb\n",
        "REPORT RequestId: bbbb\tDuration: 3000.11 ms\tBilled Duration: 3001 ms\tMemory Size: "
        "1024 MB\tMax Memory Used: 90 MB\tStatus: timeout\n",
    ]

    def test_invocations_with_their_reports_in_order(self):
        records = demo.parse_platform_lines(list(enumerate(self.LINES)))
        self.assertEqual([r.request_id for r in records], ["aaaa", "bbbb"])
        cold, warm = records
        self.assertEqual((cold.started_at, cold.ended_at), (1, 3))
        self.assertEqual(demo.report_ms(cold, "Duration"), 2412.5)
        self.assertEqual(demo.report_ms(cold, "Init Duration"), 18.2)
        self.assertIsNone(demo.report_ms(warm, "Init Duration"))
        self.assertEqual(warm.report["Status"], "timeout")
        self.assertEqual(len(warm.problems), 1)
        self.assertIn("Task timed out", warm.problems[0])

    def test_responses_split_whatever_their_layout(self):
        text = '{"batchItemFailures":[]}\n{\n "batchItemFailures": [\n ]\n}\nnot json\n'
        self.assertEqual(demo.split_responses(text),
                         [{"batchItemFailures": []}, {"batchItemFailures": []}, "not json"])


class CheckInvocationTest(unittest.TestCase):
    def test_everything_as_expected(self):
        reasons = {ID_404: "not_found", ID_BOMB: "too_many_pixels", ID_SLOW: "timeout"}
        result = demo.check_invocation(RECORDS, failures_response(ID_404, ID_BOMB, ID_SLOW),
                                       reasons)
        self.assertEqual(result.mismatches, [])
        self.assertEqual(result.ok, 1)
        self.assertEqual(result.failed, collections.Counter(
            {"not_found": 1, "too_many_pixels": 1, "timeout": 1}))

    def test_every_kind_of_mismatch_is_reported(self):
        reasons = {ID_OK: "not_an_image", ID_404: "timeout"}
        response = failures_response(ID_OK, ID_404, ID_SLOW, "not-in-the-batch")
        result = demo.check_invocation(RECORDS, response, reasons)
        text = "\n".join(result.mismatches)
        self.assertIn("not-in-the-batch", text)
        self.assertIn("/images/0000-640x480.jpg: failed (not_an_image), expected to succeed", text)
        self.assertIn("/images/missing.jpg: failed with timeout, expected not_found", text)
        self.assertIn("/slow/images/slow.jpg: failed, but no log line gives its reason", text)
        self.assertIn("/images/bad-bomb.png: succeeded, expected to fail with too_many_pixels",
                      text)
        self.assertEqual(len(result.mismatches), 5)

    def test_an_error_response_is_one_mismatch(self):
        response = {"errorType": "Runtime.ExitError", "errorMessage": "signal: segmentation fault"}
        result = demo.check_invocation(RECORDS, response, {})
        self.assertFalse(result.batch_response)
        self.assertEqual(len(result.mismatches), 1)
        self.assertIn("Runtime.ExitError: signal: segmentation fault", result.mismatches[0])

    def test_expected_counts_come_from_the_manifest(self):
        ok, failed = demo.expected_counts(ITEMS.values())
        self.assertEqual(ok, 1)
        self.assertEqual(failed, collections.Counter(
            {"not_found": 1, "too_many_pixels": 1, "timeout": 1}))


class TraceTest(unittest.TestCase):
    TRACE = {"traceEvents": [
        {"name": "invocation", "ph": "X", "ts": 1000, "dur": 2000, "pid": 1, "tid": 0,
         "args": {"status": "ok"}},
        {"name": "fetch", "ph": "X", "ts": 1000, "dur": 800, "pid": 1, "tid": 1,
         "args": {"status": "ok"}},
        {"name": "fetch", "ph": "X", "ts": 1100, "dur": 900, "pid": 1, "tid": 2,
         "args": {"status": "timed_out"}},
        {"name": "thumbnail", "ph": "X", "ts": 1900, "dur": 1100, "pid": 1, "tid": 1,
         "args": {"status": "failed"}},
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "io"}},
        {"name": "marker", "ph": "i", "ts": 1500, "pid": 1, "tid": 1},
        {"name": "phase", "ph": "X", "ts": 1200, "dur": 100, "pid": 1, "tid": 3, "args": {}},
    ]}

    def test_task_times_leave_out_the_invocation_itself(self):
        summary = demo.summarise_trace(self.TRACE)
        self.assertEqual(summary["span_us"], 2000)
        self.assertEqual(summary["tasks"], 3)
        self.assertEqual(summary["task_us"], 2800)
        self.assertEqual(summary["by_name"]["fetch"]["count"], 2)
        self.assertEqual(summary["by_name"]["fetch"]["statuses"],
                         collections.Counter({"ok": 1, "timed_out": 1}))
        self.assertNotIn("invocation", summary["by_name"])

    def test_a_bare_array_of_events_is_a_trace_too(self):
        summary = demo.summarise_trace(self.TRACE["traceEvents"])
        self.assertEqual(summary["tasks"], 3)

    def test_a_trace_without_complete_events_has_no_summary(self):
        self.assertIsNone(demo.summarise_trace({"traceEvents": [{"ph": "M"}]}))

    def test_a_missing_trace_file_is_reported_as_absent(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(demo.load_trace(d, REQUEST), (None, None, None))
            with open(os.path.join(d, REQUEST + ".trace.json"), "w") as f:
                f.write("{not json")
            path, summary, problem = demo.load_trace(d, REQUEST)
            self.assertIsNotNone(path)
            self.assertIsNone(summary)
            self.assertIn("cannot read it", problem)


class OriginLogTest(unittest.TestCase):
    def test_counts_line(self):
        line = "thumbnails_origin: connections=17 requests=616 not_found=2 slow=2"
        self.assertEqual(demo.parse_origin_counts(line),
                         {"connections": 17, "requests": 616, "not_found": 2, "slow": 2})
        self.assertIsNone(demo.parse_origin_counts(None))

    def test_warm_requests_on_connections_the_cold_invocation_opened(self):
        log = "\n".join([
            "1000000 1 1 200 100 /images/a.jpg",
            "1100000 2 1 200 100 /images/b.jpg",
            "1200000 1 2 404 10 /images/missing.jpg",
            "5000000 1 3 200 100 /images/a.jpg",
            "5100000 3 1 200 100 /images/b.jpg",
            "garbage line",
        ])
        requests = demo.parse_origin_log(log)
        self.assertEqual(len(requests), 5)
        use = demo.connection_use(requests, [2.0, 6.0])
        self.assertEqual(use[0], {"requests": 3, "connections": 2, "reused": 0})
        self.assertEqual(use[1], {"requests": 2, "connections": 2, "reused": 1})


class ReportTest(unittest.TestCase):
    def test_one_invocation_printed_with_its_trace_and_mismatches(self):
        lines = [
            "START RequestId: aaaa Version: $LATEST\n",
            f"t\taaaa\tERROR\tmessageId={ID_404} reason=not_found\n",
            f"t\taaaa\tERROR\tmessageId={ID_BOMB} reason=too_many_pixels\n",
            "END RequestId: aaaa\n",
            "REPORT RequestId: aaaa\tDuration: 2.50 ms\tBilled Duration: 3 ms\n",
        ]
        record = demo.parse_platform_lines(list(enumerate(lines)))[0]
        reasons = demo.failure_reasons(lines, KNOWN)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "aaaa.trace.json"), "w") as f:
                json.dump(TraceTest.TRACE, f)
            printed = io.StringIO()
            result = demo.describe_invocation(
                "cold", record, failures_response(ID_404, ID_BOMB), RECORDS, reasons, d,
                out=lambda s: print(s, file=printed))
        text = printed.getvalue()
        self.assertIn("cold invocation (RequestId aaaa): 4 records", text)
        self.assertIn("REPORT RequestId: aaaa", text)
        self.assertIn("ok: 2 (expected 1)", text)
        self.assertIn("sum of 3 task times 0.00 s = 1.4× the traced wall time", text)
        self.assertIn("!! MISMATCH (cold): /slow/images/slow.jpg: succeeded", text)
        self.assertEqual(len(result.mismatches), 1)

    def test_an_absent_trace_is_said_so(self):
        record = demo.platform_record("bbbb", report={"Duration": "12.00 ms"})
        printed = io.StringIO()
        with tempfile.TemporaryDirectory() as d:
            demo.describe_invocation("warm", record, failures_response(), RECORDS[:1], {}, d,
                                     out=lambda s: print(s, file=printed))
        self.assertIn("trace: none at", printed.getvalue())
        self.assertIn("this build writes no traces", printed.getvalue())

    def test_long_responses_are_abridged(self):
        short = failures_response(ID_404)
        self.assertEqual(demo.abridge_response(short), json.dumps(short, separators=(",", ":")))
        long = failures_response(ID_404, ID_BOMB, ID_SLOW)
        self.assertEqual(demo.abridge_response(long),
                         f'{{"batchItemFailures":[{{"itemIdentifier":"{ID_404}"}}, … 2 more]}}'
                         "  (3 failures, 197 characters)")
        self.assertTrue(demo.abridge_response("x" * 1000).endswith("… (1000 characters)"))

    def test_without_the_crash_marker_armed_its_images_are_good(self):
        items = [{"path": "/a", "expected": "failed", "reason": "worker_crashed"},
                 {"path": "/b", "expected": "failed", "reason": "not_found"}]
        self.assertEqual(demo.expectations(items, True), items)
        self.assertEqual(demo.expectations(items, False),
                         [{"path": "/a", "expected": "ok", "reason": None}, items[1]])

    def test_batch_order_spreads_the_bad_cases(self):
        items = [{"expected": "ok", "n": n} for n in range(6)] + \
                [{"expected": "failed", "n": 10 + n} for n in range(2)]
        order = [i["n"] for i in demo.batch_order(items)]
        self.assertEqual(order, [0, 1, 10, 2, 3, 11, 4, 5])

    def test_message_ids_are_unique_across_both_events(self):
        items = [{"path": f"/images/{n}.jpg", "expected": "ok"} for n in range(50)]
        _, cold = demo.sqs_event("http://127.0.0.1:1", items, 1, "cold", 0)
        event, warm = demo.sqs_event("http://127.0.0.1:1", items, 1, "warm", 0)
        ids = [i for i, _ in cold + warm]
        self.assertEqual(len(set(ids)), 100)
        self.assertEqual(json.loads(event["Records"][3]["body"]),
                         {"url": "http://127.0.0.1:1/images/3.jpg"})


class MissingFunctionTest(unittest.TestCase):
    def test_a_build_without_the_function_says_what_to_build(self):
        with tempfile.TemporaryDirectory() as build:
            for tool in ("tools/muster/muster", "examples/thumbnails/demo/thumbnails_samples",
                         "examples/thumbnails/demo/thumbnails_origin"):
                path = os.path.join(build, tool)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write("#!/bin/sh\nexit 3\n")
                os.chmod(path, 0o755)
            stderr = io.StringIO()
            old = sys.stderr
            sys.stderr = stderr
            try:
                code = demo.main(["--build", build, "--out", os.path.join(build, "out")])
            finally:
                sys.stderr = old
        self.assertEqual(code, 2)
        self.assertIn("The thumbnails function is not built", stderr.getvalue())
        self.assertIn("examples/thumbnails/thumbnails does not exist", stderr.getvalue())
        self.assertIn("--target thumbnails", stderr.getvalue())


if __name__ == "__main__":
    unittest.main()
