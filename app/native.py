"""The gateway's hot modules compiled to C with mypyc, loaded in place of their sources when built and current.

Every request passes through the same few modules (the HTTP edge, the endpoint, compiled execution, the Bifrost
client and its wire); interpreted, their bytecode is most of a request's CPU. ``make native`` (run by ``make run``,
``make test`` and ``make bench``) compiles them with mypyc into ``.native/`` beside the package; the sources stay
where they are and stay the reference: the compiled modules are the same code, type-checked and translated, and the
test suite runs on both (``make test``: the whole suite compiled; the gateway tests, and the tests that replace a
name inside a compiled module, interpreted).

When the compiled modules are used (decided once, when ``app`` is imported):
- ``.native/<interpreter>/manifest.json`` exists, was built by this interpreter (executable, version and
  extension suffix: one build per interpreter, so a benchmark's other venv has its own), and the
  SHA-256 of every compiled module's source matches: a source edited since the build makes the whole set unused
  (the modules call each other directly in C, so it is all or none) until ``make native`` runs again;
- ``GATEWAY_NATIVE`` is not ``false`` (``GATEWAY_NATIVE=false`` runs every module from its source).

``STATUS`` says which and why; the gateway logs it at start. Without a C compiler or Python's headers the build
says so and the gateway runs interpreted, as before.

    python -m app.native_build          # what ``make native`` runs
    python -m app.native_build status   # on, off, not built, or stale (and which source changed)
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["MODULES", "NATIVE_DIR", "STATUS", "install", "is_native", "with_cause"]

ROOT = Path(__file__).resolve().parent.parent
NATIVE_DIR = ROOT / ".native"
MANIFEST = "manifest.json"
OFF_VALUES = frozenset(("0", "false", "f", "no", "n", "off"))  # pydantic's false values (Settings.gateway_native)

# The request path, module by module (``python bench/profile_layers.py`` charges their samples by file). Modules
# that define Strawberry or pydantic types stay interpreted: both libraries read their classes' Python metadata.
MODULES: tuple[str, ...] = (
    "app.http_limits",
    "app.metric_series",
    "app.bifrost.breaker",
    "app.bifrost.client",
    "app.bifrost.coalesce",
    "app.bifrost.deadline",
    "app.bifrost.h1wire",
    "app.bifrost.memo",
    "app.schema.compiled",
    "app.web.callers",
    "app.web.edge",
    "app.web.graphql_http",
    "app.web.request_headers",
    "app.web.shared_queries",
    "app.web.upstream",
)

STATUS = "not decided"
"""``on (N modules)``, ``off (GATEWAY_NATIVE=false)``, ``not built``, ``stale: ...`` or ``unusable: ...``."""


def source_of(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def interpreter() -> dict[str, str]:
    return {
        "version": sys.version,
        "executable": sys.executable,
        "ext_suffix": str(sysconfig.get_config_var("EXT_SUFFIX")),
    }


def build_dir() -> Path:
    """One build per interpreter (the project venv, another one for a benchmark): ``.native/<tag>/``."""
    tag = hashlib.sha256(json.dumps(interpreter(), sort_keys=True).encode()).hexdigest()[:16]
    return NATIVE_DIR / tag


class _NativeFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules (and the library they share) in ``.native/``; everything else as usual."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        found = self.paths.get(fullname)
        if found is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(found))
        return importlib.util.spec_from_file_location(fullname, found, loader=loader)


def check(native_dir: Path, root: Path = ROOT) -> tuple[str, dict[str, Path] | None]:
    """The build in ``native_dir`` for the sources under ``root``: its status, and its files by module when usable."""
    manifest_path = native_dir / MANIFEST
    if not manifest_path.is_file():
        return "not built", None
    try:
        manifest = json.loads(manifest_path.read_text())
        built_by, modules, files = manifest["interpreter"], manifest["modules"], manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "unusable: .native/manifest.json cannot be read (make native)", None
    if built_by != interpreter():
        return "unusable: built by another interpreter (make native)", None
    if set(modules) != set(MODULES):
        return "stale: the list of compiled modules changed (make native)", None
    for module, expected in modules.items():
        source = source_of(module, root)
        if not source.is_file() or digest(source) != expected:
            return f"stale: {source.relative_to(root)} changed since the build (make native)", None
    paths = {name: native_dir / relative for name, relative in files.items()}
    if not all(path.resolve().is_relative_to(native_dir.resolve()) for path in paths.values()):
        return "unusable: a compiled file lies outside the build (make native)", None
    if not all(path.is_file() for path in paths.values()):
        return "unusable: a compiled file is missing (make native)", None
    return f"on ({len(modules)} modules)", paths


def install(native_dir: Path | None = None) -> str:
    """Use the compiled modules when they are built and current and ``GATEWAY_NATIVE`` allows; returns ``STATUS``.

    Runs when ``app`` is imported, before any of the modules it compiles."""
    global STATUS
    if os.environ.get("GATEWAY_NATIVE", "true").strip().lower() in OFF_VALUES:
        STATUS = "off (GATEWAY_NATIVE=false)"
        return STATUS
    STATUS, paths = check(native_dir or build_dir())
    if paths is not None and not any(isinstance(finder, _NativeFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NativeFinder(paths))  # ``app`` is imported before any of its modules
    return STATUS


def is_native(module: ModuleType) -> bool:
    """True when ``module`` was loaded from its compiled file."""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)


def with_cause(error: BaseException | type[BaseException], cause: BaseException | None) -> BaseException:
    """``raise error from cause`` for the compiled modules: mypyc compiles ``raise X from Y`` as ``raise X``, which
    would drop the cause and show the context ``from None`` hides (an upstream's address, a header's value). The
    build (``app/native_build.py``) writes each such ``raise`` of a compiled module as ``raise with_cause(X, Y)``.

    Example:
        >>> with_cause(ValueError("bad"), None).__suppress_context__
        True
    """
    if isinstance(error, type):
        error = error()
    error.__cause__ = cause  # also sets __suppress_context__, as ``raise ... from`` does
    return error
