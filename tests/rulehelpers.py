"""Helpers for the rule tests: a rule pack from YAML text, observations by offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.events import Observation
from engine.inventory.model import Asset
from engine.ruleset import RuleSet, load_ruleset

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pack(tmp_path: Path, text: str, name: str = "rules.yaml") -> RuleSet:
    """Load a rule pack written as YAML text."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_ruleset(path)


def obs(
    at: float,
    probe: str,
    *,
    asset: str = "a1",
    unit: str = "u1",
    ok: bool = True,
    collector: str = "c1",
    oid: str | None = None,
    error: str | None = None,
    **data: Any,
) -> Observation:
    """An observation ``at`` seconds after T0."""
    return Observation(
        id=oid or f"{asset}-{probe}-{at:g}",
        asset=asset,
        unit=unit,
        probe=probe,
        observed_at=T0 + timedelta(seconds=at),
        collector=collector,
        vantage="v1",
        ok=ok,
        duration_s=0.1,
        error=error,
        data=data,
    )


def asset(aid: str = "a1", **kw: Any) -> Asset:
    base: dict[str, Any] = {"id": aid, "unit": "u1", "kind": "website", "name": aid}
    base.update(kw)
    return Asset.from_dict(base)


def secs(t: datetime) -> float:
    return (t - T0).total_seconds()
