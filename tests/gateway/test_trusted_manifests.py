"""Trusted-documents manifests at start: both formats, from a file or a URL, and every reason to refuse them."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.trusted_documents import sha256_of
from app.trusted_documents import source as source_module
from app.web.trusted_documents import TrustedDocumentsError
from tests.gateway.conftest import make_gateway
from tests.gateway.trusted import (
    CREATE_TEAM,
    TEAMS_PAGE,
    apollo_manifest,
    apollo_operation,
    codegen_manifest,
    write,
)

TOKEN = "sig-0123456789abcdef"  # stands for a signed URL's secret: never in a message


class ManifestServer:
    """A small HTTP server on 127.0.0.1 serving manifests: ``bodies`` maps a path to (status, body)."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[int, bytes]] = {}
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = bodies.get(self.path.split("?")[0], (404, b"not found"))
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("location", "/manifest.json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def manifest_server() -> Iterator[ManifestServer]:
    served = ManifestServer()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


async def test_a_manifest_from_a_url_is_loaded_and_enforced(manifest_server: ManifestServer) -> None:
    manifest = orjson.dumps({sha256_of(TEAMS_PAGE): TEAMS_PAGE})
    manifest_server.bodies["/manifest.json"] = (200, manifest)
    gw = await make_gateway(trusted_documents=f"{manifest_server.base}/manifest.json?token={TOKEN}")
    try:
        listed = await gw.http.get("/graphql", params={"documentId": "sha256:" + sha256_of(TEAMS_PAGE)})
        assert listed.json() == {"data": {"teams": {"totalCount": 0}}}
        refused = await gw.http.post("/graphql", json={"query": "{ teams { totalCount } }"})
        assert refused.status_code == 403
    finally:
        await gw.http.aclose()


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [("/missing.json", 404, "HTTP 404"), ("/moved.json", 302, "HTTP 302"), ("/broken.json", 500, "HTTP 500")],
)
async def test_a_url_that_does_not_answer_200_refuses_the_start(
    manifest_server: ManifestServer, path: str, status: int, reason: str
) -> None:
    manifest_server.bodies["/manifest.json"] = (200, orjson.dumps({sha256_of(TEAMS_PAGE): TEAMS_PAGE}))
    if status != 404:
        manifest_server.bodies[path] = (status, b"{}")
    with pytest.raises(TrustedDocumentsError) as refused:
        await make_gateway(trusted_documents=f"{manifest_server.base}{path}?token={TOKEN}")
    message = str(refused.value)
    assert message.startswith("TRUSTED_DOCUMENTS: ") and reason in message
    assert TOKEN not in message and "127.0.0.1" not in message


async def test_an_unreachable_url_refuses_the_start_without_showing_it(manifest_server: ManifestServer) -> None:
    base = manifest_server.base
    manifest_server.server.shutdown()
    manifest_server.server.server_close()
    with pytest.raises(TrustedDocumentsError) as refused:
        await make_gateway(trusted_documents=f"{base}/manifest.json?token={TOKEN}")
    assert "ConnectError" in str(refused.value)
    assert TOKEN not in str(refused.value) and "127.0.0.1" not in str(refused.value)


async def test_a_manifest_larger_than_the_bound_refuses_the_start(
    manifest_server: ManifestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_module, "MAX_MANIFEST_BYTES", 1024)
    large = orjson.dumps({sha256_of(TEAMS_PAGE): TEAMS_PAGE + " " * 2000})
    manifest_server.bodies["/manifest.json"] = (200, large)
    for location in (f"{manifest_server.base}/manifest.json", str(write(tmp_path, orjson.loads(large)))):
        with pytest.raises(TrustedDocumentsError, match="larger than"):
            await make_gateway(trusted_documents=location)


async def test_a_missing_file_refuses_the_start(tmp_path: Path) -> None:
    with pytest.raises(TrustedDocumentsError, match=r"cannot read the file .*No such file"):
        await make_gateway(trusted_documents=str(tmp_path / "absent.json"))


def codegen(*pairs: tuple[str, object]) -> dict[str, object]:
    return dict(pairs)


def apollo(*operations: object, **top: object) -> dict[str, object]:
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": list(operations), **top}


TEAMS_ID = sha256_of(TEAMS_PAGE)
DEEP = "query Deep { teams { nodes { customer { teams { nodes { customer { teams { nodes { customer { teams { nodes { customer { id } } } } } } } } } } } } }"  # noqa: E501
EXPENSIVE = "query Expensive($n: Int) { teams(first: $n) { nodes { id } } }"

