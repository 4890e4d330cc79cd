"""Names of teams, customers and virtual keys: one check for every create and update.

A name needs a visible character and may hold no control characters, invisible format characters,
bidirectional overrides or line separators; letters of any script pass. Refused names never go upstream.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from app.schema.names import check_name
from tests.gateway.arrange import MISSING_ID, codes, result_of, upstream_get
from tests.gateway.conftest import Gateway

MUTATIONS = {
    "createTeam": "CreateTeamInput",
    "updateTeam": "UpdateTeamInput",
    "createCustomer": "CreateCustomerInput",
    "updateCustomer": "UpdateCustomerInput",
    "createVirtualKey": "CreateVirtualKeyInput",
    "updateVirtualKey": "UpdateVirtualKeyInput",
}
ENTITY = {"Team": "team", "Customer": "customer", "VirtualKey": "virtualKey"}

REFUSED = {
    "zero-width spaces": ("\u200b\u200b", "U+200B"),
    "NUL inside": ("nul\u0000team", "control characters (U+0000)"),
    "NUL and bell": ("\u0000\u0007", "control characters (U+0000)"),
    "right-to-left override": ("\u202egnp.exe", "bidirectional formatting characters (U+202E)"),
    "left-to-right isolate": ("a\u2066b", "U+2066"),
    "byte order mark": ("\ufeffteam", "U+FEFF"),
    "word joiner": ("te\u2060am", "U+2060"),
    "newline": ("two\nlines", "control characters (U+000A)"),
    "tab": ("tab\there", "control characters (U+0009)"),
    "escape": ("\u001b[31mred", "control characters (U+001B)"),
    "delete": ("del\u007f", "control characters (U+007F)"),
    "C1 control": ("c1\u0085", "control characters (U+0085)"),
    "line separator": ("a\u2028b", "line separators (U+2028)"),
    "paragraph separator": ("a\u2029b", "paragraph separators (U+2029)"),
    "blank": ("   ", "visible character"),
    "no-break spaces": ("\u00a0\u3000", "visible character"),
    "hangul filler": ("\u3164", "visible character"),
    "blank braille": ("\u2800\u2800", "visible character"),
    "lone combining mark": ("\u0301", "visible character"),
    "empty": ("", "visible character"),
}


def document(mutation: str) -> str:
    input_type = MUTATIONS[mutation]
    entity = next(field for type_, field in ENTITY.items() if type_ in input_type)
    return (
        f"mutation M($input: {input_type}!) {{ {mutation}(input: $input) "
        f"{{ {entity} {{ id name }} userErrors {{ field message code }} }} }}"
    )


def given(mutation: str, name: str) -> dict[str, Any]:
    return {"name": name, "id": MISSING_ID} if mutation.startswith("update") else {"name": name}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("case", REFUSED)
async def test_a_name_without_a_visible_character_or_with_hidden_ones_is_refused(
    current_gateway: Gateway, mutation: str, case: str
) -> None:
    name, said = REFUSED[case]
    result = result_of(await current_gateway.graphql(document(mutation), {"input": given(mutation, name)}), mutation)
    assert codes(result) == [(["input", "name"], "INVALID_INPUT")]
    message = result["userErrors"][0]["message"]
    assert message.startswith("name must") and said in message
    assert current_gateway.upstream_calls() == [], "nothing goes upstream"


@pytest.mark.parametrize("name", ["nul\\u0000team", "\\u202egnp.exe", "\\u200b"])
async def test_the_same_names_written_inline_are_refused(current_gateway: Gateway, name: str) -> None:
    body = await current_gateway.graphql(
        f'mutation {{ createTeam(input: {{name: "{name}"}}) {{ team {{ id }} userErrors {{ field code }} }} }}'
    )
    assert result_of(body, "createTeam")["userErrors"] == [{"field": ["input", "name"], "code": "INVALID_INPUT"}]
    assert current_gateway.upstream_calls() == []


@pytest.mark.parametrize(
    "name", ["Équipe 東京", "команда", "فريق", "チーム・\u03b1", "team 💻", "a" * 255, "  padded  "]
)
@pytest.mark.parametrize("mutation", ["createTeam", "createCustomer", "createVirtualKey"])
async def test_names_in_any_script_pass_and_are_stored_as_given(gateway: Gateway, mutation: str, name: str) -> None:
    result = result_of(await gateway.graphql(document(mutation), {"input": {"name": name}}), mutation)
    assert result["userErrors"] == []
    entity = next(iter(value for key, value in result.items() if key != "userErrors"))
    assert entity["name"] == name
    collection = {"createTeam": "teams", "createCustomer": "customers", "createVirtualKey": "virtual-keys"}[mutation]
    stored = await upstream_get(gateway, collection, entity["id"])
    assert stored is not None and stored["name"] == name


async def test_a_name_longer_than_255_characters_is_refused(current_gateway: Gateway) -> None:
    result = result_of(
        await current_gateway.graphql(document("createTeam"), {"input": {"name": "é" * 256}}), "createTeam"
    )
    assert result["userErrors"][0]["message"] == "name must be at most 255 characters"
    assert current_gateway.upstream_calls() == []


def _rule(name: str) -> str:
    """The rule written out character by character, for names of ASCII characters."""
    categories = [unicodedata.category(char) for char in name]
    if any(category in ("Cc", "Cf", "Cs", "Zl", "Zp") for category in categories):
        return "refused"
    return "ok" if any(category[0] in "LNPS" for category in categories) else "invisible"


@pytest.mark.parametrize("around", ["{}", "a{}", "{}b", " {} ", "{}{}"])
def test_the_ascii_fast_path_follows_the_rule_for_every_ascii_character(around: str) -> None:
    for code in range(128):
        name = around.format(chr(code), chr(code)) if around == "{}{}" else around.format(chr(code))
        errors = check_name(name, ["input", "name"])
        outcome = "ok" if not errors else "refused" if "must not contain" in errors[0].message else "invisible"
        assert outcome == _rule(name), repr(name)


KEY_REFERENCES = [
    ({"providerConfigs": [{"provider": "open\u0000ai"}]}, ["input", "providerConfigs", "0", "provider"]),
    (
        {"providerConfigs": [{"provider": "openai", "allowedModels": ["gpt-4o", "\u202egpt"]}]},
        ["input", "providerConfigs", "0", "allowedModels", "1"],
    ),
    (
        {"providerConfigs": [{"provider": "openai", "keyIds": ["\u200b"]}]},
        ["input", "providerConfigs", "0", "keyIds", "0"],
    ),
    (
        {"mcpConfigs": [{"mcpClientName": "git\nhub", "toolsToExecute": ["*"]}]},
        ["input", "mcpConfigs", "0", "mcpClientName"],
    ),
    (
        {"mcpConfigs": [{"mcpClientName": "github", "toolsToExecute": ["*", "\u0007"]}]},
        ["input", "mcpConfigs", "0", "toolsToExecute", "1"],
    ),
    ({"description": "nul\u0000inside"}, ["input", "description"]),
]


@pytest.mark.parametrize("mutation", ["createVirtualKey", "updateVirtualKey"])
@pytest.mark.parametrize(("fields", "path"), KEY_REFERENCES)
async def test_what_a_key_refers_to_follows_the_name_rule_and_descriptions_hold_no_nul(
    current_gateway: Gateway, mutation: str, fields: dict[str, Any], path: list[str]
) -> None:
    result = result_of(
        await current_gateway.graphql(document(mutation), {"input": {**given(mutation, "k"), **fields}}), mutation
    )
    assert codes(result) == [(path, "INVALID_INPUT")]
    assert current_gateway.upstream_calls() == []


async def test_a_description_may_span_lines(current_gateway: Gateway) -> None:
    query = (
        "mutation M($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) "
        "{ virtualKey { description } userErrors { code } } }"
    )
    body = await current_gateway.graphql(query, {"input": {"name": "k", "description": "line one\n\tline two"}})
    assert result_of(body, "createVirtualKey") == {
        "virtualKey": {"description": "line one\n\tline two"},
        "userErrors": [],
    }
