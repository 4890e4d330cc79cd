"""An embedded, SQLite-backed implementation of Bifrost's governance REST API.

It is the gateway's default upstream when no real Bifrost is configured, the offline backend for frontend
work, and the upstream of integration tests and benchmarks. It depends on nothing else in ``app`` but
:mod:`app.generations`, the capabilities of each generation it speaks.

Example:
    >>> from app.embedded_bifrost import create_app
    >>> app = create_app(database=":memory:", generation="v2")
"""

from .app import BifrostApp, RequestRecord, create_app

__all__ = ["BifrostApp", "RequestRecord", "create_app"]
