"""Loading the inventory from YAML, with ``file:line:col`` for every problem.

``load_inventory(path)`` reads one file or every YAML file of a folder. Each
file holds ``units:`` and/or ``assets:``; the folder is one inventory, so ids
must be unique across all of its files and an asset may name a unit or a
dependency defined in another file. Values are checked while they are decoded
(unknown keys with a suggestion, ids, URLs, IPs, intervals, criticality,
maintenance times, probe names from the ``PROBES`` registry), then references
(``unit``, ``depends_on``) once everything is read.

With ``fail_fast=False`` (lint mode, ``ssa inventory check``) every error is
collected in ``Diagnostics`` instead of stopping at the first.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.durations import parse_duration
from engine.errors import InventoryError, Mark
from engine.events import parse_time
from engine.inventory.model import (
    ASSET_KINDS,
    Asset,
    Contact,
    Inventory,
    MaintenanceWindow,
    Unit,
)
from engine.yamlsource import (
    Diagnostics,
    MarkedMap,
    check_keys,
    expect_list,
    expect_map,
    load_yaml,
    yaml_files,
)

E = InventoryError

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_HOST = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                   r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

TOP_KEYS = ("units", "assets")
UNIT_KEYS = ("id", "name", "contacts", "parent")
CONTACT_KEYS = ("name", "email", "phone", "channels", "level")
ASSET_KEYS = (
    "id", "unit", "kind", "name", "url", "address", "criticality", "mlps_level", "probes",
    "interval", "tags", "expected_ports", "expected_addresses", "maintenance", "depends_on",
    "options",
)
WINDOW_KEYS = ("start", "end", "reason")
MIN_INTERVAL_S, MAX_INTERVAL_S = 5.0, 86_400.0


def default_probe_names() -> tuple[str, ...]:
    """The probe names the collectors know (the keys of ``PROBES``)."""
    from collectors.probes import PROBES  # the registry lives with the probes

    return tuple(sorted(PROBES))


def load_inventory(
    path: str | Path,
    *,
    probes: Iterable[str] | None = None,
    diag: Diagnostics | None = None,
) -> Inventory:
    """Read and validate the inventory at ``path`` (a file or a folder).

    Raises the first ``InventoryError`` unless ``diag`` collects (lint mode);
    then the returned inventory holds whatever was valid.
    """
    diag = diag or Diagnostics(fail_fast=True)
    reader = _Reader(set(default_probe_names() if probes is None else probes), diag)
    files = yaml_files(path)
    if not files:
        diag.error(E("no YAML files found", Mark(str(path), 1, 1)))
    for f in files:
        with diag.collecting():
            reader.read_file(f)
    reader.check_references()
    return Inventory(units=dict(reader.units), assets=dict(reader.assets))


def lint_inventory(
    path: str | Path, *, probes: Iterable[str] | None = None
) -> tuple[Inventory, list[InventoryError]]:
    """Every problem of the inventory at ``path``, in file order, and what was valid."""
    diag = Diagnostics(fail_fast=False)
    inv = load_inventory(path, probes=probes, diag=diag)
    return inv, [e for _, e in diag.sorted() if isinstance(e, InventoryError)]


class _Reader:
    """Builds units and assets from marked YAML, reporting into ``diag``."""

    def __init__(self, probe_names: set[str], diag: Diagnostics) -> None:
        self.probe_names = probe_names
        self.diag = diag
        self.units: dict[str, Unit] = {}
        self.assets: dict[str, Asset] = {}
        self.marks: dict[str, Mark] = {}
        self.unit_refs: list[tuple[str, str, Mark]] = []  # (asset, unit, where)
        self.dep_refs: list[tuple[str, str, Mark]] = []  # (asset, dependency, where)

    def read_file(self, path: Path) -> None:
        doc = load_yaml(path, err=E)
        if doc is None:
            return
        top = expect_map(doc, "an inventory file", Mark(str(path), 1, 1), E)
        check_keys(top, TOP_KEYS, what="the inventory file", err=E, diag=self.diag)
        if "units" in top:
            units = expect_list(top["units"], "units", top.mark_of("units"), E)
            for i, item in enumerate(units):
                with self.diag.collecting():
                    self.read_unit(expect_map(item, "a unit", units.mark_at(i), E))
        if "assets" in top:
            assets = expect_list(top["assets"], "assets", top.mark_of("assets"), E)
            for i, item in enumerate(assets):
                with self.diag.collecting():
                    self.read_asset(expect_map(item, "an asset", assets.mark_at(i), E))

    # -- units -------------------------------------------------------------

    def read_unit(self, m: MarkedMap) -> None:
        check_keys(m, UNIT_KEYS, ("id", "name"), what="unit", err=E, diag=self.diag)
        uid = self.ident(m, "unit")
        if f"unit:{uid}" in self.marks:
            first = _where(self.marks[f"unit:{uid}"], m.mark_of("id"))
            raise E(f"duplicate unit id '{uid}' (first at {first})", m.mark_of("id"))
        # Known from here on, so a later error in this unit does not cascade to its assets.
        self.marks[f"unit:{uid}"] = m.mark_of("id")
        contacts: list[Contact] = []
        if "contacts" in m:
            items = expect_list(m["contacts"], "contacts", m.mark_of("contacts"), E)
            for i, item in enumerate(items):
                with self.diag.collecting():
                    c = expect_map(item, "a contact", items.mark_at(i), E)
                    contacts.append(self.contact(c))
        self.units[uid] = Unit(
            id=uid,
            name=_text(m, "name", "unit name"),
            contacts=tuple(contacts),
            parent=_opt_text(m, "parent", "parent"),
        )

    def contact(self, m: MarkedMap) -> Contact:
        check_keys(m, CONTACT_KEYS, ("name",), what="contact", err=E, diag=self.diag)
        email = _opt_text(m, "email", "email")
        if email is not None and not _EMAIL.match(email):
            raise E(f"invalid email address '{email}'", m.mark_of("email"))
        channels: dict[str, str] = {}
        if "channels" in m:
            ch = expect_map(m["channels"], "channels", m.mark_of("channels"), E)
            for k, v in ch.items():
                if not isinstance(v, str | int):
                    raise E(f"channel '{k}' must be a string", ch.mark_of(k))
                channels[k] = str(v)
        level = m.get("level", 1)
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise E(f"level must be a whole number from 1, got {level!r}", m.mark_of("level"))
        phone = m.get("phone")
        return Contact(
            name=_text(m, "name", "contact name"),
            email=email,
            phone=None if phone is None else str(phone),
            channels=channels,
            level=level,
        )

    # -- assets ------------------------------------------------------------

    def read_asset(self, m: MarkedMap) -> None:
        check_keys(m, ASSET_KEYS, ("id", "unit", "kind"), what="asset", err=E, diag=self.diag)
        aid = self.ident(m, "asset")
        if f"asset:{aid}" in self.marks:
            first = _where(self.marks[f"asset:{aid}"], m.mark_of("id"))
            raise E(f"duplicate asset id '{aid}' (first at {first})", m.mark_of("id"))
        self.marks[f"asset:{aid}"] = m.mark_of("id")
        kind = m.get("kind")
        if kind not in ASSET_KINDS:
            raise E(
                f"unknown asset kind {kind!r} (expected one of {', '.join(ASSET_KINDS)})",
                m.mark_of("kind"),
            )
        unit = _text(m, "unit", "unit")
        self.unit_refs.append((aid, unit, m.mark_of("unit")))
        fields: dict[str, Any] = {}
        with self.diag.collecting():
            fields["url"], fields["address"] = self.where(m, kind)
        for name, getter in (
            ("criticality", lambda: _level(m, "criticality", 3)),
            ("mlps_level", lambda: _opt_level(m, "mlps_level")),
            ("probes", lambda: self.probes(m)),
            ("interval_s", lambda: _interval(m)),
            ("tags", lambda: _names(m, "tags")),
            ("expected_ports", lambda: _ports(m)),
            ("expected_addresses", lambda: _addresses(m)),
            ("maintenance", lambda: _windows(m, self.diag)),
            ("depends_on", lambda: self.depends(m, aid)),
            ("options", lambda: self.options(m)),
        ):
            with self.diag.collecting():
                fields[name] = getter()
        if len(fields) < 12:  # lint mode: an error was recorded; keep only valid assets
            return
        name = _opt_text(m, "name", "asset name") or ""
        self.assets[aid] = Asset(id=aid, unit=unit, kind=kind, name=name, **fields)

    def ident(self, m: MarkedMap, what: str) -> str:
        v = m.get("id")
        if not isinstance(v, str) or not _ID.match(v):
            raise E(
                f"invalid {what} id {v!r} (lowercase letters, digits, '.', '_', '-'; "
                "at most 100)",
                m.mark_of("id"),
            )
        return v

    def where(self, m: MarkedMap, kind: str) -> tuple[str | None, str | None]:
        url = _opt_text(m, "url", "url")
        address = _opt_text(m, "address", "address")
        if url is not None:
            _check_url(url, m.mark_of("url"))
        if kind == "website" and url is None:
            raise E("a website needs a url", m.mark)
        if kind == "ip":
            if address is None:
                raise E("an ip asset needs an address", m.mark)
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise E(f"invalid IP address '{address}'", m.mark_of("address")) from None
        if kind == "system":
            if url is None and address is None:
                raise E("a system needs an address or a url", m.mark)
            if address is not None:
                _check_host_port(address, m.mark_of("address"))
        if kind == "website" and address is not None:
            _check_host_port(address, m.mark_of("address"))
        return url, address

    def probes(self, m: MarkedMap) -> tuple[str, ...]:
        items = _str_list(m, "probes")
        marks = m["probes"].item_marks if "probes" in m else []
        for i, name in enumerate(items):
            if name not in self.probe_names:
                known = ", ".join(sorted(self.probe_names))
                raise E(f"unknown probe '{name}' (known: {known})", marks[i])
        if len(set(items)) != len(items):
            raise E("probes lists a probe twice", m.mark_of("probes"))
        return tuple(items)

    def depends(self, m: MarkedMap, aid: str) -> tuple[str, ...]:
        items = _str_list(m, "depends_on")
        marks = m["depends_on"].item_marks if "depends_on" in m else []
        for i, dep in enumerate(items):
            if dep == aid:
                raise E(f"asset '{aid}' depends on itself", marks[i])
            self.dep_refs.append((aid, dep, marks[i]))
        return tuple(items)

    def options(self, m: MarkedMap) -> dict[str, dict[str, Any]]:
        if "options" not in m:
            return {}
        opts = expect_map(m["options"], "options", m.mark_of("options"), E)
        out: dict[str, dict[str, Any]] = {}
        for probe, value in opts.items():
            if probe not in self.probe_names:
                raise E(f"options for unknown probe '{probe}'", opts.key_mark(probe))
            out[probe] = dict(expect_map(value, f"options.{probe}", opts.mark_of(probe), E))
        return out

    def check_references(self) -> None:
        for aid, unit, mark in self.unit_refs:
            if f"unit:{unit}" not in self.marks:
                self.diag.error(E(f"asset '{aid}' names unknown unit '{unit}'", mark))
        for aid, dep, mark in self.dep_refs:
            if f"asset:{dep}" not in self.marks:
                self.diag.error(E(f"asset '{aid}' depends on unknown asset '{dep}'", mark))
        for uid, u in self.units.items():
            if u.parent is not None and f"unit:{u.parent}" not in self.marks:
                where = self.marks[f"unit:{uid}"]
                self.diag.error(E(f"unit '{uid}' names unknown parent '{u.parent}'", where))


# -- value checks ------------------------------------------------------------


def _where(first: Mark, here: Mark) -> str:
    """Where something was first defined, as seen from ``here``."""
    return f"line {first.line}" if first.file == here.file else str(first)


def _text(m: MarkedMap, key: str, what: str) -> str:
    v = m.get(key)
    if not isinstance(v, str) or not v.strip():
        raise E(f"{what} must be a non-empty string, got {v!r}", m.mark_of(key))
    return v


def _opt_text(m: MarkedMap, key: str, what: str) -> str | None:
    return _text(m, key, what) if key in m else None


def _level(m: MarkedMap, key: str, default: int) -> int:
    v = m.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
        raise E(f"{key} must be a whole number from 1 to 5, got {v!r}", m.mark_of(key))
    return v


def _opt_level(m: MarkedMap, key: str) -> int | None:
    return _level(m, key, 0) if key in m else None


def _interval(m: MarkedMap) -> float | None:
    if "interval" not in m:
        return None
    try:
        s = parse_duration(m["interval"])
    except ValueError as e:
        raise E(str(e), m.mark_of("interval")) from None
    if not MIN_INTERVAL_S <= s <= MAX_INTERVAL_S:
        raise E(f"interval '{m['interval']}' must be between 5s and 1d", m.mark_of("interval"))
    return s


def _str_list(m: MarkedMap, key: str) -> list[str]:
    if key not in m:
        return []
    items = expect_list(m[key], key, m.mark_of(key), E)
    for i, v in enumerate(items):
        if not isinstance(v, str) or not v:
            raise E(f"{key} must list strings, got {v!r}", items.mark_at(i))
    return list(items)


def _names(m: MarkedMap, key: str) -> tuple[str, ...]:
    return tuple(_str_list(m, key))


def _ports(m: MarkedMap) -> tuple[int, ...]:
    if "expected_ports" not in m:
        return ()
    items = expect_list(m["expected_ports"], "expected_ports", m.mark_of("expected_ports"), E)
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
            raise E(f"invalid port {v!r} (1-65535)", items.mark_at(i))
    return tuple(items)


def _addresses(m: MarkedMap) -> tuple[str, ...]:
    items = _str_list(m, "expected_addresses")
    marks = m["expected_addresses"].item_marks if "expected_addresses" in m else []
    for i, v in enumerate(items):
        try:
            ipaddress.ip_address(v)
        except ValueError:
            if not _HOST.match(v.rstrip(".")):
                raise E(f"invalid expected address '{v}'", marks[i]) from None
    return tuple(items)


def _windows(m: MarkedMap, diag: Diagnostics) -> tuple[MaintenanceWindow, ...]:
    if "maintenance" not in m:
        return ()
    items = expect_list(m["maintenance"], "maintenance", m.mark_of("maintenance"), E)
    out = []
    for i, item in enumerate(items):
        w = expect_map(item, "a maintenance window", items.mark_at(i), E)
        check_keys(w, WINDOW_KEYS, ("start", "end"), what="maintenance window", err=E, diag=diag)
        start, end = _time(w, "start"), _time(w, "end")
        if end <= start:
            raise E("maintenance window ends before it starts", w.mark_of("end"))
        reason = w.get("reason", "")
        out.append(MaintenanceWindow(start, end, str(reason)))
    return tuple(out)


def _time(w: MarkedMap, key: str) -> datetime:
    v = w.get(key)
    if isinstance(v, datetime):  # YAML turned an unquoted timestamp into a datetime
        v = v.isoformat()
    try:
        if not isinstance(v, str):
            raise ValueError
        return parse_time(v)
    except ValueError:
        raise E(
            f"{key} must be an ISO-8601 time with a timezone, got {v!r}", w.mark_of(key)
        ) from None


def _check_url(url: str, mark: Mark) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise E(f"invalid URL '{url}': {e}", mark) from None
    if parts.scheme not in ("http", "https"):
        raise E(f"invalid URL '{url}': scheme must be http or https", mark)
    host = parts.hostname or ""
    if not host or not (_is_ip(host) or _HOST.match(host)):
        raise E(f"invalid URL '{url}': no valid host name", mark)
    if port == 0:
        raise E(f"invalid URL '{url}': port 0", mark)


def _check_host_port(address: str, mark: Mark) -> None:
    host, port = address, None
    if address.startswith("["):
        end = address.find("]")
        host, rest = address[1:end], address[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise E(f"invalid address '{address}'", mark)
        port = rest[1:] or None
    elif address.count(":") == 1:
        host, port = address.split(":")
    if not (_is_ip(host) or _HOST.match(host)):
        raise E(f"invalid address '{address}' (expected host, IP or host:port)", mark)
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise E(f"invalid port in address '{address}'", mark)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


__all__ = ["lint_inventory", "load_inventory"]
