"""The public surface other parts of the project rely on."""

from __future__ import annotations

import collections
import inspect
import signal
import subprocess
import sys
import time

import httpx
import pytest
from bifrost_helpers import free_port

import app.embedded_bifrost as embedded
from app.embedded_bifrost import RequestRecord, create_app
from app.embedded_bifrost import __main__ as cli
from app.embedded_bifrost.__main__ import main
from app.generations import SEED, V1_5, V2, Generation, generation_named


def test_exported_members() -> None:
    assert sorted(embedded.__all__) == ["BifrostApp", "RequestRecord", "create_app"]


def test_create_app_signature() -> None:
    parameters = inspect.signature(create_app).parameters
    assert {name: p.default for name, p in parameters.items()} == {
        "database": ":memory:",
        "generation": "v2",
        "auth": None,
        "version": None,
        "expose_version": True,
        "demo": False,
        "vk_rotation_cooldown": None,
    }


def test_request_log_is_bounded_deque_of_records() -> None:
    log = create_app().state.request_log
    assert isinstance(log, collections.deque) and log.maxlen == 100_000
    assert RequestRecord._fields == ("method", "path", "query")


def test_create_app_rejects_unknown_generation() -> None:
    with pytest.raises(ValueError, match="generation") as error:
        create_app(generation="v3")
    for name in ("'seed'", "'v1.5'", "'current'", "'v2'"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("generation", "served"), [("seed", SEED), ("v1.5", V1_5), ("current", V1_5), ("v2", V2), (V2, V2), (SEED, SEED)]
)
def test_create_app_takes_a_generation_or_any_of_its_names(generation: str | Generation, served: Generation) -> None:
    app = create_app(generation=generation)
    assert app.context.generation is served
    assert app.context.store.generation is served and app.context.views.generation is served


@pytest.mark.parametrize("name", ["seed", "v1.5", "current", "v2"])
def test_cli_generation_takes_names_and_aliases(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Generation] = []
    monkeypatch.setattr(cli, "serve", lambda app, host, port: served.append(app.context.generation))
    main(["--generation", name])
    assert served == [generation_named(name)]


def test_cli_refuses_an_unknown_generation(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--generation", "v3"])
    assert exit_info.value.code == 2
    assert "'v2'" in capsys.readouterr().err


def test_cli_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    options = (
        "--host",
        "--port",
        "--database",
        "--generation",
        "--demo",
        "--auth-user",
        "--auth-password",
        "--server",
        "--vk-rotation-cooldown",
    )
    for option in options:
        assert option in help_text


@pytest.mark.parametrize("server", ["lean", "uvicorn"])
def test_cli_serves_until_sigterm(server: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.embedded_bifrost", "--port", str(port), "--server", server, "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/governance/teams", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "the server did not start"
                time.sleep(0.05)
        assert answer.status_code == 200 and answer.json()["teams"]
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down cleanly
        assert process.wait(timeout=10) == (0 if server == "lean" else -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
