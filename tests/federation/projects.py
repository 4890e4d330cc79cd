"""A test-only second subgraph: projects, each of one team, referenced by the team's id.

It extends the gateway's ``Team`` entity with ``projects`` and answers ``Project.team`` with a reference
only (``{__typename: "Team", id}``), so every other team field a query asks for comes from the gateway's
``_entities``. Its rows are ``(id, name, team id)`` tuples given to ``projects_app``.

Example:
    >>> "type Team @key" in SCHEMA.as_str()
    True
"""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL

__all__ = ["SCHEMA", "projects_app"]

Rows = list[tuple[str, str, str]]


@strawberry.federation.type(keys=["id"])
class Team:
    id: strawberry.ID

    @strawberry.field
    def projects(self, info: strawberry.Info) -> list[Project]:
        rows: Rows = info.context["rows"]
        return [Project(id=strawberry.ID(p), name=n, team_id=t) for p, n, t in rows if t == self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Team:
        return Team(id=id)


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    team_id: strawberry.Private[str]

    @strawberry.field
    def team(self) -> Team:
        return Team(id=strawberry.ID(self.team_id))


@strawberry.type
class Query:
    @strawberry.field
    def projects(self, info: strawberry.Info) -> list[Project]:
        rows: Rows = info.context["rows"]
        return [Project(id=strawberry.ID(p), name=n, team_id=t) for p, n, t in rows]


SCHEMA = strawberry.federation.Schema(query=Query, federation_version="2.3")


def projects_app(rows: Rows) -> GraphQL[Any, None]:
    """The subgraph as an ASGI application over ``rows``."""

    class Projects(GraphQL[Any, None]):
        async def get_context(self, request: Request, response: Response | Any) -> Any:
            return {"rows": rows}

    return Projects(SCHEMA)
