"""Throwaway certificates for the TLS test servers, made in the test.

``TestPKI`` holds one trusted test CA (written to ``ca_file`` for the probes'
``ca_file`` option) and builds server ``SSLContext``s for the cases the tls
and http probes must tell apart: valid, expired, wrong host, self-signed and
TLS 1.0 only. Every certificate names ``localhost`` and ``127.0.0.1`` unless
the case is about a wrong name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
import warnings
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("localhost", "127.0.0.1")


class TestPKI:
    """A test CA and the server contexts built from it."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: str | Path | None = None) -> None:
        self.ca = trustme.CA(organization_name="ssa test CA")
        self._dir = Path(directory or tempfile.mkdtemp(prefix="ssa-pki-"))
        self.ca_file = str(self._dir / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def _context(self, cert: trustme.LeafCert) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        return ctx

    def valid(self, *, days: int = 90) -> ssl.SSLContext:
        """A certificate for localhost/127.0.0.1 valid for ``days`` more days."""
        now = dt.datetime.now(dt.UTC)
        cert = self.ca.issue_cert(
            *HOSTS, not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=days)
        )
        return self._context(cert)

    def expired(self) -> ssl.SSLContext:
        """A certificate that expired ten days ago."""
        now = dt.datetime.now(dt.UTC)
        cert = self.ca.issue_cert(
            *HOSTS, not_before=now - dt.timedelta(days=100), not_after=now - dt.timedelta(days=10)
        )
        return self._context(cert)

    def wrong_host(self) -> ssl.SSLContext:
        """A valid certificate for another name (``wrong.example.org``)."""
        return self._context(self.ca.issue_cert("wrong.example.org"))

    def self_signed(self) -> ssl.SSLContext:
        """A certificate for localhost signed by its own key, not by the test CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        cert_path = self._dir / f"self-{cert.serial_number}.pem"
        cert_path.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert_path))
        return ctx

    def legacy_only(self, version: ssl.TLSVersion = ssl.TLSVersion.TLSv1) -> ssl.SSLContext:
        """A valid certificate served only over an old protocol (TLS 1.0 by default).

        OpenSSL 3 refuses TLS 1.0/1.1 at its default security level, so the
        context drops to level 0; ``legacy_supported()`` says whether this
        machine's OpenSSL can do it at all.
        """
        ctx = self.valid()
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
        return ctx

    def modern_only(self) -> ssl.SSLContext:
        """A valid certificate served over TLS 1.2 and newer only."""
        ctx = self.valid()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx


def legacy_supported() -> bool:
    """Whether the local OpenSSL can negotiate TLS 1.0 at all (client and server)."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, ssl.SSLError):
        return False
    return ssl.HAS_TLSv1
