"""A registered system pushing its own security events to the collectors.

In the demo, the city's identity platform reports a burst of failed logins
(a password-spraying attempt from one address) as JSON over HTTP to the
collectors' ingest endpoint (``POST /ingest/v1/events``, see
``collectors.ingest.http``), authenticated with its per-system token — the
token says which system is speaking. The
URL and token are parameters: the demo passes the collector's, and a test
can pass its own receiver's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

log = logging.getLogger(__name__)

#: The attacker's address in the demo (TEST-NET-2, never routed).
ATTACKER_IP = "198.51.100.77"
USERS: tuple[str, ...] = ("admin", "zhangwei", "liuyang", "wangfang", "test", "root")


@dataclass(frozen=True, slots=True)
class IngestTarget:
    """Where a system pushes its events, and how it proves who it is."""

    url: str
    token: str
    #: The asset id of the pushing system (also sent in the payload).
    system: str


def failed_login(n: int, at: datetime) -> dict[str, object]:
    """The ``n``-th failed login event of a burst, in the ingest vocabulary."""
    return {
        "event_type": "login",
        "outcome": "failure",
        "user": USERS[n % len(USERS)],
        "source_ip": ATTACKER_IP,
        "at": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "message": f"authentication failed for user {USERS[n % len(USERS)]}",
    }


async def push_failed_logins(target: IngestTarget, count: int, *, timeout: float = 5.0) -> int:
    """POST ``count`` failed-login events one by one; return how many were accepted (2xx).

    A refused connection or a rejected token is logged and counted as not
    accepted: the city keeps playing when no collector is listening.
    """
    accepted = 0
    headers = {"Authorization": f"Bearer {target.token}"}
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        for n in range(count):
            event = failed_login(n, datetime.now(UTC))
            try:
                r = await client.post(target.url, json=event, headers=headers)
            except httpx.HTTPError as e:
                log.warning("ingest push to %s failed: %s", target.url, type(e).__name__)
                return accepted
            if r.is_success:
                accepted += 1
            else:
                log.warning("ingest push rejected: HTTP %s", r.status_code)
                return accepted
    return accepted
