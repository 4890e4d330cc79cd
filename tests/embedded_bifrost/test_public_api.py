"""The public surface other parts of the project rely on."""

from __future__ import annotations

import collections
import inspect

import pytest

import app.embedded_bifrost as embedded
from app.embedded_bifrost import RequestRecord, create_app
from app.embedded_bifrost.__main__ import main


def test_exported_members() -> None:
    assert sorted(embedded.__all__) == ["BifrostApp", "RequestRecord", "create_app"]


def test_create_app_signature() -> None:
    parameters = inspect.signature(create_app).parameters
    assert {name: p.default for name, p in parameters.items()} == {
        "database": ":memory:",
        "generation": "current",
        "auth": None,
        "version": None,
        "expose_version": True,
        "demo": False,
    }


def test_request_log_is_bounded_deque_of_records() -> None:
    log = create_app().state.request_log
    assert isinstance(log, collections.deque) and log.maxlen == 100_000
    assert RequestRecord._fields == ("method", "path", "query")


def test_create_app_rejects_unknown_generation() -> None:
    with pytest.raises(ValueError, match="generation"):
        create_app(generation="v2")


def test_cli_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--host", "--port", "--database", "--generation", "--demo", "--auth-user", "--auth-password"):
        assert option in help_text
