"""``make native``: compile the hot modules of ``app.native.MODULES`` with mypyc into ``.native/<interpreter>/``.

    python -m app.native_build           # build (about a minute on two cores); exit 1, and why, when it cannot
    python -m app.native_build status    # on, off, not built, or stale (and which source changed)

Needs a C compiler and Python's headers (Debian: ``gcc`` and ``python3-dev``; pyenv's and the official images'
interpreters carry their headers) and mypy (the ``native`` extra). Without them the gateway runs interpreted.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

from app.native import MANIFEST, MODULES, ROOT, build_dir, check, digest, interpreter, source_of

__all__ = ["build"]

_MYPY_INI = """\
[mypy]
python_version = 3.11
plugins = pydantic.mypy, strawberry.ext.mypy_plugin
strict_optional = True
ignore_missing_imports = True
"""


def raise_from_rewritten(source: str) -> str:
    """``source`` with each ``raise X from Y`` written ``raise _native_with_cause(X, Y)`` (``app.native.with_cause``),
    on the same lines, and the helper imported on the line of ``from __future__ import annotations``.

    mypyc ignores ``from`` in a ``raise``; the rewritten statement means what the original means interpreted.

    Example:
        >>> print(raise_from_rewritten("from __future__ import annotations\\nraise KeyError(k) from None\\n"), end="")
        from __future__ import annotations; from app.native import with_cause as _native_with_cause
        raise _native_with_cause(KeyError(k), None)
    """
    tree = ast.parse(source)
    raises = [node for node in ast.walk(tree) if isinstance(node, ast.Raise) and node.cause is not None]
    if not raises:
        return source
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode()))
    data = source.encode()

    def offset(line: int, column: int) -> int:  # ast columns are UTF-8 byte offsets
        return starts[line - 1] + column

    edits: list[tuple[int, int, bytes]] = []
    for node in raises:
        assert node.exc is not None and node.cause is not None
        exc_start = offset(node.exc.lineno, node.exc.col_offset)
        exc_end = offset(node.exc.end_lineno or node.exc.lineno, node.exc.end_col_offset or 0)
        cause_start = offset(node.cause.lineno, node.cause.col_offset)
        cause_end = offset(node.cause.end_lineno or node.cause.lineno, node.cause.end_col_offset or 0)
        replaced = b"_native_with_cause(" + data[exc_start:exc_end] + b", " + data[cause_start:cause_end] + b")"
        edits.append((exc_start, cause_end, replaced))
    for start, end, replaced in sorted(edits, reverse=True):
        data = data[:start] + replaced + data[end:]
    text = data.decode()
    future = "from __future__ import annotations\n"
    if future not in text:
        raise RuntimeError("a compiled module must start with 'from __future__ import annotations'")
    return text.replace(future, future[:-1] + "; from app.native import with_cause as _native_with_cause\n", 1)


def build(native_dir: Path | None = None, *, quiet: bool = True) -> None:
    """Compile ``MODULES`` into ``native_dir`` (replaced whole, only when the build succeeds).

    The package is copied to a scratch directory and compiled there, so the checkout never holds a compiled file
    beside a source (where Python would prefer it, with no way to turn it off)."""
    native_dir = native_dir or build_dir()
    native_dir.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gateway-native-") as scratch:
        work = Path(scratch)
        shutil.copytree(ROOT / "app", work / "app", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        (work / "mypy.ini").write_text(_MYPY_INI)
        for module in MODULES:
            source = source_of(module, work)
            source.write_text(raise_from_rewritten(source.read_text()))
        sources = [str(source_of(module, work).relative_to(work)) for module in MODULES]
        command = [sys.executable, "-m", "mypyc", "--config-file", "mypy.ini", *sources]
        env = {**os.environ, "MYPYC_OPT_LEVEL": os.environ.get("MYPYC_OPT_LEVEL", "3")}
        done = subprocess.run(command, cwd=work, env=env, capture_output=quiet, text=True)
        if done.returncode != 0:
            detail = (done.stdout + done.stderr)[-4000:] if quiet else ""
            raise RuntimeError(f"mypyc failed ({done.returncode})\n{detail}")
        suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
        staged = Path(tempfile.mkdtemp(prefix=".native-", dir=native_dir.parent))
        files: dict[str, str] = {}
        for built in work.rglob(f"*{suffix}"):
            relative = built.relative_to(work)
            if relative.parts[0] == "build":
                continue
            name = ".".join(relative.parts)[: -len(suffix)]
            (staged / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, staged / relative)
            files[name] = str(relative)
        missing = [module for module in MODULES if module not in files]
        if missing:
            shutil.rmtree(staged)
            raise RuntimeError(f"mypyc built no module for {', '.join(missing)}")
        manifest = {
            "interpreter": interpreter(),
            "modules": {module: digest(source_of(module)) for module in MODULES},
            "files": files,
        }
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if native_dir.exists():
            shutil.rmtree(native_dir)
        staged.rename(native_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["status"]:
        print(f"compiled modules: {check(build_dir())[0]}")
        return 0
    if not args:
        try:
            build()
        except (RuntimeError, OSError) as error:
            print(f"compiled modules not built, the gateway runs interpreted: {error}", file=sys.stderr)
            return 1
        print(f"compiled modules: {check(build_dir())[0]} in {build_dir().relative_to(ROOT)}/")
        return 0
    print("usage: python -m app.native_build [status]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
