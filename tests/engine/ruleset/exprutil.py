"""Compile a single expression against a small environment, as the loader would."""

from __future__ import annotations

from typing import Any

from engine.errors import Mark
from engine.inventory.model import Asset
from engine.ruleset.compiler import compile_node
from engine.ruleset.context import Ctx
from engine.ruleset.env import MacroSource, PackEnv
from engine.ruleset.nodes import Node
from engine.ruleset.parser import parse
from engine.yamlsource import Diagnostics
from tests.rulehelpers import obs

LISTS: dict[str, tuple[Any, ...]] = {
    "risky_ports": (21, 23, 3389),
    "nets": ("192.0.2.0/24", "10.0.0.0/8"),
}
MACROS = {"http_failed": 'probe == "http" and not ok'}


def locate(off: int) -> Mark:
    return Mark("expr", 1, 1 + off)


def env() -> PackEnv:
    macros = {
        n: MacroSource(t, Mark("macros", 1, 1), lambda o: Mark("macros", 1, 1 + o))
        for n, t in MACROS.items()
    }
    return PackEnv(dict(LISTS), macros, Diagnostics(fail_fast=True))


def compile_text(text: str) -> tuple[Node, Any]:
    node = parse(text, env(), locate)
    return node, compile_node(node)


ASSET = Asset(
    id="portal", unit="u1", kind="website", name="Portal", url="https://www.example.gov/",
    criticality=5, tags=("key-site",), expected_ports=(80, 443),
)


def sample_ctx() -> Ctx:
    o = obs(
        0, "http", asset="portal", ok=False, error="timeout",
        status=503, latency_ms=1234.5, phases_ms={"ttfb": 800},
        title="Hacked by X", headers_missing=["csp", "hsts"],
        final_url="https://www.example.gov/index", source_ip="10.1.2.3",
        open_ports=[80, 443, 3389], addresses=["192.0.2.10"],
    )
    return Ctx(o, ASSET)
