"""The dashboard JSON files: valid, generated, consistent, and never tied to one datasource uid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.dashboards import render
from engine.dashboards.blocks import WIDTH
from engine.demo.promql_check import extract_queries
from engine.notifiers.templates import ASSET_DASHBOARD, UNIT_DASHBOARD

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"
FILES = sorted(DASHBOARDS.glob("*.json"))
DS = {"type": "prometheus", "uid": "${datasource}"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def panels(d: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for p in d["panels"]:
        yield p
        yield from p.get("panels", [])


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) of a JSON document."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def test_the_five_dashboards_are_there_and_match_their_generator() -> None:
    assert [f.name for f in FILES] == sorted(render())
    assert {load(f)["uid"] for f in FILES} == {
        "ssa-overview", "ssa-unit", "ssa-asset", "ssa-alerts", "ssa-health",
    }  # fmt: skip
    for name, text in render().items():
        assert (DASHBOARDS / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `python -m engine.dashboards`"
        )


def test_uids_are_unique_and_the_notifier_links_resolve() -> None:
    uids = [load(f)["uid"] for f in FILES]
    assert len(uids) == len(set(uids))
    assert {ASSET_DASHBOARD, UNIT_DASHBOARD} <= set(uids)
    variables = {load(f)["uid"]: [v["name"] for v in load(f)["templating"]["list"]] for f in FILES}
    assert "asset" in variables[ASSET_DASHBOARD]  # links carry ?var-asset=
    assert "unit" in variables[UNIT_DASHBOARD]  # and ?var-unit=


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_panel_ids_are_unique_and_panels_fit_the_grid(path: Path) -> None:
    d = load(path)
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    taken: set[tuple[int, int]] = set()
    for p in panels(d):
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= WIDTH, p["title"]
        xs, ys = range(g["x"], g["x"] + g["w"]), range(g["y"], g["y"] + g["h"])
        cells = {(x, y) for x in xs for y in ys}
        assert not cells & taken, f"{p['title']} overlaps another panel"
        taken |= cells


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_query_reads_the_datasource_variable(path: Path) -> None:
    d = load(path)
    var = d["templating"]["list"][0]
    assert (var["name"], var["type"], var["query"]) == ("datasource", "datasource", "prometheus")
    with_targets = [p for p in panels(d) if p.get("targets")]
    assert with_targets
    for p in with_targets:
        assert p["datasource"] == DS, p["title"]
        for t in p["targets"]:
            assert t["datasource"] == DS, (p["title"], t["refId"])
            assert t["expr"].strip()
    for v in d["templating"]["list"][1:]:
        if v["type"] == "query":
            assert v["datasource"] == DS, v["name"]
    for a in d["annotations"]["list"]:
        assert a["datasource"] == DS
    assert len(extract_queries(d)) >= len(with_targets)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_datasource_uid_is_hard_coded(path: Path) -> None:
    for where, node in walk(load(path)):
        if isinstance(node, dict) and "datasource" in node and node["datasource"] is not None:
            ds = node["datasource"]
            assert isinstance(ds, dict) and ds.get("uid") == "${datasource}", where
        if where.endswith(".uid") and ".datasource" in where:
            assert node == "${datasource}", where


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_titles_are_chinese_and_english(path: Path) -> None:
    d = load(path)
    titles = [d["title"], *(p["title"] for p in panels(d))]
    titles += [v["label"] for v in d["templating"]["list"]]
    for t in titles:
        zh, _, en = t.partition(" / ")
        assert CJK.search(zh) and re.search(r"[A-Za-z]", en), t


def test_provisioning_files_are_valid_and_match_the_compose_mounts() -> None:
    prov = DASHBOARDS / "provisioning"
    dash = yaml.safe_load((prov / "dashboards" / "ssa.yaml").read_text(encoding="utf-8"))
    ds = yaml.safe_load((prov / "datasources" / "ssa.yaml").read_text(encoding="utf-8"))
    assert dash["apiVersion"] == 1 and ds["apiVersion"] == 1
    [provider] = dash["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    grafana_volumes = compose["services"]["grafana"]["volumes"]
    assert f"./dashboards:{provider['options']['path']}:ro" in grafana_volumes
    assert "./dashboards/provisioning/datasources:/etc/grafana/provisioning/datasources:ro" in (
        grafana_volumes
    )
    kinds = {d["type"]: d for d in ds["datasources"]}
    assert kinds["prometheus"]["isDefault"] is True
    assert kinds["prometheus"]["url"] == "$SSA_PROMETHEUS_URL"
    env = compose["services"]["grafana"]["environment"]
    assert env["SSA_PROMETHEUS_URL"] == "http://prometheus:9090"
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DASHBOARDS / Path(home).name).is_file()
