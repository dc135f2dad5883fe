"""How much the lab's API server holds and serves: 5,000 objects, then GET / LIST / PATCH from N threads.

Starts a Lab in this process (no MLflow), fills it over HTTPS with ConfigMaps and Seldon Models spread over
namespaces, then lets each client thread (its own keep-alive `requests.Session`, trusting the lab CA) repeat
one operation for a fixed time. Loopback only; every loop is bounded by a deadline. Prints a table and writes
bench/results/lab_throughput.json.

    python -m bench.lab_throughput [--objects 5000] [--threads 8] [--seconds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from drkit_lab.platforms import install_crds
from drkit_lab.runner import Lab
from drkit_lab.settings import LabSettings

RESULTS = Path(__file__).parent / "results" / "lab_throughput.json"
NAMESPACES = 50
MODEL_SHARE = 5  # one object in five is a Seldon Model, the rest ConfigMaps


def rss_mib() -> float:
    """Resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Client:
    def __init__(self, lab: Lab) -> None:
        self.base = lab.api_url
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE silently overrides session.verify
        self.session.verify = str(lab.ca_path)
        self.session.headers["Authorization"] = f"Bearer {lab.token}"

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> None:
        data = json.dumps(body) if body is not None else None
        resp = self.session.request(
            method, self.base + path, data=data, headers={"Content-Type": content_type}, timeout=30
        )
        if resp.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:200]}")


def _object(index: int) -> tuple[str, dict[str, Any]]:
    ns = f"bench-{index % NAMESPACES:02d}"
    if index % MODEL_SHARE == 0:
        return f"/apis/mlops.seldon.io/v1alpha1/namespaces/{ns}/models", {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Model",
            "metadata": {"name": f"model-{index:05d}", "namespace": ns, "labels": {"bench": "yes"}},
            "spec": {"storageUri": f"s3://bench/{index}", "requirements": ["sklearn"]},
        }
    return f"/api/v1/namespaces/{ns}/configmaps", {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{index:05d}", "namespace": ns, "labels": {"bench": "yes", "n": str(index)}},
        "data": {"payload": "x" * 256},
    }


def fill(lab: Lab, objects: int, threads: int) -> float:
    """Create the namespaces and `objects` objects over HTTP; return objects created per second."""
    setup = Client(lab)
    for n in range(NAMESPACES):
        setup.call("POST", "/api/v1/namespaces", {"metadata": {"name": f"bench-{n:02d}"}})
    setup.close()
    clients = [Client(lab) for _ in range(threads)]

    def _create(worker: int) -> None:
        for index in range(worker, objects, threads):
            path, body = _object(index)
            clients[worker].call("POST", path, body)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(_create, range(threads)))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return objects / elapsed


def measure(
    lab: Lab, name: str, op: Callable[[Client, random.Random], None], threads: int, seconds: float
) -> dict[str, Any]:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    deadline = time.perf_counter() + seconds

    def _worker(worker: int) -> None:
        client, rng = Client(lab), random.Random(worker)
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                op(client, rng)
                latencies[worker].append(time.perf_counter() - t0)
        finally:
            client.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=_worker, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for per in latencies for x in per)
    return {
        "operation": name,
        "requests": len(flat),
        "requests_per_s": round(len(flat) / elapsed, 1),
        "p50_ms": round(statistics.median(flat) * 1000, 2),
        "p95_ms": round(flat[int(len(flat) * 0.95) - 1] * 1000, 2),
    }


def run(objects: int, threads: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="drkit-bench-") as tmp:
        rss_before = rss_mib()
        lab = Lab(LabSettings(state_dir=Path(tmp)), mlflow=False).start()
        try:
            assert lab.store is not None
            with lab.api("lab-bootstrap") as api:
                install_crds(api)
            rss_empty = rss_mib()
            create_rate = fill(lab, objects, threads)
            rss_full = rss_mib()
            held = lab.store.count()
            cm_count = objects - len(range(0, objects, MODEL_SHARE))

            def _cm(rng: random.Random) -> tuple[str, str]:
                index = rng.randrange(objects)
                while index % MODEL_SHARE == 0:
                    index = rng.randrange(objects)
                return f"bench-{index % NAMESPACES:02d}", f"cm-{index:05d}"

            def get(client: Client, rng: random.Random) -> None:
                ns, name = _cm(rng)
                client.call("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")

            def list_ns(client: Client, rng: random.Random) -> None:
                client.call("GET", f"/api/v1/namespaces/bench-{rng.randrange(NAMESPACES):02d}/configmaps")

            def patch(client: Client, rng: random.Random) -> None:
                ns, name = _cm(rng)
                body = {"metadata": {"labels": {"touched": str(rng.randrange(1000))}}}
                client.call(
                    "PATCH",
                    f"/api/v1/namespaces/{ns}/configmaps/{name}",
                    body,
                    "application/merge-patch+json",
                )

            rows = [
                measure(lab, n, op, threads, seconds)
                for n, op in (("GET", get), ("LIST", list_ns), ("PATCH", patch))
            ]
        finally:
            lab.stop()
    return {
        "objects_created": objects,
        "objects_held": held,
        "configmaps": cm_count,
        "namespaces": NAMESPACES,
        "create_per_s": round(create_rate, 1),
        "list_items_per_namespace": round(cm_count / NAMESPACES),
        "threads": threads,
        "seconds_per_operation": seconds,
        "rss_mib": {
            "before_lab": round(rss_before, 1),
            "empty_lab": round(rss_empty, 1),
            "full_lab": round(rss_full, 1),
        },
        "operations": rows,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
        },
        "note": "server and clients share one process and its GIL; loopback HTTPS with keep-alive",
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"lab held {result['objects_held']} objects ({result['objects_created']} created at "
        f"{result['create_per_s']}/s with {result['threads']} threads); "
        f"RSS {result['rss_mib']['empty_lab']} MiB empty -> {result['rss_mib']['full_lab']} MiB full"
    )
    print(f"{'operation':<10}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for row in result["operations"]:
        print(
            f"{row['operation']:<10}{row['requests']:>10}{row['requests_per_s']:>10}{row['p50_ms']:>10}{row['p95_ms']:>10}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lab_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0, help="per operation")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args.objects, args.threads, args.seconds)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
