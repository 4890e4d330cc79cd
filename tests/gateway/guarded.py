"""A gateway over an embedded upstream with its auth on, and a record of the headers that went upstream."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import V1_5
from app.keys import entry_for
from app.settings import Settings
from app.web import create_app
from tests.gateway.conftest import Gateway

AUTH = ("admin", "s3cret")
SERVICE_BASIC = "Basic " + base64.b64encode(b"admin:s3cret").decode()
BFF_KEY = "gk_bff-Zq3v7N1cT8xW2eR5yU0iO9pA4sD6fG7h"  # may not reveal
ADMIN_KEY = "gk_admin-Hj2Kl5Zx8Cv1Bn4Mq7Wr0Ty3Ui6Op9As"  # may reveal
KEYS = ",".join([entry_for("bff", BFF_KEY), entry_for("admin-console", ADMIN_KEY, can_reveal=True)])
SERVICE = {"bifrost_username": AUTH[0], "bifrost_password": AUTH[1], "gateway_api_keys": KEYS}


@dataclass
class Recorder:
    """Passes requests to the upstream and keeps (path, headers) of each."""

    app: Any
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["path"], {k.decode(): v.decode() for k, v in scope["headers"]}))
        await self.app(scope, receive, send)

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]

    def authorizations(self) -> list[str | None]:
        return [headers.get("authorization") for _, headers in self.seen]


def guarded_upstream(auth: tuple[str, str] | None = AUTH) -> Any:
    return create_embedded_bifrost(database=":memory:", generation="current", auth=auth)


async def policy_gateway(
    *, auth: tuple[str, str] | None = AUTH, upstream: Any = None, **settings: Any
) -> tuple[Gateway, Recorder, httpx.AsyncClient]:
    """The gateway over an embedded upstream (auth on by default), the recorder, and a direct admin client."""
    upstream = upstream or guarded_upstream(auth)
    recorder = Recorder(upstream)
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal:8080", **settings),
        transport=httpx.ASGITransport(app=recorder),  # type: ignore[arg-type]
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    admin = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=upstream),
        base_url="http://bifrost",
        headers={"authorization": SERVICE_BASIC},
    )
    return Gateway(app=app, http=http, upstream=upstream, generation=V1_5), recorder, admin
