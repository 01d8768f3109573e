#!/usr/bin/env python3
"""thumbnails_origin, from a client's side: it serves, 404s, delays /slow/ without holding up
other connections, keeps connections alive, counts them, and logs each request.

    origin_test.py --origin PATH_TO_thumbnails_origin
"""

import argparse
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ORIGIN = None
SLOW_MS = 400


class OriginTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        root = os.path.join(self.dir.name, "root")
        os.makedirs(os.path.join(root, "images"))
        self.image = bytes(range(256)) * 40
        with open(os.path.join(root, "images", "a.png"), "wb") as f:
            f.write(self.image)
        self.log = os.path.join(self.dir.name, "origin.log")
        self.proc = subprocess.Popen(
            [ORIGIN, "--root", root, "--port", "0", "--slow-ms", str(SLOW_MS), "--log", self.log],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", first)
        self.assertIsNotNone(m, f"first line: {first!r}")
        self.port = int(m.group(1))

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self.dir.cleanup()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get(self, connection, path, method="GET", headers=None):
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()

    def stop(self):
        """The origin's last line, after SIGTERM; it must exit 0."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        self.assertEqual(self.proc.returncode, 0, err)
        return out.strip().splitlines()[-1]

    def test_serves_404s_delays_and_keeps_the_connection_alive(self):
        c = self.connect()
        response, body = self.get(c, "/images/a.png")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Type"), "image/png")
        self.assertEqual(body, self.image)

        response, _ = self.get(c, "/images/missing.jpg")
        self.assertEqual(response.status, 404)

        started = time.monotonic()
        response, body = self.get(c, "/slow/images/a.png")
        elapsed = time.monotonic() - started
        self.assertEqual(response.status, 200)
        self.assertEqual(body, self.image)
        self.assertGreaterEqual(elapsed, SLOW_MS / 1000)

        response, body = self.get(c, "/images/a.png", method="HEAD")
        self.assertEqual(response.status, 200)
        self.assertEqual(int(response.getheader("Content-Length")), len(self.image))
        self.assertEqual(body, b"")

        response, _ = self.get(c, "/images/../../etc/passwd")
        self.assertEqual(response.status, 400)
        response, _ = self.get(c, "/images/a.png?size=large")
        self.assertEqual(response.status, 200)
        c.close()

        # A second connection, which asks to be closed after its answer.
        c = self.connect()
        response, _ = self.get(c, "/images/a.png", headers={"Connection": "close"})
        self.assertEqual(response.status, 200)
        self.assertTrue(response.will_close)
        c.close()

        self.assertEqual(self.stop(),
                         "thumbnails_origin: connections=2 requests=7 not_found=1 slow=1")
        with open(self.log) as f:
            lines = [line.split() for line in f]
        self.assertEqual([(l[1], l[2], l[3]) for l in lines],
                         [("1", "1", "200"), ("1", "2", "404"), ("1", "3", "200"),
                          ("1", "4", "200"), ("1", "5", "400"), ("1", "6", "200"),
                          ("2", "1", "200")])
        self.assertEqual(lines[2][5], "/slow/images/a.png")
        self.assertEqual(int(lines[0][4]) > len(self.image), True)  # headers and body

    def test_a_slow_answer_does_not_hold_up_another_connection(self):
        slow = self.connect()
        done = []
        waiter = threading.Thread(target=lambda: done.append(self.get(slow, "/slow/images/a.png")))
        waiter.start()
        time.sleep(0.05)
        fast = self.connect()
        started = time.monotonic()
        response, _ = self.get(fast, "/images/a.png")
        self.assertEqual(response.status, 200)
        self.assertLess(time.monotonic() - started, SLOW_MS / 1000 / 2)
        self.assertEqual(done, [])
        waiter.join()
        self.assertEqual(done[0][0].status, 200)
        fast.close()
        slow.close()

    def test_a_client_that_gives_up_on_a_slow_answer_does_not_end_the_server(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=SLOW_MS / 1000 / 4)
        c.request("GET", "/slow/images/a.png")
        with self.assertRaises(TimeoutError):
            c.getresponse()
        c.close()
        time.sleep(SLOW_MS / 1000)  # the origin answers into a closed connection
        again = self.connect()
        response, body = self.get(again, "/images/a.png")
        self.assertEqual(response.status, 200)
        again.close()
        self.assertEqual(self.stop(),
                         "thumbnails_origin: connections=2 requests=2 not_found=0 slow=1")

    def test_requests_unanswered_at_exit_are_logged_with_status_0(self):
        c = self.connect()
        c.request("GET", "/slow/images/a.png")
        time.sleep(0.05)
        self.assertEqual(self.stop(),
                         "thumbnails_origin: connections=1 requests=1 not_found=0 slow=1")
        c.close()
        with open(self.log) as f:
            self.assertEqual([line.split()[1:] for line in f],
                             [["1", "1", "0", "0", "/slow/images/a.png"]])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--origin", required=True)
    args, rest = parser.parse_known_args()
    ORIGIN = args.origin
    unittest.main(argv=[sys.argv[0]] + rest)
