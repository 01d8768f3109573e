#!/usr/bin/env python3
"""The HTML timeline in a real browser.

Runs the trace_page program (a small invocation whose tasks end every way
there is), checks its Chrome trace JSON with Python's own parser, opens the
HTML in headless Chromium, and reads the screenshot: for each status, the
number of bars drawn in that status's colour must equal the number of tasks
the JSON gives that status, and the tasks that waited for a slot long
enough to show it have their lighter queued segment. The JSON says how wide
each bar must be: the page maps the wall time onto the track's width.

Usage: trace_page_test.py <trace_page executable>
Fails (exit 1) when Chromium is missing: scripts/install-deps.sh installs it.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

WIDTH, HEIGHT = 1000, 700

# The page's colours (include/muster/core/trace_html.hpp), as sRGB.
STATUS_COLOURS = {
    "ok": (0x1E, 0x8E, 0x3E),
    "failed": (0xD9, 0x30, 0x25),
    "timed_out": (0xE8, 0x71, 0x0A),
    "cancelled": (0x80, 0x86, 0x8B),
    "not_started": (0xC4, 0xC9, 0xD0),  # the darker stripe of the hatch
}
# The queued segment: the ok colour at 30% opacity over white.
QUEUED_OK = tuple(round(0.3 * c + 0.7 * 255) for c in STATUS_COLOURS["ok"])

TOLERANCE = 3  # per channel
MIN_RUN = 12  # px of one colour side by side: wider than a legend swatch (10 px)
MIN_BAR_HEIGHT = 6  # px; bars are 12 px tall
# The timeline's width: the window less the label column (340 px) and the
# right margin (16 px).
TRACK_PX = WIDTH - 340 - 16
# How far a drawn width may differ from the one computed from the JSON
# (rounding, anti-aliased edges, a dashed marker line crossing it).
SLACK_PX = 3


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def read_png(path):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG into rows of (r, g, b)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + " is not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace != 0:
        fail("unexpected PNG format: depth %d, colour type %d, interlace %d"
             % (depth, colour_type, interlace))
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, at = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[at]
        line = bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif kind != 0:
            fail("unknown PNG filter %d" % kind)
        rows.append([tuple(line[i : i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def count_bars(rows, colours, min_runs):
    """For each named colour, the regions of consecutive pixel rows that hold
    a horizontal run of at least min_runs[name] pixels of it: one per bar."""
    # Every pixel value within the tolerance of a colour, for one lookup each.
    near = {}
    spread = range(-TOLERANCE, TOLERANCE + 1)
    for name, (r, g, b) in colours.items():
        for dr in spread:
            for dg in spread:
                for db in spread:
                    near[(r + dr, g + dg, b + db)] = name
    flagged = {name: [] for name in colours}
    for row in rows:
        longest = dict.fromkeys(colours, 0)
        current, run = None, 0
        for pixel in row:
            name = near.get(pixel)
            run = run + 1 if name is not None and name == current else 1
            current = name
            if name is not None and run > longest[name]:
                longest[name] = run
        for name in colours:
            flagged[name].append(longest[name] >= min_runs[name])
    regions = {}
    for name, flags in flagged.items():
        count, height = 0, 0
        for f in flags + [False]:
            if f:
                height += 1
                continue
            if height >= MIN_BAR_HEIGHT:
                count += 1
            height = 0
        regions[name] = count
    return regions


def main():
    if len(sys.argv) != 2:
        fail("usage: trace_page_test.py <trace_page executable>")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        fail("chromium is not installed (scripts/install-deps.sh installs it); "
             "this test needs a real browser")

    work = tempfile.mkdtemp(prefix="muster-trace-page-")
    try:
        subprocess.run([sys.argv[1], work], check=True, timeout=60)

        with open(os.path.join(work, "page.trace.json"), encoding="utf-8") as f:
            trace = json.load(f)
        if trace.get("displayTimeUnit") != "ms":
            fail("displayTimeUnit is not ms")
        tasks = [e for e in trace["traceEvents"] if e["ph"] == "X"]
        wall = float(trace["otherData"]["wall_us"])
        px = lambda us: us / wall * TRACK_PX
        expected = {status: 0 for status in STATUS_COLOURS}
        # Queued segments (of ok tasks, in the ok tint) surely wide enough to
        # be seen, and those that may be.
        queued_sure = queued_maybe = 0
        for e in tasks:
            for key in ("name", "cat", "ts", "dur", "pid", "tid", "args"):
                if key not in e:
                    fail("event without %s: %r" % (key, e))
            args = e["args"]
            for key in ("status", "attempts", "queued_us", "error"):
                if key not in args:
                    fail("event args without %s: %r" % (key, e))
            expected[args["status"]] += 1
            if px(e["dur"]) < MIN_RUN + 2 * SLACK_PX + 4:
                fail("the fixture made a bar too narrow to find: %r" % e)
            if args["status"] == "ok":
                queued = px(args["queued_us"])
                queued_sure += queued >= MIN_RUN + SLACK_PX
                queued_maybe += queued >= MIN_RUN - SLACK_PX
        for status, n in expected.items():
            if n == 0:
                fail("the fixture produced no %s task: %r" % (status, expected))

        html_path = os.path.join(work, "page.html")
        with open(html_path, encoding="utf-8") as f:
            html = f.read()
        for label in ("image 0 &quot;a.jpg&quot; ok", "image 1 &lt;b.jpg&gt; ok",
                      "part b (cancelled)",
                      # never ran, so name_task never named it
                      "late #1"):
            if label not in html:
                fail("label %r missing from the page" % label)

        screenshot = os.path.join(work, "page.png")
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--hide-scrollbars", "--force-color-profile=srgb", "--force-device-scale-factor=1",
            "--user-data-dir=" + os.path.join(work, "profile"),
            "--screenshot=" + screenshot, "--window-size=%d,%d" % (WIDTH, HEIGHT),
            "file://" + html_path,
        ]
        env = dict(os.environ, HOME=work)
        done = subprocess.run(command, env=env, timeout=240,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode != 0 or not os.path.exists(screenshot):
            fail("chromium failed (%d):\n%s" % (done.returncode, done.stdout.decode(errors="replace")))

        width, height, rows = read_png(screenshot)
        if (width, height) != (WIDTH, HEIGHT):
            fail("screenshot is %dx%d, not %dx%d" % (width, height, WIDTH, HEIGHT))
        min_runs = dict.fromkeys(STATUS_COLOURS, MIN_RUN)
        min_runs["queued"] = MIN_RUN
        seen = count_bars(rows, dict(STATUS_COLOURS, queued=QUEUED_OK), min_runs)
        queued_seen = seen.pop("queued")
        print("tasks by status in the JSON:", expected)
        print("bars by colour in the screenshot:", seen, "queued ok segments:", queued_seen)
        if seen != expected:
            fail("the screenshot does not show one bar per task in its status colour "
                 "(page and screenshot kept in %s)" % work)
        if queued_sure == 0:
            fail("the fixture made no task wait visibly for a slot")
        if not queued_sure <= queued_seen <= queued_maybe:
            fail("expected %d to %d lighter queued segment(s), saw %d (kept in %s)"
                 % (queued_sure, queued_maybe, queued_seen, work))
    except SystemExit:
        raise
    except Exception as e:  # a crash of the fixture or the browser is a failure too
        fail("%s: %s (files kept in %s)" % (type(e).__name__, e, work))
    shutil.rmtree(work, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
