"""What keeps the API key secret and the server reachable only by the names it serves under.

- The page may receive the key once in its address (`/?key=KEY`); uvicorn's access log would write that line
  out, so a log filter masks every `key=` query value before any handler sees the record.
- TrustedHostMiddleware refuses requests whose Host header names another site (DNS rebinding); `serve` allows
  the loopback names when it binds to loopback, the bound address plus those otherwise, and only with a given
  `--allowed-hosts` list anything else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from outfitter.errors import InputError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
WILDCARD_BINDS = ("0.0.0.0", "::", "")
_KEY_IN_QUERY = re.compile(r"([?&]key=)[^&\s\"]*", re.IGNORECASE)


class RedactKey(logging.Filter):
    """Masks `key=...` query values in a log record's message and arguments (uvicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_KEY_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _KEY_IN_QUERY.sub(r"\1***", record.msg)
        return True


def redact_access_log() -> None:
    """Install RedactKey on uvicorn's access logger once (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactKey) for f in logger.filters):
        logger.addFilter(RedactKey())


def checked_key(api_key: str | None) -> str | None:
    """The key as given; an empty or blank key is refused instead of silently turning authentication off."""
    if api_key is not None and not api_key.strip():
        raise InputError("the API key is empty: give a non-empty --api-key / OUTFITTER_API_KEY, or none at all",
                         field="api_key")
    return api_key


def default_allowed_hosts(host: str, given: Sequence[str] | None) -> list[str]:
    """Host names to accept: the given list, else loopback names (plus the bound address when it is not loopback);
    a wildcard bind without a list accepts any name (the caller warns)."""
    if given:
        return list(given)
    if host in WILDCARD_BINDS:
        return ["*"]
    return list(dict.fromkeys([*LOOPBACK_HOSTS, host]))
