"""Load the REST API over loopback with a server in its own process, and watch its memory. Three phases:

1. mixed: 8 clients send 500 requests: photo uploads, similar by item, complements, item reads, bad uploads
   (corrupt, truncated, text, a decompression bomb: each must be a 4xx) and huge uploads (25-megapixel PNGs);
2. bombs: 8 bomb-like uploads at once (25-megapixel PNGs of every colour mode: a few KB each, the most the
   server decodes); target: server RSS under +300 MiB over idle;
3. live: 1,000 requests from 8 clients while another process appends, deletes and compacts the served store;
   target: 0 errors (a 404 for an item deleted between listing it and asking for it is expected, not an error).

    python benchmarks/api_load.py [--store DIR] [--requests 500] [--live-requests 1000] [--clients 8]

Prints p50/p99 latency per kind against the same library call in this process (the baseline), errors, and the
server's RSS (idle, peak, after) per phase. Without --store it indexes the shipped demo catalogue once. Exit 1
on any error or a missed target.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
from PIL import Image

from outfitter.catalog import CatalogStore
from outfitter.demo import demo_catalog, demo_data
from outfitter.pipeline.indexing import index_items
from outfitter.recommend import Catalog
from outfitter.types import Item

BOMB_SIDE = 4999  # 25 megapixels: just inside the server's decoded-pixel limit
RSS_TARGET_MIB = 300.0
MIB = 2**20


@dataclass(frozen=True)
class Call:
    """One request of the mix: its kind, how to send it, and the statuses that count as right."""

    kind: str
    method: str
    path: str
    json: dict | None = None
    image: bytes | None = None
    expect: tuple[int, ...] = (200,)


@dataclass(frozen=True)
class Outcome:
    kind: str
    seconds: float
    status: int
    right: bool


def png(mode: str, side: int) -> bytes:
    """A blank PNG: a few KB on the wire, side*side pixels once decoded."""
    out = io.BytesIO()
    Image.new(mode, (side, side)).save(out, "PNG")
    return out.getvalue()


def bad_uploads(photo: bytes) -> list[bytes]:
    """Uploads the server must refuse with a 4xx: truncated, corrupt, text, and a 36-megapixel bomb."""
    corrupt = bytearray(photo)
    corrupt[2:200] = bytes(198)  # the markers after the start of image: no decoder can read on
    return [photo[: len(photo) // 2], bytes(corrupt), b"not a photo at all\n" * 20, png("L", 6000)]


def plan(catalog: Catalog, photos: list[bytes], n: int, seed: int) -> list[Call]:
    """n calls: 30% photo uploads, 25% similar by item, 10% complements, 20% item reads, 10% bad uploads, 5% huge."""
    rng = random.Random(seed)
    ids = catalog.store.ids()
    bad = [b for p in photos[:3] for b in bad_uploads(p)]
    huge = [png(mode, BOMB_SIDE) for mode in ("L", "RGB")]
    kinds = ["upload"] * 6 + ["similar-item"] * 5 + ["complementary"] * 2 + ["item"] * 2 + ["items"] * 2 \
        + ["bad-upload"] * 2 + ["huge-upload"]
    return [_call(rng.choice(kinds), rng.choice(ids), rng, photos, bad, huge) for _ in range(n)]


def _call(kind: str, item: str, rng: random.Random, photos: list[bytes], bad: list[bytes],
          huge: list[bytes]) -> Call:
    """The request of one kind, about `item` or a photo drawn from the right list."""
    if kind in ("upload", "bad-upload", "huge-upload"):
        pool = {"upload": photos, "bad-upload": bad, "huge-upload": huge}[kind]
        return Call(kind, "POST", "/similar?k=10", image=rng.choice(pool),
                    expect=(400, 413, 415, 422) if kind == "bad-upload" else (200,))
    if kind == "similar-item":
        return Call(kind, "POST", "/similar?k=10", json={"item_id": item})
    if kind == "complementary":
        return Call(kind, "POST", "/complementary?k=5", json={"item_ids": [item]})
    if kind == "item":
        return Call(kind, "GET", f"/item?id={quote(item)}")
    return Call(kind, "GET", f"/items?offset={rng.randrange(50)}&limit=20")


def live_plan(ids: list[str], photos: list[bytes], n: int, seed: int) -> list[Call]:
    """n calls on a store that changes under them: a deleted item may answer 404."""
    rng = random.Random(seed)
    kinds = ["upload", "similar-item", "similar-item", "item", "items", "complementary"]
    calls = [_call(rng.choice(kinds), rng.choice(ids), rng, photos, [], []) for _ in range(n)]
    return [c if c.kind in ("upload", "items") else Call(c.kind, c.method, c.path, c.json, c.image, (200, 404))
            for c in calls]


async def send(client: httpx.AsyncClient, call: Call) -> Outcome:
    """Send one call; a transport failure counts as status 0."""
    start = time.perf_counter()
    try:
        files = {"image": ("photo", call.image, "application/octet-stream")} if call.image is not None else None
        response = await client.request(call.method, call.path, json=call.json, files=files)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return Outcome(call.kind, time.perf_counter() - start, status, status in call.expect)


async def load(url: str, calls: list[Call], clients: int, max_seconds: float) -> tuple[list[Outcome], float]:
    """`clients` workers take calls from one queue until it is empty or time is up."""
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    outcomes: list[Outcome] = []
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            while not queue.empty() and time.perf_counter() < deadline:
                outcomes.append(await send(client, queue.get_nowait()))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return outcomes, time.perf_counter() - start


def baseline(catalog: Catalog, photos: list[bytes], n: int = 20) -> dict[str, float]:
    """Median seconds of the library calls behind the main kinds, in this process, one at a time."""
    ids = catalog.store.ids()
    return {"upload": statistics.median(_timed(catalog.similar, image=photos[i % len(photos)], k=10) for i in range(n)),
            "similar-item": statistics.median(_timed(catalog.similar, ids[i % len(ids)], k=10) for i in range(n)),
            "complementary": statistics.median(_timed(catalog.complementary, [ids[i % len(ids)]], k=5)
                                               for i in range(n))}


def _timed(fn: Callable, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


class Server:
    """`outfitter serve` on a free loopback port in a child process, its resident memory sampled every 10 ms."""

    def __init__(self, store: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [str(Path(sys.executable).with_name("outfitter")), "serve", "--store", str(store),
                   "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._peak = 0.0
        self._stop = threading.Event()

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))

    @contextmanager
    def watched(self) -> Iterator[dict[str, float]]:
        """Yield a dict that holds idle, peak and after RSS (MiB) of the block once it ends."""
        found = {"idle": self.rss_mib()}
        self._peak, self._stop = found["idle"], threading.Event()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield found
        finally:
            self._stop.set()
            sampler.join()
            time.sleep(0.5)
            found.update(peak=self._peak, after=self.rss_mib())

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, self.rss_mib())
            time.sleep(0.01)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(title: str, outcomes: list[Outcome], wall: float, planned: int, base: dict[str, float],
           rss: dict[str, float]) -> int:
    """Print latency per kind and overall, and the server's memory; return the errors (wrong statuses, calls
    never sent)."""
    print(f"\n== {title}")
    by_kind = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    print(f"{'kind':<15}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'library ms':>12}{'p50/library':>13}  statuses")
    for kind, group in sorted(by_kind.items()) + [("all", outcomes)]:
        ms = np.array([o.seconds for o in group]) * 1000
        lib = base.get(kind)
        extra = f"{lib * 1000:>12.1f}{np.percentile(ms, 50) / (lib * 1000):>12.1f}x" if lib else " " * 25
        statuses = ",".join(f"{s}:{n}" for s, n in sorted(_count(o.status for o in group).items()))
        print(f"{kind:<15}{len(group):>5}{np.percentile(ms, 50):>9.1f}{np.percentile(ms, 99):>9.1f}"
              f"{sum(not o.right for o in group):>8}{extra}  {statuses}")
    errors = sum(not o.right for o in outcomes) + planned - len(outcomes)
    print(f"{len(outcomes)}/{planned} requests in {wall:.1f} s ({len(outcomes) / wall:.1f} req/s), {errors} errors; "
          f"server RSS idle {rss['idle']:.0f} MiB, peak {rss['peak']:.0f} (+{rss['peak'] - rss['idle']:.0f}), "
          f"after {rss['after']:.0f} (+{rss['after'] - rss['idle']:.0f})")
    return errors


def _count(values) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return counts


def bombs(server: Server, clients: int) -> tuple[int, float]:
    """`clients` bomb-like uploads at once, per colour mode; returns (errors, peak RSS over idle in MiB)."""
    print(f"\n== bombs: {clients} uploads of {BOMB_SIDE}x{BOMB_SIDE} PNGs at once, per colour mode")
    errors, worst = 0, 0.0
    for mode in ("L", "P", "RGB", "LA", "RGBA"):
        data = png(mode, BOMB_SIDE)
        calls = [Call(f"bomb-{mode}", "POST", "/similar?k=10", image=data)] * clients
        with server.watched() as rss:
            outcomes, wall = asyncio.run(load(server.url, calls, clients, 600))
        bad = sum(not o.right for o in outcomes) + clients - len(outcomes)
        errors, worst = errors + bad, max(worst, rss["peak"] - rss["idle"])
        print(f"{mode:<5} {len(data) / 1024:>6.0f} KB each, {wall:>5.1f} s, {bad} errors; RSS idle {rss['idle']:.0f} MiB,"
              f" peak +{rss['peak'] - rss['idle']:.0f}, after +{rss['after'] - rss['idle']:.0f}")
    print(f"worst peak +{worst:.0f} MiB over idle: {worst / RSS_TARGET_MIB:.2f} of the {RSS_TARGET_MIB:.0f} MiB target")
    return errors, worst


def change_store(root: Path, photos: Path, stop: threading.Event) -> list[str]:
    """What another process does to a served store: append new items, delete some, compact; returns what it did."""
    done = []
    pictures = sorted(photos.rglob("*.jpg"))
    for round_ in range(1000):
        if stop.is_set():
            break
        items = [Item(f"live/{round_}/{p.stem}", str(p), p.parent.name) for p in pictures[:4]]
        index_items(items, root, workers=0, progress=False)
        store = CatalogStore.open(root)
        store.delete(store.ids()[:2])
        done.append(f"append 4 + delete 2")
        if round_ % 3 == 2:
            store.compact()
            done.append("compact")
    return done


def live(store: Path, photos: list[bytes], n: int, clients: int, seed: int, base: dict[str, float]) -> int:
    """n requests at `clients` clients on a copy of the store that a writer thread keeps changing."""
    work = Path(tempfile.mkdtemp(prefix="outfitter-live-"))
    copy = Path(shutil.copytree(store, work / "store"))
    server = Server(copy)
    try:
        server.wait_ready()
        calls = live_plan(CatalogStore.open(copy).ids(), photos, n, seed)
        stop = threading.Event()
        changes: list[str] = []
        writer = threading.Thread(target=lambda: changes.extend(change_store(copy, demo_data() / "queries", stop)))
        with server.watched() as rss:
            writer.start()
            outcomes, wall = asyncio.run(load(server.url, calls, clients, 600))
            stop.set()
            writer.join()
        errors = report(f"live: {n} requests from {clients} clients while the store changes", outcomes, wall, n,
                        base, rss)
        print(f"meanwhile the store changed {len(changes)} times: {changes.count('compact')} compactions, "
              f"{len(changes) - changes.count('compact')} appends with deletes")
        return errors
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="catalogue store (default: the demo catalogue, indexed once)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--live-requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    store = args.store or _demo_store()
    catalog = Catalog.open(store)
    photos = [p.read_bytes() for p in sorted((demo_data() / "queries").rglob("*.jpg"))]
    base = baseline(catalog, photos)
    server = Server(store)
    try:
        server.wait_ready()
        print(f"serving {store} ({len(catalog)} items) at {server.url}, pid {server.process.pid}")
        calls = plan(catalog, photos, args.requests, args.seed)
        with server.watched() as rss:
            outcomes, wall = asyncio.run(load(server.url, calls, args.clients, args.max_seconds))
        errors = report(f"mixed: {args.requests} requests from {args.clients} clients", outcomes, wall, len(calls),
                        base, rss)
        bomb_errors, worst = bombs(server, args.clients)
    finally:
        server.stop()
    errors += bomb_errors + live(store, photos, args.live_requests, args.clients, args.seed, base)
    print(f"\n{errors} errors in all; bombs peak +{worst:.0f} MiB (target < {RSS_TARGET_MIB:.0f})")
    return 1 if errors or worst >= RSS_TARGET_MIB else 0


def _demo_store() -> Path:
    out = Path(tempfile.gettempdir()) / "outfitter-bench-demo"
    print(f"indexing the demo catalogue into {out / 'store'} (reused when complete)", file=sys.stderr)
    demo_catalog(out, demo_data(), progress=False)
    return out / "store"


if __name__ == "__main__":
    sys.exit(main())
