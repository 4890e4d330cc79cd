"""GraphiQL served by the gateway: the page and its assets over plain HTTP, then a real headless Chromium run.

The gateway runs as ``python -m app`` in a subprocess, with no BIFROST_URL (so against the embedded
Bifrost-compatible server). The browser test needs /usr/bin/chromium (Debian's ``chromium`` package). CI
(``CI=true``, where ``.ci/run`` installs it) fails without it; on a developer's machine that has only Python, pip
and make, it is skipped with a reason that says how to run it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from graphql import FieldNode, OperationDefinitionNode, SelectionSetNode, parse
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from app.keys import entry_for
from tests.system_programs import require_program

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 30.0
# A gateway key the test gateway knows, typed into GraphiQL's headers tab as the page's comment says.
GRAPHIQL_KEY = "gk_graphiql-0123456789abcdefghijklmnopqrstuvwxyz"
EXPECTED_CONTENT_TYPES = {".js": "javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Gateway:
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _gateway_env(port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.upper() != "BIFROST_URL"}
    env.update(
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(port),
        GATEWAY_ENV="development",
        WEB_CONCURRENCY="1",
        PYTHONUNBUFFERED="1",
        GATEWAY_API_KEYS=entry_for("graphiql", GRAPHIQL_KEY),
    )
    return env


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """The real gateway (``python -m app``) on a free port, stopped after the module's tests."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="gateway-") as tmp:
        log_path = Path(tmp) / "gateway.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "app"],
                cwd=REPO_ROOT,
                env=_gateway_env(port),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + STARTUP_TIMEOUT_S
                while True:
                    if process.poll() is not None:
                        pytest.fail(f"the gateway exited with {process.returncode}:\n{log_path.read_text()}")
                    try:
                        if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        pytest.fail(f"no answer from /healthz in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()}")
                    time.sleep(0.1)
                yield Gateway(base_url, log_path)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/graphiql/static/[^"]+)"', page)


def test_graphiql_page_and_assets_over_http(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.base_url, timeout=10.0) as client:
        response = client.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert "<title>GraphiQL" in page
        assert "Content-Security-Policy" in page
        # No inline executable script: only src= scripts and the JSON config element.
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        # Nothing is loaded from another host.
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page)

        config_text = re.search(r'<script id="graphiql-config" type="application/json">(.*?)</script>', page, re.S)
        assert config_text is not None
        config = json.loads(config_text.group(1))
        assert config["url"] == "/graphql"
        # The first saved example, createTeam, is the first tab; a new tab starts from a small valid query.
        create_team = config["examples"][0]
        assert "createTeam(input: $input)" in create_team["query"]
        assert json.loads(create_team["variables"]) == {
            "input": {"name": "my-first-team", "budget": {"maxLimit": 100, "resetDuration": "1M"}}
        }
        assert "query MyQuery" in config["defaultQuery"]
        assert json.loads(config["defaultHeaders"]) == {}

        assets = _asset_urls(page)
        names = {url.rsplit("/", 1)[1] for url in assets}
        assert names == {
            "graphiql.min.css",
            "react.production.min.js",
            "react-dom.production.min.js",
            "graphiql.min.js",
            "graphiql-plugin-explorer.css",
            "graphiql-plugin-explorer.umd.js",
            "graphql-sse.min.js",
            "boot.js",
        }
        for url in assets:
            asset = client.get(url)
            assert asset.status_code == 200, url
            expected = EXPECTED_CONTENT_TYPES[Path(url).suffix]
            assert expected in asset.headers["content-type"], (url, asset.headers["content-type"])
            assert len(asset.content) > 0, url

        # A GET with a query is still GraphQL, not the page.
        api = client.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/html"})
        assert "<html" not in api.text


