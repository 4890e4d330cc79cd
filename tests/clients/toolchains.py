"""The example clients' code generators, installed once from their pinned versions (npm ci, a pip venv).

Each install is kept beside its example (git-ignored) with a stamp of the lockfile it came from, so a second
run on a developer's machine reuses it; a clean clone (CI) always installs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.system_programs import require_program

__all__ = ["PYTHON_EXAMPLE", "TYPESCRIPT_EXAMPLE", "ariadne_codegen", "node", "npm_installed", "run"]

EXAMPLES = Path(__file__).parents[2] / "examples"
TYPESCRIPT_EXAMPLE = EXAMPLES / "typescript"
PYTHON_EXAMPLE = EXAMPLES / "python"
_STAMP = ".installed-from"


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end (no stdin); output is kept for the assertion message."""
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _checked(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"


def _fresh(folder: Path, lockfile: Path) -> bool:
    digest = hashlib.sha256(lockfile.read_bytes()).hexdigest()
    stamp = folder / _STAMP
    return stamp.is_file() and stamp.read_text() == digest


def _stamp(folder: Path, lockfile: Path) -> None:
    (folder / _STAMP).write_text(hashlib.sha256(lockfile.read_bytes()).hexdigest())


def node() -> str:
    """The ``node`` executable (fails in CI, skips elsewhere, when missing)."""
    path = shutil.which("node")
    require_program(path, "nodejs", "the TypeScript client example")
    assert path is not None
    return path


def npm_installed() -> Path:
    """``examples/typescript/node_modules`` installed by ``npm ci`` from the committed package-lock.json."""
    node()
    npm = shutil.which("npm")
    require_program(npm, "npm", "the TypeScript client example")
    assert npm is not None
    modules = TYPESCRIPT_EXAMPLE / "node_modules"
    lockfile = TYPESCRIPT_EXAMPLE / "package-lock.json"
    if not _fresh(modules, lockfile):
        _checked(run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], TYPESCRIPT_EXAMPLE))
        _stamp(modules, lockfile)
    return modules


def ariadne_codegen() -> Path:
    """The ``ariadne-codegen`` of a venv of its own, installed from ``examples/python/requirements.txt``.

    Not a dev extra: it needs graphql-core < 3.3 and its own ruff, which the gateway's environment does not have.
    """
    venv = PYTHON_EXAMPLE / ".venv-codegen"
    requirements = PYTHON_EXAMPLE / "requirements.txt"
    if not _fresh(venv, requirements):
        shutil.rmtree(venv, ignore_errors=True)
        _checked(run([sys.executable, "-m", "venv", str(venv)], PYTHON_EXAMPLE))
        _checked(
            run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(requirements)], PYTHON_EXAMPLE)
        )
        _stamp(venv, requirements)
    return venv / "bin" / "ariadne-codegen"
