"""The risk model: alerts in, asset / unit / city scores 0–100 out, each explained.

Written down for auditors in ``docs/risk.md``; the short form:

    contribution_i = risk_weight_i × criticality(asset_i) × decay_i × counts_i
    decay_i        = 1 while active, 2^(−age_i / half_life) after resolution
                     (0 once below ``min_decay``)
    counts_i       = 0 if inhibited or in maintenance, else 1
    R_x            = Σ contribution_i over the alerts of asset / unit / city x
    score_x        = 100 × (1 − e^(−R_x / scale_x))
    share_i(x)     = score_x × contribution_i / R_x        (Σ shares = score_x)
    posture        = 100 − score_city

The saturating exponential keeps every score in [0, 100), grows almost
linearly for small R (one alert adds about its contribution × 100 / scale)
and with diminishing returns for large R (the tenth outage adds less than the
first), and because the score is a function of a sum, each alert's share is
simply proportional to its contribution. Everything is computed at once over
all alerts with numpy; ``compute_scores`` is pure (``now`` is event time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.events import format_time
from engine.inventory.model import Asset

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """What scoring needs to know about one alert (its latest state)."""

    fingerprint: str
    rule: str
    asset: str
    unit: str
    state: str
    risk_weight: float
    severity: str = "info"
    title: str = ""
    resolved_at: datetime | None = None
    suppressed_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RiskModel:
    """The model's parameters (documented in docs/risk.md)."""

    half_life_s: float = 3600.0
    asset_scale: float = 25.0
    unit_scale: float = 50.0
    city_scale: float = 200.0
    #: A resolved alert stops counting once its decay falls below this.
    min_decay: float = 0.01
    #: Criticality of an asset the inventory does not know.
    default_criticality: int = 3


@dataclass(frozen=True, slots=True)
class Contribution:
    """One alert's part in one score."""

    fingerprint: str
    rule: str
    title: str
    asset: str
    unit: str
    state: str
    severity: str
    risk_weight: float
    criticality: int
    decay: float
    contribution: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "title": self.title,
            "asset": self.asset,
            "unit": self.unit,
            "state": self.state,
            "severity": self.severity,
            "risk_weight": self.risk_weight,
            "criticality": self.criticality,
            "decay": round(self.decay, 6),
            "contribution": round(self.contribution, 6),
            "share": round(self.share, 6),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """A score with the alerts that make it up; shares sum to the score."""

    scope: str
    id: str
    score: float
    raw: float
    scale: float
    contributions: tuple[Contribution, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "id": self.id,
            "score": round(self.score, 6),
            "raw": round(self.raw, 6),
            "scale": self.scale,
            "contributions": [c.to_dict() for c in self.contributions],
        }


@dataclass(frozen=True)
class Scores:
    """Every score at one event time, plus what is needed to explain them."""

    at: datetime
    model: RiskModel
    asset: dict[str, float]
    unit: dict[str, float]
    city: float
    asset_raw: dict[str, float]
    unit_raw: dict[str, float]
    city_raw: float
    alerts: tuple[AlertSnapshot, ...] = ()
    criticality: tuple[int, ...] = ()
    decay: FloatArray = field(default_factory=lambda: np.zeros(0))
    contribution: FloatArray = field(default_factory=lambda: np.zeros(0))
    #: Per alert: the position of its asset in ``asset`` and of its unit in ``unit``.
    alert_asset: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    alert_unit: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    asset_pos: dict[str, int] = field(default_factory=dict)
    unit_pos: dict[str, int] = field(default_factory=dict)

    @property
    def posture(self) -> float:
        """The city's posture: 100 − city risk (100 = nothing wrong)."""
        return 100.0 - self.city

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": format_time(self.at),
            "posture": round(self.posture, 6),
            "city": round(self.city, 6),
            "asset": {k: round(v, 6) for k, v in self.asset.items()},
            "unit": {k: round(v, 6) for k, v in self.unit.items()},
        }


def bounded(raw: FloatArray | float, scale: float) -> Any:
    """100 × (1 − e^(−raw/scale)), the model's saturating map from [0, ∞) to [0, 100)."""
    return 100.0 * -np.expm1(-np.asarray(raw, dtype=np.float64) / scale)