MALFORMED: dict[str, tuple[object, str]] = {
    "not JSON": ("{", "not valid JSON"),
    "a list": ([TEAMS_PAGE], "must be a JSON object"),
    "empty": ({}, "lists no documents"),
    "document not a string": (codegen((TEAMS_ID, 1)), f'entry "{TEAMS_ID[:16]}...": the document must be'),
    "empty document": (codegen(("empty", " ")), 'entry "empty": the document must be a non-empty string'),
    "id with a space": (codegen(("teams page", TEAMS_PAGE)), 'entry "teams page": the id must be'),
    "hash mismatch": (codegen((sha256_of(CREATE_TEAM), TEAMS_PAGE)), "the id is not the sha256 of its document"),
    "prefixed hash mismatch": (
        codegen(("sha256:" + sha256_of(CREATE_TEAM), TEAMS_PAGE)),
        "the id is not the sha256 of its document",
    ),
    "does not parse": (codegen(("broken", "query {")), 'entry "broken": Syntax Error'),
    "unknown field": (codegen(("unknown", "{ nothing }")), "Cannot query field 'nothing'"),
    "too deep": (codegen(("deep", DEEP)), "(QUERY_TOO_DEEP)"),
    "costs too much at its largest page": (codegen(("expensive", EXPENSIVE)), "costs up to 111"),
    "unknown format": ({"format": "relay", "operations": []}, '"format" must be'),
    "apollo version": (apollo(version=2), '"version" must be 1'),
    "apollo operations": (apollo(operations={}), '"operations" must be a list'),
    "apollo entry": (apollo("query { a }"), "operations[0]: must be an object"),
    "apollo type": (apollo({**apollo_operation(TEAMS_PAGE, "TeamsPage"), "type": "fetch"}), "type must be"),
    "apollo missing body": (
        apollo({"id": TEAMS_ID, "name": "TeamsPage", "type": "query"}),
        f'operations[0] (id "{TEAMS_ID[:16]}..."): the document must be',
    ),
    "apollo twice": (
        apollo(apollo_operation(TEAMS_PAGE, "TeamsPage"), apollo_operation(TEAMS_PAGE, "TeamsPage")),
        "operations[1]",
    ),
    "apollo wrong name": (apollo(apollo_operation(TEAMS_PAGE, "Other")), "names it 'Other'"),
    "apollo wrong type": (apollo(apollo_operation(TEAMS_PAGE, "TeamsPage", "mutation")), "says mutation"),
    "apollo id mismatch": (apollo(apollo_operation(TEAMS_PAGE, "TeamsPage", id=sha256_of(CREATE_TEAM))), "sha256"),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_a_malformed_manifest_refuses_the_start_naming_the_entry(tmp_path: Path, case: str) -> None:
    manifest, expected = MALFORMED[case]
    path = tmp_path / "manifest.json"
    path.write_bytes(manifest.encode() if isinstance(manifest, str) else orjson.dumps(manifest))
    with pytest.raises(TrustedDocumentsError) as refused:
        await make_gateway(trusted_documents=str(path), max_query_cost=100)
    message = str(refused.value)
    assert message.startswith("TRUSTED_DOCUMENTS: ")
    assert expected in message


async def test_a_document_over_the_size_limit_refuses_the_start(tmp_path: Path) -> None:
    padded = TEAMS_PAGE + " " * 300
    with pytest.raises(TrustedDocumentsError, match="more than MAX_DOCUMENT_BYTES"):
        await make_gateway(trusted_documents=str(codegen_manifest(tmp_path, padded)), max_document_bytes=256)


async def test_a_document_within_the_cost_limit_at_its_largest_page_is_accepted(tmp_path: Path) -> None:
    gw = await make_gateway(trusted_documents=str(codegen_manifest(tmp_path, EXPENSIVE)), max_query_cost=111)
    try:
        response = await gw.http.post("/graphql", json={"documentId": sha256_of(EXPENSIVE), "variables": {"n": 100}})
        assert response.json() == {"data": {"teams": {"nodes": []}}}
    finally:
        await gw.http.aclose()


async def test_introspection_is_refused_at_start_only_where_it_is_off(tmp_path: Path) -> None:
    introspection = "query Types { __schema { types { name } } }"
    manifest = str(codegen_manifest(tmp_path, introspection))
    development = await make_gateway(trusted_documents=manifest)
    await development.http.aclose()
    with pytest.raises(TrustedDocumentsError, match="INTROSPECTION_DISABLED"):
        await make_gateway(trusted_documents=manifest, gateway_env="production")


async def test_an_apollo_manifest_of_several_operations_is_loaded(tmp_path: Path) -> None:
    manifest = apollo_manifest(
        tmp_path,
        [apollo_operation(TEAMS_PAGE, "TeamsPage"), apollo_operation(CREATE_TEAM, "CreateTeam", "mutation")],
    )
    gw = await make_gateway(trusted_documents=str(manifest))
    await gw.http.aclose()
    assert gw.app.state.trusted_documents.operation_names == ("TeamsPage", "CreateTeam")


def test_a_bad_manifest_stops_the_process_with_its_reason(tmp_path: Path) -> None:
    path = write(tmp_path, {"broken": "query {"})
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        env={"TRUSTED_DOCUMENTS": str(path), "PATH": "", "GATEWAY_PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert 'error: TRUSTED_DOCUMENTS: entry "broken": Syntax Error' in result.stderr
    assert "Traceback" not in result.stderr


async def test_documents_are_checked_against_the_schema_served_so_a_subgraph_may_list_its_fields(
    tmp_path: Path,
) -> None:
    sdl = "query Sdl { _service { sdl } }"
    manifest = str(codegen_manifest(tmp_path, sdl))
    with pytest.raises(TrustedDocumentsError, match="_service"):
        await make_gateway(trusted_documents=manifest)
    gw = await make_gateway(trusted_documents=manifest, federation=True, gateway_env="production")
    try:
        listed = await gw.http.post("/graphql", json={"documentId": "sha256:" + sha256_of(sdl)})
        assert "type Team" in listed.json()["data"]["_service"]["sdl"]
        refused = await gw.http.post("/graphql", json={"query": "{ _service { sdl } }"})
        assert refused.status_code == 403
    finally:
        await gw.http.aclose()
