"""The one vocabulary of observation fields shared by collectors, rules and docs.

Collectors put these names in ``Observation.data``; rule conditions and title
templates may only name fields listed here (so a typo such as
``data.staus`` is an error at load, not a rule that silently never fires);
``docs/observations.md`` is generated from this module
(``python -m engine.vocabulary > docs/observations.md``). A collector that
needs a new field adds it here first.
"""

from __future__ import annotations

from typing import NamedTuple


class FieldDoc(NamedTuple):
    """One documented field: its JSON type and what it means."""

    type: str
    doc: str


#: Fields of the observation itself (``probe``, ``ok``…), addressed without a prefix.
EVENT_FIELDS: dict[str, FieldDoc] = {
    "id": FieldDoc("string", "the observation's id"),
    "asset": FieldDoc("string", "the asset id (same as asset.id)"),
    "unit": FieldDoc("string", "the unit id of the asset"),
    "probe": FieldDoc("string", "the probe that produced it: http, tls, dns, tcp, icmp, ..."),
    "collector": FieldDoc("string", "the collector instance"),
    "vantage": FieldDoc("string", "where the collector probes from"),
    "ok": FieldDoc("boolean", "the probe's own verdict"),
    "duration_s": FieldDoc("number", "how long the probe took"),
    "error": FieldDoc("string", "why the probe failed (absent when it did not)"),
}

#: Fields of the observed asset from the inventory, addressed as ``asset.<name>``.
ASSET_FIELDS: dict[str, FieldDoc] = {
    "id": FieldDoc("string", "asset id"),
    "unit": FieldDoc("string", "owning unit id"),
    "kind": FieldDoc("string", "website, ip or system"),
    "name": FieldDoc("string", "display name"),
    "url": FieldDoc("string", "URL of a website"),
    "address": FieldDoc("string", "IP or host:port of an ip/system asset"),
    "host": FieldDoc("string", "host name or IP the probes connect to"),
    "criticality": FieldDoc("integer", "1..5, 5 = key asset"),
    "mlps_level": FieldDoc("integer", "MLPS (等保) level"),
    "tags": FieldDoc("list of string", "inventory tags"),
    "probes": FieldDoc("list of string", "probes configured for the asset"),
    "expected_ports": FieldDoc("list of integer", "the open-port baseline"),
    "expected_addresses": FieldDoc("list of string", "expected DNS answers"),
    "depends_on": FieldDoc("list of string", "assets this one sits behind"),
}

#: ``data.<name>`` fields, by the probe that produces them.
DATA_FIELDS: dict[str, dict[str, FieldDoc]] = {
    "http": {
        "status": FieldDoc("integer", "final HTTP status code"),
        "latency_ms": FieldDoc("number", "total request time"),
        "phases_ms": FieldDoc("object", "per-phase times: dns, connect, tls, ttfb, transfer"),
        "final_url": FieldDoc("string", "URL after redirects"),
        "redirects": FieldDoc("integer", "number of redirects followed"),
        "title": FieldDoc("string", "HTML <title>"),
        "body_bytes": FieldDoc("integer", "body size"),
        "content_hash": FieldDoc("string", "sha256 of the normalised body"),
        "headers_missing": FieldDoc("list of string", "security headers not sent"),
        "headers_present": FieldDoc("list of string", "security headers sent"),
        "redirect_cross_domain": FieldDoc("boolean", "a redirect went to another site"),
        "truncated": FieldDoc("boolean", "the body was cut at the size cap"),
        "server": FieldDoc("string", "the Server header"),
    },
    "tls": {
        "cert_days_left": FieldDoc("number", "days until the leaf certificate expires"),
        "cert_not_after": FieldDoc("string", "leaf notAfter, ISO-8601"),
        "issuer": FieldDoc("string", "leaf issuer DN"),
        "hostname_match": FieldDoc("boolean", "certificate names the host"),
        "chain_valid": FieldDoc("boolean", "chain verifies against the trust store"),
        "protocol": FieldDoc("string", "negotiated protocol, e.g. TLSv1.3"),
        "cipher": FieldDoc("string", "negotiated cipher suite"),
        "legacy_protocols": FieldDoc("list of string", "accepted legacy protocols (TLSv1, ...)"),
        "legacy_check": FieldDoc("string", "done, skipped or unsupported-locally"),
        "cert_not_before": FieldDoc("string", "leaf notBefore, ISO-8601"),
        "subject": FieldDoc("string", "leaf subject DN"),
        "san": FieldDoc("list of string", "subject alternative names (DNS and IP)"),
        "self_signed": FieldDoc("boolean", "leaf issuer equals its subject"),
        "chain_error": FieldDoc("string", "why the chain did not verify (null if it did)"),
    },
    "dns": {
        "addresses": FieldDoc("list of string", "A/AAAA answers"),
        "cnames": FieldDoc("list of string", "CNAME chain"),
        "ns": FieldDoc("list of string", "NS records"),
        "lookup_ms": FieldDoc("number", "resolution time"),
        "matches_expected": FieldDoc("boolean", "answers match asset.expected_addresses"),
        "unexpected_addresses": FieldDoc("list of string", "answers not in expected_addresses"),
        "rcode": FieldDoc("string", "DNS response code, e.g. NOERROR, NXDOMAIN"),
    },
    "tcp": {
        "port": FieldDoc("integer", "the port of a single-port check"),
        "open": FieldDoc("boolean", "that port accepted a connection"),
        "banner": FieldDoc("string", "first bytes the service sent"),
        "open_ports": FieldDoc("list of integer", "every open port found"),
        "risky_open": FieldDoc("list of integer", "open ports on the risky-port list"),
        "unexpected_open": FieldDoc("list of integer", "open ports not in expected_ports"),
        "expected_closed": FieldDoc("list of integer", "expected_ports that are not open"),
        "banners": FieldDoc("object", "banner by port number (string keys)"),
        "ports": FieldDoc("list of object", "per port: port, state, banner, risky, expected"),
    },
    "icmp": {
        "reachable": FieldDoc("boolean", "the host answered"),
        "rtt_ms": FieldDoc("number", "average round-trip time"),
        "loss": FieldDoc("number", "packet loss 0..1"),
        "method": FieldDoc("string", "icmp, or tcp-fallback without raw sockets"),
        "rtt_min_ms": FieldDoc("number", "fastest round trip"),
        "rtt_max_ms": FieldDoc("number", "slowest round trip"),
        "sent": FieldDoc("integer", "echoes (or connects) sent"),
        "received": FieldDoc("integer", "answers received"),
    },
    "content": {
        "defaced": FieldDoc("boolean", "defacement detected"),
        "defacement_keywords": FieldDoc("list of string", "keywords found"),
        "dark_links": FieldDoc("list of string", "URLs of hidden or gambling/porn links"),
        "dark_link_details": FieldDoc("list of object", "per dark link: url, text, reasons"),
        "new_domains": FieldDoc("list of string", "link domains not in the baseline"),
        "baseline_diff": FieldDoc("number", "share of the page changed vs baseline, 0..1"),
        "baseline": FieldDoc("string", "approved or missing"),
        "baseline_hash": FieldDoc("string", "content_hash of the approved baseline"),
        "changed": FieldDoc("boolean", "content_hash differs from the baseline's"),
        "diff_added": FieldDoc("list of string", "first text lines added since the baseline"),
        "diff_removed": FieldDoc("list of string", "first text lines removed since the baseline"),
        "external_domains": FieldDoc("integer", "external hosts the page links to or loads"),
    },
    "ingest": {
        "event_type": FieldDoc("string", "pushed event type, e.g. login_failure"),
        "source_ip": FieldDoc("string", "client address of the pushed event"),
        "user": FieldDoc("string", "account name"),
        "outcome": FieldDoc("string", "success or failure"),
    },
}

