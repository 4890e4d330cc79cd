"""Everything a reader of Redis could see: what it was sent (``MONITOR``), what it holds, what it published.

``RedisWatch`` starts ``MONITOR`` on a thread before the gateways act, and ``everything()`` ends it (an ``ECHO``
of a marker closes the record: each command awaited before it was executed before it) and adds every key with
its value, whatever its type. ``unkeyed_digests`` lists the plain SHA-256 names the gateway used to derive from
credentials, so a test can assert that none of them is left.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Iterable, Mapping

from tests.scale.conftest import RedisServer

__all__ = ["RedisWatch", "plain_sha256", "unkeyed_digests"]


class RedisWatch:
    """``MONITOR`` on a thread, and a dump of every key at the end."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.client = server.client()
        self.marker = f"end-of-watch-{uuid.uuid4().hex}"
        self.commands: list[str] = []
        self._monitor = self.client.monitor().__enter__()  # MONITOR sent and acknowledged: nothing is missed
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for command in self._monitor.listen():
            text = str(command.get("command", ""))
            self.commands.append(text)
            if self.marker in text:
                return

    def everything(self) -> str:
        """Every command Redis ran since the watch started, then every key and its value, as one text."""
        reader = self.server.client()
        reader.echo(self.marker)
        self._thread.join(10)
        assert not self._thread.is_alive(), "MONITOR never saw the marker"
        self._monitor.__exit__(None, None, None)
        seen = list(self.commands)
        for name in reader.scan_iter("*"):
            seen.append(name.decode(errors="replace"))
            kind = reader.type(name)
            values: Iterable[object]
            if kind == b"string":
                values = [reader.get(name)]
            elif kind == b"hash":
                values = [item for pair in reader.hgetall(name).items() for item in pair]
            elif kind == b"zset":
                values = [member for member, _ in reader.zrange(name, 0, -1, withscores=True)]
            elif kind == b"list":
                values = reader.lrange(name, 0, -1)
            elif kind == b"set":
                values = reader.smembers(name)
            else:
                values = [reader.dump(name)]
            seen += [value.decode(errors="replace") if isinstance(value, bytes) else str(value) for value in values]
        reader.close()
        self.client.close()
        return "\n".join(seen)


def plain_sha256(text: str) -> str:
    """The lower-case hex SHA-256 of ``text`` in UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


def unkeyed_digests(
    credentials: Iterable[Mapping[str, str]],
    idempotency_keys: Iterable[str],
    usernames: Iterable[str],
    watches: Iterable[tuple[str, str]] = (),
) -> list[str]:
    """The plain SHA-256 digests a reader could test guesses against: of each credential value, of each header as
    ``name:value``, and the names the gateway derived without a secret (idempotency records, live credentials and
    the channels of ``watches``, ``(topic, watched ids)``, login usernames)."""
    found: list[str] = []
    keys = list(idempotency_keys)
    for headers in credentials:
        for name, value in headers.items():
            found += [plain_sha256(value), plain_sha256(f"{name}:{value}")]
            if value.startswith(("Basic ", "Bearer ")):
                token = value.split(" ", 1)[1]
                found.append(plain_sha256(token))
                if value.startswith("Basic "):
                    found.append(plain_sha256(base64.b64decode(token).decode()))
            if "=" in value:
                found.append(plain_sha256(value.split("=", 1)[1]))
        lowered = sorted((name.lower(), value) for name, value in headers.items())
        live = plain_sha256("\n".join(f"{name}:{value}" for name, value in lowered))
        found.append(live)
        found += [plain_sha256(f"live:{topic}:{live[:32]}:{watched}") for topic, watched in watches]
        for key in keys:
            record = hashlib.sha256()
            for name in ("authorization", "x-gateway-key", "cookie"):
                value = headers.get(name, "").encode("latin-1", "replace")
                record.update(b"%d:%s\n" % (len(value), value))
            record.update(key.encode("ascii"))
            found.append(record.hexdigest())
    found += [plain_sha256(username.strip().casefold()) for username in usernames]
    # A reader matches a prefix as well as a whole digest (names were truncated to 32 characters).
    return sorted({digest[:16] for digest in found})
