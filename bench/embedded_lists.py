"""Time the embedded Bifrost server's two dashboard list endpoints, directly (no gateway in front).

Starts ``python -m app.embedded_bifrost`` on an in-memory database, seeds 10 customers, 100 teams and 200
virtual keys over HTTP, then times sequential pairs of ``GET /teams?limit=100&offset=0`` and
``GET /virtual-keys`` with httpx, and each URL with ``wrk -t1 -c8``.

Example::

    python bench/embedded_lists.py --generation current --pairs 300 --wrk-seconds 5
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
GOVERNANCE = "/api/governance"
URLS = (f"{GOVERNANCE}/teams?limit=100&offset=0", f"{GOVERNANCE}/virtual-keys")
PROVIDER_CONFIG = {
    "provider": "openai",
    "key_ids": ["*"],
    "budgets": [{"max_limit": 1, "reset_duration": "1h"}],
    "rate_limit": {"request_max_limit": 10, "request_reset_duration": "1m"},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start within 30 s")


def _seed(client: httpx.Client, generation: str) -> None:
    current = generation == "current"

    def budget(max_limit: float, reset_duration: str) -> dict[str, object]:
        spec = {"max_limit": max_limit, "reset_duration": reset_duration}
        return {"budgets": [spec]} if current else {"budget": spec}

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        response = client.post(f"{GOVERNANCE}/{path}", json=body)
        response.raise_for_status()
        entity: dict[str, object] = response.json()
        return entity

    customer_ids = []
    for i in range(10):
        created = post("customers", {"name": f"customer-{i}", "budget": {"max_limit": 50, "reset_duration": "1d"}})
        customer_ids.append(created["customer"]["id"])  # type: ignore[index]
    config = dict(PROVIDER_CONFIG)
    if not current:
        config.pop("budgets")
        config["budget"] = {"max_limit": 1, "reset_duration": "1h"}
    for i in range(100):
        body = {"name": f"team-{i:03d}", "customer_id": customer_ids[i % 10], **budget(5, "1d")}
        team_id = post("teams", body)["team"]["id"]  # type: ignore[index]
        for j in range(2):
            post("virtual-keys", {"name": f"vk-{i:03d}-{j}", "team_id": team_id, "provider_configs": [config]})


def _time_pairs(client: httpx.Client, pairs: int) -> tuple[float, float]:
    spent = [0.0, 0.0]
    for _ in range(pairs):
        for index, url in enumerate(URLS):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            spent[index] += time.perf_counter() - started
    return spent[0] / pairs * 1000, spent[1] / pairs * 1000


def _wrk(url: str, seconds: int) -> float:
    result = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Requests/sec:\s+([0-9.]+)", result)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{result}")
    return float(match.group(1))


def main() -> None:
    """Parse the command line, run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generation", choices=("seed", "current"), default="current")
    parser.add_argument("--pairs", type=int, default=300, help="sequential pairs timed with httpx")
    parser.add_argument("--wrk-seconds", type=int, default=5, help="duration of each wrk run (0: skip wrk)")
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "app.embedded_bifrost", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--database", ":memory:", "--generation", args.generation]
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        _wait_ready(base, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            _seed(client, args.generation)
            sizes = [len(client.get(url).content) for url in URLS]
            _time_pairs(client, max(args.pairs // 10, 1))  # warm-up
            teams_ms, keys_ms = _time_pairs(client, args.pairs)
        print(f"server pid {server.pid}, generation {args.generation}")
        print(f"httpx, {args.pairs} sequential pairs:")
        for url, size, ms in zip(URLS, sizes, (teams_ms, keys_ms), strict=True):
            print(f"  GET {url:<45} {size:>8} bytes  {ms:7.3f} ms/request")
        print(f"  pair {teams_ms + keys_ms:7.3f} ms  = {1000 / (teams_ms + keys_ms):7.1f} pairs/s")
        if args.wrk_seconds > 0:
            print(f"wrk -t1 -c8 -d{args.wrk_seconds}s:")
            for url in URLS:
                rate = _wrk(base + url, args.wrk_seconds)
                print(f"  GET {url:<45} {rate:9.1f} req/s  {1000 / rate:7.3f} ms/request")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