def compute_scores(
    alerts: Sequence[AlertSnapshot],
    assets: Mapping[str, Asset],
    now: datetime,
    model: RiskModel | None = None,
    units: Iterable[str] = (),
) -> Scores:
    """Score every asset and unit of ``assets`` (and of ``alerts``) at event time ``now``."""
    model = model or RiskModel()
    # Inventory ids are usually already in order, and sorting a sorted list is linear;
    # set operations would shuffle them first.
    asset_ids = sorted([*assets, *{a.asset for a in alerts if a.asset not in assets}])
    unit_ids = sorted(set(units) | {a.unit for a in assets.values()} | {a.unit for a in alerts})
    n = len(alerts)
    a_index = dict(zip(asset_ids, range(len(asset_ids)), strict=True))
    u_index = dict(zip(unit_ids, range(len(unit_ids)), strict=True))

    # One pass over the alerts for every per-alert figure (not one generator per column).
    weight_l: list[float] = [0.0] * n
    crit_l: list[int] = [0] * n
    age_l: list[float] = [0.0] * n
    counts_l: list[float] = [1.0] * n
    a_l: list[int] = [0] * n
    u_l: list[int] = [0] * n
    active_l: list[bool] = [True] * n
    default_crit = model.default_criticality
    get_asset = assets.get
    for i, a in enumerate(alerts):
        weight_l[i] = a.risk_weight
        asset = get_asset(a.asset)
        crit_l[i] = asset.criticality if asset is not None else default_crit
        if a.state == "resolved":
            active_l[i] = False
            if a.resolved_at is not None:
                age_l[i] = max(0.0, (now - a.resolved_at).total_seconds())
        if a.suppressed_by:
            counts_l[i] = _counts(a)
        a_l[i] = a_index[a.asset]
        u_l[i] = u_index[a.unit]
    weight = np.array(weight_l, dtype=np.float64)
    crit_list = tuple(crit_l)
    crit = np.array(crit_l, dtype=np.float64)
    active = np.array(active_l, dtype=np.bool_)
    age = np.array(age_l, dtype=np.float64)
    counts = np.array(counts_l, dtype=np.float64)

    decay = np.where(active, 1.0, np.exp2(-age / model.half_life_s))
    decay = np.where(decay < model.min_decay, 0.0, decay)
    contribution = weight * crit * decay * counts

    a_of = np.array(a_l, dtype=np.intp)
    u_of = np.array(u_l, dtype=np.intp)
    r_asset = np.bincount(a_of, contribution, len(asset_ids)).astype(np.float64)
    r_unit = np.bincount(u_of, contribution, len(unit_ids)).astype(np.float64)
    r_city = float(contribution.sum())
    s_asset = bounded(r_asset, model.asset_scale)
    s_unit = bounded(r_unit, model.unit_scale)

    return Scores(
        at=now,
        model=model,
        asset=dict(zip(asset_ids, s_asset.tolist(), strict=True)),
        unit=dict(zip(unit_ids, s_unit.tolist(), strict=True)),
        city=float(bounded(r_city, model.city_scale)),
        asset_raw=dict(zip(asset_ids, r_asset.tolist(), strict=True)),
        unit_raw=dict(zip(unit_ids, r_unit.tolist(), strict=True)),
        city_raw=r_city,
        alerts=tuple(alerts),
        criticality=crit_list,
        decay=decay,
        contribution=contribution,
        alert_asset=a_of,
        alert_unit=u_of,
        asset_pos=a_index,
        unit_pos=u_index,
    )


def explain_asset(scores: Scores, asset_id: str) -> Explanation:
    """The asset's score and each contributing alert's share of it."""
    mask = scores.alert_asset == scores.asset_pos.get(asset_id, -1)
    return _explain(
        scores,
        "asset",
        asset_id,
        scores.asset.get(asset_id, 0.0),
        scores.asset_raw.get(asset_id, 0.0),
        scores.model.asset_scale,
        mask,
    )


def explain_unit(scores: Scores, unit_id: str) -> Explanation:
    """The unit's score and each contributing alert's share of it."""
    mask = scores.alert_unit == scores.unit_pos.get(unit_id, -1)
    return _explain(
        scores,
        "unit",
        unit_id,
        scores.unit.get(unit_id, 0.0),
        scores.unit_raw.get(unit_id, 0.0),
        scores.model.unit_scale,
        mask,
    )


def explain_city(scores: Scores) -> Explanation:
    """The city risk (100 − posture) and each contributing alert's share of it."""
    mask = np.ones(len(scores.alerts), dtype=np.bool_)
    city_scale = scores.model.city_scale
    return _explain(scores, "city", "city", scores.city, scores.city_raw, city_scale, mask)


def _explain(
    scores: Scores,
    scope: str,
    ident: str,
    score: float,
    raw: float,
    scale: float,
    mask: npt.NDArray[np.bool_],
) -> Explanation:
    picked = np.flatnonzero(mask & (scores.contribution > 0))
    share = scores.contribution[picked] * (score / raw) if raw > 0 else np.zeros(len(picked))
    order = sorted(
        range(len(picked)), key=lambda j: (-share[j], scores.alerts[picked[j]].fingerprint)
    )
    out = []
    for j in order:
        i = int(picked[j])
        a = scores.alerts[i]
        out.append(
            Contribution(
                fingerprint=a.fingerprint,
                rule=a.rule,
                title=a.title,
                asset=a.asset,
                unit=a.unit,
                state=a.state,
                severity=a.severity,
                risk_weight=a.risk_weight,
                criticality=scores.criticality[i],
                decay=float(scores.decay[i]),
                contribution=float(scores.contribution[i]),
                share=float(share[j]),
            )
        )
    return Explanation(scope, ident, score, raw, scale, tuple(out))


def _counts(a: AlertSnapshot) -> float:
    """Inhibited alerts (their cause already counts) and planned maintenance do not count."""
    muted = any(s == "maintenance" or s.startswith("inhibited:") for s in a.suppressed_by)
    return 0.0 if muted else 1.0
