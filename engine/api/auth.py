"""The bearer-token check shared by every ssa HTTP API that accepts mutations.

The engine API and the notifier's rectification API both call
``check_bearer(configured, authorization)`` with the configured
``settings.api.token`` and the request's ``Authorization`` header. The
token is compared in constant time and never appears in a refusal.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a mutation is refused: the HTTP status, a message, and headers to send."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


#: With no token configured, mutations are disabled (read-only), never open.
NO_TOKEN = Refusal(
    403,
    "mutations are disabled: no API token is configured "
    "(set api.token in the settings or SSA_API_TOKEN)",
)
#: The header is missing, not a bearer token, or the wrong token.
BAD_TOKEN = Refusal(
    401, "a valid bearer token is required", {"WWW-Authenticate": 'Bearer realm="ssa"'}
)


def check_bearer(configured: str, authorization: str) -> Refusal | None:
    """None if ``authorization`` is ``Bearer <configured>``, else the refusal."""
    if not configured:
        return NO_TOKEN
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), configured.encode()
    ):
        return BAD_TOKEN
    return None