RESULT_JS = """() => {
    const wrapper = document.querySelector('.result-window .CodeMirror');
    return wrapper && wrapper.CodeMirror ? wrapper.CodeMirror.getValue() : '';
}"""
QUERY_JS = "() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()"
VARIABLES_JS = "() => document.querySelector('.graphiql-editor-tool .CodeMirror').CodeMirror.getValue()"
# A response (data or errors) is in the result pane.
ANSWERED_JS = f"""() => {{
    const text = ({RESULT_JS})();
    return text.includes('"createTeam"') || text.includes('"errors"');
}}"""
# An inline script the page's Content-Security-Policy must refuse to run.
INLINE_SCRIPT_JS = """() => {
    const script = document.createElement('script');
    script.textContent = 'window.__inlineScriptRan = true;';
    document.head.appendChild(script);
    return window.__inlineScriptRan === true;
}"""


def require_chromium() -> None:
    """Fail in CI without Chromium; elsewhere skip, saying how to get it."""
    require_program(str(CHROMIUM), "chromium", "the browser test")


def _leaves_gateway(url: str) -> bool:
    """True for a request to any host but the gateway's (data: and blob: URLs never leave the browser)."""
    parts = urlsplit(url)
    return parts.scheme not in ("data", "blob") and parts.hostname != "127.0.0.1"


def test_graphiql_runs_create_team_in_chromium(gateway: Gateway, tmp_path: Path) -> None:
    require_chromium()
    requests: list[str] = []
    console_errors: list[str] = []
    screenshot = tmp_path / "graphiql.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
            page.on("pageerror", lambda error: console_errors.append(str(error)))

            page.goto(f"{gateway.base_url}/graphql", wait_until="load")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            assert "createTeam(input: $input)" in page.evaluate(QUERY_JS)
            assert json.loads(page.evaluate(VARIABLES_JS))["input"]["name"] == "my-first-team"

            page.click(".graphiql-execute-button")
            try:
                page.wait_for_function(ANSWERED_JS, timeout=20_000)
            except PlaywrightTimeoutError:
                page.screenshot(path=str(screenshot))
                pytest.fail(
                    f"no createTeam response in GraphiQL's result pane; pane: {page.evaluate(RESULT_JS)!r}; "
                    f"console: {console_errors}; screenshot: {screenshot}\ngateway log:\n{gateway.log()}"
                )
            text: str = page.evaluate(RESULT_JS)
            page.screenshot(path=str(screenshot))
            errors_before_probe = list(console_errors)
            inline_script_ran = page.evaluate(INLINE_SCRIPT_JS)
        finally:
            browser.close()

    result = json.loads(text)
    assert "errors" not in result, f"createTeam failed in GraphiQL:\n{text}"
    payload = result["data"]["createTeam"]
    assert payload["userErrors"] == [], text
    team = payload["team"]
    assert isinstance(team["id"], str) and team["id"], text
    assert team["name"] == "my-first-team"
    assert '"maxLimit": 100' in text
    assert team["budget"]["maxLimit"] == 100

    assert requests, "the page made no request at all"
    foreign = sorted({url for url in requests if _leaves_gateway(url)})
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not errors_before_probe, f"browser console errors (CSP violations show up here): {errors_before_probe}"
    assert not inline_script_ran, "the Content-Security-Policy let an inline script run"


