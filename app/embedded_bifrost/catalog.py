"""What Bifrost configures outside governance: the provider names, provider keys and MCP clients.

Virtual keys reference provider keys (by ``key_id``) and MCP clients (by name), but the governance API cannot
create either. Every new database is therefore seeded with a few of each, always, demo data or not.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from .db import now

__all__ = ["MCP_CLIENT_NAMES", "PROVIDERS", "SECRET_KEY_FIELDS", "SEEDED_KEYS", "seed_catalog"]

PROVIDERS = frozenset(
    {
        "openai", "azure", "anthropic", "bedrock", "cohere", "vertex", "vllm", "mistral", "ollama", "groq",
        "sgl", "parasail", "perplexity", "replicate", "cerebras", "gemini", "openrouter", "elevenlabs",
        "huggingface", "nebius", "xai", "runway", "fireworks",
    }
)  # fmt: skip

# EnvVar fields of a key that hold secrets; Bifrost blanks these when it embeds keys in virtual keys.
SECRET_KEY_FIELDS = (
    "azure_client_secret",
    "vertex_auth_credentials",
    "bedrock_access_key",
    "bedrock_secret_key",
    "bedrock_session_token",
)


def _env(value: str = "", env_var: str = "", from_env: bool = False) -> dict[str, Any]:
    return {"value": value, "env_var": env_var, "from_env": from_env}


# (name, provider, key_id, value EnvVar, models, weight, credentials)
SEEDED_KEYS: tuple[tuple[str, str, str, dict[str, Any], list[str], float, dict[str, Any]], ...] = (
    ("openai-primary", "openai", "6f1c2a1e-3b0a-4c1e-9a63-0d5d7f1f4a01",
     _env("sk-demo-openai-primary-0001"), ["gpt-4o", "gpt-4o-mini"], 1.0, {}),
    ("openai-secondary", "openai", "6f1c2a1e-3b0a-4c1e-9a63-0d5d7f1f4a02",
     _env("sk-demo-openai-secondary-0002"), [], 0.5, {}),
    ("anthropic-primary", "anthropic", "8a0e5b7c-51d2-4f0e-8d39-7b1b3c2e9b01",
     _env("sk-ant-demo-primary-0001"), ["claude-sonnet-4-5", "claude-haiku-4-5"], 1.0, {}),
    ("anthropic-batch", "anthropic", "8a0e5b7c-51d2-4f0e-8d39-7b1b3c2e9b02",
     _env("sk-ant-demo-batch-0002"), [], 1.0, {}),
    ("azure-eastus", "azure", "c3d9e4f2-7a61-4b8f-a2d4-5e6f7a8b9c01",
     _env(env_var="env.AZURE_API_KEY", from_env=True), ["gpt-4o"], 1.0,
     {"azure_endpoint": _env("https://demo-eastus.openai.azure.com"),
      "azure_api_version": _env("2024-10-21"),
      "azure_client_secret": _env("azure-demo-client-secret")}),
    ("azure-westeu", "azure", "c3d9e4f2-7a61-4b8f-a2d4-5e6f7a8b9c02",
     _env("azure-demo-key-westeu"), [], 1.0,
     {"azure_endpoint": _env(env_var="env.AZURE_WESTEU_ENDPOINT", from_env=True),
      "azure_api_version": _env("2024-10-21")}),
)  # fmt: skip

MCP_CLIENT_NAMES = ("filesystem", "github", "web-search")
_MCP_CLIENT_IDS = (
    "0b6c8e1a-2f4d-4e5b-9c7a-1d2e3f4a5b01",
    "0b6c8e1a-2f4d-4e5b-9c7a-1d2e3f4a5b02",
    "0b6c8e1a-2f4d-4e5b-9c7a-1d2e3f4a5b03",
)


def seed_catalog(db: sqlite3.Connection) -> None:
    """Insert the providers, provider keys and MCP clients into a new database (idempotent)."""
    if db.execute("SELECT 1 FROM keys LIMIT 1").fetchone() is not None:
        return
    stamp = now()
    for provider in ("openai", "anthropic", "azure"):
        db.execute("INSERT OR IGNORE INTO providers (name) VALUES (?)", (provider,))
    for name, provider, key_id, value, models, weight, credentials in SEEDED_KEYS:
        db.execute(
            "INSERT INTO keys (name, provider, key_id, value, models, weight, credentials, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, provider, key_id, orjson.dumps(value), orjson.dumps(models), weight,
             orjson.dumps(credentials), stamp, stamp),
        )  # fmt: skip
    for client_id, name in zip(_MCP_CLIENT_IDS, MCP_CLIENT_NAMES, strict=True):
        db.execute("INSERT INTO mcp_clients (client_id, name) VALUES (?, ?)", (client_id, name))
