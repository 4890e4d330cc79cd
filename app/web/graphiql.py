"""GraphiQL, served by the gateway itself: no CDN, works offline.

The assets under ``static/graphiql/`` are vendored, unmodified, from npm:

- ``graphiql@3.9.0``: ``graphiql.min.js`` (UMD build, exposes ``window.GraphiQL``) and ``graphiql.min.css``
- ``react@18.3.1``: ``umd/react.production.min.js``
- ``react-dom@18.3.1``: ``umd/react-dom.production.min.js``
- ``@graphiql/plugin-explorer@3.2.6`` (the release for graphiql 3.9's ``@graphiql/react`` 0.29):
  ``dist/index.umd.js`` as ``graphiql-plugin-explorer.umd.js`` and ``dist/style.css`` as
  ``graphiql-plugin-explorer.css``

- ``graphql-sse@2.6.1`` (MIT): ``umd/graphql-sse.min.js``, the GraphQL over SSE client GraphiQL runs
  subscriptions with (``window.graphqlSse``)

Their licenses sit next to them (``LICENSE.*``, ``THIRD_PARTY_LICENSES.txt``, which also records where the
explorer's files came from). ``boot.js`` is ours: it mounts GraphiQL with a same-origin fetcher for
``/graphql`` (subscriptions stream from the same URL over SSE, with the same headers and cookies), the explorer
and an "Examples" sidebar of saved operations (``graphiql_examples``). The page has no inline script, so its
Content-Security-Policy allows scripts from the gateway's origin only, and connections to it only.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from app.web.graphiql_examples import AUTH_COMMENT, DEFAULT_HEADERS, SAVED_OPERATIONS

__all__ = [
    "ASSET_PREFIX",
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_QUERY",
    "STATIC_DIR",
    "graphiql_page",
    "graphiql_routes",
]

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
ASSET_PREFIX = "/graphiql/static"
GRAPHQL_PATH = "/graphql"

# A new tab's document: valid, so that the explorer starts from it rather than from the last tab it parsed.
DEFAULT_QUERY = (
    AUTH_COMMENT
    + """\
# Build an operation in the Explorer (sidebar), or open a saved one from Examples.
query MyQuery {
  __typename
}
"""
)

# GraphiQL (CodeMirror, Radix) sets inline styles, so style-src needs 'unsafe-inline'; its fonts and icons are
# inlined as data: URIs. Scripts come from the gateway only; the one network peer is the gateway's /graphql.
# Delivered in a <meta> tag (the page is served by the /graphql endpoint); frame-ancestors cannot be set that way.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)

_STYLESHEETS = ("graphiql.min.css", "graphiql-plugin-explorer.css")
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql-plugin-explorer.umd.js",
    "graphql-sse.min.js",
    "boot.js",
)


def _json_for_html(value: object) -> str:
    """JSON safe to embed in a <script type="application/json"> element."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def graphiql_page() -> bytes:
    """The GraphiQL HTML page (built once)."""
    config = {
        "url": GRAPHQL_PATH,
        "defaultQuery": DEFAULT_QUERY,
        "defaultHeaders": DEFAULT_HEADERS,
        "examples": [operation.as_tab() for operation in SAVED_OPERATIONS],
    }
    styles = "\n".join(f'    <link rel="stylesheet" href="{ASSET_PREFIX}/{name}">' for name in _STYLESHEETS)
    scripts = "\n".join(f'    <script src="{ASSET_PREFIX}/{name}" defer></script>' for name in _SCRIPTS)
    page = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Security-Policy" content="{html.escape(CONTENT_SECURITY_POLICY)}">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <link rel="icon" href="data:,">
    <title>GraphiQL · Bifrost GraphQL gateway</title>
{styles}
    <style>
      html, body {{ height: 100%; margin: 0; }}
      #graphiql {{ height: 100vh; }}
      #graphiql-loading {{ font-family: system-ui, sans-serif; padding: 2rem; color: #555; }}
    </style>
    <script id="graphiql-config" type="application/json">{_json_for_html(config)}</script>
{scripts}
  </head>
  <body>
    <div id="graphiql"><p id="graphiql-loading">Loading GraphiQL…</p></div>
    <noscript>GraphiQL needs JavaScript. The GraphQL endpoint is POST {GRAPHQL_PATH}.</noscript>
  </body>
</html>
"""
    return page.encode("utf-8")


def graphiql_routes() -> list[BaseRoute]:
    """Routes serving GraphiQL's static assets under ``/graphiql/static``."""
    return [Mount(ASSET_PREFIX, app=StaticFiles(directory=STATIC_DIR), name="graphiql-static")]
