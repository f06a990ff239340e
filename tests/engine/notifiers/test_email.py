"""Email over SMTP with STARTTLS, against a real aiosmtpd server on loopback."""

from __future__ import annotations

import email
import ssl
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from engine.broker.local import free_port
from engine.notifiers import DeliveryError, Message, Recipient, Secret
from engine.notifiers.email import EmailNotifier, message_id
from tests.engine.notify.builders import alert

PASSWORD = "smtp-pass-987"


class Inbox:
    """The aiosmtpd handler: keeps every accepted mail."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login in (b"ssa", "ssa")
        and data.password in (PASSWORD.encode(), PASSWORD)
    )
    # handled=False: aiosmtpd answers 535 itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = Inbox()
    port = free_port()
    ctl = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    ctl.start()
    try:
        yield inbox, port, str(ca_file)
    finally:
        ctl.stop()


def message(recipients: tuple[Recipient, ...]) -> Message:
    return Message(
        receiver="unit-mail",
        channel="email",
        kind="firing",
        alerts=(alert(),),
        idempotency_key="unit-mail/duty@example.org/fp-portal-down:firing:1",
        recipients=recipients,
        unit_names={"gov-office": "市人民政府办公室"},
        asset_names={"portal": "市政府门户网站"},
        grafana_url="http://127.0.0.1:3000",
    )


async def test_mail_over_starttls_with_login_reaches_the_contact(
    smtp: tuple[Inbox, int, str],
) -> None:
    inbox, port, ca_file = smtp
    n = EmailNotifier(
        "127.0.0.1",
        "ssa@example.org",
        port=port,
        username="ssa",
        password=Secret(PASSWORD),
        ca_file=ca_file,
    )
    n.validate()
    await n.send(message((Recipient("值班室", "duty@example.org"),)))
    [(sender, to, mail)] = inbox.mails
    assert sender == "ssa@example.org" and to == ["duty@example.org"]
    assert mail["Subject"] == "[FIRING:1] high: portal is down"
    assert mail["Message-ID"] == message_id("unit-mail/duty@example.org/fp-portal-down:firing:1")
    body = mail.get_body().get_content()
    assert "asset:     市政府门户网站 (portal)" in body
    assert "unit:      市人民政府办公室 (gov-office)" in body
    assert "why:       data.status (503) == 200" in body
    assert "dashboard: http://127.0.0.1:3000/d/ssa-asset?var-asset=portal" in body


async def test_fixed_list_when_no_contact(smtp: tuple[Inbox, int, str]) -> None:
    inbox, port, ca_file = smtp
    n = EmailNotifier(
        "127.0.0.1",
        "ssa@example.org",
        port=port,
        to=("soc@example.org",),
        username="ssa",
        password=Secret(PASSWORD),
        ca_file=ca_file,
    )
    await n.send(message(()))
    assert inbox.mails[0][1] == ["soc@example.org"]


async def test_untrusted_certificate_is_refused(smtp: tuple[Inbox, int, str]) -> None:
    _, port, _ = smtp
    n = EmailNotifier(
        "127.0.0.1", "ssa@example.org", port=port, username="ssa", password=Secret(PASSWORD)
    )  # the system CAs do not know the test CA
    with pytest.raises(DeliveryError) as e:
        await n.send(message((Recipient("值班室", "duty@example.org"),)))
    assert e.value.reason.startswith(f"TLS failed with 127.0.0.1:{port}")
    assert not e.value.retryable


async def test_wrong_password_is_not_retried_and_not_shown(smtp: tuple[Inbox, int, str]) -> None:
    _, port, ca_file = smtp
    n = EmailNotifier(
        "127.0.0.1",
        "ssa@example.org",
        port=port,
        username="ssa",
        password=Secret("wrong-pass"),
        ca_file=ca_file,
    )
    with pytest.raises(DeliveryError) as e:
        await n.send(message((Recipient("值班室", "duty@example.org"),)))
    assert e.value.reason == f"SMTP authentication failed at 127.0.0.1:{port} (535)"
    assert not e.value.retryable
    assert "wrong-pass" not in repr(n)


async def test_server_without_starttls_is_refused(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        n = EmailNotifier("127.0.0.1", "ssa@example.org", port=port)
        with pytest.raises(DeliveryError) as e:
            await n.send(message((Recipient("值班室", "duty@example.org"),)))
        assert e.value.reason == f"127.0.0.1:{port} does not offer STARTTLS"
        assert inbox.mails == []
    finally:
        ctl.stop()