CREATE_TEAM = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id name } userErrors { message } }
}
"""
# The result pane holds a teams answer (or errors).
TEAMS_ANSWERED_JS = f"""() => {{
    const text = ({RESULT_JS})();
    return text.includes('"teams"') || text.includes('"errors"');
}}"""


# Empties the result pane, so that the next answer is told apart from the last one.
CLEAR_RESULT_JS = "() => document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('')"
# Writes into the headers editor (shown once its tab is open), as a user pasting the page comment's JSON would.
SET_HEADERS_JS = """(text) => {
    const editors = [...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor')];
    const shown = editors.filter((editor) => !editor.classList.contains('hidden'));
    if (shown.length !== 1 || shown[0] === editors[0]) throw new Error('the headers editor is not the one shown');
    shown[0].querySelector('.CodeMirror').CodeMirror.setValue(text);
}"""
HEADERS_SHOWN_JS = """() => {
    const editors = [...document.querySelectorAll('.graphiql-editor-tool .graphiql-editor')];
    return editors.length === 2 && editors[0].classList.contains('hidden') && !editors[1].classList.contains('hidden');
}"""
STORED_TABS_JS = "() => window.localStorage.getItem('graphiql:tabState') !== null"
# GraphiQL reads an edited document's operation name 100 ms after the last edit, and stores it with the active tab in
# the same step: until then a run sends the operation name of the tab before (here the first tab's CreateTeam).
ACTIVE_TAB_OPERATION_JS = """(name) => {
  const state = JSON.parse(window.localStorage.getItem('graphiql:tabState') || 'null');
  const tab = state && state.tabs[state.activeTabIndex];
  return !!tab && tab.operationName === name;
}"""


def _create_team(gateway: Gateway, name: str) -> None:
    body = {"query": CREATE_TEAM, "variables": {"input": {"name": name}}}
    response = httpx.post(f"{gateway.base_url}/graphql", json=body, timeout=10.0)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["createTeam"]["userErrors"] == [], response.text


def _selection_paths(document: str) -> set[tuple[str, ...]]:
    """Every field path the document's operations select, e.g. ("teams", "nodes", "name")."""
    paths: set[tuple[str, ...]] = set()

    def walk(selection_set: SelectionSetNode | None, prefix: tuple[str, ...]) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                path = (*prefix, selection.name.value)
                paths.add(path)
                walk(selection.selection_set, path)

    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, ())
    return paths


@contextmanager
def _graphiql_page(gateway: Gateway, tmp_path: Path, name: str) -> Iterator[BrowserPage]:
    """A fresh GraphiQL page (no stored tabs) in Chromium; fails with a screenshot and the console on timeout."""
    console_errors: list[str] = []
    requests: list[str] = []
    screenshot = tmp_path / f"{name}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.goto(f"{gateway.base_url}/graphql", wait_until="load")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            try:
                yield BrowserPage(page, console_errors, requests)
            except PlaywrightTimeoutError as error:
                page.screenshot(path=str(screenshot))
                pytest.fail(
                    f"{error}; query: {page.evaluate(QUERY_JS)!r}; pane: {page.evaluate(RESULT_JS)!r}; "
                    f"console: {console_errors}; screenshot: {screenshot}\ngateway log:\n{gateway.log()}"
                )
        finally:
            browser.close()


@dataclass
class BrowserPage:
    page: Page
    console_errors: list[str]
    requests: list[str]

    def run_and_read(self) -> dict[str, Any]:
        """Click the run button and return the result pane's JSON once a new teams answer (or error) is there."""
        self.page.evaluate(CLEAR_RESULT_JS)
        self.page.click(".graphiql-execute-button")
        self.page.wait_for_function(TEAMS_ANSWERED_JS, timeout=20_000)
        result: dict[str, Any] = json.loads(self.page.evaluate(RESULT_JS))
        return result

    def foreign_requests(self) -> list[str]:
        return sorted({url for url in self.requests if _leaves_gateway(url)})


def test_graphiql_explorer_builds_a_teams_query_by_clicking(gateway: Gateway, tmp_path: Path) -> None:
    require_chromium()
    team_name = f"explorer-{uuid.uuid4().hex[:12]}"
    _create_team(gateway, team_name)
    with _graphiql_page(gateway, tmp_path, "explorer") as browser_page:
        page = browser_page.page
        # A new tab starts from a small query the explorer can extend.
        page.click(".graphiql-tab-add")
        page.wait_for_function(f"() => ({QUERY_JS})().includes('query MyQuery')", timeout=10_000)

        page.click('button[aria-label="Show GraphiQL Explorer"]')
        page.click('.graphiql-explorer-root [data-field-name="teams"]', timeout=10_000)
        page.click('.graphiql-explorer-teams [data-field-name="nodes"]', timeout=10_000)
        page.click('.graphiql-explorer-teams .graphiql-explorer-nodes [data-field-name="name"]', timeout=10_000)
        page.wait_for_function(
            f"() => /nodes\\s*{{[^}}]*\\bname\\b/.test(({QUERY_JS})())",
            timeout=10_000,
        )
        page.wait_for_function(ACTIVE_TAB_OPERATION_JS, arg="MyQuery", timeout=10_000)
        built: str = page.evaluate(QUERY_JS)
        result = browser_page.run_and_read()
        console_errors = list(browser_page.console_errors)
        foreign = browser_page.foreign_requests()

    assert ("teams", "nodes", "name") in _selection_paths(built), built
    assert "errors" not in result, result
    names = [node["name"] for node in result["data"]["teams"]["nodes"]]
    assert team_name in names, result
    assert not console_errors, f"browser console errors: {console_errors}"
    assert not foreign, f"requests to other hosts: {foreign}"


