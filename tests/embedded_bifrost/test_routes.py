"""The router: exact paths, ``prefix/{id}``, templates with several parameters, and what never binds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app
from app.embedded_bifrost.context import Context, Request
from app.embedded_bifrost.errors import ApiError
from app.embedded_bifrost.routes import Handler, Router

VK = "/api/governance/virtual-keys"


def _named(name: str) -> Handler:
    def handler(ctx: Context, request: Request) -> Any:
        return name

    handler.__name__ = name
    return handler


LIST, CREATE, GET, PUT, ROTATE, BULK, QUOTA, OVERRIDE, CLEAR, LITERAL = (
    _named(n) for n in ("list", "create", "get", "put", "rotate", "bulk", "quota", "override", "clear", "literal")
)


@pytest.fixture
def router() -> Router:
    return Router(
        exact={VK: {"GET": LIST, "POST": CREATE}, f"{VK}/rotate": {"POST": BULK}, f"{VK}/quota": {"GET": QUOTA}},
        with_id={f"{VK}/": {"GET": GET, "PUT": PUT}},
        patterns={
            f"{VK}/{{vk_id}}/rotate": {"POST": ROTATE},
            f"{VK}/{{vk_id}}/budgets/{{budget_id}}/override": {"PUT": OVERRIDE, "DELETE": CLEAR},
            f"{VK}/{{vk_id}}/budgets/{{budget_id}}/{{what}}": {"PUT": _named("param_last")},
            f"{VK}/{{vk_id}}/budgets/fixed/override": {"PUT": LITERAL},
        },
    )


def _status(router: Router, method: str, path: str) -> int:
    with pytest.raises(ApiError) as raised:
        router.resolve(method, path)
    return raised.value.status


def test_exact_and_single_id_forms(router: Router) -> None:
    assert router.resolve("GET", VK) == (LIST, ())
    assert router.resolve("POST", VK) == (CREATE, ())
    assert router.resolve("GET", f"{VK}/vk-1") == (GET, ("vk-1",))


def test_exact_path_wins_over_the_id_route_for_its_method(router: Router) -> None:
    assert router.resolve("POST", f"{VK}/rotate") == (BULK, ())
    assert router.resolve("GET", f"{VK}/quota") == (QUOTA, ())
    # Another method falls through to the {vk_id} route, as in Bifrost's per-method trees.
    assert router.resolve("GET", f"{VK}/rotate") == (GET, ("rotate",))
    assert router.resolve("PUT", f"{VK}/quota") == (PUT, ("quota",))


def test_templates_bind_every_parameter_in_order(router: Router) -> None:
    assert router.resolve("POST", f"{VK}/vk-1/rotate") == (ROTATE, ("vk-1",))
    assert router.resolve("PUT", f"{VK}/vk-1/budgets/b-2/override") == (OVERRIDE, ("vk-1", "b-2"))
    assert router.resolve("DELETE", f"{VK}/vk-1/budgets/b-2/override") == (CLEAR, ("vk-1", "b-2"))


def test_a_literal_beats_a_parameter_in_the_same_position(router: Router) -> None:
    assert router.resolve("PUT", f"{VK}/vk-1/budgets/fixed/override") == (LITERAL, ("vk-1",))
    handler, params = router.resolve("PUT", f"{VK}/vk-1/budgets/b-2/other")
    assert (handler.__name__, params) == ("param_last", ("vk-1", "b-2", "other"))


@pytest.mark.parametrize(
    "odd", ["a b", "ключ", "x%41", "a?b", "a#b", "a;b", "*", "...", ".x", "x.", "%", "'", '"', "<>", "0" * 500]
)
def test_odd_characters_bind_as_they_are(router: Router, odd: str) -> None:
    assert router.resolve("GET", f"{VK}/{odd}") == (GET, (odd,))
    assert router.resolve("PUT", f"{VK}/{odd}/budgets/{odd}/override") == (OVERRIDE, (odd, odd))


@pytest.mark.parametrize(
    "path",
    [
        f"{VK}/",  # trailing slash: no empty id
        f"{VK}//",
        f"{VK}/vk-1/",
        f"{VK}/vk-1/rotate/",
        f"{VK}//rotate",  # empty segment where a parameter binds
        f"{VK}/vk-1/budgets//override",
        f"{VK}/vk-1/budgets/b-2/override/",
        f"{VK}/vk-1/budgets/b-2/override/extra",
        f"{VK}/vk-1/budgets/override",
        f"{VK}/..",  # dot segments never bind
        f"{VK}/.",
        f"{VK}/../rotate",
        f"{VK}/vk-1/budgets/../override",
        f"{VK}/a/b",  # a decoded %2F is two segments, not one id
        "/api/governance//virtual-keys",
        "",
        "/",
        "rotate",
        "/api/governance/virtual-keysX/vk-1/rotate",
    ],
)
def test_paths_without_a_route_answer_404(router: Router, path: str) -> None:
    assert _status(router, "POST", path) == 404
    assert _status(router, "GET", path) == 404


def test_wrong_method_on_a_known_path_answers_405(router: Router) -> None:
    assert _status(router, "DELETE", VK) == 405
    assert _status(router, "DELETE", f"{VK}/vk-1") == 405
    assert _status(router, "GET", f"{VK}/vk-1/rotate") == 405
    assert _status(router, "POST", f"{VK}/vk-1/budgets/b-2/override") == 405


def test_a_bad_template_is_refused_at_build_time() -> None:
    with pytest.raises(ValueError, match="whole segment"):
        Router(exact={}, with_id={}, patterns={"/a/x{id}": {}})
    with pytest.raises(ValueError, match="starts with"):
        Router(exact={}, with_id={}, patterns={"a/{id}": {}})


# Over the app: the existing forms reach their handlers; what does not bind answers the router's 404.


async def test_app_ids_with_odd_characters_reach_the_handler(current: httpx.AsyncClient) -> None:
    for raw in ["a%20b", "%D0%BA", "x%3Fy", "...", "x%25"]:
        response = await current.get(f"/api/governance/teams/{raw}")
        assert (response.status_code, message_of(response)) == (404, "Team not found")


async def test_app_paths_that_do_not_bind_answer_not_found(current: httpx.AsyncClient) -> None:
    for path in ["/api/governance/teams/", "/api/governance/teams/%2E%2E", "/api/governance/teams/a%2Fb"]:
        response = await current.get(path)
        assert (response.status_code, message_of(response)) == (404, "Not found")
    response = await current.patch("/api/governance/teams/t-1")
    assert (response.status_code, message_of(response)) == (405, "Method not allowed")


async def test_app_request_carries_every_parameter() -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def spy(ctx: Context, request: Request) -> dict[str, Any]:
        seen.append((request.param, request.params))
        return {}

    app = create_app(generation="current")
    app.router = Router(patterns={f"{VK}/{{vk_id}}/budgets/{{budget_id}}/override": {"PUT": spy}})
    async with client_for(app) as client:
        assert (await client.put(f"{VK}/vk%201/budgets/b-2/override")).status_code == 200
        assert (await client.get("/api/governance/teams")).status_code == 200
    assert seen == [("vk 1", ("vk 1", "b-2"))]
