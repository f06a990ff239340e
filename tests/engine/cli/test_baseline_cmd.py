"""``ssa baseline approve``: fetch, show the diff, store, and record the approval on Kafka."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.content import baseline as baselines
from collectors.content.approve import Review
from collectors.content.normalise import content_hash
from collectors.content.page import read_page
from engine.cli import baseline_cmd
from engine.errors import ProbeError
from engine.events import MAX_EVENT_BYTES, Control
from engine.settings import Settings, with_overrides
from tests.kafkautil import read_topic
from tests.servers import HttpServer, Page, closed_port, pages

INVENTORY = """\
units:
  - id: city-gov-office
    name: 市人民政府办公室
assets:
  - id: portal
    unit: city-gov-office
    kind: website
    name: 市政府门户网站
    url: {url}
    criticality: 5
    probes: [http, content]
"""


def _args(inventory: Path, **kw: object) -> argparse.Namespace:
    base = {"asset": "portal", "inventory": str(inventory), "yes": True, "actor": "duty-officer",
            "comment": "redesign reviewed", "timeout": 5.0}  # fmt: skip
    base.update(kw)
    return argparse.Namespace(**base)


def _inventory(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY.format(url=url), encoding="utf-8")
    return path


@pytest.mark.kafka
def test_approve_stores_the_baseline_shows_the_diff_and_records_a_control_event(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = with_overrides(kafka_settings, collectors={"baseline_dir": str(tmp_path / "b")})
    with HttpServer({"/": Page(pages.portal())}) as srv:
        inv = _inventory(tmp_path, srv.url("/"))
        assert baseline_cmd.approve_cmd(_args(inv), settings) == 0
        first = capsys.readouterr().out
        first_baseline = baselines.load(tmp_path / "b", "portal")
        srv.set("/", Page(pages.portal().replace("欢迎访问", "热烈欢迎访问")))
        assert baseline_cmd.approve_cmd(_args(inv), settings) == 0
        second = capsys.readouterr().out
    assert "no approved baseline yet: this will be the first" in first
    assert f"approved: {tmp_path / 'b' / 'portal.json'}" in first
    assert "changed since approved at" in second
    assert "  -欢迎访问市人民政府门户网站" in second
    assert "  +热烈欢迎访问市人民政府门户网站" in second
    stored = baselines.load(tmp_path / "b", "portal")
    assert stored is not None and first_baseline is not None
    assert stored.approved_by == "duty-officer"
    assert stored.content_hash != first_baseline.content_hash
    assert "热烈欢迎访问市人民政府门户网站" in stored.lines

    records = read_topic(settings.kafka.bootstrap, settings.topic("control"), expect=2)
    events = [Control.from_json(r.value) for r in records]
    assert [e.kind for e in events] == ["approve_baseline", "approve_baseline"]
    last = events[-1]
    assert last.target == "portal" and last.actor == "duty-officer"
    assert last.comment == "redesign reviewed"
    assert last.data["previous_hash"] == first_baseline.content_hash
    assert last.data["baseline"]["content_hash"] == stored.content_hash
    assert f"recorded: control event {last.id}" in second


def test_without_kafka_the_approval_is_still_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = with_overrides(
        Settings.load(env={}),
        kafka={"bootstrap": f"127.0.0.1:{closed_port()}"},
        collectors={"baseline_dir": str(tmp_path / "b")},
    )
    with HttpServer({"/": Page(pages.portal())}) as srv:
        rc = baseline_cmd.approve_cmd(_args(_inventory(tmp_path, srv.url("/"))), settings)
    out = capsys.readouterr().out
    assert rc == 0
    assert "warning: Kafka is not reachable; the approval was saved but not recorded" in out
    assert baselines.load(tmp_path / "b", "portal") is not None


def test_without_yes_and_without_a_terminal_nothing_is_approved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = with_overrides(Settings.load(env={}), collectors={"baseline_dir": str(tmp_path)})
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal
    with HttpServer({"/": Page(pages.defaced())}) as srv:
        rc = baseline_cmd.approve_cmd(
            _args(_inventory(tmp_path, srv.url("/")), yes=False), settings
        )
    out = capsys.readouterr().out
    assert rc == 1
    assert "WARNING defacement keywords: hacked by" in out
    assert "not approved: confirm with --yes when not at a terminal" in out
    assert baselines.load(tmp_path, "portal") is None


@pytest.mark.parametrize(
    ("asset", "route", "message"),
    [
        ("nope", Page("x"), "no asset 'nope' in "),
        (
            "portal",
            Page("<title>gone</title>", status=404),
            " answered 404: only a page that loads",
        ),
    ],
)
def test_what_cannot_be_approved(tmp_path: Path, asset: str, route: Page, message: str) -> None:
    settings = with_overrides(Settings.load(env={}), collectors={"baseline_dir": str(tmp_path)})
    with HttpServer({"/": route}) as srv:
        inv = _inventory(tmp_path, srv.url("/"))
        with pytest.raises(ProbeError, match=message):
            baseline_cmd.approve_cmd(_args(inv, asset=asset), settings)


def test_a_refused_fetch_is_a_clear_error(tmp_path: Path) -> None:
    settings = with_overrides(Settings.load(env={}), collectors={"baseline_dir": str(tmp_path)})
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(ProbeError, match=r"cannot fetch .*: connect: connection refused"):
        baseline_cmd.approve_cmd(_args(_inventory(tmp_path, url)), settings)


def test_a_huge_page_is_recorded_without_its_text() -> None:
    html = "<title>big</title>" + "".join(f"<p>公告 {'内容' * 60} {i}</p>" for i in range(4000))
    facts = read_page(html, "http://x/")
    proposed = baselines.Baseline.of(
        "portal", "http://x/", content_hash(html), facts, datetime(2026, 11, 1, tzinfo=UTC)
    )
    event = baseline_cmd.approval_event(Review(proposed, None, {}), "duty")
    assert len(event.to_json()) < MAX_EVENT_BYTES
    carried = baselines.from_control(Control.from_json(event.to_json()))
    assert carried is not None and carried.complete is False and carried.lines == ()
    assert carried.content_hash == proposed.content_hash
