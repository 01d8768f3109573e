#!/usr/bin/python3
"""The thumbnail job side by side: muster (threads, processes) against Node 20 + sharp and
Python 3.11 + aiohttp + Pillow, on the same images, in one run, rounds alternated.

Run by bench/thumbnails/run.sh (which installs the peers first); see bench/thumbnails/README.md.

Each round runs every contender once, in the same order (A B C D A B C D ...): a fresh process,
one cold invocation, --warm warm ones, each an SQS event naming the same images; the muster and
Node contenders under `muster invoke --memory 1769`, the Python one in-process (there is no
Python runtime client here). Figures per contender: warm duration (median over every warm
invocation of every round), cold duration (median over rounds), CPU per warm batch (user+sys of
the function's process tree, median), peak memory (REPORT's Max Memory Used; ru_maxrss for
Python), init (REPORT's Init Duration; spawn to ready for Python), and the deployment zip.
Prints a markdown table and writes OUT/results.json.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile

SIZE = 256
QUALITY = 80
FETCH_LIMIT = 16
MEMORY_MB = 1769
TICK = os.sysconf("SC_CLK_TCK")


class bench_error(Exception):
    pass


# ---- the images, their origin and the events -------------------------------------------------


def ensure_samples(tool, out, count, seed):
    manifest = os.path.join(out, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            m = json.load(f)
        if m.get("count") == count and m.get("seed") == seed:
            return m
        shutil.rmtree(out)
    subprocess.run([tool, "--out", out, "--count", str(count), "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL)
    with open(manifest) as f:
        return json.load(f)


class origin:
    def __init__(self, tool, root):
        self.proc = subprocess.Popen([tool, "--root", root, "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not m:
            self.proc.kill()
            raise bench_error(f"thumbnails_origin did not start: {line!r}")
        self.url = m.group(1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sqs_event(urls, label):
    records = []
    for i, url in enumerate(urls):
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"muster-bench-thumbnails/{label}/{i}"))
        records.append({
            "messageId": message_id, "receiptHandle": "AQEB" + message_id,
            "body": json.dumps({"url": url}), "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {}, "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:thumbnails",
            "awsRegion": "us-east-1"})
    return {"Records": records}


# ---- CPU of a process tree, from /proc -----------------------------------------------------


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def tree_cpu_s(root):
    """user+sys of `root` and every live descendant, plus what they reaped, in seconds."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            f = stat_fields(pid)
        except OSError:
            continue
        total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
        todo += children(pid)
    return total / TICK


# ---- contenders under `muster invoke` --------------------------------------------------------

REPORT = re.compile(r"^REPORT RequestId: \S+\s+(.*)$")


def report_fields(line):
    fields = {}
    for part in REPORT.match(line).group(1).split("\t"):
        key, _, value = part.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def ms(value):
    return float(value.split()[0])


def run_under_invoke(muster, bootstrap, env, events_path, n_events, out_dir):
    """One process: the events of `events_path`; returns per invocation duration, CPU, memory."""
    command = [muster, "invoke", "--event", events_path, "--memory", str(MEMORY_MB),
               "--timeout", "300", "--function-name", "thumbnails"]
    for k, v in env.items():
        command += ["--env", f"{k}={v}"]
    command += ["--", bootstrap]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", env=clean_env())
    reports, cpu_at_end, log = [], [], []
    root = [None]

    def function_pid():
        if root[0] is None:
            kids = children(proc.pid)
            root[0] = kids[0] if kids else None
        return root[0]

    stdout = []
    reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()))
    reader.start()
    for line in proc.stderr:
        log.append(line)
        if line.startswith("START "):
            function_pid()
        elif line.startswith("END "):
            # Logged when the runtime asks for the next event: this invocation's work is done.
            pid = function_pid()
            cpu_at_end.append(tree_cpu_s(pid) if pid else None)
        elif line.startswith("REPORT "):
            reports.append(report_fields(line))
    proc.wait()
    reader.join()
    with open(os.path.join(out_dir, "invoke.log"), "a") as f:
        f.writelines(log)
    responses = [json.loads(l) for l in "".join(stdout).splitlines() if l.strip()]
    if proc.returncode != 0 or len(reports) != n_events or len(responses) != n_events:
        raise bench_error(f"{' '.join(command)} failed (exit {proc.returncode}, "
                          f"{len(reports)} REPORT lines of {n_events}):\n" + "".join(log[-20:]))
    runs = []
    for i, (r, resp) in enumerate(zip(reports, responses)):
        cpu = None
        if i > 0 and i < len(cpu_at_end) and cpu_at_end[i] is not None and \
                cpu_at_end[i - 1] is not None:
            cpu = cpu_at_end[i] - cpu_at_end[i - 1]
        runs.append({"duration_ms": ms(r["Duration"]), "cpu_s": cpu,
                     "max_memory_mb": ms(r["Max Memory Used"]),
                     "init_ms": ms(r["Init Duration"]) if "Init Duration" in r else None,
                     "failed": len(resp.get("batchItemFailures", []))})
    return runs


