"""The embedded server's v2 answers validated against CONTRACT-v2.md's shapes (``data/bifrost_v2_shapes.json``).

There is no OpenAPI file for Bifrost v2: the shapes file transcribes the contract, and one realistic scenario
(:mod:`v2_owners`, :mod:`v2_domains`) drives every endpoint of its table through successes and each error
class, checking every answer both ways (no field the contract does not list, no required field missing) and
its status against the table. The last tests show the check itself can fail.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from bifrost_helpers import BASE_URL, client_for
from contract_shapes import ENDPOINTS, SHAPES, contract_problems, shape_problems
from jsonschema import Draft202012Validator
from v2_domains import lists_and_deletes, model_configs, overrides, provider_governance, quota, rotation
from v2_owners import customers, teams, version, virtual_keys
from v2_session import Session

from app.embedded_bifrost import create_app

SCENARIO = (
    version,
    customers,
    teams,
    virtual_keys,
    rotation,
    overrides,
    model_configs,
    provider_governance,
    quota,
    lists_and_deletes,
)

# Where the embedded server departs from CONTRACT-v2.md and is known to: a regular expression matching the
# problem line, and which side is wrong and why. Every entry must still match a real problem.
KNOWN_DEPARTURES: dict[str, str] = {}

_TIME = "2026-10-02T10:00:00.123456789Z"
_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"


async def test_v2_answers_follow_the_contract() -> None:
    async with client_for(create_app(generation="v2")) as client:
        session = Session(client)
        try:
            for section in SCENARIO:
                await section(session)
        except (AssertionError, LookupError, TypeError) as error:
            # A later step needs what a failed one did not give: show every departure found until then.
            raise AssertionError("\n".join([*session.problems, f"the scenario stopped: {error}"])) from error
    unexplained = [p for p in session.problems if not any(re.search(k, p) for k in KNOWN_DEPARTURES)]
    assert unexplained == []
    stale = [k for k in KNOWN_DEPARTURES if not any(re.search(k, p) for p in session.problems)]
    assert stale == [], "a departure that no longer happens leaves the list"
    exercised = {endpoint for endpoint, status in session.answered if status == 200}
    assert exercised == {endpoint.key for endpoint in ENDPOINTS}, "every endpoint of the table answers 200 once"
    errors = {status for _, status in session.answered if status >= 400}
    assert errors == {400, 401, 404, 409, 500}, "each error class of the contract is exercised"


def test_the_shapes_file_is_a_json_schema_citing_the_contract() -> None:
    Draft202012Validator.check_schema(SHAPES)
    uncited = [name for name, shape in SHAPES["$defs"].items() if "CONTRACT" not in shape.get("description", "")]
    assert uncited == []
    named = {shape for endpoint in ENDPOINTS for shape in endpoint.responses.values()}
    assert named <= set(SHAPES["$defs"]), "every shape the endpoint table names exists"
    assert all(endpoint.responses.get(200) for endpoint in ENDPOINTS), "every endpoint has a success shape"


def _budget(**changes: Any) -> dict[str, Any]:
    budget = {
        "id": _ID,
        "max_limit": 5.0,
        "reset_duration": "1d",
        "last_reset": _TIME,
        "current_usage": 0.0,
        "config_hash": "",
        "created_at": _TIME,
        "updated_at": _TIME,
    }
    return {**budget, **changes}


def _virtual_key(**changes: Any) -> dict[str, Any]:
    config = {
        "id": 1,
        "virtual_key_id": _ID,
        "provider": "openai",
        "weight": None,
        "allowed_models": ["*"],
        "blacklisted_models": [],
        "allow_all_keys": True,
        "keys": None,
    }
    key = {
        "id": _ID,
        "name": "svc",
        "value": f"sk-bf-{_ID}",
        "provider_configs": [config],
        "mcp_configs": None,
        "calendar_aligned": False,
        "allow_all_providers": False,
        "config_hash": "",
        "created_at": _TIME,
        "updated_at": _TIME,
    }
    return {**key, **changes}


def test_a_well_formed_answer_passes() -> None:
    assert shape_problems("VirtualKey", _virtual_key()) == []
    assert shape_problems("Budget", _budget(override_mode="cycles", override_cycles_remaining=2)) == []


@pytest.mark.parametrize(
    ("shape", "body", "problem"),
    [
        ("VirtualKey", _virtual_key(budget_id=_ID), "Additional properties are not allowed ('budget_id' was"),
        (
            "VirtualKey",
            {k: v for k, v in _virtual_key().items() if k != "allow_all_providers"},
            "'allow_all_providers'",
        ),
        ("VirtualKey", _virtual_key(value="sk-bf-short"), "does not match"),
        ("VirtualKey", _virtual_key(expires_at="tomorrow"), "expires_at"),
        ("VirtualKey", _virtual_key(calendar_aligned=None), "None is not of type 'boolean'"),
        (
            "VirtualKey",
            _virtual_key(
                mcp_configs=[
                    {
                        "id": 1,
                        "virtual_key_id": _ID,
                        "mcp_client_id": 2,
                        "mcp_client": {"name": "g"},
                        "tools_to_execute": [],
                        "mcp_client_name": "g",
                    }
                ]
            ),
            "'mcp_client_name' was unexpected",
        ),
        (
            "ProviderConfig",
            {**_virtual_key()["provider_configs"][0], "blacklisted_models": None},
            "None is not of type 'array'",
        ),
        ("Budget", _budget(override_mode="sometimes"), "'sometimes' is not one of"),
        ("Budget", _budget(created_at="2026-10-02 10:00:00"), "does not match"),
        ("Budget", _budget(per_model_usage=[]), "'per_model_usage' was unexpected"),
        ("QuotaBudget", _budget(), "'per_model_usage' is a required property"),
        ("ProviderGov", {"provider": "openai"}, "'calendar_aligned' is a required property"),
        ("Error", {"is_bifrost_error": False, "status_code": 404, "error": {}}, "'message' is a required property"),
        ("Error", {"is_bifrost_error": True, "status_code": 404, "error": {"message": "x"}}, "False was expected"),
        ("TeamCreated", {"message": "Team made", "team": None}, "'Team created successfully' was expected"),
    ],
)
def test_the_shapes_refuse_what_the_contract_does_not_allow(shape: str, body: Any, problem: str) -> None:
    problems = shape_problems(shape, body)
    assert any(problem in found for found in problems), problems


def _answer(method: str, path: str, status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request(method, BASE_URL + path))


def test_contract_problems_names_endpoint_status_and_envelope() -> None:
    customer_path = "/api/governance/customers/" + _ID
    assert contract_problems(_answer("GET", "/api/governance/users", 200, {})) == [
        "GET /api/governance/users -> 200: not in the contract's endpoint table"
    ]
    assert contract_problems(_answer("GET", customer_path, 409, {})) == [
        f"GET {customer_path} -> 409: the contract lists only 200, 404 for GET /api/governance/customers/"
        "{customer_id}"
    ]
    envelope = {"is_bifrost_error": False, "status_code": 400, "error": {"message": "Customer not found"}}
    assert contract_problems(_answer("GET", customer_path, 404, envelope)) == [
        f"GET {customer_path} -> 404: the envelope's status_code is 400"
    ]
    teams = {"teams": [], "count": 0}
    assert contract_problems(_answer("GET", "/api/teams", 200, teams)) == [
        "GET /api/teams -> 200: header deprecation None does not match '^true$'",
        "GET /api/teams -> 200: header link None does not match 'rel=\"successor-version\"'",
        "GET /api/teams -> 200: header x-bifrost-deprecated-route None does not match '.'",
        "GET /api/teams -> 200: header x-bifrost-route-removal None does not match '.'",
    ]
    deprecated = httpx.Response(
        200,
        json=teams,
        headers={"deprecation": "true"},
        request=httpx.Request("GET", BASE_URL + "/api/governance/teams"),
    )
    assert contract_problems(deprecated) == [
        "GET /api/governance/teams -> 200: a canonical route answers Deprecation: 'true'"
    ]
    quota = "/api/governance/virtual-keys/quota"
    assert contract_problems(_answer("GET", quota, 401, {**envelope, "status_code": 401})) == []
    assert contract_problems(httpx.Response(200, text="ok", request=httpx.Request("GET", BASE_URL + quota))) == [
        f"GET {quota} -> 200: content-type 'text/plain; charset=utf-8', not application/json",
        f"GET {quota} -> 200: the body is not JSON: b'ok'",
    ]
