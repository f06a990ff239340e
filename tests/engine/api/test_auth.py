"""The shared bearer-token check (engine API and notifier API)."""

from __future__ import annotations

import pytest

from engine.api.auth import BAD_TOKEN, NO_TOKEN, check_bearer


@pytest.mark.parametrize(
    ("configured", "header", "expected"),
    [
        ("tok", "Bearer tok", None),
        ("tok", "bearer tok ", None),  # scheme case-insensitive, surrounding space ignored
        ("tok", "", BAD_TOKEN),
        ("tok", "Bearer", BAD_TOKEN),
        ("tok", "Bearer tok2", BAD_TOKEN),
        ("tok", "Basic tok", BAD_TOKEN),
        ("", "Bearer ", NO_TOKEN),  # no token configured: read-only, never open
        ("", "Bearer anything", NO_TOKEN),
    ],
)
def test_check_bearer(configured: str, header: str, expected: object) -> None:
    assert check_bearer(configured, header) == expected


def test_refusals_never_echo_the_token() -> None:
    for r in (check_bearer("tok-secret", "Bearer nope"), check_bearer("", "Bearer tok-secret")):
        assert r is not None and "tok-secret" not in repr(r)
    assert (NO_TOKEN.status, BAD_TOKEN.status) == (403, 401)
    assert BAD_TOKEN.headers == {"WWW-Authenticate": 'Bearer realm="ssa"'}