def clean_env():
    """This environment without AWS_* (no third-party tool may find credentials)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


class muster_contender:
    def __init__(self, name, label, muster, bootstrap, zip_path, env):
        self.name, self.label, self.muster, self.bootstrap = name, label, muster, bootstrap
        self.zip_path, self.env = zip_path, env

    def run(self, events_path, n_events, out_dir):
        output = os.path.join(out_dir, "output")
        shutil.rmtree(output, ignore_errors=True)
        env = {"THUMBNAILS_OUTPUT_DIR": output, "THUMBNAILS_DB": output + "/thumbnails.db",
               "THUMBNAILS_FETCH_LIMIT": str(FETCH_LIMIT), "THUMBNAILS_SIZE": str(SIZE),
               "THUMBNAILS_FORMAT": "jpeg", "AWS_LAMBDA_LOG_LEVEL": "WARN", **self.env}
        return run_under_invoke(self.muster, self.bootstrap, env, events_path, n_events, out_dir)

    def zip_bytes(self):
        return os.path.getsize(self.zip_path) if self.zip_path and os.path.exists(
            self.zip_path) else None


class node_contender:
    name, label = "node", "Node 20 + sharp"

    def __init__(self, muster, node_dir, ric):
        self.muster, self.node_dir = muster, node_dir
        self.bootstrap = os.path.join(node_dir, "bootstrap")
        with open(self.bootstrap, "w") as f:
            f.write(f'#!/bin/sh\ncd "{node_dir}"\nexec node "{ric}" index.handler\n')
        os.chmod(self.bootstrap, 0o755)
        self.zip_path = os.path.join(node_dir, "..", "node.zip")

    def run(self, events_path, n_events, out_dir):
        output = os.path.join(out_dir, "output")
        shutil.rmtree(output, ignore_errors=True)
        env = {"BENCH_OUTPUT_DIR": output, "BENCH_FETCH_LIMIT": str(FETCH_LIMIT),
               "BENCH_SIZE": str(SIZE), "BENCH_QUALITY": str(QUALITY)}
        return run_under_invoke(self.muster, self.bootstrap, env, events_path, n_events, out_dir)

    def zip_bytes(self):
        # What a Node Lambda function ships: the handler and its node_modules (the managed
        # runtime brings Node and its runtime client).
        # better-sqlite3 is built here: of its build tree only the addon ships, not its
        # sources or objects.
        skip = {"aws-lambda-ric"}
        sqlite = os.path.join(self.node_dir, "node_modules", "better-sqlite3")
        with zipfile.ZipFile(self.zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(os.path.join(self.node_dir, "index.mjs"), "index.mjs")
            modules = os.path.join(self.node_dir, "node_modules")
            for top, dirs, files in os.walk(modules):
                dirs[:] = [d for d in dirs if d not in skip]
                if top == sqlite:
                    dirs[:] = [d for d in dirs if d not in ("deps", "src")]
                for name in files:
                    path = os.path.join(top, name)
                    if top.startswith(os.path.join(sqlite, "build")) and not name.endswith(".node"):
                        continue
                    z.write(path, os.path.relpath(path, self.node_dir))
        return os.path.getsize(self.zip_path)


# The modules a Python deployment of the handler ships (the managed runtime brings Python):
# Pillow, aiohttp and what aiohttp imports, from Debian's dist-packages, plus the shared
# libraries Pillow's extensions load that a Lambda image lacks (as Pillow's wheel bundles them).
PYTHON_PACKAGES = ("PIL", "aiohttp", "multidict", "yarl", "frozenlist", "aiosignal",
                   "async_timeout", "charset_normalizer", "attr", "attrs", "idna")
SYSTEM_LIBS = re.compile(r"^(libc|libm|libpthread|libdl|librt|ld-linux|libgcc_s|libstdc\+\+|"
                         r"libz)\.")


class python_contender:
    name, label = "python", "Python 3.11 + aiohttp + Pillow"

    def __init__(self, python, handler, work_dir):
        self.python, self.handler = python, handler
        self.zip_path = os.path.join(work_dir, "python.zip")

    def run(self, events_path, n_events, out_dir):
        output = os.path.join(out_dir, "output")
        shutil.rmtree(output, ignore_errors=True)
        spawned = time.time()
        proc = subprocess.run(
            [self.python, self.handler, "--events", events_path, "--output-dir", output,
             "--spawned-at", repr(spawned), "--fetch-limit", str(FETCH_LIMIT), "--size",
             str(SIZE), "--quality", str(QUALITY)],
            capture_output=True, text=True, env=clean_env())
        with open(os.path.join(out_dir, "invoke.log"), "a") as f:
            f.write(proc.stderr)
        lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
        if proc.returncode != 0 or len(lines) != n_events + 1:
            raise bench_error(f"the Python handler failed (exit {proc.returncode}):\n"
                              + proc.stderr[-3000:])
        init = lines[0]["init_ms"]
        return [{"duration_ms": l["duration_ms"], "cpu_s": l["cpu_s"] if i > 0 else None,
                 "max_memory_mb": l["max_rss_mb"], "init_ms": init if i == 0 else None,
                 "failed": l["failed"]} for i, l in enumerate(lines[1:])]

    def zip_bytes(self):
        import PIL
        site = os.path.dirname(os.path.dirname(PIL.__file__))
        libs = set()
        with zipfile.ZipFile(self.zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(self.handler, "handler.py")
            for package in PYTHON_PACKAGES:
                root = os.path.join(site, package)
                if not os.path.isdir(root):
                    continue
                for top, dirs, files in os.walk(root):
                    dirs[:] = [d for d in dirs if d != "__pycache__"]
                    for name in files:
                        path = os.path.join(top, name)
                        z.write(path, os.path.relpath(path, site))
                        if name.endswith(".so"):
                            libs |= linked_libraries(path)
            for lib in sorted(libs):
                z.write(lib, "lib/" + os.path.basename(lib))
        return os.path.getsize(self.zip_path)


def linked_libraries(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m and not SYSTEM_LIBS.match(m.group(1)):
            found.add(os.path.realpath(m.group(2)))
    return found


# ---- the run ---------------------------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs_by_round):
    cold = [r[0] for r in runs_by_round]
    warm = [w for r in runs_by_round for w in r[1:]]
    return {
        "warm_ms": median([w["duration_ms"] for w in warm]),
        "warm_ms_all": [round(w["duration_ms"]) for w in warm],
        "cold_ms": median([c["duration_ms"] for c in cold]),
        "cpu_s": median([w["cpu_s"] for w in warm]),
        "peak_mb": max(w["max_memory_mb"] for r in runs_by_round for w in r),
        "init_ms": median([c["init_ms"] for c in cold]),
        "failed": sum(w["failed"] for r in runs_by_round for w in r),
    }


def fmt(v, unit, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}{unit}"


def ratio(v, base):
    return "" if v is None or not base else f" ({v / base:.2f}×)"


def table(contenders, results, images):
    py = results.get("python")
    head = "| | " + " | ".join(c.label for c in contenders) + " |"
    lines = [head, "|---|" + "---:|" * len(contenders)]
    rows = (("warm duration, median", "warm_ms", " ms", 0, 1),
            ("cold duration (first invocation)", "cold_ms", " ms", 0, 1),
            ("CPU per warm batch (user+sys)", "cpu_s", " s", 2, 1),
            (f"CPU per image", "cpu_s", " ms", 2, 1000 / images),
            ("peak memory", "peak_mb", " MB", 0, 1),
            ("init", "init_ms", " ms", 0, 1),
            ("deployment zip", "zip_mb", " MB", 1, 1))
    for label, key, unit, digits, scale in rows:
        cells = []
        for c in contenders:
            v = results[c.name].get(key)
            v = None if v is None else v * scale
            base = None if not py or py.get(key) is None else py[key] * scale
            cells.append(fmt(v, unit, digits) + (ratio(v, base) if c.name != "python" else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description="The thumbnail job against Node + sharp and "
                                "Python + Pillow (see bench/thumbnails/README.md)")
    p.add_argument("--build", required=True, help="a release build tree")
    p.add_argument("--out", help="work directory (default BUILD/bench/thumbnails)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warm", type=int, default=2, help="warm invocations per round")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--node-dir", help="the Node peer's install (default OUT/node)")
    p.add_argument("--ric", help="aws-lambda-ric's bin/index.mjs")
    p.add_argument("--only", default="muster-threads,muster-processes,node,python",
                   help="contenders, comma-separated")
    p.add_argument("--cpu-threads", default="",
                   help="also muster threads with MUSTER_CPU_THREADS=N for each N, e.g. 2,3,4")
    p.add_argument("--extra", action="append", default=[], metavar="NAME=BOOTSTRAP",
                   help="also this muster-built thumbnails bootstrap (threads), e.g. a previous "
                   "build, under the label NAME")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(build, "bench", "thumbnails"))
    os.makedirs(out, exist_ok=True)
    muster = os.path.join(build, "tools", "muster", "muster")
    function = os.path.join(build, "examples", "thumbnails", "thumbnails")
    zip_path = os.path.join(build, "examples", "thumbnails", "thumbnails.zip")
    demo = os.path.join(build, "examples", "thumbnails", "demo")
    here = os.path.dirname(os.path.abspath(__file__))
    wanted = args.only.split(",")

    contenders = []
    if "muster-threads" in wanted:
        contenders.append(muster_contender("muster-threads", "muster (threads)", muster, function,
                                           zip_path, {"THUMBNAILS_DECODER": "threads"}))
    for n in filter(None, args.cpu_threads.split(",")):
        contenders.append(muster_contender(
            f"muster-threads-{n}", f"muster (threads, MUSTER_CPU_THREADS={n})", muster, function,
            zip_path, {"THUMBNAILS_DECODER": "threads", "MUSTER_CPU_THREADS": n}))
    for extra in args.extra:
        name, _, bootstrap = extra.partition("=")
        contenders.append(muster_contender(name, f"muster ({name})", muster,
                                           os.path.abspath(bootstrap), None,
                                           {"THUMBNAILS_DECODER": "threads"}))
    if "muster-processes" in wanted:
        contenders.append(muster_contender("muster-processes", "muster (processes)", muster,
                                           function, zip_path,
                                           {"THUMBNAILS_DECODER": "processes"}))
    if "node" in wanted:
        contenders.append(node_contender(muster, os.path.abspath(args.node_dir or
                                                                 os.path.join(out, "node")),
                                         os.path.abspath(args.ric)))
    if "python" in wanted:
        contenders.append(python_contender("/usr/bin/python3", os.path.join(here, "handler.py"),
                                           out))

    manifest = ensure_samples(os.path.join(demo, "thumbnails_samples"),
                              os.path.join(out, "samples"), args.count, args.seed)
    images = [i for i in manifest["items"] if i["kind"] in ("jpeg", "png", "webp")]
    server = origin(os.path.join(demo, "thumbnails_origin"), os.path.join(out, "samples"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    try:
        urls = [server.url + i["path"] for i in images]
        n_events = 1 + args.warm
        events = [sqs_event(urls, f"{k}") for k in range(n_events)]
        events_path = os.path.join(out, "events.json")
        with open(events_path, "w") as f:
            json.dump(events, f)
        runs = {c.name: [] for c in contenders}
        for r in range(args.rounds):
            for c in contenders:
                work = os.path.join(out, "runs", c.name)
                os.makedirs(work, exist_ok=True)
                t0 = time.monotonic()
                result = c.run(events_path, n_events, work)
                runs[c.name].append(result)
                print(f"bench/thumbnails: round {r + 1}/{args.rounds} {c.label}: "
                      + ", ".join(f"{x['duration_ms']:.0f} ms" for x in result)
                      + f" ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
    finally:
        server.stop()
    results = {}
    for c in contenders:
        results[c.name] = summarise(runs[c.name])
        z = c.zip_bytes()
        results[c.name]["zip_mb"] = None if z is None else z / 1e6
    doc = {"date": started, "load_before": load_before, "load_after": os.getloadavg()[0],
           "images": len(images), "rounds": args.rounds, "warm": args.warm,
           "contenders": [{"name": c.name, "label": c.label} for c in contenders],
           "results": results, "runs": runs,
           "table": table(contenders, results, len(images))}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print(doc["table"])
    failed = {c.name: results[c.name]["failed"] for c in contenders if results[c.name]["failed"]}
    if failed:
        print(f"bench/thumbnails: records failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bench_error as e:
        print(f"bench/thumbnails: {e}", file=sys.stderr)
        sys.exit(2)
