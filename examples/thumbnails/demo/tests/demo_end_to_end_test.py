#!/usr/bin/env python3
"""demo.py from end to end, with the stand-in function (tests/standin_function.py) in place of
`thumbnails`: samples, origin, `muster invoke`, the report, the exit code.

    demo_end_to_end_test.py --build BUILD_DIR --work DIR
"""

import argparse
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "demo.py")
STANDIN = os.path.join(HERE, "standin_function.py")
BUILD = None
WORK = None


def run_demo(*extra):
    command = [sys.executable, DEMO, "--build", BUILD, "--out", WORK, "--function", STANDIN,
               "--count", "12", "--fetch-limit", "4", "--fetch-timeout-ms", "300",
               "--slow-ms", "900", "--timeout", "30", *extra]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


class DemoEndToEndTest(unittest.TestCase):
    # Named so that they run in this order: the second reuses the first one's samples.
    def test_1_every_record_as_the_manifest_expects(self):
        code, output = run_demo()
        self.assertEqual(code, 0, output)
        for text in ("thumbnails_samples: 12 images and 7 bad cases",
                     "cold invocation (RequestId ", "warm invocation (RequestId ",
                     "REPORT RequestId: ", "Init Duration",
                     "ok: 12 (expected 12)",
                     "failed: 7: not_an_image 1, not_found 1, timeout 1, too_many_pixels 1, "
                     "truncated 1, worker_crashed 2 (as the manifest expects)",
                     "sum of 19 task times", "fetch ",
                     "kept alive from before",
                     "thumbnails: 12 rows",
                     ".trace.json", ".html",
                     "every record did what the manifest expects"):
            self.assertIn(text, output)
        self.assertNotIn("MISMATCH", output)

    def test_2_a_wrong_reason_json_logs_and_no_trace(self):
        code, output = run_demo("--env", "AWS_LAMBDA_LOG_FORMAT=JSON",
                                "--env", "STANDIN_NO_TRACE=1",
                                "--env", "STANDIN_MISREPORT=not_an_image")
        self.assertEqual(code, 1, output)
        for text in ("(already there: 12 images, seed 1)",
                     "/images/bad-text.jpg: failed with gone, expected not_an_image",
                     "2 MISMATCHES against the manifest",
                     "trace: none at", "this build writes no traces",
                     "truncated 1"):
            self.assertIn(text, output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--work", required=True)
    args, rest = parser.parse_known_args()
    BUILD = os.path.abspath(args.build)
    WORK = os.path.abspath(args.work)
    shutil.rmtree(WORK, ignore_errors=True)
    unittest.main(argv=[sys.argv[0]] + rest)
