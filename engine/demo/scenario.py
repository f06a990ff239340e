"""The script the simulated city plays: what goes wrong, when, and when it is fixed.

A scenario is a list of ``Step``s in *city time* (seconds since the city
started). ``--speed`` compresses it: at speed 15 the default half-hour
scenario plays in two minutes of real time. Steps name an action from
``ACTIONS`` and a target (a site, host or DNS name of the plan); the city
carries them out (``engine.demo.city``).

The default scenario walks through every kind of trouble the duty room must
see: a slowdown, an outage, a failing backend, a defacement, dark links, a
risky port opening, a DNS answer changing and a burst of failed logins; a
certificate close to expiry is there from the start (``plan.SiteSpec.cert_days``).
Most troubles are fixed before the end, so resolved alerts are shown too.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Action name -> what it does (the city implements each).
ACTIONS: dict[str, str] = {
    "slow": "a site answers after `value` seconds",
    "down": "a site stops listening (connection refused)",
    "fail": "a site answers every request with HTTP status `value`",
    "deface": "a site's page is replaced by an attacker's banner",
    "dark_links": "hidden gambling links appear on a site's page",
    "restore": "a site is back to normal",
    "open_port": "a host opens its service on port `value`",
    "close_port": "a host closes its service on port `value`",
    "dns": "a DNS name answers address `value` (none: its own address again)",
    "login_burst": "a system pushes `value` failed logins to the collectors' ingest endpoint",
}


@dataclass(frozen=True, slots=True)
class Step:
    """At ``at_s`` seconds of city time, do ``action`` to ``target``."""

    at_s: float
    action: str
    target: str
    value: str | float | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown scenario action {self.action!r}; known: {sorted(ACTIONS)}")
        if self.at_s < 0:
            raise ValueError(f"step at {self.at_s}s: time must not be negative")

    def describe(self) -> str:
        what = ACTIONS[self.action].replace("`value`", str(self.value))
        return f"{self.target}: {what}"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Steps in city time and how long the whole script lasts."""

    steps: tuple[Step, ...]
    length_s: float

    def real_times(self, speed: float) -> list[tuple[float, Step]]:
        """Each step with the real seconds after the start when it happens, in order."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        return sorted(((s.at_s / speed, s) for s in self.steps), key=lambda p: p[0])

    def real_length(self, speed: float) -> float:
        return self.length_s / speed


def _min(m: float) -> float:
    return m * 60.0


#: A 30-minute shift of the city, played in 2 minutes at the default speed.
DEFAULT_SCENARIO = Scenario(
    steps=(
        Step(_min(2), "slow", "edu-www", 3.0),
        Step(_min(3), "down", "hrss-www"),
        Step(_min(4), "fail", "transport-www", 503),
        Step(_min(5), "deface", "market-www"),
        Step(_min(6), "dark_links", "health-www"),
        Step(_min(7), "open_port", "gw-bigdata", 6379),
        Step(_min(8), "dns", "www.gov.example", "203.0.113.66"),
        Step(_min(9), "login_burst", "idp", 40),
        Step(_min(14), "restore", "edu-www"),
        Step(_min(15), "restore", "hrss-www"),
        Step(_min(16), "restore", "transport-www"),
        Step(_min(20), "restore", "market-www"),
        Step(_min(22), "restore", "health-www"),
        Step(_min(24), "close_port", "gw-bigdata", 6379),
        Step(_min(26), "dns", "www.gov.example"),
    ),
    length_s=_min(30),
)

DEFAULT_SPEED = 15.0
