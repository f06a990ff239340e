"""The tls probe: the certificate a site presents and the protocols it still accepts.

One verifying handshake (trust store: the system's, or ``tls.ca_file``)
gives the protocol, cipher and certificate; when verification fails, a
second, non-verifying handshake still fetches the certificate, so a bad
chain is reported as ``chain_valid: false`` with ``chain_error``, not as a
failed probe. Then TLS 1.0 and 1.1 handshakes are tried in parallel to fill
``legacy_protocols``; when this machine's OpenSSL cannot offer them at all,
``legacy_check`` says ``"unsupported-locally"`` instead of guessing.

Data (docs/observations.md): ``cert_days_left``, ``cert_not_after``,
``cert_not_before``, ``issuer``, ``subject``, ``san``, ``hostname_match``,
``self_signed``, ``chain_valid``, ``chain_error``, ``protocol``, ``cipher``,
``legacy_protocols``, ``legacy_check``. ``ok`` is true when a certificate
was obtained; whether it is good is for the rules to say.

Options (``options.tls``): ``port`` (default: the URL's, else 443),
``ca_file``, ``legacy_check`` (false to skip the old-protocol handshakes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import warnings
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from collectors.probes.base import ProbeConfig
from engine.errors import ProbeError
from engine.events import Observation, format_time
from engine.inventory.model import Asset

NAME = "tls"
LEGACY: tuple[tuple[str, ssl.TLSVersion], ...] = (
    ("TLSv1", ssl.TLSVersion.TLSv1),
    ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
)


class _Handshake:
    """What one handshake gave: protocol, cipher and the peer's certificate (DER)."""

    def __init__(self, protocol: str | None, cipher: str | None, der: bytes | None) -> None:
        self.protocol = protocol
        self.cipher = cipher
        self.der = der


def endpoint(asset: Asset, config: ProbeConfig) -> tuple[str, int]:
    """The host and port the tls probe connects to."""
    port = config.option(asset, NAME, "port")
    if asset.url:
        parts = urlsplit(asset.url)
        host = parts.hostname or ""
        default = parts.port or 443
    else:
        host = asset.host
        addr = asset.address or ""
        default = int(addr.rsplit(":", 1)[1]) if addr.count(":") == 1 else 443
    if not host:
        raise ProbeError(f"asset {asset.id} has no host for the tls probe")
    return host, int(port or default)


async def probe(asset: Asset, config: ProbeConfig, *, timeout: float) -> Observation:
    """Handshake with the asset; never raises for the target's failure."""
    host, port = endpoint(asset, config)
    ca_file = config.option(asset, NAME, "ca_file", config.ca_file)
    watch = config.start()
    data: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            chain_error: str | None = None
            try:
                hs = await _handshake(host, port, _verifying(ca_file))
            except ssl.SSLCertVerificationError as e:
                chain_error = str(e.verify_message)
                hs = await _handshake(host, port, _lenient(None))
            if hs.der is None:
                return config.failure(asset, NAME, watch, "no certificate presented")
            data = _describe(x509.load_der_x509_certificate(hs.der), host, config)
            data.update(
                chain_valid=chain_error is None,
                chain_error=chain_error,
                protocol=hs.protocol,
                cipher=hs.cipher,
            )
            if config.option(asset, NAME, "legacy_check", True):
                data.update(await _legacy(host, port))
            else:
                data.update(legacy_protocols=[], legacy_check="skipped")
    except TimeoutError:
        phase = "legacy handshakes" if data else "handshake"
        return config.failure(asset, NAME, watch, f"timeout after {timeout:g}s in {phase}", data)
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as e:
        return config.failure(asset, NAME, watch, _reason(e), data)
    return config.observation(asset, NAME, watch, ok=True, data=data)


