"""The http probe against real loopback servers: answers, redirects, TLS, and every way to fail."""

from __future__ import annotations

import time

import pytest

from collectors.probes import http
from collectors.probes.base import ProbeConfig
from tests.collectors.probes.helpers import valid_event, website
from tests.servers import (
    Endless,
    GzipBomb,
    HttpServer,
    Page,
    Redirect,
    Reset,
    Slow,
    TcpServer,
    TestPKI,
    closed_port,
    pages,
)


async def test_a_normal_page_reports_status_phases_title_hash_and_headers(
    config: ProbeConfig,
) -> None:
    with HttpServer({"/": pages.portal_dynamic}) as srv:
        obs = valid_event(await http.probe(website(srv.url("/")), config, timeout=5))
        again = await http.probe(website(srv.url("/")), config, timeout=5)
    assert obs.ok and obs.error is None
    d = obs.data
    assert d["status"] == 200
    assert d["title"] == "市人民政府门户网站"
    assert set(d["phases_ms"]) == {"dns", "connect", "tls", "ttfb", "transfer"}
    assert d["phases_ms"]["tls"] == 0.0
    assert d["latency_ms"] == pytest.approx(sum(d["phases_ms"].values()), abs=0.01)
    assert d["body_bytes"] > 500 and d["truncated"] is False
    assert d["final_url"] == srv.url("/") and d["redirects"] == 0
    assert d["headers_missing"] == [] and len(d["headers_present"]) == 5
    assert d["server"] == "ssa-test/1.0"
    # the page's date, time, counter, token and session id changed; the hash did not
    assert again.data["content_hash"] == d["content_hash"]


async def test_missing_security_headers_are_named(config: ProbeConfig) -> None:
    with HttpServer({"/": Page("<title>x</title>", headers={"X-Frame-Options": "DENY"})}) as srv:
        obs = await http.probe(website(srv.url("/")), config, timeout=5)
    assert obs.data["headers_present"] == ["X-Frame-Options"]
    assert obs.data["headers_missing"] == [
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
    ]


async def test_redirects_are_counted_and_a_move_to_another_site_is_flagged(
    config: ProbeConfig,
) -> None:
    with HttpServer({"/ok": Page("<title>end</title>")}) as other:
        routes = {
            "/": Redirect("/a", 301),
            "/a": Redirect("/ok"),
            "/ok": Page("<title>here</title>"),
            "/away": Redirect(f"http://localhost:{other.port}/ok"),
        }
        with HttpServer(routes) as srv:
            local = await http.probe(website(srv.url("/")), config, timeout=5)
            away = await http.probe(website(srv.url("/away")), config, timeout=5)
    assert local.ok and local.data["redirects"] == 2
    assert local.data["final_url"] == srv.url("/ok") and local.data["title"] == "here"
    assert local.data["redirect_cross_domain"] is False
    assert away.ok and away.data["redirect_cross_domain"] is True
    assert away.data["final_url"] == f"http://localhost:{other.port}/ok"


async def test_a_redirect_loop_fails_with_its_reason(config: ProbeConfig) -> None:
    with HttpServer({"/a": Redirect("/b"), "/b": Redirect("/a")}) as srv:
        obs = valid_event(await http.probe(website(srv.url("/a")), config, timeout=5))
    assert not obs.ok
    assert obs.error == f"redirect: redirect loop at {srv.url('/a')}"
    assert obs.data["redirects"] == 1


async def test_too_many_redirects_fail(config: ProbeConfig) -> None:
    routes = {f"/{i}": Redirect(f"/{i + 1}") for i in range(20)}
    with HttpServer(routes) as srv:
        obs = await http.probe(website(srv.url("/0"), http={"max_redirects": 3}), config, timeout=5)
    assert not obs.ok and obs.error == "redirect: more than 3 redirects"


@pytest.mark.parametrize(
    ("status", "options", "ok", "error"),
    [
        (500, {}, False, "unexpected status 500"),
        (404, {}, False, "unexpected status 404"),
        (404, {"expect_status": [404]}, True, None),
    ],
)
async def test_status_decides_ok(
    config: ProbeConfig, status: int, options: dict[str, list[int]], ok: bool, error: str | None
) -> None:
    with HttpServer({"/": Page("<title>s</title>", status=status)}) as srv:
        obs = await http.probe(website(srv.url("/"), http=options), config, timeout=5)
    assert (obs.ok, obs.error, obs.data["status"]) == (ok, error, status)


async def test_gzip_and_chunked_bodies_are_decoded(config: ProbeConfig) -> None:
    body = "<title>压缩</title>" + "<p>内容</p>" * 1000
    routes = {"/": Page(body, gzip=True, chunked=True)}
    with HttpServer(routes) as srv:
        obs = await http.probe(website(srv.url("/")), config, timeout=5)
    assert obs.ok and obs.data["title"] == "压缩"
    assert obs.data["body_bytes"] == len(body.encode())


