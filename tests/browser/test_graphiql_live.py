"""GraphiQL runs a live subscription in Chromium: ``budgetUsage`` shows a key's usage change as it spends.

Two real processes: the embedded Bifrost-compatible server (``python -m app.embedded_bifrost``, v2, so that it
answers ``POST /v1/chat/completions``) and the gateway (``python -m app``) in front of it. The test arranges a
key with a budget through the embedded server's REST API, starts the "Watch budget usage" example in GraphiQL
with that key's id, spends through the embedded server's chat completions as a client of Bifrost would, and
reads the result pane until the push carries the new usage, which must equal what the embedded server counted.
Chromium, as in ``test_graphiql.py``: CI fails without it, a developer's machine skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from tests.browser.test_graphiql import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLEAR_RESULT_JS,
    HEADERS_SHOWN_JS,
    QUERY_JS,
    REPO_ROOT,
    RESULT_JS,
    SET_HEADERS_JS,
    STARTUP_TIMEOUT_S,
    _free_port,
    _leaves_gateway,
    require_chromium,
)

pytestmark = pytest.mark.browser

VKS = "/api/governance/virtual-keys"
# Polls often, so that the test is quick; nothing here measures time.
POLL_INTERVAL_S = "0.2"


@dataclass(frozen=True)
class Stack:
    gateway_url: str
    bifrost_url: str
    logs: tuple[Path, ...]

    def log(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')}" for path in self.logs)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"no answer from {url} in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The embedded v2 server and the gateway in front of it, each on a free port."""
    bifrost_port, gateway_port = _free_port(), _free_port()
    bifrost_url, gateway_url = f"http://127.0.0.1:{bifrost_port}", f"http://127.0.0.1:{gateway_port}"
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith(("BIFROST_", "EMBEDDED_"))}
    env.update(
        BIFROST_URL=bifrost_url,
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(gateway_port),
        GATEWAY_ENV="development",
        WEB_CONCURRENCY="1",
        PYTHONUNBUFFERED="1",
        LIVE_POLL_INTERVAL=POLL_INTERVAL_S,
    )
    with tempfile.TemporaryDirectory(prefix="live-") as tmp:
        bifrost_log, gateway_log = Path(tmp) / "bifrost.log", Path(tmp) / "gateway.log"
        with bifrost_log.open("wb") as bifrost_out, gateway_log.open("wb") as gateway_out:
            bifrost = subprocess.Popen(
                [sys.executable, "-m", "app.embedded_bifrost", "--port", str(bifrost_port), "--generation", "v2"],
                cwd=REPO_ROOT,
                env=env,
                stdout=bifrost_out,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_healthy(bifrost, f"{bifrost_url}/health", bifrost_log)
                gateway = subprocess.Popen(
                    [sys.executable, "-m", "app"], cwd=REPO_ROOT, env=env, stdout=gateway_out, stderr=subprocess.STDOUT
                )
                try:
                    _wait_healthy(gateway, f"{gateway_url}/healthz", gateway_log)
                    yield Stack(gateway_url, bifrost_url, (gateway_log, bifrost_log))
                finally:
                    _stop(gateway)
            finally:
                _stop(bifrost)


def _spending_key(bifrost_url: str) -> dict[str, Any]:
    """A key allowed every OpenAI model, with a budget of its own."""
    body = {
        "name": f"live-{os.urandom(4).hex()}",
        "budgets": [{"max_limit": 100, "reset_duration": "1M"}],
        "provider_configs": [{"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}],
    }
    response = httpx.post(f"{bifrost_url}{VKS}", json=body, timeout=10.0)
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


def _chat(bifrost_url: str, value: str) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "How much does this cost? " * 20}]}
    response = httpx.post(f"{bifrost_url}/v1/chat/completions", json=body, headers={"x-bf-vk": value}, timeout=10.0)
    assert response.status_code == 200, response.text


def _budget_usage(bifrost_url: str, key_id: str) -> float:
    response = httpx.get(f"{bifrost_url}{VKS}/{key_id}", timeout=10.0)
    assert response.status_code == 200, response.text
    [budget] = response.json()["virtual_key"]["budgets"]
    usage: float = budget["current_usage"]
    return usage