async def _handshake(host: str, port: int, ctx: ssl.SSLContext) -> _Handshake:
    _, writer = await asyncio.open_connection(host, port)
    try:
        await writer.start_tls(ctx, server_hostname=host)
        obj = writer.get_extra_info("ssl_object")
        cipher = obj.cipher() if obj else None
        return _Handshake(
            obj.version() if obj else None,
            cipher[0] if cipher else None,
            obj.getpeercert(binary_form=True) if obj else None,
        )
    finally:
        writer.transport.abort()


_contexts: dict[tuple[str, str | None], ssl.SSLContext] = {}


def _verifying(ca_file: str | None) -> ssl.SSLContext:
    """Chain checks only: the host name is matched separately (``hostname_match``).

    It offers every protocol this OpenSSL can speak, so a server stuck on
    TLS 1.0 still shows its certificate (and ``protocol`` says TLSv1).
    """
    key = ("verify", ca_file)
    if key not in _contexts:
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.check_hostname = False
        _allow_legacy(ctx)
        _contexts[key] = ctx
    return _contexts[key]


def _allow_legacy(ctx: ssl.SSLContext) -> None:
    """Let ``ctx`` offer TLS 1.0 and up, if the local OpenSSL allows it at all."""
    with contextlib.suppress(ValueError, ssl.SSLError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # OpenSSL 3 hides TLS 1.0/1.1 behind security level 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1


def _lenient(version: ssl.TLSVersion | None) -> ssl.SSLContext:
    """No checks at all; pinned to ``version`` for the legacy handshakes."""
    key = ("lenient", version.name if version else None)
    if key not in _contexts:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _allow_legacy(ctx)
        if version is not None:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = version
                ctx.maximum_version = version
        _contexts[key] = ctx
    return _contexts[key]


async def _legacy(host: str, port: int) -> dict[str, Any]:
    """Which of TLS 1.0 / 1.1 the server still accepts."""
    try:
        contexts = [(name, _lenient(v)) for name, v in LEGACY]
    except (ValueError, ssl.SSLError):
        return {"legacy_protocols": [], "legacy_check": "unsupported-locally"}
    if not (ssl.HAS_TLSv1 and ssl.HAS_TLSv1_1):
        return {"legacy_protocols": [], "legacy_check": "unsupported-locally"}

    async def accepted(name: str, ctx: ssl.SSLContext) -> str | None:
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
            hs = await _handshake(host, port, ctx)
            if hs.protocol == name:
                return name
        return None

    found = await asyncio.gather(*(accepted(n, c) for n, c in contexts))
    return {"legacy_protocols": [n for n in found if n], "legacy_check": "done"}


def _describe(cert: x509.Certificate, host: str, config: ProbeConfig) -> dict[str, Any]:
    not_after = cert.not_valid_after_utc
    names = _san(cert)
    return {
        "cert_days_left": round((not_after - config.now()).total_seconds() / 86400, 2),
        "cert_not_after": format_time(not_after),
        "cert_not_before": format_time(cert.not_valid_before_utc),
        "issuer": cert.issuer.rfc4514_string(),
        "subject": cert.subject.rfc4514_string(),
        "san": names,
        "hostname_match": hostname_matches(host, names),
        "self_signed": cert.issuer == cert.subject,
    }


def _san(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return []
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    dns_names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns_names + ips


def hostname_matches(host: str, names: list[str]) -> bool:
    """RFC 6125 matching of ``host`` against SAN names (one left-most wildcard label)."""
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for name in names:
        name = name.lower().rstrip(".")
        if ip is not None:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(name) == ip:
                    return True
            continue
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            if host.split(".", 1)[1] == name[2:]:
                return True
    return False


def _reason(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connect: connection refused"
    if isinstance(e, ConnectionResetError):
        return "handshake: connection reset"
    if isinstance(e, ssl.SSLError):
        return f"handshake: {e.reason or e.strerror or type(e).__name__}".lower()
    if isinstance(e, asyncio.IncompleteReadError):
        return "handshake: connection closed"
    if isinstance(e, OSError) and e.strerror:
        return f"connect: {e.strerror.lower()}"
    return f"handshake: {type(e).__name__}"
