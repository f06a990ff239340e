"""Matchers, silence windows and fingerprints."""

from __future__ import annotations

import hashlib

import pytest

from engine.alerting.fingerprint import fingerprint
from engine.alerting.silences import AlertLabels, Matcher, Silence
from tests.engine.alerting.helpers import t

LABELS = AlertLabels("site-down", "portal", "gov-office", "high", ("key-site", "web"))

MATCHES = [
    ("rule=site-down", True),
    ('rule="site-down"', True),
    ("rule=site", False),
    ("rule!=site-down", False),
    ("rule=~site-.*", True),
    ("rule=~site", False),  # anchored: the whole value must match
    ("rule!~cert-.*", True),
    ("tags=web", True),
    ("tags=mail", False),
    ("tags!=web", False),
    ("tags!=mail", True),
    ("tags=~key-.*", True),
    ("tags!~key-.*", False),
    ("severity=~high|critical", True),
    ("unit = gov-office", True),
]


@pytest.mark.parametrize("text, expected", MATCHES, ids=[m for m, _ in MATCHES])
def test_matcher(text: str, expected: bool) -> None:
    assert Matcher.parse(text).matches(LABELS) is expected


def test_matcher_prints_back() -> None:
    assert str(Matcher.parse('asset=~"por.*"')) == "asset=~por.*"


def test_silence_status_and_end() -> None:
    s = Silence("s1", (Matcher.parse("rule=x"),), t(10), t(100), "duty")
    assert [s.status(t(x)) for x in (0, 10, 99, 100)] == ["pending", "active", "active", "expired"]
    e = Silence("s1", (Matcher.parse("rule=x"),), t(10), t(100), "duty", expired_at=t(50))
    assert e.end == t(50) and e.status(t(50)) == "expired"
    early = Silence("s1", (Matcher.parse("rule=x"),), t(10), t(100), "duty", expired_at=t(5))
    assert [early.status(t(x)) for x in (0, 5, 10)] == ["pending", "expired", "expired"]
    assert Silence.from_dict(e.to_dict()) == e


def test_fingerprint_is_documented_hash_and_order_free() -> None:
    expected = hashlib.sha256(b'["port-open","gw-1",[["port","22"],["proto","tcp"]]]')
    assert (
        fingerprint("port-open", "gw-1", {"proto": "tcp", "port": "22"})
        == (expected.hexdigest()[:32])
    )
    assert fingerprint("site-down", "portal") == "13f4344adeb76bf7fff5206e81b809d3"
    assert fingerprint("a", "b", {"x": "1"}) != fingerprint("a", "b", {"x": "2"})
