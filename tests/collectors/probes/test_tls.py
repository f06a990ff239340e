"""The tls probe against loopback TLS servers with certificates made in the test."""

from __future__ import annotations

import time

import pytest

from collectors.probes import tls
from collectors.probes.base import ProbeConfig
from engine.inventory.model import Asset
from tests.collectors.probes.helpers import valid_event, website
from tests.servers import HttpServer, Page, TcpServer, TestPKI, closed_port, legacy_supported


def _site(port: int, pki: TestPKI, host: str = "localhost") -> Asset:
    return website(f"https://{host}:{port}/", tls={"ca_file": pki.ca_file})


async def test_a_good_certificate(config: ProbeConfig, pki: TestPKI) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=pki.modern_only()) as srv:
        obs = valid_event(await tls.probe(_site(srv.port, pki), config, timeout=5))
    assert obs.ok and obs.error is None
    d = obs.data
    assert 89 < d["cert_days_left"] <= 90
    assert d["cert_not_after"].endswith("Z")
    assert "ssa test CA" in d["issuer"]
    assert d["san"] == ["localhost", "127.0.0.1"]
    assert d["hostname_match"] is True and d["chain_valid"] is True
    assert d["chain_error"] is None and d["self_signed"] is False
    assert d["protocol"] == "TLSv1.3" and d["cipher"].startswith("TLS_")
    assert d["legacy_protocols"] == [] and d["legacy_check"] == "done"


async def test_an_ip_address_is_matched_against_ip_sans(config: ProbeConfig, pki: TestPKI) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=pki.valid()) as srv:
        obs = await tls.probe(_site(srv.port, pki, "127.0.0.1"), config, timeout=5)
    assert obs.ok and obs.data["hostname_match"] is True and obs.data["chain_valid"] is True


@pytest.mark.parametrize(
    ("case", "chain_valid", "chain_error", "hostname_match", "self_signed"),
    [
        ("expired", False, "certificate has expired", True, False),
        ("wrong_host", True, None, False, False),
        ("self_signed", False, "self-signed certificate", True, True),
    ],
)
async def test_bad_certificates_are_data_not_failures(
    config: ProbeConfig,
    pki: TestPKI,
    case: str,
    chain_valid: bool,
    chain_error: str | None,
    hostname_match: bool,
    self_signed: bool,
) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=getattr(pki, case)()) as srv:
        obs = valid_event(await tls.probe(_site(srv.port, pki), config, timeout=5))
    assert obs.ok
    d = obs.data
    assert (d["chain_valid"], d["chain_error"]) == (chain_valid, chain_error)
    assert (d["hostname_match"], d["self_signed"]) == (hostname_match, self_signed)
    if case == "expired":
        assert -11 < d["cert_days_left"] < -9


async def test_a_server_that_only_speaks_tls_1_0(config: ProbeConfig, pki: TestPKI) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=pki.legacy_only()) as srv:
        obs = await tls.probe(_site(srv.port, pki), config, timeout=5)
    if legacy_supported():
        assert obs.ok, obs.error
        assert obs.data["protocol"] == "TLSv1"
        assert obs.data["legacy_protocols"] == ["TLSv1"]
        assert obs.data["legacy_check"] == "done"
        assert obs.data["chain_valid"] is True
    else:  # this OpenSSL cannot speak TLS 1.0 at all: the probe must say so
        assert obs.data.get("legacy_check") in (None, "unsupported-locally")


async def test_the_legacy_check_can_be_skipped(config: ProbeConfig, pki: TestPKI) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=pki.valid()) as srv:
        asset = website(
            f"https://localhost:{srv.port}/", tls={"ca_file": pki.ca_file, "legacy_check": False}
        )
        obs = await tls.probe(asset, config, timeout=5)
    assert obs.data["legacy_protocols"] == [] and obs.data["legacy_check"] == "skipped"


async def test_the_system_store_is_the_default_trust(config: ProbeConfig, pki: TestPKI) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=pki.valid()) as srv:
        obs = await tls.probe(website(f"https://localhost:{srv.port}/"), config, timeout=5)
    assert obs.ok and obs.data["chain_valid"] is False
    assert obs.data["chain_error"] == "unable to get local issuer certificate"


async def test_a_stalled_handshake_ends_within_the_timeout(config: ProbeConfig) -> None:
    with TcpServer.silent() as srv:
        start = time.monotonic()
        obs = valid_event(
            await tls.probe(website(f"https://localhost:{srv.port}/"), config, timeout=0.5)
        )
    assert time.monotonic() - start < 1.5
    assert not obs.ok and obs.error == "timeout after 0.5s in handshake"


@pytest.mark.parametrize(
    ("server", "errors"),
    [
        ("refused", {"connect: connection refused"}),
        ("reset", {"handshake: connection reset", "handshake: connection closed"}),
        ("plain", {"handshake: wrong_version_number", "handshake: record_layer_failure"}),
    ],
)
async def test_a_failed_handshake_is_a_failure(
    config: ProbeConfig, server: str, errors: set[str]
) -> None:
    if server == "refused":
        obs = await tls.probe(website(f"https://127.0.0.1:{closed_port()}/"), config, timeout=5)
    elif server == "reset":
        with TcpServer.reset() as srv:
            obs = await tls.probe(website(f"https://127.0.0.1:{srv.port}/"), config, timeout=5)
    else:
        with TcpServer.banner("SSH-2.0-OpenSSH_9.2") as srv:
            obs = await tls.probe(website(f"https://127.0.0.1:{srv.port}/"), config, timeout=5)
    assert not obs.ok and obs.error in errors
