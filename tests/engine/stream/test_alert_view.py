"""The read model: a ``TopicStateView`` refreshed after every event shows what a fresh one does.

The view keeps each alert's snapshot and the fingerprint order between
refreshes; whatever order the events arrive in (new fingerprints, newer and
older changes of known ones), its scores and documents must equal those
computed from scratch from the same records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api.memory import InMemoryStateView
from engine.events import Alert
from engine.inventory.model import Asset, Inventory, Unit
from engine.scoring import Scores, compute_scores
from engine.stream.alert_view import TopicStateView

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
INVENTORY = Inventory(
    units={u: Unit(u, u.title()) for u in ("gov", "edu")},
    assets={
        "portal": Asset("portal", "gov", "website", url="https://www.example.gov/", criticality=5),
        "gw-1": Asset("gw-1", "gov", "ip", address="192.0.2.10", criticality=4),
        "blog": Asset("blog", "edu", "website", url="https://blog.example.org/", criticality=1),
    },
)
ASSETS = [*INVENTORY.assets, "retired"]


def alert(fp: int, seq: int, state: str, minute: int, suppressed: tuple[str, ...]) -> Alert:
    asset = ASSETS[fp % len(ASSETS)]
    unit = INVENTORY.assets[asset].unit if asset in INVENTORY.assets else "gone"
    return Alert(
        fingerprint=f"fp{fp:02d}", seq=seq, state=state, rule=f"rule-{fp % 3}",
        rule_version="v1", asset=asset, unit=unit, severity=("high", "low")[fp % 2],
        title=f"alert {fp}", at=T0 + timedelta(minutes=minute), started_at=T0,
        risk_weight=1.0 + fp % 4, suppressed=bool(suppressed), suppressed_by=suppressed,
        evidence=(f"o{seq}",),
    )  # fmt: skip


events = st.lists(
    st.builds(
        alert,
        fp=st.integers(0, 9),
        seq=st.integers(1, 4),
        state=st.sampled_from(["firing", "acknowledged", "resolved"]),
        minute=st.integers(0, 600),
        suppressed=st.sampled_from([(), ("maintenance",), ("inhibited:fp01",), ("silence:s",)]),
    ),
    max_size=25,
)


def same_scores(a: Scores, b: Scores) -> None:
    assert (a.at, a.city, a.city_raw) == (b.at, b.city, b.city_raw)
    assert list(a.asset.items()) == list(b.asset.items())
    assert list(a.unit.items()) == list(b.unit.items())
    assert a.alerts == b.alerts and a.criticality == b.criticality
    assert np.array_equal(a.contribution, b.contribution) and np.array_equal(a.decay, b.decay)


@settings(max_examples=150, deadline=None)
@given(stream=events)
def test_a_view_refreshed_after_every_event_equals_a_fresh_one(stream: list[Alert]) -> None:
    live = TopicStateView(INVENTORY)
    for i, a in enumerate(stream):
        live.apply_alert(a)
        live.refresh()
        fresh = TopicStateView(INVENTORY)
        for b in stream[: i + 1]:
            fresh.apply_alert(b)
        same_scores(live.scores(), fresh.scores())
        records = live.mirror.records()
        assert [r.fingerprint for r in records] == sorted({b.fingerprint for b in stream[: i + 1]})
        assert live.mirror.snapshots() == [r.snapshot() for r in records]
        # the scores are the model's over the records, as the generic view computes them
        clock = live.mirror.clock
        assert clock is not None
        expected = compute_scores(
            [r.snapshot() for r in records], INVENTORY.assets, clock, None, INVENTORY.units
        )
        same_scores(live.scores(), expected)
        assert live.alerts() == fresh.alerts() and live.assets() == fresh.assets()
        assert live.units() == fresh.units() and live.posture() == fresh.posture()


def test_an_older_change_read_late_leaves_the_newer_one_and_its_snapshot() -> None:
    view = TopicStateView(INVENTORY)
    view.apply_alert(alert(1, 3, "resolved", 30, ()))
    view.refresh()
    view.apply_alert(alert(1, 2, "firing", 20, ()))
    [snap] = view.mirror.snapshots()
    assert (snap.state, view.scores().alerts[0].state) == ("resolved", "resolved")
    generic = InMemoryStateView._compute(view)  # the base class's way, from the records
    same_scores(view.scores(), generic)