# Writes into the variables editor, as a user editing the example's variables would.
SET_VARIABLES_JS = "(text) => document.querySelector('.graphiql-editor-tool .CodeMirror').CodeMirror.setValue(text)"
ACTIVE_TAB_NAMED_JS = "(name) => (document.querySelector('.graphiql-tab-active')?.textContent || '').includes(name)"
# The result pane holds a push whose key budget shows usage above zero (or errors).
SPENT_JS = f"""() => {{
    const text = ({RESULT_JS})();
    if (text.includes('"errors"')) return true;
    try {{
        const counters = JSON.parse(text).data.budgetUsage.counters;
        return counters.some((counter) => counter.budget && counter.budget.currentUsage > 0);
    }} catch (error) {{
        return false;
    }}
}}"""
FIRST_PUSH_JS = f"""() => {{
    const text = ({RESULT_JS})();
    return text.includes('"initial": true') || text.includes('"errors"');
}}"""


def test_graphiql_budget_usage_shows_a_keys_spend_as_it_happens(stack: Stack, tmp_path: Path) -> None:
    require_chromium()
    key = _spending_key(stack.bifrost_url)
    console_errors: list[str] = []
    requests: list[str] = []
    screenshot = tmp_path / "live.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.goto(f"{stack.gateway_url}/graphql", wait_until="load")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            try:
                page.click('button[aria-label="Show Examples"]')
                page.click('button[data-example="Watch budget usage"]', timeout=10_000)
                page.wait_for_function(
                    f"() => ({QUERY_JS})().includes('subscription WatchBudgetUsage')", timeout=10_000
                )
                page.wait_for_function(ACTIVE_TAB_NAMED_JS, arg="WatchBudgetUsage", timeout=10_000)
                page.evaluate(SET_VARIABLES_JS, json.dumps({"virtualKeyIds": [key["id"]]}))
                # The Headers tab goes with subscriptions too: a key the gateway does not know is refused
                # before any stream opens, and the refusal shows in the result pane as a query's would.
                page.click(".graphiql-editor-tools button:has-text('Headers')")
                page.wait_for_function(HEADERS_SHOWN_JS, timeout=10_000)
                page.evaluate(SET_HEADERS_JS, json.dumps({"X-Gateway-Key": "gk_not-a-key-of-this-gateway-0123456789"}))
                page.click(".graphiql-execute-button")
                page.wait_for_function(f"() => ({RESULT_JS})().includes('errors')", timeout=20_000)
                refused = json.loads(page.evaluate(RESULT_JS))
                page.evaluate(SET_HEADERS_JS, "{}")
                page.evaluate(CLEAR_RESULT_JS)

                page.click(".graphiql-execute-button")
                page.wait_for_function(FIRST_PUSH_JS, timeout=20_000)
                first = json.loads(page.evaluate(RESULT_JS))

                _chat(stack.bifrost_url, key["value"])
                page.wait_for_function(SPENT_JS, timeout=20_000)
                pushed = json.loads(page.evaluate(RESULT_JS))
                page.click(".graphiql-execute-button")  # stops the subscription
            except PlaywrightTimeoutError as error:
                page.screenshot(path=str(screenshot))
                pytest.fail(
                    f"{error}; pane: {page.evaluate(RESULT_JS)!r}; console: {console_errors}; "
                    f"screenshot: {screenshot}\n{stack.log()}"
                )
        finally:
            browser.close()

    assert [error["extensions"]["code"] for error in refused["errors"]] == ["UNAUTHENTICATED"], refused
    assert "errors" not in first, first
    assert first["data"]["budgetUsage"]["initial"] is True
    [initial_budget] = [c["budget"] for c in first["data"]["budgetUsage"]["counters"] if c["budget"]]
    assert initial_budget["currentUsage"] == 0
    assert "errors" not in pushed, pushed
    update = pushed["data"]["budgetUsage"]
    assert update["initial"] is False
    [spent] = [c for c in update["counters"] if c["budget"]]
    assert spent["owner"] == {"kind": "VIRTUAL_KEY", "id": key["id"], "name": key["name"], "provider": None}
    assert spent["budget"]["currentUsage"] == pytest.approx(_budget_usage(stack.bifrost_url, key["id"]))
    assert spent["budget"]["currentUsage"] > 0
    console_errors = [error for error in console_errors if "401" not in error]  # the refused key's answer
    assert not console_errors, f"browser console errors: {console_errors}"
    assert not [url for url in requests if _leaves_gateway(url)], "requests to other hosts"
