"""Check every PromQL query of the dashboards against a running Prometheus.

``extract_queries(dashboard)`` lists each query a dashboard runs: every
panel target (rows' nested panels included) and every annotation with an
``expr``. ``resolve_variables`` picks a value for each template variable the
way Grafana would when the dashboard opens: the value given by the caller,
else "All" (the variable's ``allValue``) for multi-value variables, else the
first value that ``label_values(...)`` finds in Prometheus. ``substitute``
puts those values and Grafana's built-ins (``$__rate_interval``,
``$__range``…) into the expression, and ``check_dashboard`` evaluates each one
through ``/api/v1/query``, reporting which parse and which return data.

Used by the demo's self-check and by the tests, against a real Prometheus::

    python -m engine.demo.promql_check --prometheus http://127.0.0.1:9090 dashboards/*.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

#: Grafana's built-in variables, with values suited to a short demo run.
BUILTINS: dict[str, str] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__auto": "15s",
}

_VAR = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$")


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """One PromQL expression a dashboard runs, and where it comes from."""

    dashboard: str
    panel_id: int | None
    title: str
    ref: str
    expr: str

    def where(self) -> str:
        panel = f"panel {self.panel_id}" if self.panel_id is not None else "annotation"
        return f"{self.dashboard} {panel} {self.title!r} {self.ref}"


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What Prometheus said about one query."""

    query: PanelQuery
    #: The expression as sent, variables substituted.
    expr: str
    parsed: bool
    series: int
    error: str | None = None

    @property
    def has_data(self) -> bool:
        return self.series > 0

    def describe(self) -> str:
        if not self.parsed:
            verdict = f"PARSE ERROR {self.error}"
        elif self.error:
            verdict = f"ERROR {self.error}"
        else:
            verdict = f"{self.series} series" if self.series else "NO DATA"
        return f"{self.query.where()}: {verdict} :: {self.expr}"


class PromQLCheckError(Exception):
    """The dashboard or the Prometheus API could not be read."""


def _panels(panels: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for p in panels:
        out.append(p)
        out.extend(_panels(p.get("panels", [])))  # a collapsed row holds its panels
    return out


def extract_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every PromQL expression of a dashboard's panels and annotations, in order."""
    uid = str(dashboard.get("uid", "?"))
    found: list[PanelQuery] = []
    for p in _panels(dashboard.get("panels", [])):
        for t in p.get("targets", []):
            expr = t.get("expr")
            if isinstance(expr, str) and expr.strip():
                ref = str(t.get("refId", "?"))
                found.append(PanelQuery(uid, p.get("id"), str(p.get("title", "")), ref, expr))
    for a in dashboard.get("annotations", {}).get("list", []):
        expr = a.get("expr")
        if isinstance(expr, str) and expr.strip():
            found.append(PanelQuery(uid, None, str(a.get("name", "")), "annotation", expr))
    return found


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with ``$var``, ``${var}``, ``${var:fmt}`` and ``[[var]]`` replaced.

    Unknown names are left alone (``$1`` in a ``label_replace`` is not a variable).
    """

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3) or m.group(4)
        if name in values:
            return values[name]
        if name in BUILTINS:
            return BUILTINS[name]
        return m.group(0)

    return _VAR.sub(repl, expr)


class PrometheusAPI:
    """The two calls the check needs from Prometheus's HTTP API."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def query(self, expr: str) -> tuple[bool, int, str | None]:
        """(parsed, number of series or samples, error) of an instant query."""
        try:
            r = self._client.get(f"{self.base_url}/api/v1/query", params={"query": expr})
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise PromQLCheckError(f"Prometheus at {self.base_url}: {e}") from None
        if body.get("status") == "success":
            result = body["data"]["result"]
            n = len(result) if body["data"]["resultType"] in ("vector", "matrix") else 1
            return True, n, None
        error = f"{body.get('errorType')}: {body.get('error')}"
        return body.get("errorType") != "bad_data", 0, error

    def label_values(self, label: str, match: str | None) -> list[str]:
        params = {"match[]": match} if match else None
        try:
            r = self._client.get(f"{self.base_url}/api/v1/label/{label}/values", params=params)
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise PromQLCheckError(f"Prometheus at {self.base_url}: {e}") from None
        if body.get("status") != "success":
            raise PromQLCheckError(f"label_values({match}, {label}): {body.get('error')}")
        return sorted(str(v) for v in body["data"])


def resolve_variables(
    dashboard: Mapping[str, Any], api: PrometheusAPI, given: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A value for each template variable, in order (later ones may use earlier ones)."""
    given = given or {}
    values: dict[str, str] = {}
    for v in dashboard.get("templating", {}).get("list", []):
        name, kind = v["name"], v.get("type")
        if kind == "datasource":
            continue
        if name in given:
            values[name] = given[name]
        elif v.get("includeAll") and v.get("multi"):
            values[name] = v.get("allValue") or ".*"
        elif kind == "query":
            q = v.get("query")
            text = q.get("query", "") if isinstance(q, Mapping) else str(q or v.get("definition"))
            m = _LABEL_VALUES.match(substitute(text, values))
            if m is None:
                raise PromQLCheckError(f"variable {name}: unsupported query {text!r}")
            found = api.label_values(m.group(2), m.group(1))
            if not found:
                raise PromQLCheckError(f"variable {name}: {text!r} found no values")
            values[name] = found[0]
        elif kind == "custom":
            options = [o["value"] for o in v.get("options", [])] or v.get("query", "").split(",")
            values[name] = str(options[0]).strip()
        elif kind in ("constant", "textbox"):
            values[name] = str(v.get("query", ""))
    return values


def check_dashboard(
    dashboard: Mapping[str, Any], api: PrometheusAPI, given: Mapping[str, str] | None = None
) -> list[QueryResult]:
    """Evaluate every query of ``dashboard``; one result per query."""
    values = resolve_variables(dashboard, api, given)
    results = []
    for q in extract_queries(dashboard):
        expr = substitute(q.expr, values)
        parsed, series, error = api.query(expr)
        results.append(QueryResult(q, expr, parsed, series, error))
    return results


def check_files(
    paths: Sequence[Path], base_url: str, given: Mapping[str, str] | None = None
) -> list[QueryResult]:
    """``check_dashboard`` for each dashboard JSON file."""
    api = PrometheusAPI(base_url)
    try:
        results: list[QueryResult] = []
        for path in paths:
            results += check_dashboard(json.loads(path.read_text(encoding="utf-8")), api, given)
        return results
    finally:
        api.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.demo.promql_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("dashboards", nargs="+", type=Path, help="dashboard JSON files")
    p.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="a template variable's value (default: as Grafana picks it)")  # fmt: skip
    args = p.parse_args(argv)
    given = dict(v.split("=", 1) for v in args.var if "=" in v)
    results = check_files(args.dashboards, args.prometheus, given)
    for r in results:
        print(r.describe())
    bad = [r for r in results if not (r.parsed and r.has_data and not r.error)]
    print(f"{len(results) - len(bad)} of {len(results)} queries parse and return data")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
