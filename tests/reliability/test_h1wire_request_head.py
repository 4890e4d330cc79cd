"""``H1Wire``'s request head, built without yarl for the plain paths the client sends and with its header lines
validated once per wire: both must give the very bytes the general path gives.

A differential test over generated paths and params holds the plain-path target to yarl's; the odd paths still
go through yarl; the header lines are held to the validation every call ran before, refusals included.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.bifrost.h1wire import H1Wire

BASES = ["http://bifrost:8080", "http://bifrost:8080/", "http://bifrost/root/", "https://bifrost/a/b"]
PLAIN = string.ascii_letters + string.digits + "_-~"
ODD = PLAIN + "/.%?#;: \t\r\n\x00é&=+@!$'()*,[]"


def make_wire(base: str = BASES[0]) -> H1Wire:
    return H1Wire(base, max_connections=1, connect_timeout=1.0, read_timeout=1.0)


segments = st.lists(st.text(PLAIN, max_size=12), max_size=6).map(lambda parts: "/" + "/".join(parts))
paths = st.one_of(segments, st.text(ODD, max_size=30), st.text(max_size=20))
params = st.one_of(
    st.none(),
    st.just({}),
    st.dictionaries(st.text(ODD, max_size=6), st.one_of(st.text(ODD, max_size=6), st.integers()), max_size=3),
)


@settings(max_examples=1500, deadline=None)
@given(base=st.sampled_from(BASES), path=paths, query=params)
@example(base=BASES[0], path="/api/governance/teams/3f2b1c4d-0000-4000-8000-00000000000a", query=None)
@example(base=BASES[2], path="/", query={})
@example(base=BASES[0], path="//elsewhere/x", query=None)
@example(base=BASES[0], path="/a//b", query=None)
def test_a_target_is_the_one_yarl_builds_for_every_path_and_params(
    base: str, path: str, query: dict[str, str | int] | None
) -> None:
    wire = make_wire(base)
    try:
        expected: str | type[Exception] = wire._yarl_target(path, query)
    except Exception as error:  # yarl refuses a few inputs: the fast path must refuse them alike
        expected = type(error)
    try:
        got: str | type[Exception] = wire._target(path, query)
    except Exception as error:
        got = type(error)
    assert got == expected


@pytest.mark.parametrize(
    "path",
    ["/api/governance/teams/3f2b1c4d-0000-4000-8000-00000000000a", "/api/governance/virtual-keys", "/", "/a/~b_c/"],
)
@pytest.mark.interpreted  # replaces a name inside a compiled module (tests/conftest.py)
def test_the_client_s_plain_paths_take_the_fast_path(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    wire = make_wire("http://bifrost/root/")

    def refused(path: str, params: object) -> str:
        raise AssertionError("yarl was asked")

    monkeypatch.setattr(wire, "_yarl_target", refused)
    assert wire._target(path, None) == wire._target(path, {}) == "/root" + path


# The attack cases of test_h1wire_red.py, with the targets the wire sent before the fast path (yarl's, aiohttp's).
ODD_TARGETS: list[tuple[str, dict[str, str] | None, str]] = [
    ("/echo/a#fragment", None, "/echo/a"),
    ("/echo/a?b=1", None, "/echo/a?b=1"),
    ("/echo/../teams", None, "/teams"),
    ("/echo/./x/../y", None, "/echo/y"),
    ("/echo/%2e%2e/teams", None, "/teams"),
    ("/echo/%41%2F%zz", None, "/echo/A%2F%25zz"),
    ("/echo/100%", None, "/echo/100%25"),
    ("/echo/a b", None, "/echo/a%20b"),
    ("/echo/a;b", None, "/echo/a;b"),
    ("/echo/caf\u00e9", None, "/echo/caf%C3%A9"),
    ("/echo//double", None, "/echo//double"),
    ("echo/relative", None, "/echo/relative"),
    ("http://elsewhere.example/echo/a", None, "/echo/a"),
    ("//elsewhere.example/echo/a", None, "/echo/a"),
    ("/echo/a", {"q": "a?b#c d&e=f/../"}, "/echo/a?q=a?b%23c+d%26e%3Df/../"),
    ("/echo/x\r\nX-Injected: 1\r\n", None, "/echo/xX-Injected:%201"),  # never a line break
]


@pytest.mark.interpreted  # replaces a name inside a compiled module (tests/conftest.py)
@pytest.mark.parametrize(("path", "query", "target"), ODD_TARGETS)
def test_an_odd_path_or_any_params_take_yarl_s_path_with_today_s_target(
    path: str, query: dict[str, str] | None, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire = make_wire()
    asked: list[str] = []
    general = wire._yarl_target

    def through_yarl(path: str, params: dict[str, str] | None) -> str:
        asked.append(path)
        return general(path, params)

    monkeypatch.setattr(wire, "_yarl_target", through_yarl)
    assert wire._target(path, query) == target
    assert asked == [path]


# Header lines, validated once per wire ------------------------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def checked_every_time(headers: dict[str, str]) -> list[str]:
    """The header lines as every call validated them before the lines were kept."""
    lines = []
    for name, value in headers.items():
        if _TOKEN.fullmatch(name) is None or _CONTROL.search(value) is not None:
            raise ValueError("an upstream request header is not valid")
        lines.append(f"{name}: {value}\r\n")
    return lines


def head(wire: H1Wire, headers: dict[str, str]) -> bytes | type[Exception]:
    try:
        return wire._request("GET", "/x", headers, None, None)
    except Exception as error:
        return type(error)


def expected_head(headers: dict[str, str]) -> bytes | type[Exception]:
    try:
        lines = checked_every_time(headers)
        text = "GET /x HTTP/1.1\r\nHost: bifrost:8080\r\n" + "".join(lines) + "Accept-Encoding: gzip, deflate\r\n\r\n"
        return text.encode()
    except (ValueError, UnicodeEncodeError) as error:
        return ValueError if isinstance(error, UnicodeEncodeError) else type(error)


header_text = st.text(st.sampled_from("aZ09-_.:; \t\r\n\x00\x7f\x80é\ud800"), max_size=8)


@settings(max_examples=800, deadline=None)
@given(calls=st.lists(st.dictionaries(header_text, header_text, max_size=4), min_size=1, max_size=6))
def test_header_lines_are_those_checked_every_time_refusals_included(calls: list[dict[str, str]]) -> None:
    wire = make_wire()  # one wire across the calls: a line kept from one call serves the next
    for headers in calls * 2:
        assert head(wire, headers) == expected_head(headers)


def test_a_refused_header_is_refused_on_every_call_and_never_quoted() -> None:
    wire = make_wire()
    good = {"authorization": "Bearer s3cret"}
    for headers in (good, {"authorization": "Bearer s3cret\r\nX-Injected: 1"}, good, {"x bad": "v"}):
        wire._request("GET", "/x", good, None, None)
        with pytest.raises(ValueError) as error:
            wire._request("GET", "/x", {**headers, "x-evil": "s3cret\n"}, None, None)
        assert "s3cret" not in str(error.value)


async def test_the_kept_lines_are_bounded_and_dropped_when_the_wire_closes() -> None:
    wire = make_wire()
    for n in range(2000):  # a value new on every call (a trace id) must not grow memory
        request = wire._request("GET", "/x", {"traceparent": f"00-{n:032x}-01"}, None, None)
        assert f"traceparent: 00-{n:032x}-01\r\n".encode() in request
    assert wire._header_line.cache_info().currsize <= 256
    await wire.aclose()
    assert wire._header_line.cache_info().currsize == 0  # secrets held no longer than the wire


def test_a_long_header_value_is_sent_and_checked_every_time_but_never_kept() -> None:
    wire = make_wire()
    long = "v" * 100_000
    for _ in range(3):
        assert f"x-long: {long}\r\n".encode() in wire._request("GET", "/x", {"x-long": long}, None, None)
        with pytest.raises(ValueError):
            wire._request("GET", "/x", {"x-long": long + "\n"}, None, None)
    assert wire._header_line.cache_info().currsize == 0
    wire._request("GET", "/x", {"x-short": "v" * 1024}, None, None)
    assert wire._header_line.cache_info().currsize == 1
