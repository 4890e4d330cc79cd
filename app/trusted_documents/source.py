"""Where a manifest comes from: a file, or an http(s) URL fetched once at start.

The URL is fetched with a short timeout, no redirects (a manifest is an allow-list: it is read from where
the operator said, not from wherever that answer points) and a size bound; errors never show the URL,
which may carry a token (a signed storage URL, say). A file path is shown: it is no secret and helps.

Example:
    >>> # read_manifest("/srv/persisted-documents.json") or read_manifest("https://cdn.example/manifest.json")
"""

from __future__ import annotations

import httpx

__all__ = ["MAX_MANIFEST_BYTES", "ManifestSourceError", "is_url", "read_manifest"]

MAX_MANIFEST_BYTES = 32 * 1024 * 1024
FETCH_TIMEOUT = 10.0


class ManifestSourceError(Exception):
    """The manifest could not be read; the message says why, without the URL."""


def is_url(location: str) -> bool:
    """Whether ``location`` is an http(s) URL rather than a file path."""
    return location.lower().startswith(("http://", "https://"))


def read_manifest(location: str) -> bytes:
    """The manifest's bytes, from a file path or an http(s) URL.

    Raises:
        ManifestSourceError: unreadable, not found, not 200, or larger than ``MAX_MANIFEST_BYTES``.
    """
    return _fetch(location) if is_url(location) else _read_file(location)


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as manifest:
            data = manifest.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        raise ManifestSourceError(f"cannot read the file {path!r} ({error.strerror})") from None
    return _bounded(data)


def _fetch(url: str) -> bytes:
    try:
        with (
            httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url, headers={"accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ManifestSourceError(f"fetching the manifest answered HTTP {response.status_code}, not 200")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_MANIFEST_BYTES:
                    break
    except httpx.HTTPError as error:
        # The exception's text can hold the URL: only its kind is told.
        raise ManifestSourceError(f"fetching the manifest failed ({type(error).__name__})") from None
    return _bounded(bytes(data))


def _bounded(data: bytes) -> bytes:
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestSourceError(f"the manifest is larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB")
    return data
