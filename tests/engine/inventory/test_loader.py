"""The inventory loader: valid files and folders, each invalid fixture with its exact message."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.errors import InventoryError
from engine.inventory.loader import default_probe_names, lint_inventory, load_inventory
from engine.inventory.model import Asset

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "inventory"

INVALID = [
    ("invalid-bad-interval.yaml", "9:15: duration must be a string like '30s' or '5m', got 30"),
    ("invalid-bad-ip.yaml", "8:14: invalid IP address '192.0.2.300'"),
    ("invalid-bad-url-host.yaml", "8:10: invalid URL 'https://exa mple.gov/': no valid host name"),
    (
        "invalid-bad-url.yaml",
        "8:10: invalid URL 'ftp://www.example.gov/': scheme must be http or https",
    ),
    ("invalid-criticality.yaml", "9:18: criticality must be a whole number from 1 to 5, got 6"),
    ("invalid-depends-unknown.yaml", "9:18: asset 'a1' depends on unknown asset 'gw-9'"),
    ("invalid-duplicate-id.yaml", "9:9: duplicate asset id 'a1' (first at line 5)"),
    ("invalid-duplicate-key.yaml", "4:5: duplicate key 'name' (first at line 3)"),
    ("invalid-email.yaml", "5:29: invalid email address 'not-an-email'"),
    (
        "invalid-kind.yaml",
        "7:11: unknown asset kind 'server' (expected one of website, ip, system)",
    ),
    ("invalid-maintenance-order.yaml", "10:51: maintenance window ends before it starts"),
    (
        "invalid-maintenance-timezone.yaml",
        "10:17: start must be an ISO-8601 time with a timezone, got '2026-12-01 22:00'",
    ),
    ("invalid-port.yaml", "9:26: invalid port 70000 (1-65535)"),
    ("invalid-short-interval.yaml", "9:15: interval '1s' must be between 5s and 1d"),
    ("invalid-system-address.yaml", "8:14: invalid port in address 'oa.example.gov:99999'"),
    (
        "invalid-top-level.yaml",
        "1:1: unknown key 'unit' in the inventory file (did you mean 'units'?)",
    ),
    (
        "invalid-unknown-key.yaml",
        "9:5: unknown key 'critcality' in asset (did you mean 'criticality'?)",
    ),
    ("invalid-unknown-probe.yaml", "9:22: unknown probe 'pnig' (known: ingest)"),
    ("invalid-unknown-unit.yaml", "6:11: asset 'a1' names unknown unit 'u2'"),
    ("invalid-website-no-url.yaml", "5:5: a website needs a url"),
]


def test_every_invalid_fixture_is_paired_with_a_message() -> None:
    on_disk = {p.name for p in FIXTURES.glob("invalid-*.yaml")}
    assert on_disk == {name for name, _ in INVALID}


@pytest.mark.parametrize(("name", "message"), INVALID)
def test_invalid_fixture_fails_with_its_exact_message(name: str, message: str) -> None:
    path = FIXTURES / name
    with pytest.raises(InventoryError) as e:
        load_inventory(path, probes=["ingest"])
    assert str(e.value) == f"{path}:{message}"


def test_lint_mode_collects_every_error_in_file_order() -> None:
    path = FIXTURES / "lint-many.yaml"
    inv, errors = lint_inventory(path, probes=["ingest"])
    assert [str(e).replace(f"{path}:", "") for e in errors] == [
        "4:9: duplicate unit id 'u1' (first at line 2)",
        "8:11: asset 'a1' names unknown unit 'nowhere'",
        "10:14: invalid IP address '10.0.0.999'",
        "11:18: criticality must be a whole number from 1 to 5, got 0",
        "16:15: invalid duration 'soon' (use e.g. 30s, 5m, 1h30m, 500ms, 7d)",
        "17:14: unknown probe 'http2' (known: ingest)",
        "18:22: asset 'a2' depends on unknown asset 'ghost'",
    ]
    assert inv.assets == {}


def test_a_folder_is_one_inventory_across_files() -> None:
    inv = load_inventory(FIXTURES / "valid-folder", probes=["ingest"])
    assert sorted(inv.units) == ["u1"] and sorted(inv.assets) == ["gw", "oa", "site"]
    site = inv.assets["site"]
    assert site.interval == 45.0 and site.depends_on == ("gw",) and site.probes == ("ingest",)
    assert site.options == {"ingest": {"max_silence_s": 600}}
    assert site.in_maintenance(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    assert not site.in_maintenance(datetime(2026, 12, 1, 18, 0, tzinfo=UTC))
    assert inv.assets["gw"].interval == 30.0  # key asset default
    assert inv.assets["oa"].interval == 600.0 and inv.assets["oa"].host == "oa.u1.example.gov"
    assert inv.units["u1"].contacts[0].email == "duty@u1.example.gov"
    assert inv.unit_of("site") is inv.units["u1"]


def test_assets_survive_the_topic_form() -> None:
    inv = load_inventory(FIXTURES / "valid-folder", probes=["ingest"])
    for asset in inv.assets.values():
        assert Asset.from_dict(asset.to_dict()) == asset


def test_duplicate_across_files_names_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("units:\n  - {id: u1, name: One}\n")
    (tmp_path / "b.yaml").write_text("units:\n  - {id: u1, name: Two}\n")
    with pytest.raises(InventoryError) as e:
        load_inventory(tmp_path, probes=[])
    assert str(e.value) == (
        f"{tmp_path}/b.yaml:2:10: duplicate unit id 'u1' (first at {tmp_path}/a.yaml:2:10)"
    )


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no YAML files found"):
        load_inventory(tmp_path, probes=[])


def test_the_example_city_is_large_varied_and_reserved() -> None:
    inv, errors = lint_inventory(REPO / "inventory" / "city")  # probe names from PROBES
    assert errors == []
    assert len(inv.units) >= 30 and len(inv.assets) >= 120
    assert set(Counter(a.kind for a in inv.assets.values())) == {"website", "ip", "system"}
    assert {a.criticality for a in inv.assets.values()} == {1, 2, 3, 4, 5}
    assert {a.mlps_level for a in inv.assets.values()} >= {2, 3}
    assert all(u.contacts for u in inv.units.values())
    assert all(a.interval == 30.0 for a in inv.assets.values() if a.criticality == 5)
    assert {p for a in inv.assets.values() for p in a.probes} == set(default_probe_names())
    for a in inv.assets.values():
        host = a.host
        assert host.endswith((".example.gov", ".example.org")) or host.startswith(
            ("192.0.2.", "198.51.100.", "203.0.113.")
        ), host


def test_the_loopback_inventory_only_names_this_machine() -> None:
    inv = load_inventory(REPO / "inventory" / "loopback.yaml")
    assert inv.assets and all(a.host == "127.0.0.1" for a in inv.assets.values())
