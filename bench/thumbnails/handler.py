#!/usr/bin/python3
"""The thumbnail job in Python 3.11 + aiohttp + Pillow, the peer of examples/thumbnails.

An SQS batch of image URLs in; each image fetched (16 in flight), decoded and resized to fit
256 px on a thread pool (Pillow releases the GIL while it decodes and resizes; `thumbnail()`
decodes JPEG at a reduced DCT scale), written as JPEG quality 80 (temporary file, fsync,
rename), one directory fsync and one SQLite transaction for the batch; the partial batch
response out.

There is no Python runtime client here, so the handler is timed in-process, as Lambda's
Python runtime would call it: one process, the module imported once, then the events of
--events (a JSON array) one after the other, each printed as a JSON line on stdout:
{"invocation": i, "duration_ms", "cpu_s" (user+sys of the process, all threads), "max_rss_mb",
"failed"}; the first line is {"init_ms"}: from --spawned-at (the driver's clock before it
started this process) to the handler ready (imports done, the database open).

    handler.py --events FILE --output-dir DIR [--spawned-at EPOCH_S] [--fetch-limit 16]
               [--size 256] [--quality 80]
"""

import argparse
import asyncio
import concurrent.futures
import hashlib
import io
import json
import os
import resource
import sqlite3
import sys
import time

import aiohttp
from PIL import Image, ImageOps, ImageStat


def dhash(thumb):
    grey = thumb.convert("L").resize((9, 8), Image.BILINEAR)
    px = grey.load()
    bits = 0
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | (1 if px[x, y] > px[x + 1, y] else 0)
    return f"{bits:016x}"


def make_thumbnail(source, size, quality):
    """(jpeg bytes, metadata) of one image; on a pool thread."""
    image = Image.open(io.BytesIO(source))
    width, height, fmt = image.width, image.height, (image.format or "").lower()
    image = ImageOps.exif_transpose(image)
    image.thumbnail((size, size))  # draft() first: JPEG decodes at 1/2..1/8 scale
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    mean = ImageStat.Stat(image).mean
    return out.getvalue(), {
        "width": width, "height": height, "format": fmt,
        "thumbnail_width": image.width, "thumbnail_height": image.height,
        "dhash": dhash(image),
        "average_color": "#" + "".join(f"{round(c):02x}" for c in mean[:3]),
    }


def write_file(directory, key, data, sequence):
    temp = f"{directory}/.{key}.{os.getpid()}.{sequence}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temp, f"{directory}/{key}")


class function:
    def __init__(self, output_dir, fetch_limit, size, quality):
        self.thumbs = os.path.join(output_dir, "thumbs")
        os.makedirs(self.thumbs, exist_ok=True)
        self.db = sqlite3.connect(os.path.join(output_dir, "thumbnails.db"),
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("""CREATE TABLE IF NOT EXISTS thumbnails (
            source_url TEXT PRIMARY KEY, message_id TEXT, source_bytes INTEGER, width INTEGER,
            height INTEGER, format TEXT, thumbnail_key TEXT, thumbnail_width INTEGER,
            thumbnail_height INTEGER, thumbnail_bytes INTEGER, dhash TEXT, average_color TEXT,
            processed_at TEXT)""")
        self.fetch_limit = fetch_limit
        self.size = size
        self.quality = quality
        self.pool = concurrent.futures.ThreadPoolExecutor()
        self.sequence = 0

    async def process(self, session, record):
        loop = asyncio.get_running_loop()
        url = json.loads(record["body"])["url"]
        async with session.get(url) as response:
            response.raise_for_status()
            source = await response.read()
        data, row = await loop.run_in_executor(self.pool, make_thumbnail, source, self.size,
                                               self.quality)
        key = hashlib.sha256(url.encode()).hexdigest()[:32] + ".jpg"
        self.sequence += 1
        await loop.run_in_executor(self.pool, write_file, self.thumbs, key, data, self.sequence)
        row.update(source_url=url, message_id=record["messageId"], source_bytes=len(source),
                   thumbnail_key=key, thumbnail_bytes=len(data),
                   processed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return row

    def commit(self, rows):
        fd = os.open(self.thumbs, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)  # the renames durable before the rows that name them
        finally:
            os.close(fd)
        columns = ("source_url", "message_id", "source_bytes", "width", "height", "format",
                   "thumbnail_key", "thumbnail_width", "thumbnail_height", "thumbnail_bytes",
                   "dhash", "average_color", "processed_at")
        with self.db:
            self.db.executemany(
                f"INSERT OR REPLACE INTO thumbnails VALUES ({','.join('?' * len(columns))})",
                [tuple(r[c] for c in columns) for r in rows])

    async def handle(self, event):
        records = event.get("Records", [])
        limit = asyncio.Semaphore(self.fetch_limit)
        connector = aiohttp.TCPConnector(limit=self.fetch_limit)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one(record):
                async with limit:
                    return await self.process(session, record)
            results = await asyncio.gather(*(one(r) for r in records), return_exceptions=True)
        failed = []
        rows = []
        for record, result in zip(records, results):
            if isinstance(result, BaseException):
                print(f"record failed {record['messageId']}: {result!r}", file=sys.stderr)
                failed.append({"itemIdentifier": record["messageId"]})
            else:
                rows.append(result)
        if rows:
            await asyncio.get_running_loop().run_in_executor(self.pool, self.commit, rows)
        return {"batchItemFailures": failed}


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", required=True)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--spawned-at", type=float)
    p.add_argument("--fetch-limit", type=int, default=16)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--quality", type=int, default=80)
    args = p.parse_args()
    fn = function(args.output_dir, args.fetch_limit, args.size, args.quality)
    if args.spawned_at:
        print(json.dumps({"init_ms": (time.time() - args.spawned_at) * 1000}), flush=True)
    with open(args.events) as f:
        events = json.load(f)
    # One event loop for the process, as Lambda's runtime keeps one warm.
    loop = asyncio.new_event_loop()
    for i, event in enumerate(events):
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        response = loop.run_until_complete(fn.handle(event))
        duration = (time.perf_counter() - t0) * 1000
        print(json.dumps({
            "invocation": i, "duration_ms": duration, "cpu_s": cpu_seconds() - cpu0,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "failed": len(response["batchItemFailures"])}), flush=True)
    loop.close()


if __name__ == "__main__":
    main()
