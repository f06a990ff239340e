"""The risk model: bounds, decay, explanations whose shares sum to the score."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.inventory.model import Asset
from engine.scoring import (
    AlertSnapshot,
    RiskModel,
    bounded,
    compute_scores,
    explain_asset,
    explain_city,
    explain_unit,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ASSETS = {
    "portal": Asset(
        "portal", "gov-office", "website", url="https://www.example.gov/", criticality=5
    ),
    "gw-1": Asset("gw-1", "gov-office", "ip", address="192.0.2.10", criticality=4),
    "blog": Asset("blog", "edu", "website", url="https://blog.example.org/", criticality=1),
    "quiet": Asset("quiet", "edu", "system", address="198.51.100.7", criticality=2),
}


def snap(
    n: int,
    asset: str = "portal",
    weight: float = 5.0,
    state: str = "firing",
    resolved_ago_s: float | None = None,
    suppressed_by: tuple[str, ...] = (),
) -> AlertSnapshot:
    unit = ASSETS[asset].unit if asset in ASSETS else "other"
    resolved_at = NOW - timedelta(seconds=resolved_ago_s) if resolved_ago_s is not None else None
    return AlertSnapshot(
        fingerprint=f"fp{n:02d}",
        rule=f"rule-{n}",
        asset=asset,
        unit=unit,
        state=state,
        risk_weight=weight,
        severity="high",
        title=f"alert {n}",
        resolved_at=resolved_at,
        suppressed_by=suppressed_by,
    )


def asset_score(*alerts: AlertSnapshot, asset: str = "portal") -> float:
    return compute_scores(list(alerts), ASSETS, NOW).asset[asset]


def full(raw: float, scale: float = 25.0) -> float:
    return 100 * (1 - math.exp(-raw / scale))


# (description, alerts on portal (criticality 5), expected portal score)
CASES: list[tuple[str, list[AlertSnapshot], float]] = [
    ("no alerts", [], 0.0),
    ("one firing alert: 5 × 5 = 25 → 63.21", [snap(1)], full(25)),
    ("acknowledged still counts", [snap(1, state="acknowledged")], full(25)),
    ("two alerts add before saturating", [snap(1), snap(2, weight=2)], full(35)),
    (
        "resolved one half-life ago counts half",
        [snap(1, state="resolved", resolved_ago_s=3600)],
        full(12.5),
    ),
    (
        "resolved two half-lives ago counts a quarter",
        [snap(1, state="resolved", resolved_ago_s=7200)],
        full(6.25),
    ),
    ("resolved just now counts fully", [snap(1, state="resolved", resolved_ago_s=0)], full(25)),
    ("decay below 1% is dropped", [snap(1, state="resolved", resolved_ago_s=3600 * 6.7)], 0.0),
    ("silenced alerts still count", [snap(1, suppressed_by=("silence:s1",))], full(25)),
    ("inhibited alerts do not count", [snap(1, suppressed_by=("inhibited:abc",))], 0.0),
    ("maintenance does not count", [snap(1, suppressed_by=("maintenance",))], 0.0),
    ("zero weight adds nothing", [snap(1, weight=0.0)], 0.0),
]


@pytest.mark.parametrize("alerts, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_asset_score(alerts: list[AlertSnapshot], expected: float) -> None:
    assert asset_score(*alerts) == pytest.approx(expected, abs=1e-9)


def test_criticality_scales_and_unknown_assets_use_the_default() -> None:
    s = compute_scores([snap(1, "blog"), snap(2, "gw-1"), snap(3, "elsewhere")], ASSETS, NOW)
    assert s.asset["blog"] == pytest.approx(full(5))
    assert s.asset["gw-1"] == pytest.approx(full(20))
    assert s.asset["elsewhere"] == pytest.approx(full(15))  # default criticality 3
    assert s.asset["quiet"] == 0.0 and s.unit["edu"] == pytest.approx(full(5, 50))
    assert s.unit["gov-office"] == pytest.approx(full(20, 50))
    assert s.city == pytest.approx(full(40, 200))
    assert s.posture == pytest.approx(100 - full(40, 200))


def test_scores_are_bounded_even_under_a_flood() -> None:
    alerts = [snap(i, weight=10.0) for i in range(500)]
    s = compute_scores(alerts, ASSETS, NOW)
    assert 99.99 < s.asset["portal"] <= 100.0
    assert 0.0 <= s.posture < 0.01
    assert bounded(np.array([0.0, 1e9]), 25.0).tolist() == [0.0, 100.0]


def test_explanation_of_the_worked_example_in_docs() -> None:
    """docs/risk.md, "Worked example": recompute by hand and compare."""
    alerts = [
        snap(1, "portal", weight=8.0),  # 8 × 5 × 1 = 40
        snap(2, "portal", weight=4.0, state="resolved", resolved_ago_s=1800),  # 4×5×0.7071=14.142
        snap(3, "gw-1", weight=5.0, state="acknowledged"),  # 5 × 4 = 20
    ]
    s = compute_scores(alerts, ASSETS, NOW)
    e = explain_asset(s, "portal")
    assert round(e.raw, 3) == 54.142
    assert round(e.score, 2) == 88.53
    assert [(c.fingerprint, round(c.share, 2)) for c in e.contributions] == [
        ("fp01", 65.41),
        ("fp02", 23.13),
    ]
    assert round(s.unit["gov-office"], 2) == 77.30
    assert round(s.asset["gw-1"], 2) == 55.07
    assert round(s.city, 2) == 30.98
    assert round(s.posture, 2) == 69.02
    u = explain_unit(s, "gov-office")
    assert [round(c.share, 2) for c in u.contributions] == [41.7, 20.85, 14.74]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(ASSETS)),
            st.floats(0, 10, allow_subnormal=False),
            st.sampled_from(["firing", "acknowledged", "resolved"]),
            st.floats(0, 40_000),
            st.booleans(),
        ),
        max_size=40,
    )
)
def test_shares_sum_to_every_score(
    rows: list[tuple[str, float, str, float, bool]],
) -> None:
    alerts = [
        snap(i, a, w, state, ago if state == "resolved" else None, ("inhibited:x",) if inh else ())
        for i, (a, w, state, ago, inh) in enumerate(rows)
    ]
    s = compute_scores(alerts, ASSETS, NOW)
    explanations = [explain_asset(s, a) for a in s.asset] + [explain_unit(s, u) for u in s.unit]
    explanations.append(explain_city(s))
    for e in explanations:
        assert 0.0 <= e.score < 100.0 or e.score == pytest.approx(100.0)
        assert sum(c.share for c in e.contributions) == pytest.approx(e.score, abs=1e-9)
        assert sum(c.contribution for c in e.contributions) == pytest.approx(e.raw, abs=1e-9)
        assert all(c.share >= 0 and c.contribution > 0 for c in e.contributions)


def test_explanations_are_sorted_by_share_and_serialisable() -> None:
    s = compute_scores([snap(1, weight=1), snap(2, weight=9)], ASSETS, NOW)
    d = explain_asset(s, "portal").to_dict()
    assert [c["fingerprint"] for c in d["contributions"]] == ["fp02", "fp01"]
    assert d["scope"] == "asset" and d["scale"] == 25.0
    assert explain_asset(s, "quiet").contributions == ()
    assert explain_asset(s, "nowhere").score == 0.0


def test_custom_model() -> None:
    model = RiskModel(half_life_s=60.0, asset_scale=10.0)
    s = compute_scores([snap(1, weight=2, state="resolved", resolved_ago_s=60)], ASSETS, NOW, model)
    assert s.asset["portal"] == pytest.approx(full(5, 10))


def test_ten_thousand_alerts_score_fast() -> None:
    import time

    assets = {
        f"a{i}": Asset(f"a{i}", f"u{i % 400}", "website", url="https://x.example.org/")
        for i in range(1000)
    }
    alerts = [
        AlertSnapshot(f"f{i}", "r", f"a{i % 1000}", f"u{i % 1000 % 400}", "firing", 3.0)
        for i in range(10_000)
    ]
    start = time.perf_counter()
    s = compute_scores(alerts, assets, NOW)
    elapsed = time.perf_counter() - start
    assert len(s.asset) == 1000 and len(s.unit) == 400
    assert elapsed < 2.0, elapsed


def reference_scores(
    alerts: list[AlertSnapshot], assets: dict[str, Asset], now: datetime, units: tuple[str, ...]
) -> dict[str, object]:
    """The model written column by column (``compute_scores`` before it was made one pass)."""
    model = RiskModel()
    asset_ids = sorted(set(assets) | {a.asset for a in alerts})
    unit_ids = sorted(set(units) | {a.unit for a in assets.values()} | {a.unit for a in alerts})
    crit = [assets[a.asset].criticality if a.asset in assets else 3 for a in alerts]
    age = [
        max(0.0, (now - a.resolved_at).total_seconds())
        if a.state == "resolved" and a.resolved_at is not None
        else 0.0
        for a in alerts
    ]
    muted = [
        any(s == "maintenance" or s.startswith("inhibited:") for s in a.suppressed_by)
        for a in alerts
    ]
    decay = np.where(
        np.array([a.state != "resolved" for a in alerts], dtype=np.bool_),
        1.0,
        np.exp2(-np.array(age, dtype=np.float64) / model.half_life_s),
    )
    decay = np.where(decay < model.min_decay, 0.0, decay)
    contribution = (
        np.array([a.risk_weight for a in alerts], dtype=np.float64)
        * np.array(crit, dtype=np.float64)
        * decay
        * np.array([0.0 if m else 1.0 for m in muted], dtype=np.float64)
    )
    a_of = [asset_ids.index(a.asset) for a in alerts]
    u_of = [unit_ids.index(a.unit) for a in alerts]
    r_asset = np.bincount(np.array(a_of, dtype=np.intp), contribution, len(asset_ids))
    r_unit = np.bincount(np.array(u_of, dtype=np.intp), contribution, len(unit_ids))
    return {
        "asset": dict(zip(asset_ids, bounded(r_asset, model.asset_scale).tolist(), strict=True)),
        "unit": dict(zip(unit_ids, bounded(r_unit, model.unit_scale).tolist(), strict=True)),
        "city_raw": float(contribution.sum()),
        "criticality": tuple(crit),
        "decay": decay.tolist(),
        "contribution": contribution.tolist(),
        "alert_asset": a_of,
        "alert_unit": u_of,
        "asset_pos": {k: i for i, k in enumerate(asset_ids)},
        "unit_pos": {k: i for i, k in enumerate(unit_ids)},
    }


@st.composite
def snapshots(draw: st.DrawFn) -> list[AlertSnapshot]:
    out = []
    for n in range(draw(st.integers(0, 12))):
        asset = draw(st.sampled_from([*ASSETS, "unknown-a", "unknown-b"]))
        state = draw(st.sampled_from(["firing", "acknowledged", "resolved"]))
        ago = draw(st.one_of(st.none(), st.floats(-600, 50_000)))
        sup = draw(
            st.lists(st.sampled_from(["maintenance", "inhibited:fp01", "silence:s1", "x"]),
                     max_size=2)
        )  # fmt: skip
        base = snap(n, asset, draw(st.floats(0, 10)), state, ago, tuple(sup))
        out.append(base)
    return out


@settings(max_examples=200, deadline=None)
@given(alerts=snapshots(), units=st.lists(st.sampled_from(["edu", "zoo", "city"]), max_size=2))
def test_scores_equal_the_column_by_column_model(
    alerts: list[AlertSnapshot], units: list[str]
) -> None:
    s = compute_scores(alerts, ASSETS, NOW, None, tuple(units))
    ref = reference_scores(alerts, ASSETS, NOW, tuple(units))
    assert s.asset == ref["asset"] and list(s.asset) == list(ref["asset"])  # type: ignore[arg-type]
    assert s.unit == ref["unit"] and list(s.unit) == list(ref["unit"])  # type: ignore[arg-type]
    assert s.city_raw == ref["city_raw"]
    assert s.criticality == ref["criticality"]
    assert s.decay.tolist() == ref["decay"]
    assert s.contribution.tolist() == ref["contribution"]
    assert s.alert_asset.tolist() == ref["alert_asset"]
    assert s.alert_unit.tolist() == ref["alert_unit"]
    assert s.asset_pos == ref["asset_pos"] and s.unit_pos == ref["unit_pos"]
    assert s.alerts == tuple(alerts)
