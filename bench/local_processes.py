"""What the A/B bench scripts share: free ports, JSON posts, waiting for a server, CPU time, pinning.

The scripts run as ``python bench/<name>.py``, so this module is importable beside them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["cpu_seconds", "free_port", "pinned", "post", "wait_until_up"]


def free_port() -> int:
    """A port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` as JSON and return the JSON answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def wait_until_up(url: str) -> None:
    """Wait (at most 30 s) until ``url`` answers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cpus: str, cmd: list[str]) -> list[str]:
    """``cmd`` pinned to ``cpus`` with taskset, when taskset is there."""
    return ["taskset", "-c", cpus, *cmd] if shutil.which("taskset") else cmd
