"""Email over SMTP with STARTTLS (smtplib, run in a worker thread).

Each recipient gets a mail of their own (``per_recipient``): the unit
contact's address, or the receiver's fixed ``to`` list when the route names
no contacts. The ``Message-ID`` is derived from the idempotency key, so a
mail system can recognise a repeated delivery. STARTTLS is required unless
``starttls: false`` is set explicitly, and the server's certificate is
verified (``ca_file`` for a private CA).
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from engine.notifiers.base import SECRET, ChannelConfigError, DeliveryError, Message, Secret
from engine.notifiers.templates import render


def message_id(idempotency_key: str, domain: str = "ssa.invalid") -> str:
    """A Message-ID that is the same for every attempt of one delivery."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


def build(message: Message, sender: str, to: list[str]) -> EmailMessage:
    """The mail: subject is the title, body is the plain-text rendering."""
    r = render(message)
    mail = EmailMessage()
    mail["Subject"] = r.title
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(message.idempotency_key)
    mail["X-SSA-Idempotency-Key"] = message.idempotency_key
    mail.set_content(r.text())
    return mail


@dataclass(frozen=True)
class EmailNotifier:
    """One SMTP server (submission port) and a sender address."""

    channel: ClassVar[str] = "email"
    per_recipient: ClassVar[bool] = True
    rate: ClassVar[tuple[int, float]] = (30, 60.0)

    host: str
    sender: str
    port: int = 587
    #: Fixed addresses, used when a route has no unit contacts to tell.
    to: tuple[str, ...] = ()
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""), metadata=SECRET)
    starttls: bool = True
    ca_file: str = ""
    timeout: float = 20.0

    def validate(self) -> None:
        if not self.host:
            raise ChannelConfigError("host", "must not be empty")
        if not 0 < self.port < 65536:
            raise ChannelConfigError("port", f"must be between 1 and 65535, got {self.port}")
        if "@" not in self.sender:
            raise ChannelConfigError("sender", f"must be an email address, got {self.sender!r}")
        for addr in self.to:
            if "@" not in addr:
                raise ChannelConfigError("to", f"must be email addresses, got {addr!r}")
        if self.password and not self.starttls:
            raise ChannelConfigError("starttls", "must be true when a password is set")

    def addresses(self, message: Message) -> list[str]:
        """Where this message goes: its recipients' addresses, else the fixed list."""
        found = [p.email for p in message.recipients if p.email]
        return found or list(self.to)

    async def send(self, message: Message) -> None:
        to = self.addresses(message)
        if not to:
            raise DeliveryError("no email address to send to", retryable=False)
        mail = build(message, self.sender, to)
        await asyncio.to_thread(self._send_blocking, mail, to)

    def _login(self, smtp: smtplib.SMTP) -> None:
        """AUTH PLAIN when offered (one round trip, one clear answer), else smtplib's choice."""
        if "plain" in smtp.esmtp_features.get("auth", "").lower().split():
            smtp.user, smtp.password = self.username, self.password.reveal()
            smtp.auth("PLAIN", smtp.auth_plain)
        else:
            smtp.login(self.username, self.password.reveal())

    def _send_blocking(self, mail: EmailMessage, to: list[str]) -> None:
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    ctx = ssl.create_default_context(cafile=self.ca_file or None)
                    smtp.starttls(context=ctx)
                    smtp.ehlo()
                if self.username:
                    self._login(smtp)
                smtp.send_message(mail, from_addr=self.sender, to_addrs=to)
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(
                f"SMTP authentication failed at {where} ({e.smtp_code})", False
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"{where} refused every recipient", retryable=False) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"{where} does not offer STARTTLS", retryable=False) from None
        except smtplib.SMTPResponseException as e:
            raise DeliveryError(f"SMTP {e.smtp_code} from {where}", e.smtp_code < 500) from None
        except ssl.SSLError as e:
            raise DeliveryError(f"TLS failed with {where}: {e.reason}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"{type(e).__name__} talking to {where}") from None