async def test_a_slow_server_ends_within_the_timeout(config: ProbeConfig) -> None:
    with HttpServer({"/": Slow(5.0)}) as srv:
        start = time.monotonic()
        obs = valid_event(await http.probe(website(srv.url("/")), config, timeout=0.5))
    assert time.monotonic() - start < 1.5
    assert not obs.ok and obs.error == "timeout after 0.5s in ttfb"
    assert obs.data["phases_ms"]["connect"] > 0


async def test_a_server_that_hangs_after_accept_ends_within_the_timeout(
    config: ProbeConfig,
) -> None:
    with TcpServer.silent() as srv:
        start = time.monotonic()
        obs = await http.probe(website(f"http://127.0.0.1:{srv.port}/"), config, timeout=0.5)
    assert time.monotonic() - start < 1.5
    assert not obs.ok and obs.error == "timeout after 0.5s in ttfb"


async def test_an_endless_body_is_capped(config: ProbeConfig) -> None:
    with HttpServer({"/": Endless()}) as srv:
        obs = await http.probe(website(srv.url("/")), config, timeout=5)
    assert obs.ok and obs.data["truncated"] is True
    assert obs.data["body_bytes"] == config.max_body_bytes


async def test_a_decompression_bomb_is_capped(config: ProbeConfig) -> None:
    with HttpServer({"/": GzipBomb(64 << 20)}) as srv:
        start = time.monotonic()
        obs = await http.probe(website(srv.url("/")), config, timeout=5)
    assert time.monotonic() - start < 2
    assert obs.ok and obs.data["truncated"] is True
    assert obs.data["body_bytes"] == config.max_body_bytes


async def test_a_reset_connection_is_a_failure(config: ProbeConfig) -> None:
    with HttpServer({"/": Reset()}) as srv:
        obs = valid_event(await http.probe(website(srv.url("/")), config, timeout=5))
    assert not obs.ok
    assert obs.error in ("ttfb: connection reset", "ttfb: connection closed before a response")


async def test_a_refused_connection_is_a_failure(config: ProbeConfig) -> None:
    obs = await http.probe(website(f"http://127.0.0.1:{closed_port()}/"), config, timeout=5)
    assert not obs.ok and obs.error == "connect: connection refused"


async def test_https_with_a_trusted_certificate(config: ProbeConfig, pki: TestPKI) -> None:
    with HttpServer(
        {"/": Page("<title>s</title>")}, ssl_context=pki.valid(), host_name="localhost"
    ) as srv:
        obs = await http.probe(
            website(srv.url("/"), http={"ca_file": pki.ca_file}), config, timeout=5
        )
    assert obs.ok, obs.error
    assert obs.data["phases_ms"]["tls"] > 0 and obs.data["phases_ms"]["dns"] >= 0


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("expired", "tls: certificate verify failed: certificate has expired"),
        (
            "wrong_host",
            "tls: certificate verify failed: "
            "Hostname mismatch, certificate is not valid for 'localhost'.",
        ),
        ("self_signed", "tls: certificate verify failed: self-signed certificate"),
    ],
)
async def test_https_with_a_bad_certificate_fails(
    config: ProbeConfig, pki: TestPKI, case: str, error: str
) -> None:
    ctx = getattr(pki, case)()
    with HttpServer({"/": Page("x")}, ssl_context=ctx, host_name="localhost") as srv:
        obs = await http.probe(
            website(srv.url("/"), http={"ca_file": pki.ca_file}), config, timeout=5
        )
    assert not obs.ok and obs.error == error


async def test_https_verifies_against_the_system_store_by_default(
    config: ProbeConfig, pki: TestPKI
) -> None:
    with HttpServer({"/": Page("x")}, ssl_context=pki.valid(), host_name="localhost") as srv:
        strict = await http.probe(website(srv.url("/")), config, timeout=5)
        lax = await http.probe(website(srv.url("/"), http={"verify": False}), config, timeout=5)
    assert not strict.ok
    assert strict.error == "tls: certificate verify failed: unable to get local issuer certificate"
    assert lax.ok


async def test_a_stalled_tls_handshake_ends_within_the_timeout(config: ProbeConfig) -> None:
    with TcpServer.silent() as srv:
        obs = await http.probe(website(f"https://localhost:{srv.port}/"), config, timeout=0.5)
    assert not obs.ok and obs.error == "timeout after 0.5s in tls"


@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html; charset=GBK", ""),
        ("text/html", "<meta charset='gbk'>"),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'),
    ],
)
async def test_gbk_pages_are_decoded_by_their_declared_charset(
    config: ProbeConfig, content_type: str, meta: str
) -> None:
    body = f"<html><head>{meta}<title>市人民政府</title></head></html>".encode("gbk")
    with HttpServer({"/": Page(body, content_type=content_type)}) as srv:
        obs = await http.probe(website(srv.url("/")), config, timeout=5)
    assert obs.ok and obs.data["title"] == "市人民政府"


async def test_head_requests_have_no_body(config: ProbeConfig) -> None:
    with HttpServer({"/": Page("<title>x</title>" * 100)}) as srv:
        obs = await http.probe(website(srv.url("/"), http={"method": "HEAD"}), config, timeout=5)
        assert srv.requests[-1].method == "HEAD"
    assert obs.ok and obs.data["body_bytes"] == 0 and obs.data["title"] == ""
