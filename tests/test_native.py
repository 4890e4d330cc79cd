"""The compiled hot modules (app/native.py): used only when built by this interpreter from the sources as they
are, never mixed with their sources, and off with GATEWAY_NATIVE=false.

The whole suite is the differential test: CI runs it with the modules compiled (``make native
NATIVE_REQUIRED=1``) and the gateway tests again with ``GATEWAY_NATIVE=false`` (Makefile).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import app.schema.compiled
import app.web.graphql_http
from app import native
from app.native_build import raise_from_rewritten

ROOT = Path(__file__).resolve().parent.parent

# Prints the status and, per compiled module, whether it came from its compiled file.
PROBE = """
import importlib, json
from app import native
loaded = {name: native.is_native(importlib.import_module(name)) for name in native.MODULES}
print(json.dumps({"status": native.STATUS, "loaded": loaded}))
"""


def probe(cwd: Path, **env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd), "GATEWAY_NATIVE": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_this_process_runs_what_its_status_says() -> None:
    modules = [app.schema.compiled, app.web.graphql_http]
    if native.STATUS.startswith("on"):
        assert all(native.is_native(module) for module in modules)
    else:
        assert not any(native.is_native(module) for module in modules)
    if os.environ.get("CI") == "true" and os.environ.get("GATEWAY_NATIVE") != "false":
        # CI builds them (NATIVE_REQUIRED=1): the suite must not quietly run interpreted.
        assert native.STATUS.startswith("on"), native.STATUS


def test_gateway_native_false_runs_every_module_from_its_source() -> None:
    result = probe(ROOT, GATEWAY_NATIVE="false")
    assert result["status"] == "off (GATEWAY_NATIVE=false)"
    assert result["loaded"] == dict.fromkeys(native.MODULES, False)


def copy_of_checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "app", copy / "app", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def write_build(checkout: Path, modules: dict[str, str], files: dict[str, str] | None = None) -> Path:
    """A build directory for this interpreter holding ``modules`` (name -> source digest)."""
    build = checkout / ".native" / native.build_dir().name
    build.mkdir(parents=True)
    names = files if files is not None else {name: name.replace(".", "/") + ".so" for name in modules}
    for relative in names.values():
        (build / relative).parent.mkdir(parents=True, exist_ok=True)
        (build / relative).write_bytes(b"not a compiled module")
    manifest = {"interpreter": native.interpreter(), "modules": modules, "files": names}
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    return build


def digests(checkout: Path) -> dict[str, str]:
    return {name: native.digest(native.source_of(name, checkout)) for name in native.MODULES}


def test_a_checkout_without_a_build_runs_interpreted(tmp_path: Path) -> None:
    checkout = copy_of_checkout(tmp_path)
    result = probe(checkout)
    assert result["status"] == "not built"
    assert result["loaded"] == dict.fromkeys(native.MODULES, False)


def test_a_source_edited_after_the_build_makes_the_whole_build_unused(tmp_path: Path) -> None:
    checkout = copy_of_checkout(tmp_path)
    write_build(checkout, digests(checkout))
    edge = checkout / "app" / "web" / "edge.py"
    edge.write_text(edge.read_text() + "\n# edited\n")
    result = probe(checkout)
    # The files of the build are not modules at all: had anything been loaded from them, the import would fail.
    assert result["status"] == "stale: app/web/edge.py changed since the build (make native)"
    assert result["loaded"] == dict.fromkeys(native.MODULES, False)


@pytest.mark.parametrize(
    ("spoil", "status"),
    [
        ("interpreter", "unusable: built by another interpreter (make native)"),
        ("modules", "stale: the list of compiled modules changed (make native)"),
        ("file", "unusable: a compiled file is missing (make native)"),
        ("manifest", "unusable: .native/manifest.json cannot be read (make native)"),
        ("outside", "unusable: a compiled file lies outside the build (make native)"),
    ],
)
def test_a_build_that_does_not_match_is_not_used(tmp_path: Path, spoil: str, status: str) -> None:
    checkout = copy_of_checkout(tmp_path)
    modules = digests(checkout)
    if spoil == "modules":
        modules.pop(native.MODULES[-1])
    build = write_build(checkout, modules)
    manifest_path = build / native.MANIFEST
    if spoil == "interpreter":
        manifest = json.loads(manifest_path.read_text())
        manifest["interpreter"]["version"] = "3.99.0"
        manifest_path.write_text(json.dumps(manifest))
    elif spoil == "file":
        (build / "app" / "web" / "edge.so").unlink()
    elif spoil == "manifest":
        manifest_path.write_text("{not json")
    elif spoil == "outside":
        manifest = json.loads(manifest_path.read_text())
        (checkout / "elsewhere.so").write_bytes(b"not a compiled module")
        manifest["files"]["app.web.edge"] = "../../elsewhere.so"
        manifest_path.write_text(json.dumps(manifest))
    assert native.check(build, checkout) == (status, None)
    result = probe(checkout)
    assert result["status"] == status
    assert result["loaded"] == dict.fromkeys(native.MODULES, False)


def test_a_current_build_is_what_the_modules_load_from(tmp_path: Path) -> None:
    """With matching digests the finder hands out the build's files: here they are not modules, so the import
    fails loudly (the real build is loaded the same way; the first test checks it in this process)."""
    checkout = copy_of_checkout(tmp_path)
    write_build(checkout, digests(checkout))
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout), "GATEWAY_NATIVE": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    assert "not a compiled module" not in done.stderr  # nothing of the file's content is echoed


@pytest.mark.parametrize("value", ["false", "FALSE", " off ", "0", "no", "n", "f"])
def test_every_false_value_of_the_setting_turns_them_off(value: str) -> None:
    result = probe(ROOT, GATEWAY_NATIVE=value)
    assert result["status"] == "off (GATEWAY_NATIVE=false)"
    assert result["loaded"] == dict.fromkeys(native.MODULES, False)


def test_a_value_that_is_not_a_boolean_is_refused_at_start_naming_the_setting() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env={**os.environ, "GATEWAY_NATIVE": "sometimes", "GATEWAY_PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "GATEWAY_NATIVE" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_build_rewrites_every_raise_from_of_a_compiled_module_on_the_same_lines() -> None:
    for module in native.MODULES:
        source = native.source_of(module).read_text()
        rewritten = raise_from_rewritten(source)
        assert len(rewritten.splitlines()) == len(source.splitlines()), module
        tree = ast.parse(rewritten)
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.Raise) and node.cause is not None], module


def test_a_rewritten_raise_from_means_what_the_original_means() -> None:
    source = (
        "from __future__ import annotations\n"
        "def hidden():\n"
        "    try:\n"
        "        raise OSError('connect to 10.0.0.7:8080 failed')\n"
        "    except OSError:\n"
        "        raise ValueError('no connection') from None\n"
        "def chained():\n"
        "    try:\n"
        "        raise OSError('inner')\n"
        "    except OSError as error:\n"
        "        raise TimeoutError from error\n"
    )
    for text in (source, raise_from_rewritten(source)):
        namespace: dict[str, object] = {}
        exec(compile(text, "<module>", "exec"), namespace)
        with pytest.raises(ValueError) as hidden:
            namespace["hidden"]()  # type: ignore[operator]
        assert hidden.value.__cause__ is None and hidden.value.__suppress_context__
        assert "10.0.0.7" not in "".join(traceback.format_exception(hidden.value))
        with pytest.raises(TimeoutError) as chained:
            namespace["chained"]()  # type: ignore[operator]
        assert isinstance(chained.value.__cause__, OSError) and chained.value.__suppress_context__