ACTIVE_TAB_NAMED_JS = "(name) => (document.querySelector('.graphiql-tab-active')?.textContent || '').includes(name)"


def test_graphiql_examples_open_the_dashboard_page_in_a_new_tab(gateway: Gateway, tmp_path: Path) -> None:
    require_chromium()
    team_name = f"dashboard-{uuid.uuid4().hex[:12]}"
    _create_team(gateway, team_name)
    with _graphiql_page(gateway, tmp_path, "examples") as browser_page:
        page = browser_page.page
        # A returning visitor: GraphiQL stores the tabs once they change, and the reload restores them from there.
        page.click(".graphiql-tab:has-text('DashboardPage')")
        page.wait_for_function(STORED_TABS_JS, timeout=10_000)
        page.reload(wait_until="load")
        page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
        tabs_before = page.locator(".graphiql-tab").count()
        page.click('button[aria-label="Show Examples"]')
        page.click('button[data-example="Dashboard: a page of teams"]', timeout=10_000)
        page.wait_for_function(f"() => ({QUERY_JS})().includes('query DashboardPage')", timeout=10_000)
        # GraphiQL reads the operation name from the editor after a short debounce, and names the tab then: run
        # only once the active tab is called after the example's operation, or it runs the default's name.
        page.wait_for_function(ACTIVE_TAB_NAMED_JS, arg="DashboardPage", timeout=10_000)
        tabs_after = page.locator(".graphiql-tab").count()
        query: str = page.evaluate(QUERY_JS)
        variables = json.loads(page.evaluate(VARIABLES_JS))
        result = browser_page.run_and_read()
        console_errors = list(browser_page.console_errors)

    assert tabs_after == tabs_before + 1, "the example opens in a new tab, the user's tabs stay as they were"
    assert query.startswith("# Credentials go in the Headers tab"), query
    assert variables == {"first": 25, "after": None}
    assert "errors" not in result, result
    nodes = result["data"]["teams"]["nodes"]
    assert team_name in [node["name"] for node in nodes], result
    assert not console_errors, f"browser console errors: {console_errors}"


def test_graphiql_headers_tab_carries_the_gateway_key_as_the_comment_shows(gateway: Gateway, tmp_path: Path) -> None:
    require_chromium()
    with _graphiql_page(gateway, tmp_path, "headers") as browser_page:
        page = browser_page.page
        page.click(".graphiql-tab:has-text('DashboardPage')")
        page.wait_for_function(f"() => ({QUERY_JS})().includes('query DashboardPage')", timeout=10_000)
        page.wait_for_function(ACTIVE_TAB_OPERATION_JS, arg="DashboardPage", timeout=10_000)
        comment: str = page.evaluate(QUERY_JS)
        page.click(".graphiql-editor-tools button:has-text('Headers')")
        page.wait_for_function(HEADERS_SHOWN_JS, timeout=10_000)

        page.evaluate(SET_HEADERS_JS, json.dumps({"X-Gateway-Key": "gk_not-a-key-of-this-gateway-0123456789"}))
        refused = browser_page.run_and_read()
        page.evaluate(SET_HEADERS_JS, json.dumps({"X-Gateway-Key": GRAPHIQL_KEY}))
        accepted = browser_page.run_and_read()
        console_errors = [error for error in browser_page.console_errors if "401" not in error]

    assert '{"X-Gateway-Key": "gk_..."}' in comment
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["UNAUTHENTICATED"], refused
    assert "errors" not in accepted, accepted
    assert isinstance(accepted["data"]["teams"]["totalCount"], int)
    assert not console_errors, f"browser console errors: {console_errors}"
