#!/usr/bin/env python3
"""Benchmarks our GraphQL gateway against Tailcall and Hive Gateway (GraphQL Mesh over Bifrost's OpenAPI spec).

    python bench/run.py                  # the full run (about 80 minutes on 2 cores)
    python bench/run.py --quick          # smoke run: 1 round x 3 s
    python bench/run.py --help           # every option (most also read BENCH_* variables)

Starts the embedded Bifrost-compatible server (in-memory database, with a request counter), our
gateway (and the same with read coalescing off, as a control), Tailcall, Hive Gateway and wrk; loads
the gateways alternately (A B C ...) and the upstream directly; prints one table and writes the raw
results to bench/results/<timestamp>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HIVE_CACHE = BENCH / ".cache" / "hive"
TAILCALL_CACHE = BENCH / ".cache" / "tailcall"
_venv_python = ROOT / ".venv" / "bin" / "python"
PYTHON = os.environ.get("BENCH_PYTHON") or (str(_venv_python) if _venv_python.exists() else sys.executable)

# ---------------------------------------------------------------------------------------------
# Everything that names a command, an endpoint or a GraphQL document lives here.
# Placeholders: {upstream} (upstream base URL), {port}, {workers}, {supergraph}, {config}; in bodies
# __NAME__ (a unique team name per request) and __TEAM_ID__ (a seeded team's id).
# ---------------------------------------------------------------------------------------------
OURS_CREATE = (
    "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) "
    "{ team { id name } userErrors { field message code } } }"
)
OURS_TEAM = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
OURS_DASHBOARD = (
    "query Dashboard { teams(first: 100) { edges { node { id name customer { id name } "
    "budgets { id maxLimit currentUsage } virtualKeys { id name } } } } }"
)
OURS_TEAM_IDS = "query TeamIds { teams(first: 100) { edges { node { id name } } } }"

# Hive's schema is generated from the OpenAPI spec: REST operations become root fields returning
# unions of the success type and BifrostError. The spec lags the server: Team has the seed
# generation's single `budget` (v1.5 servers return `budgets`, so it resolves to null) and
# VirtualKey has no team_id, so the dashboard reads keys with a second root field.
HIVE_CREATE = (
    "mutation CreateTeam($input: CreateTeamRequest_Input) { createTeam(input: $input) { "
    "... on TeamResponse { team { id name } } "
    "... on BifrostError { status_code error { message } } } }"
)
HIVE_TEAM = (
    "query Team($id: String!) { getTeam(team_id: $id) { "
    "... on getTeam_200_response { team { id name customer { id name } budget { id max_limit } } } "
    "... on BifrostError { status_code error { message } } } }"
)
HIVE_DASHBOARD = (
    "query Dashboard { listTeams { "
    "... on ListTeamsResponse { teams { id name customer { id name } "
    "budget { id max_limit current_usage } virtual_keys { id name } } } "
    "... on BifrostError { status_code error { message } } } "
    "listVirtualKeys { ... on ListVirtualKeysResponse { virtual_keys { id name } } "
    "... on BifrostError { status_code error { message } } } }"
)

# Tailcall's schema is ours to write (bench/tailcall/bifrost.graphql): the same fields as our documents
# ask, except that keys come from a second root field (Bifrost's team answers never embed them).
TAILCALL_CREATE = "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { team { id name } } }"
TAILCALL_TEAM = "query Team($id: String!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
TAILCALL_DASHBOARD = (
    "query Dashboard { teams { id name customer { id name } budgets { id maxLimit currentUsage } } "
    "virtualKeys { id name teamId } }"
)

GATEWAYS: dict[str, dict[str, Any]] = {
    "ours": {
        "label": "ours",
        "cmd": [PYTHON, "-m", "app"],
        "cwd": str(ROOT),
        "env": {
            "BIFROST_URL": "{upstream}",
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": "{port}",
            "WEB_CONCURRENCY": "{workers}",
            "GATEWAY_ENV": "production",
            "LOG_LEVEL": "WARNING",
        },
        "present": lambda: (ROOT / "app" / "__main__.py").exists(),
        "absent_reason": "our gateway (python -m app, app/__main__.py) does not exist yet",
        "graphql_path": "/graphql",
        "ready_path": None,  # None: ready when POST /graphql {__typename} answers 200
        "schema": "ours",
        "documents": {
            "create": {"query": OURS_CREATE, "variables": {"input": {"name": "__NAME__"}}},
            "lookup": {"query": OURS_TEAM, "variables": {"id": "__TEAM_ID__"}},
            "dashboard": {"query": OURS_DASHBOARD},
        },
    },
    "tailcall": {
        "label": "Tailcall",
        "cmd": [str(TAILCALL_CACHE / "node_modules" / ".bin" / "tailcall"), "start", "{config}"],
        "cwd": str(TAILCALL_CACHE),
        # TAILCALL_TRACKER: no usage pings
        "env": {"BIFROST_URL": "{upstream}", "TAILCALL_TRACKER": "false", "TAILCALL_LOG_LEVEL": "warn"},
        "present": lambda: shutil.which("npm") is not None,
        "absent_reason": "npm is not installed",
        "graphql_path": "/graphql",
        "ready_path": None,
        "schema": "tailcall",
        "documents": {
            "create": {"query": TAILCALL_CREATE, "variables": {"input": {"name": "__NAME__"}}},
            "lookup": {"query": TAILCALL_TEAM, "variables": {"id": "__TEAM_ID__"}},
            "dashboard": {"query": TAILCALL_DASHBOARD},
        },
    },
    "hive": {
        "label": "Hive",
        "cmd": [
            str(HIVE_CACHE / "node_modules" / ".bin" / "hive-gateway"),
            "supergraph",
            "{supergraph}",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        "fork_args": ["--fork", "{workers}"],  # added when workers > 1
        # an empty working directory: Hive would otherwise pick up mesh.config.ts as its config
        "cwd": str(HIVE_CACHE / "serve"),
        "env": {"NODE_ENV": "production"},
        "present": lambda: shutil.which("node") is not None,
        "absent_reason": "node is not installed",
        "graphql_path": "/graphql",
        "ready_path": "/readiness",
        "schema": "hive",
        "documents": {
            "create": {"query": HIVE_CREATE, "variables": {"input": {"name": "__NAME__"}}},
            "lookup": {"query": HIVE_TEAM, "variables": {"id": "__TEAM_ID__"}},
            "dashboard": {"query": HIVE_DASHBOARD},
        },
    },
}

# The control: ours with nothing shared between requests in flight (each query executed, each read sent
# upstream), on the read loads.
GATEWAYS["ours-nc"] = {
    **GATEWAYS["ours"],
    "label": "ours, no coalescing",
    "env": {**GATEWAYS["ours"]["env"], "UPSTREAM_COALESCE_READS": "false", "COALESCE_QUERIES": "false"},
    "reads_only": True,
}
# The floor (not in the default set): the least a Python process does for a lookup (bench/floor.py).
GATEWAYS["floor"] = {
    **GATEWAYS["ours"],
    "label": "Python floor",
    "cmd": [PYTHON, str(BENCH / "floor.py"), "{port}"],
    "env": {"BIFROST_URL": "{upstream}"},
    "cwd": str(BENCH),
    "present": lambda: True,
    "docs": {"lookup"},
}
# The floor with our HTTP server, our Bifrost client, or both on it: what each layer costs served.
for _rung, _flags in (
    ("server", ["--our-server"]),
    ("client", ["--our-client"]),
    ("both", ["--our-server", "--our-client"]),
    ("all", ["--our-server", "--our-execution"]),
):
    GATEWAYS[f"floor-{_rung}"] = {
        **GATEWAYS["floor"],
        "label": "floor + our " + {"both": "server, client", "all": "server, client, execution"}.get(_rung, _rung),
        "cmd": [*GATEWAYS["floor"]["cmd"], *_flags],
        "env": {**GATEWAYS["ours"]["env"], "BIFROST_URL": "{upstream}"},
    }
GATEWAY_ORDER = [
    "ours",
    "ours-nc",
    "floor",
    "floor-server",
    "floor-client",
    "floor-both",
    "floor-all",
    "tailcall",
    "hive",
]  # the order in which each round loads them
DEFAULT_GATEWAYS = ["ours", "ours-nc", "tailcall", "hive", "direct"]
LABELS = {name: cfg["label"] for name, cfg in GATEWAYS.items()} | {"direct": "direct upstream"}

# The same data straight from the upstream REST API: one operation = these calls in turn.
DIRECT: dict[str, list[str]] = {
    "create": ['POST /api/governance/teams {"name":"__NAME__"}'],
    "lookup": ["GET /api/governance/teams/__TEAM_ID__"],
    "dashboard": ["GET /api/governance/teams?limit=100", "GET /api/governance/virtual-keys"],
}

UPSTREAM_CMD = [
    PYTHON,
    str(BENCH / "upstream.py"),
    "--host",
    "127.0.0.1",
    "--port",
    "{port}",
    "--database",
    ":memory:",
    "--generation",
    "current",
    "--upstream",
    "{kind}",
]

# Modes: how processes are placed on the two cores and how many gateway workers run.
MODES: dict[str, dict[str, Any]] = {
    "pinned": {
        "workers": 1,
        "gateway_cpus": "0",
        "upstream_cpus": "1",
        "wrk_cpus": "1",
        "about": "1 process; gateway on core 0, upstream + wrk on core 1",
    },
    "unpinned": {
        "workers": 1,
        "gateway_cpus": None,
        "upstream_cpus": None,
        "wrk_cpus": None,
        "about": "1 process; no pinning",
    },
    "workers2": {
        "workers": 2,
        "gateway_cpus": None,
        "upstream_cpus": None,
        "wrk_cpus": None,
        "about": "ours WEB_CONCURRENCY=2, Tailcall 2 workers, Hive --fork 2; no pinning",
        "direct": False,
    },
}
# Loads ("scenarios"): which document, which team ids, which credentials, and whether the upstream's usage
# counters move. The first three are the original loads: one team, no credentials, nothing changes, so
# identical reads in flight share a call and identical upstream answers are parsed once. The others are
# what a real deployment sees: lookups over all 100 seeded teams, counters that change between requests
# (no two upstream answers alike), and either one credential for every request (a backend-for-frontend)
# or one token per connection (browsers, each with its own session), which the gateways forward and so
# can no longer share a call between two callers.
LOADS: dict[str, dict[str, str]] = {
    "lookup": {"doc": "lookup", "ids": "one", "auth": "none", "usage": "static"},
    "dashboard": {"doc": "dashboard", "ids": "one", "auth": "none", "usage": "static"},
    "lookup-bff": {"doc": "lookup", "ids": "rotating", "auth": "shared", "usage": "moving"},
    "lookup-browsers": {"doc": "lookup", "ids": "rotating", "auth": "per-connection", "usage": "moving"},
    "dashboard-bff": {"doc": "dashboard", "ids": "one", "auth": "shared", "usage": "moving"},
    "dashboard-browsers": {"doc": "dashboard", "ids": "one", "auth": "per-connection", "usage": "moving"},
    "create": {"doc": "create", "ids": "one", "auth": "none", "usage": "static"},
}
SCENARIOS = list(LOADS)  # read-only first: create grows the team table
SEED_TEAMS, SEED_CUSTOMERS, KEYS_PER_TEAM = 100, 10, 2
FLOOR_FACTOR = 5.0


# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------
class Skip(Exception):
    """A gateway or scenario cannot run; the message says why."""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    started: float

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Procs:
    """Every process the harness starts, each in its own process group, stopped in `stop_all`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.live: list[Proc] = []

    def start(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        cpus: str | None = None,
    ) -> Proc:
        if cpus is not None:
            cmd = ["taskset", "-c", cpus, *cmd]
        full_env = dict(os.environ)
        full_env.update(env or {})
        log = self.log_dir / f"{name}.log"
        fh = open(log, "ab")
        fh.write(f"$ {' '.join(cmd)}\n".encode())
        fh.flush()
        popen = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
        fh.close()
        p = Proc(name, popen, log, time.monotonic())
        self.live.append(p)
        return p

    def stop(self, p: Proc) -> None:
        if p.popen.poll() is None:
            for sig, wait in ((signal.SIGTERM, 8.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(p.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.popen.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # reap stragglers of the group (forked workers) that outlived the leader
        try:
            os.killpg(p.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p in self.live:
            self.live.remove(p)

    def stop_all(self) -> None:
        for p in list(reversed(self.live)):
            self.stop(p)


# What ``machine()`` records of the interpreter's build (its build date and compiler tell two builds of one version
# apart; neither Debian's PGO+LTO build nor pyenv's plain one names its optimisations in ``CONFIG_ARGS``).
_PYTHON_BUILD = "import platform; print(*platform.python_build(), platform.python_compiler())"


def ensure_native(python: str = PYTHON, root: Path = ROOT) -> str:
    """Build the compiled hot modules (``app/native.py``) for ``python`` in ``root`` unless they are current; their
    status, as the gateway will report it (it runs interpreted when they cannot be built)."""
    if not (root / "app" / "native_build.py").exists():
        return "none in this checkout"
    status = [python, "-m", "app.native_build", "status"]
    done = subprocess.run(status, cwd=root, capture_output=True, text=True)
    if ": on" not in done.stdout:
        subprocess.run([python, "-m", "app.native_build"], cwd=root)
        done = subprocess.run(status, cwd=root, capture_output=True, text=True)
    return done.stdout.strip().removeprefix("compiled modules: ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(
    method: str, url: str, body: Any = None, timeout: float = 10.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if data else {}
    req = urllib.request.Request(url, data=data, method=method, headers=sent | (headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(p: Proc, probe, timeout: float) -> float:
    """Polls `probe()` until it returns True; returns seconds since the process started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.popen.poll() is not None:
            raise Skip(f"{p.name} exited with code {p.popen.returncode}:\n{p.tail()}")
        try:
            if probe():
                return time.monotonic() - p.started
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise Skip(f"{p.name} not ready after {timeout:.0f} s:\n{p.tail()}")


def seed_upstream(url: str) -> dict:
    """10 customers, 100 teams (each with a customer and a budget), 2 virtual keys per team."""

    def post(path: str, body: dict) -> dict:
        status, raw = http("POST", url + path, body)
        if status != 200:
            raise RuntimeError(f"seeding {path} answered {status}: {raw[:300]!r}")
        return json.loads(raw)

    customers = [
        post(
            "/api/governance/customers",
            {"name": f"bench-customer-{i:02d}", "budget": {"max_limit": 1000 + i, "reset_duration": "1M"}},
        )["customer"]["id"]
        for i in range(SEED_CUSTOMERS)
    ]
    teams = []
    for i in range(SEED_TEAMS):
        budget = {"max_limit": 100 + i, "reset_duration": "1M"}
        team = post(
            "/api/governance/teams",
            {
                "name": f"bench-team-{i:03d}",
                "customer_id": customers[i % SEED_CUSTOMERS],
                "budgets": [budget],
                "budget": budget,
            },
        )["team"]
        teams.append(team)
        for k in range(KEYS_PER_TEAM):
            post("/api/governance/virtual-keys", {"name": f"bench-key-{i:03d}-{k}", "team_id": team["id"]})
    return {
        "team_id": teams[0]["id"],
        "team_name": teams[0]["name"],
        "teams": len(teams),
        "team_ids": [t["id"] for t in teams],
        "team_names": [t["name"] for t in teams],
    }


# ---------------------------------------------------------------------------------------------
# process-tree metrics (RSS, PSS, CPU time)
# ---------------------------------------------------------------------------------------------
def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root: int) -> int:
    return sum(_status_kb(pid, "VmRSS:") for pid in tree_pids(root))


def tree_pss_kb(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def tree_cpu_s(root: int) -> float:
    ticks = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and its reaped children (wrk)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class RssSampler(threading.Thread):
    def __init__(self, root: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root, self.every, self.peak_kb = root, every, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.root))
            self._halt.wait(self.every)

    def finish(self) -> int:
        self._halt.set()
        self.join(2)
        return self.peak_kb


# ---------------------------------------------------------------------------------------------
# the harness
# ---------------------------------------------------------------------------------------------
@dataclass
class Target:
    """One thing wrk loads: a gateway (GraphQL) or the upstream directly (REST)."""

    name: str
    url: str
    proc: Proc | None = None  # the gateway process (metrics); None for direct
    bodies: dict[str, Path] = field(default_factory=dict)
    ids: dict[str, Path] = field(default_factory=dict)  # per scenario: the team ids wrk puts in turn
    calls_per_op: int = 1


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.results_dir = BENCH / "results"
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.out = Path(args.out) if args.out else self.results_dir / f"{stamp}.json"
        self.work = self.results_dir / f"{stamp}-work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.procs = Procs(self.work)
        self.runs: list[dict] = []
        self.events: list[str] = []
        self.ready: list[dict] = []
        self.checks: list[dict] = []
        self.seq = 0
        self.can_trim = False
        self.floors: list[dict] = []
        self.calls: dict[tuple[str, str, str], float] = {}
        self.tailcall_ready = False

    def note(self, msg: str) -> None:
        print(msg, flush=True)
        self.events.append(msg)

    # -- upstream -----------------------------------------------------------------------------
    def start_upstream(self, mode: dict) -> tuple[Proc, str]:
        port = free_port()
        cmd = [a.format(port=port, kind=self.args.upstream) for a in UPSTREAM_CMD]
        p = self.procs.start(f"upstream-{port}", cmd, cwd=str(ROOT), cpus=mode["upstream_cpus"])
        url = f"http://127.0.0.1:{port}"
        secs = wait_ready(p, lambda: http("GET", url + "/health", timeout=1)[0] == 200, 60)
        kind = "stub" if "serving stub" in p.log.read_text(errors="replace") else "embedded"
        self.upstream_kind = kind
        self.ready.append({"what": "upstream", "kind": kind, "ready_s": round(secs, 3)})
        self.upstream_pid = p.popen.pid
        return p, url

    def wait_quiet(self, url: str, period: float = 0.3, limit: float = 30.0) -> None:
        """Until the upstream counter stops moving for ``period`` seconds (at most ``limit``)."""
        deadline = time.monotonic() + limit
        last = self.count(url)
        while time.monotonic() < deadline:
            time.sleep(period)
            now = self.count(url)
            if now == last:
                return
            last = now

    def mark(self, url: str) -> None:
        """Remember the seeded teams, so that :meth:`trim` can remove the ones created after them."""
        self.can_trim = http("POST", url + "/__bench/mark")[0] == 200

    def trim(self, url: str) -> None:
        """Delete the teams created since :meth:`mark`: each createTeam run starts from the same table."""
        if self.can_trim:
            status, body = http("POST", url + "/__bench/trim", timeout=120)
            if status != 200:
                raise RuntimeError(f"upstream trim answered {status}: {body[:200]!r}")

    def set_usage(self, url: str, scenario: str, seed: dict | None) -> None:
        """Tell the upstream whether its usage counters move during this load (see bench/upstream.py)."""
        moving = LOADS[scenario]["usage"] == "moving"
        status, _ = http("POST", url + ("/__bench/usage/moving" if moving else "/__bench/usage/static"))
        if status != 200 and moving:
            raise Skip(f"the upstream cannot move its usage counters (answered {status}): only the embedded one can")
        if moving and seed:  # two reads of one team must differ
            first, second = (http("GET", f"{url}/api/governance/teams/{seed['team_id']}")[1] for _ in range(2))
            if first == second:
                raise Skip("the upstream's usage counters did not move between two reads")

    def count(self, url: str, reset: bool = False) -> int:
        status, body = http("POST" if reset else "GET", url + ("/__bench/reset" if reset else "/__bench/count"))
        if status != 200:
            raise RuntimeError(f"upstream counter answered {status}")
        return json.loads(body)["count"]

    def seed(self, url: str) -> dict:
        """10 customers, 100 teams (each with a customer and a budget), 2 virtual keys per team."""
        return seed_upstream(url)

    # -- gateways -----------------------------------------------------------------------------
    def start_gateway(self, name: str, mode: dict, upstream_url: str) -> Target:
        cfg = GATEWAYS[name]
        if not cfg["present"]():
            raise Skip(cfg["absent_reason"])
        port, workers = free_port(), mode["workers"]
        subst = {"upstream": upstream_url, "port": port, "workers": workers}
        if name == "hive":
            subst["supergraph"] = self.compose(upstream_url)
        if name == "tailcall":
            subst["config"] = self.tailcall_config(port, workers)
        cmd = [a.format(**subst) for a in cfg["cmd"]]
        if workers > 1 and cfg.get("fork_args"):
            cmd += [a.format(**subst) for a in cfg["fork_args"]]
        env = {k: v.format(**subst) for k, v in cfg["env"].items()}
        Path(cfg["cwd"]).mkdir(parents=True, exist_ok=True)
        p = self.procs.start(f"{name}-{port}", cmd, env=env, cwd=cfg["cwd"], cpus=mode["gateway_cpus"])
        base = f"http://127.0.0.1:{port}"

        def probe() -> bool:
            if cfg["ready_path"]:
                return http("GET", base + cfg["ready_path"], timeout=1)[0] == 200
            return http("POST", base + cfg["graphql_path"], {"query": "{ __typename }"}, timeout=1)[0] == 200

        secs = wait_ready(p, probe, self.args.start_timeout)
        if workers > 1:  # give every worker time to come up and bind
            time.sleep(1.0)
        self.ready.append({"what": name, "workers": workers, "ready_s": round(secs, 3)})
        print(f"  {cfg['label']} ready in {secs:.2f} s (workers={workers}, port {port})", flush=True)
        return Target(name, base + cfg["graphql_path"], proc=p)

    def tailcall_config(self, port: int, workers: int) -> str:
        """Installs Tailcall (once per run) and writes bench/tailcall/bifrost.graphql with this port and workers."""
        if not self.tailcall_ready:
            r = subprocess.run(
                ["bash", str(BENCH / "tailcall" / "setup.sh")], capture_output=True, text=True, timeout=600
            )
            if r.returncode != 0:
                raise Skip(f"Tailcall setup failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
            self.tailcall_ready = True
        text = (BENCH / "tailcall" / "bifrost.graphql").read_text()
        server = f'@server(hostname: "127.0.0.1", port: {port}, workers: {workers})'
        text, found = re.subn(r"@server\([^)]*\)", server, text, count=1)
        if not found:
            raise Skip("bench/tailcall/bifrost.graphql has no @server(...) directive")
        out = self.work / f"tailcall-{port}.graphql"
        out.write_text(text)
        return str(out)

    def compose(self, upstream_url: str) -> str:
        out = self.work / f"supergraph-{upstream_url.rsplit(':', 1)[1]}.graphql"
        r = subprocess.run(
            ["bash", str(BENCH / "hive" / "setup.sh"), str(out)],
            env={**os.environ, "BIFROST_URL": upstream_url},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode != 0 or not out.exists():
            raise Skip(f"Hive setup/compose failed:\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
        return str(out)

    # -- documents and sanity checks ----------------------------------------------------------
    def write_body(self, target: Target, scenario: str, team_ids: list[str]) -> Path:
        """The body wrk sends (and, for rotating loads, the ids file it puts in the body in turn)."""
        load = LOADS[scenario]
        rotating = load["ids"] == "rotating"
        path = self.work / f"{target.name}-{scenario}.body"
        if target.name == "direct":
            calls = DIRECT[load["doc"]]
            ids = team_ids if rotating and any("__TEAM_ID__" in c for c in calls) else team_ids[:1]
            lines = [c.replace("__TEAM_ID__", tid) for tid in ids for c in calls]
            path.write_text("\n".join(lines) + "\n")
            target.calls_per_op = len(calls)  # rest.lua sends one line per request, in turn
        else:
            doc = json.dumps(GATEWAYS[target.name]["documents"][load["doc"]])
            path.write_text(doc if rotating else doc.replace("__TEAM_ID__", team_ids[0]))
            if rotating:
                ids_path = self.work / f"{target.name}-{scenario}.ids"
                ids_path.write_text("\n".join(team_ids) + "\n")
                target.ids[scenario] = ids_path
        target.bodies[scenario] = path
        return path

    def one_request(self, target: Target, scenario: str, name: str) -> tuple[dict, dict[str, str]]:
        """One operation's document and headers as wrk sends them: the first id, a fresh name, a token."""
        body = target.bodies[scenario].read_text().replace("__NAME__", name)
        if scenario in target.ids:
            body = body.replace("__TEAM_ID__", target.ids[scenario].read_text().split("\n", 1)[0])
        auth = LOADS[scenario]["auth"]
        headers = {} if auth == "none" else {"Authorization": f"Bearer bench-{auth}-probe"}
        return json.loads(body), headers

    def graphql(self, target: Target, doc: dict, headers: dict[str, str] | None = None) -> dict:
        status, raw = http("POST", target.url, doc, timeout=30, headers=headers)
        try:
            out = json.loads(raw)
        except ValueError:
            out = {"raw": raw[:500].decode(errors="replace")}
        out["_status"], out["_bytes"] = status, len(raw)
        return out

    def team_ids(self, target: Target, seed: dict) -> list[str]:
        """The ids a gateway wants for the seeded teams: the upstream's, or whatever our list shows."""
        if GATEWAYS.get(target.name, {}).get("schema") != "ours":
            return seed["team_ids"]
        doc = json.loads(json.dumps(GATEWAYS["ours"]["documents"]["lookup"]).replace("__TEAM_ID__", seed["team_id"]))
        r = self.graphql(target, doc)
        if (r.get("data") or {}).get("team"):
            return seed["team_ids"]
        r = self.graphql(target, {"query": OURS_TEAM_IDS})
        by_name = {
            e["node"]["name"]: e["node"]["id"] for e in ((r.get("data") or {}).get("teams") or {}).get("edges") or []
        }
        return [by_name.get(name, tid) for name, tid in zip(seed["team_names"], seed["team_ids"], strict=True)]

    def send_once(self, target: Target, scenario: str) -> None:
        """One operation exactly as wrk sends it (a fresh name for create)."""
        name = f"probe-{target.name}-{uuid.uuid4().hex[:10]}"
        if target.name == "direct":
            body = target.bodies[scenario].read_text()
            lines = body.splitlines()[: target.calls_per_op]
            for line in lines:
                method, path, *rest = line.split(" ", 2)
                http(method, target.url + path, json.loads(rest[0].replace("__NAME__", name)) if rest else None)
        else:
            doc, headers = self.one_request(target, scenario, name)
            http("POST", target.url, doc, timeout=30, headers=headers)

    def probe_calls(self, target: Target, scenario: str, upstream_url: str, n: int = 10) -> float:
        """Upstream calls per operation, from n sequential operations (no request is in flight at the end).

        Work left over from the previous load (requests wrk had in flight when it stopped) is waited out
        first: counted, it would be charged to this probe.
        """
        self.wait_quiet(upstream_url)
        self.count(upstream_url, reset=True)
        for _ in range(n):
            self.send_once(target, scenario)
        return self.count(upstream_url) / n

    def check(self, target: Target, scenario: str) -> None:
        """One request through the body wrk will send; raises Skip when the answer is wrong."""
        kind = LOADS[scenario]["doc"]
        if target.name == "direct":
            for line in target.bodies[scenario].read_text().splitlines()[: target.calls_per_op]:
                method, path, *rest = line.split(" ", 2)
                payload = json.loads(rest[0].replace("__NAME__", f"check-{uuid.uuid4().hex[:8]}")) if rest else None
                status, raw = http(method, target.url + path, payload)
                if status != 200:
                    raise Skip(f"direct {method} {path} answered {status}: {raw[:300]!r}")
            return
        doc, headers = self.one_request(target, scenario, f"check-{target.name}-{uuid.uuid4().hex[:8]}")
        r = self.graphql(target, doc, headers)
        data, errors = r.get("data"), r.get("errors")
        schema = GATEWAYS[target.name]["schema"]
        problem, note = None, ""
        if r["_status"] != 200 or errors or not data:
            problem = f"HTTP {r['_status']}, errors={json.dumps(errors)[:400] if errors else None}, data={data}"
        elif schema == "ours":
            if kind == "create":
                ce = data.get("createTeam") or {}
                if not (ce.get("team") or {}).get("id") or ce.get("userErrors"):
                    problem = f"createTeam gave {ce}"
            elif kind == "lookup":
                t = data.get("team") or {}
                if not t.get("id") or not t.get("customer") or not t.get("budgets"):
                    problem = f"team gave {t}"
            else:
                edges = (data.get("teams") or {}).get("edges") or []
                keys = sum(len(e["node"].get("virtualKeys") or []) for e in edges)
                if len(edges) != SEED_TEAMS or keys != SEED_TEAMS * KEYS_PER_TEAM:
                    problem = f"dashboard gave {len(edges)} teams, {keys} keys"
        elif schema == "tailcall":
            if kind == "create":
                if not ((data.get("createTeam") or {}).get("team") or {}).get("id"):
                    problem = f"createTeam gave {data.get('createTeam')}"
            elif kind == "lookup":
                t = data.get("team") or {}
                if not t.get("id") or not t.get("customer") or not t.get("budgets"):
                    problem = f"team gave {t}"
            else:
                teams, keys = data.get("teams") or [], data.get("virtualKeys") or []
                if len(teams) != SEED_TEAMS or len(keys) != SEED_TEAMS * KEYS_PER_TEAM:
                    problem = f"dashboard gave {len(teams)} teams, {len(keys)} keys"
                elif not all(k.get("teamId") for k in keys):
                    problem = "dashboard keys without teamId"
                else:
                    note = "keys come from a second root field, with teamId: the client groups them by team"
        else:
            if kind == "create":
                if not ((data.get("createTeam") or {}).get("team") or {}).get("id"):
                    problem = f"createTeam gave {data.get('createTeam')}"
            elif kind == "lookup":
                t = (data.get("getTeam") or {}).get("team") or {}
                if not t.get("id") or not t.get("customer"):
                    problem = f"getTeam gave {data.get('getTeam')}"
                elif t.get("budget") is None:
                    note = "budget is null: the spec's Team has the seed-era `budget`, the server sends `budgets`"
            else:
                teams = (data.get("listTeams") or {}).get("teams") or []
                keys = (data.get("listVirtualKeys") or {}).get("virtual_keys") or []
                if len(teams) != SEED_TEAMS or len(keys) != SEED_TEAMS * KEYS_PER_TEAM:
                    problem = f"dashboard gave {len(teams)} teams, {len(keys)} keys"
                else:
                    note = (
                        "teams' budget and virtual_keys are null (spec lag); keys come from a second "
                        "root field without team_id, so the client cannot group them by team"
                    )
            if headers and not note:
                note = "the Authorization header is not forwarded (no header propagation configured)"
        self.checks.append(
            {
                "gateway": target.name,
                "scenario": scenario,
                "ok": problem is None,
                "problem": problem,
                "note": note,
                "response_bytes": r["_bytes"],
            }
        )
        if problem:
            raise Skip(f"{GATEWAYS[target.name]['label']} {scenario}: wrong answer: {problem}")
        if note:
            print(f"    note ({target.name} {scenario}): {note}", flush=True)

    # -- load ---------------------------------------------------------------------------------
    def wrk(
        self,
        target: Target,
        scenario: str,
        conc: int,
        duration: float,
        mode: dict,
        upstream_url: str,
        record: dict | None,
    ) -> dict | None:
        self.seq += 1
        prefix = f"{target.name[:4]}{self.seq}x{uuid.uuid4().hex[:6]}"
        threads = 1 if conc == 1 else 2
        body = str(target.bodies[scenario])
        load = LOADS[scenario]
        if target.name == "direct":
            script, url, extra = "rest.lua", target.url, [body, prefix]
        elif load["doc"] == "create":
            script, url, extra = "graphql_create.lua", target.url, [body, prefix]
        else:
            ids = str(target.ids[scenario]) if scenario in target.ids else "-"
            script, url = "graphql_load.lua", target.url
            extra = [body, ids, load["auth"], prefix, str(max(1, conc // threads))]
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{conc}",
            f"-d{duration:g}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk" / script),
            url,
            "--",
            *extra,
        ]
        if mode["wrk_cpus"] is not None:
            cmd = ["taskset", "-c", mode["wrk_cpus"], *cmd]
        if load["doc"] == "create":
            self.trim(upstream_url)
        self.count(upstream_url, reset=True)
        root = target.proc.popen.pid if target.proc else None
        sampler = RssSampler(root) if root else None
        cpu0 = tree_cpu_s(root) if root else 0.0
        up0, busy0, own0 = tree_cpu_s(self.upstream_pid), machine_busy_s(), own_cpu_s()
        if sampler:
            sampler.start()
        w = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = w.communicate(timeout=duration + 60)
        finally:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
            peak = sampler.finish() if sampler else 0
        cpu = (tree_cpu_s(root) - cpu0) if root else 0.0
        upstream_cpu = tree_cpu_s(self.upstream_pid) - up0
        # CPU used on the machine by anything but the gateway, the upstream, wrk and this harness
        foreign = machine_busy_s() - busy0 - cpu - upstream_cpu - (own_cpu_s() - own0)
        upstream_calls = self.count(upstream_url)
        line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no result ({' '.join(cmd)}):\n{out[-2000:]}")
        res = json.loads(line[len("WRKJSON ") :])
        if record is None:
            return None
        ops = res["requests"] / target.calls_per_op
        run = {
            **record,
            "gateway": target.name,
            "rps": res["rps"] / target.calls_per_op,  # operations per second
            "p50_ms": res["p50_ms"],
            "p99_ms": res["p99_ms"],
            "upstream_calls": upstream_calls,
            # counts the calls of requests still in flight when wrk stopped: high when req/s is low
            "calls_per_request": upstream_calls / ops if ops else None,
            "errors": sum(res["errors"].values()),
            "rss_peak_mb": round(peak / 1024, 1) if root else None,
            "pss_mb": round(tree_pss_kb(root) / 1024, 1) if root else None,
            "gateway_cpu_ms_per_request": round(1000 * cpu / ops, 3) if root and ops else None,
            "upstream_cpu_s": round(upstream_cpu, 2),
            "foreign_cpu_s": round(foreign, 2),
            "wrk": res,
        }
        self.runs.append(run)
        err = f"  errors={res['errors']}" if run["errors"] else ""
        print(
            f"    {target.name:6s} c={conc:<3d} round {record['round']}: {run['rps']:9.1f} req/s  "
            f"p50 {res['p50_ms']:7.2f} ms  p99 {res['p99_ms']:7.2f} ms  "
            f"upstream/req {run['calls_per_request'] or 0:.2f}{err}",
            flush=True,
        )
        return run

    # -- one mode -----------------------------------------------------------------------------
    def run_mode(self, mode_name: str) -> None:
        mode = MODES[mode_name]
        print(f"\n== mode {mode_name}: {mode['about']}", flush=True)
        up, up_url = self.start_upstream(mode)
        seed = None
        if any(LOADS[sc]["doc"] != "create" for sc in self.args.scenarios):
            t0 = time.monotonic()
            seed = self.seed(up_url)
            print(
                f"  upstream ({self.upstream_kind}) seeded: {seed['teams']} teams in {time.monotonic() - t0:.1f} s",
                flush=True,
            )
        self.mark(up_url)
        targets: list[Target] = []
        try:
            for name in GATEWAY_ORDER:
                if name not in self.args.gateways:
                    continue
                try:
                    targets.append(self.start_gateway(name, mode, up_url))
                except Skip as e:
                    self.note(f"  SKIP {GATEWAYS[name]['label']} in mode {mode_name}: {e}")
            if "direct" in self.args.gateways and mode.get("direct", True):
                targets.append(Target("direct", up_url))
            for scenario in self.args.scenarios:
                load = LOADS[scenario]
                print(f"  -- {scenario}", flush=True)
                try:
                    self.set_usage(up_url, scenario, seed)
                except Skip as e:
                    self.note(f"  SKIP {scenario} ({mode_name}): {e}")
                    continue
                live: list[Target] = []
                for t in targets:
                    if load["doc"] == "create" and GATEWAYS.get(t.name, {}).get("reads_only"):
                        continue
                    if load["doc"] not in GATEWAYS.get(t.name, {}).get("docs", {load["doc"]}):
                        continue
                    try:
                        ids = self.team_ids(t, seed) if (seed and load["doc"] == "lookup") else [""]
                        self.write_body(t, scenario, ids)
                        self.check(t, scenario)
                        calls = self.probe_calls(t, scenario, up_url)
                        self.calls[(mode_name, scenario, t.name)] = calls
                        print(f"    {t.name}: {calls:.2f} upstream calls per {scenario} (sequential)", flush=True)
                        live.append(t)
                    except Skip as e:
                        self.note(f"  SKIP {t.name} {scenario} ({mode_name}): {e}")
                if not live:
                    continue
                if self.args.warmup > 0:
                    for t in live:
                        self.wrk(t, scenario, 20, self.args.warmup, mode, up_url, None)
                for conc in self.args.concurrency:
                    for rnd in range(1, self.args.rounds + 1):
                        for t in live:  # A B A B ...: every gateway once per round
                            if t.proc and t.proc.popen.poll() is not None:
                                raise RuntimeError(f"{t.name} died:\n{t.proc.tail()}")
                            self.wrk(
                                t,
                                scenario,
                                conc,
                                self.args.duration,
                                mode,
                                up_url,
                                {"mode": mode_name, "scenario": scenario, "concurrency": conc, "round": rnd},
                            )
        finally:
            for t in targets:
                if t.proc:
                    self.procs.stop(t.proc)
            self.procs.stop(up)

    # -- summary ------------------------------------------------------------------------------
    def summarize(self) -> tuple[list[dict], list[str]]:
        rows: list[dict] = []
        groups: dict[tuple, list[dict]] = {}
        for r in self.runs:
            groups.setdefault((r["mode"], r["scenario"], r["concurrency"], r["gateway"]), []).append(r)
        med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
        for (mode, scen, conc, gw), rs in groups.items():
            rows.append(
                {
                    "mode": mode,
                    "scenario": scen,
                    "concurrency": conc,
                    "gateway": gw,
                    "rounds": len(rs),
                    "rps_median": med([r["rps"] for r in rs]),
                    "rps_min": min(r["rps"] for r in rs),
                    "rps_max": max(r["rps"] for r in rs),
                    "p50_ms": med([r["p50_ms"] for r in rs]),
                    "p99_ms": med([r["p99_ms"] for r in rs]),
                    "calls_per_request": self.calls.get((mode, scen, gw)),
                    "calls_per_request_under_load": med(
                        [r["calls_per_request"] for r in rs if r["calls_per_request"] is not None]
                    ),
                    "errors": sum(r["errors"] for r in rs),
                    # few completed requests per open connection: in-flight work inflates per-request CPU
                    "biased": min(r["wrk"]["requests"] for r in rs) < 10 * conc,
                    "rss_peak_mb": max((r["rss_peak_mb"] for r in rs if r["rss_peak_mb"]), default=None),
                    "pss_mb": med([r["pss_mb"] for r in rs if r["pss_mb"]]),
                    "gateway_cpu_ms_per_request": med(
                        [r["gateway_cpu_ms_per_request"] for r in rs if r["gateway_cpu_ms_per_request"] is not None]
                    ),
                }
            )
        index = {(r["mode"], r["scenario"], r["concurrency"], r["gateway"]): r for r in rows}
        warnings = []
        for r in rows:
            if r["gateway"] not in ("ours", "ours-nc"):
                continue
            key = (r["mode"], r["scenario"], r["concurrency"])
            hive, tailcall = index.get((*key, "hive")), index.get((*key, "tailcall"))
            r["ratio_ours_tailcall"] = r["rps_median"] / tailcall["rps_median"] if tailcall else None
            direct = index.get((*key, "direct")) or index.get(("unpinned", *key[1:], "direct"))
            r["ratio_ours_hive"] = r["rps_median"] / hive["rps_median"] if hive else None
            r["ratio_ours_direct"] = r["rps_median"] / direct["rps_median"] if direct else None
        self.floors = self.upstream_floors(rows)
        for floor in self.floors:
            if floor["ratio"] < FLOOR_FACTOR:
                warnings.append(
                    f"WARNING: direct upstream {floor['scenario']} ({floor['mode']}) {floor['direct_ops']:.0f} ops/s "
                    f"is under {FLOOR_FACTOR:g}x what the fastest gateway asked of it ({floor['demand_ops']:.0f} "
                    "ops/s): the upstream, not the gateway, may be the bottleneck"
                )
        noisy = [r for r in self.runs if r["foreign_cpu_s"] > 0.1 * r["wrk"]["duration_s"]]
        if noisy:
            worst = max(noisy, key=lambda r: r["foreign_cpu_s"])
            warnings.append(
                f"WARNING: other processes used the CPU during {len(noisy)} of {len(self.runs)} runs (worst: "
                f"{worst['foreign_cpu_s']:.1f} CPU-s in a {worst['wrk']['duration_s']:.0f} s run); see foreign_cpu_s"
            )
        for r in rows:
            if r["errors"]:
                warnings.append(
                    f"WARNING: {r['gateway']} {r['scenario']} c={r['concurrency']} "
                    f"({r['mode']}): {r['errors']} wrk errors (non-2xx, timeouts or socket)"
                )
        order = {m: i for i, m in enumerate(MODES)}
        sorder = {s: i for i, s in enumerate(SCENARIOS)}
        gorder = {g: i for i, g in enumerate([*GATEWAY_ORDER, "direct"])}
        rows.sort(key=lambda r: (order[r["mode"]], sorder[r["scenario"]], r["concurrency"], gorder[r["gateway"]]))
        return rows, warnings

    @staticmethod
    def upstream_floors(rows: list[dict]) -> list[dict]:
        """Per mode and scenario: the direct upstream's throughput against the fastest gateway's demand.

        The upstream's throughput is its best direct run over the concurrencies. What a gateway asks of the
        upstream, in direct operations per second, is its req/s times the upstream calls it made per request
        under that load, over the calls of one direct operation (identical reads in flight share a call, so a
        gateway may ask far less than one per request); the fastest gateway is the most demanding run of any
        gateway at any concurrency in that mode (for the unpinned upstream, in the workers2 mode too).
        """
        floors = []
        for mode, scenario in dict.fromkeys((r["mode"], r["scenario"]) for r in rows if r["gateway"] == "direct"):
            direct = max(
                (r for r in rows if (r["gateway"], r["mode"], r["scenario"]) == ("direct", mode, scenario)),
                key=lambda r: r["rps_median"],
            )
            modes = [mode] + (["workers2"] if mode == "unpinned" else [])
            per_op = direct["calls_per_request"] or 1.0
            demands = [
                (g["rps_median"] * (g["calls_per_request_under_load"] or g["calls_per_request"] or 1.0) / per_op, g)
                for g in rows
                if g["gateway"] != "direct" and g["mode"] in modes and g["scenario"] == scenario
            ]
            if not demands:
                continue
            demand, fastest = max(demands, key=lambda pair: pair[0])
            floors.append(
                {
                    "mode": mode,
                    "scenario": scenario,
                    "direct_ops": direct["rps_median"],
                    "direct_concurrency": direct["concurrency"],
                    "demand_ops": demand,
                    "fastest": f"{fastest['gateway']} {fastest['mode']} c={fastest['concurrency']}",
                    "ratio": direct["rps_median"] / demand if demand else float("inf"),
                }
            )
        return floors

    def table(self, rows: list[dict]) -> str:
        def f(x, spec=".1f", dash="-"):
            return dash if x is None else format(x, spec)

        head = [
            "mode",
            "scenario",
            "conc",
            "gateway",
            "req/s median (min-max)",
            "p50 ms",
            "p99 ms",
            "upstream/req 1 / load",
            "RSS MB",
            "CPU ms/req",
            "ours/Tailcall",
            "ours/Hive",
            "ours/direct",
        ]
        lines = []
        for r in rows:
            label = LABELS[r["gateway"]]
            lines.append(
                [
                    r["mode"],
                    r["scenario"],
                    str(r["concurrency"]),
                    label + (" !" if r["errors"] else ""),
                    f"{r['rps_median']:.0f} ({r['rps_min']:.0f}-{r['rps_max']:.0f})",
                    f(r["p50_ms"], ".2f"),
                    f(r["p99_ms"], ".2f"),
                    f"{f(r['calls_per_request'], '.2f')} / {f(r['calls_per_request_under_load'], '.2f')}",
                    f(r["rss_peak_mb"], ".0f"),
                    ("~" if r["biased"] and r["gateway_cpu_ms_per_request"] is not None else "")
                    + f(r["gateway_cpu_ms_per_request"], ".2f"),
                    f(r.get("ratio_ours_tailcall"), ".2f", ""),
                    f(r.get("ratio_ours_hive"), ".2f", ""),
                    f(r.get("ratio_ours_direct"), ".2f", ""),
                ]
            )
        widths = [max(len(h), *(len(ln[i]) for ln in lines)) if lines else len(h) for i, h in enumerate(head)]

        def fmt(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        out = [fmt(head), fmt(["-" * w for w in widths])]
        prev = None
        for ln in lines:
            if prev and ln[:2] != prev[:2]:
                out.append("")
            out.append(fmt(ln))
            prev = ln
        return "\n".join(out)

    # -- machine facts ------------------------------------------------------------------------
    def machine(self) -> dict:
        def cmd_out(cmd: list[str]) -> str:
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
                return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else ""
            except (OSError, subprocess.SubprocessError):
                return ""

        cpu = ""
        try:
            cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
        except (OSError, StopIteration):
            pass
        mem_kb = 0
        try:
            mem_kb = int(next(ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")))
        except (OSError, StopIteration):
            pass
        hive_pkg = json.loads((BENCH / "hive" / "package.json").read_text())["dependencies"]
        tailcall_pkg = json.loads((BENCH / "tailcall" / "package.json").read_text())["dependencies"]
        return {
            "cpus": os.cpu_count(),
            "cpu_model": cpu,
            "mem_gib": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(),
            "os": cmd_out(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
            "python": cmd_out([PYTHON, "--version"]),
            # The interpreter's build matters beside its version: a PGO+LTO build (Debian's python3, the
            # official Docker images) runs ours 6-10% faster than one built without (pyenv's default).
            "python_executable": cmd_out([PYTHON, "-c", "import sys; print(sys.executable)"]),
            "python_build": cmd_out([PYTHON, "-c", _PYTHON_BUILD]),
            # Our gateway's compiled hot modules (app/native.py): "on (N modules)" unless GATEWAY_NATIVE=false.
            "native": "off (GATEWAY_NATIVE=false)"
            if os.environ.get("GATEWAY_NATIVE", "").lower() in ("0", "false", "no", "off")
            else ensure_native(),
            "node": cmd_out(["node", "--version"]),
            "wrk": cmd_out(["wrk", "-v"]).split(" Copyright")[0],
            "hive_packages": hive_pkg,
            "tailcall_packages": tailcall_pkg,
            "git_commit": cmd_out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        }

    # -- main ---------------------------------------------------------------------------------
    def print_report(self, rows: list[dict], warnings: list[str]) -> None:
        """The table, start-up times, the upstream floor and the warnings."""
        print(
            f"\nupstream: {getattr(self, 'upstream_kind', '-')}"
            + (
                " (bench/stub_upstream.py: app.embedded_bifrost was not importable)"
                if getattr(self, "upstream_kind", "") == "stub"
                else " (app.embedded_bifrost, in-memory)"
            )
        )
        print(self.table(rows))
        ready = {g: [r["ready_s"] for r in self.ready if r["what"] == g] for g in GATEWAY_ORDER}
        if any(ready.values()):
            print("\nready after start (s): " + ", ".join(f"{LABELS[g]} {ready[g]}" for g in GATEWAY_ORDER if ready[g]))
        if any(r["biased"] for r in rows if r["gateway"] != "direct"):
            print("~ fewer than 10 completed requests per connection: CPU ms/req is inflated by in-flight work")
        if self.floors:
            print(f"\nupstream floor (direct throughput / what the fastest gateway asked of it; >= {FLOOR_FACTOR:g}x):")
            for floor in self.floors:
                print(
                    f"  {floor['mode']:8s} {floor['scenario']:9s} direct {floor['direct_ops']:8.0f} ops/s "
                    f"(c={floor['direct_concurrency']}) / {floor['demand_ops']:6.0f} ({floor['fastest']}) "
                    f"= {floor['ratio']:.2f}x"
                )
        for w in warnings:
            print(w)

    @classmethod
    def reprint(cls, args: argparse.Namespace, path: Path) -> int:
        """Print the report of an earlier run from its results file (nothing is started)."""
        data = json.loads(path.read_text())
        bench = cls.__new__(cls)
        bench.args, bench.runs, bench.ready, bench.floors = args, data["runs"], data["ready"], []
        bench.upstream_kind = data.get("upstream") or "-"
        bench.calls = {(r["mode"], r["scenario"], r["gateway"]): r["calls_per_request"] for r in data["summary"]}
        rows, warnings = bench.summarize()
        bench.print_report(rows, warnings)
        return 0

    def main(self) -> int:
        if shutil.which("wrk") is None:
            print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
            return 2
        if any(MODES[m]["gateway_cpus"] for m in self.args.modes) and (os.cpu_count() or 1) < 2:
            self.note("only one CPU: dropping the pinned mode")
            self.args.modes = [m for m in self.args.modes if not MODES[m]["gateway_cpus"]]
        if "hive" in self.args.gateways and shutil.which("node"):
            print("Hive: npm ci into bench/.cache/hive (when the lock file changed) ...", flush=True)
        machine = self.machine()
        print(
            f"machine: {machine['cpus']} x {machine['cpu_model']}, {machine['mem_gib']} GiB, "
            f"{machine['os']}, {machine['python']}, node {machine['node']}, {machine['wrk']}",
            flush=True,
        )
        started = time.time()
        status = 0
        try:
            for m in self.args.modes:
                self.run_mode(m)
        except KeyboardInterrupt:
            self.note("interrupted: stopping every process and writing what was measured")
            status = 130
        except Exception as e:  # report, clean up, keep what was measured
            self.note(f"ERROR: {type(e).__name__}: {e}")
            status = 1
        finally:
            self.procs.stop_all()
        rows, warnings = self.summarize()
        self.print_report(rows, warnings)
        for e in self.events:
            if "SKIP" in e or "ERROR" in e:
                print(e.strip().splitlines()[0])
        result = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "elapsed_s": round(time.time() - started, 1),
            "machine": machine,
            "upstream": getattr(self, "upstream_kind", None),
            "settings": {
                "rounds": self.args.rounds,
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "concurrency": self.args.concurrency,
                "modes": {m: MODES[m] for m in self.args.modes},
                "scenarios": self.args.scenarios,
                "gateways": self.args.gateways,
            },
            "documents": {g: GATEWAYS[g]["documents"] for g in GATEWAYS} | {"direct": DIRECT},
            "ready": self.ready,
            "checks": self.checks,
            "summary": rows,
            "upstream_floors": self.floors,
            "warnings": warnings,
            "events": self.events,
            "runs": self.runs,
        }
        self.out.write_text(json.dumps(result, indent=1))
        print(
            f"\nraw results: {self.out.relative_to(ROOT) if self.out.is_relative_to(ROOT) else self.out}"
            f"  (process logs in {self.work.relative_to(ROOT)})"
        )
        return status


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--rounds", type=int, default=int(env("BENCH_ROUNDS", "3")), help="rounds per gateway (BENCH_ROUNDS, 3)"
    )
    ap.add_argument(
        "--duration",
        type=float,
        default=float(env("BENCH_DURATION", "5")),
        help="seconds per wrk run (BENCH_DURATION, 5)",
    )
    ap.add_argument(
        "--warmup",
        type=float,
        default=float(env("BENCH_WARMUP", "5")),
        help="unrecorded warm-up seconds per gateway and scenario (BENCH_WARMUP, 5)",
    )
    ap.add_argument(
        "--concurrency",
        default=env("BENCH_CONCURRENCY", "1,20,64"),
        help="comma-separated connection counts (BENCH_CONCURRENCY, 1,20,64)",
    )
    ap.add_argument(
        "--scenarios",
        default=env("BENCH_SCENARIOS", ",".join(SCENARIOS)),
        help=f"subset of {','.join(SCENARIOS)} (BENCH_SCENARIOS)",
    )
    ap.add_argument(
        "--modes", default=env("BENCH_MODES", ",".join(MODES)), help=f"subset of {','.join(MODES)} (BENCH_MODES)"
    )
    ap.add_argument(
        "--gateways",
        default=env("BENCH_GATEWAYS", ",".join(DEFAULT_GATEWAYS)),
        help=f"subset of {','.join([*GATEWAY_ORDER, 'direct'])} (BENCH_GATEWAYS, {','.join(DEFAULT_GATEWAYS)}; "
        "ours-nc: ours without coalescing; floor*: bench/floor.py, lookups only)",
    )
    ap.add_argument(
        "--upstream",
        choices=["auto", "embedded", "stub"],
        default=env("BENCH_UPSTREAM", "auto"),
        help="embedded Bifrost server, the bench stub, or auto: embedded when importable",
    )
    ap.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for a gateway to be ready")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round x 3 s, 2 s warm-up")
    ap.add_argument("--out", help="results file (default bench/results/<timestamp>.json)")
    ap.add_argument("--report", metavar="RESULTS_JSON", help="print the report of an earlier run; run nothing")
    a = ap.parse_args(argv)
    if a.quick:
        a.rounds, a.duration, a.warmup = 1, 3.0, 2.0
    a.concurrency = [int(c) for c in str(a.concurrency).split(",") if c]
    a.scenarios = [s for s in SCENARIOS if s in a.scenarios.split(",")]
    a.modes = [m for m in MODES if m in a.modes.split(",")]
    a.gateways = [g for g in [*GATEWAY_ORDER, "direct"] if g in a.gateways.split(",")]
    return a


def main() -> int:
    args = parse_args()

    def on_term(signum, frame):  # SIGTERM/SIGHUP: clean up like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    if args.report:
        return Bench.reprint(args, Path(args.report))
    return Bench(args).main()


if __name__ == "__main__":
    sys.exit(main())