#: Sub-fields of object-valued data fields.
DATA_SUBFIELDS: dict[str, tuple[str, ...]] = {
    "phases_ms": ("dns", "connect", "tls", "ttfb", "transfer"),
}

#: Every valid ``data.<name>``, whatever the probe.
ALL_DATA_FIELDS: frozenset[str] = frozenset(n for fs in DATA_FIELDS.values() for n in fs)


def known_paths() -> list[str]:
    """Every field path a rule may name, for suggestions and the docs."""
    out = list(EVENT_FIELDS)
    out += [f"asset.{n}" for n in ASSET_FIELDS]
    for name in sorted(ALL_DATA_FIELDS):
        out.append(f"data.{name}")
        out += [f"data.{name}.{s}" for s in DATA_SUBFIELDS.get(name, ())]
    return out


def is_known(path: str) -> bool:
    """Whether a dotted field path is in the vocabulary."""
    parts = path.split(".")
    if len(parts) == 1:
        return parts[0] in EVENT_FIELDS
    root = parts[0]
    if root == "asset":
        return len(parts) == 2 and parts[1] in ASSET_FIELDS
    if root == "data":
        if parts[1] not in ALL_DATA_FIELDS:
            return False
        if len(parts) == 2:
            return True
        return len(parts) == 3 and parts[2] in DATA_SUBFIELDS.get(parts[1], ())
    return False


def markdown() -> str:
    """``docs/observations.md``: the vocabulary as a document."""
    lines = [
        "# Observation fields",
        "",
        "Generated from `engine/vocabulary.py` (`python -m engine.vocabulary`); "
        "edit that module, not this file.",
        "Rules name these fields in conditions (`data.status == 200`) and titles "
        "(`{data.status}`); any other name is an error at load.",
        "What each probe measures, when it sets `ok`, its options and heuristics: "
        "[probes.md](probes.md).",
        "",
        "## The observation",
        "",
        "| field | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{n}` | {f.type} | {f.doc} |" for n, f in EVENT_FIELDS.items()]
    lines += ["", "## The asset (`asset.*`, from the inventory)", ""]
    lines += ["| field | type | meaning |", "|---|---|---|"]
    lines += [f"| `asset.{n}` | {f.type} | {f.doc} |" for n, f in ASSET_FIELDS.items()]
    for probe, fs in DATA_FIELDS.items():
        lines += ["", f"## `data.*` of the {probe} probe", ""]
        lines += ["| field | type | meaning |", "|---|---|---|"]
        for n, f in fs.items():
            lines.append(f"| `data.{n}` | {f.type} | {f.doc} |")
            lines += [f"| `data.{n}.{s}` | number | {s} phase |" for s in DATA_SUBFIELDS.get(n, ())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
