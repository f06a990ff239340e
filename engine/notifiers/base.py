"""What every notification channel shares: the message, the protocol, secrets, failures.

A channel (webhook, Alertmanager, email, DingTalk, WeCom, Feishu) is one
module with one class implementing ``Notifier``: it is built from a receiver's
YAML mapping (the dataclass fields are the allowed keys), ``validate()`` checks
the values, and ``async send(message)`` delivers one ``Message`` or raises
``DeliveryError``. Channels never log, and their errors never carry a URL,
token or password: those are ``Secret`` values that print as ``***``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from engine.errors import NotifyError
from engine.events import Alert

#: Marks a channel field as secret: shown as ***, may be given as {env: NAME}.
SECRET = {"secret": True}


class Secret:
    """A value that must never be printed: webhook secrets, tokens, passwords, token URLs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, only for building the request that needs it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class DeliveryError(NotifyError):
    """One attempt failed; ``retryable`` says whether trying again can help.

    ``reason`` is safe to record: it names the status or the error class,
    never the URL or a credential.
    """

    def __init__(self, reason: str, retryable: bool = True) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


class ChannelConfigError(NotifyError):
    """A receiver's channel setting that cannot work; ``key`` names the field."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A person told about an alert: a unit contact at one escalation level."""

    name: str
    email: str | None = None
    phone: str | None = None
    #: Channel handles, e.g. {"wecom": "userid", "feishu": "ou_xxx", "dingtalk": "userid"}.
    handles: Mapping[str, str] = field(default_factory=dict)
    level: int = 1

    @property
    def address(self) -> str:
        """How the delivery log names this recipient (no phone numbers: they are personal data)."""
        return self.email or self.name


@dataclass(frozen=True, slots=True)
class Message:
    """One notification to one receiver: the alerts of a group that it has not been told yet.

    ``kind`` is ``"firing"`` (new or changed alerts, or a repeat),
    ``"resolved"``, ``"escalation"`` (nobody acknowledged in time) or
    ``"overdue"`` (a rectification passed its deadline). ``idempotency_key``
    is the same on every attempt and every restart for the same content,
    so receivers can drop duplicates.
    """

    receiver: str
    channel: str
    kind: str
    alerts: tuple[Alert, ...]
    idempotency_key: str
    recipients: tuple[Recipient, ...] = ()
    level: int = 1
    group_key: str = ""
    unit_names: Mapping[str, str] = field(default_factory=dict)
    asset_names: Mapping[str, str] = field(default_factory=dict)
    grafana_url: str = ""
    note: str = ""


class Notifier(Protocol):
    """One configured receiver of one channel."""

    #: The channel's name in routes.yaml and the registry.
    channel: ClassVar[str]
    #: True if every recipient gets a message of their own (email); False if
    #: one message goes to the receiver and names the recipients (robots, webhooks).
    per_recipient: ClassVar[bool]
    #: Default rate limit: at most ``rate[0]`` messages per ``rate[1]`` seconds.
    rate: ClassVar[tuple[int, float]]

    def validate(self) -> None:
        """Raise ``ChannelConfigError`` if a field cannot work (bad URL, port…)."""

    async def send(self, message: Message) -> None:
        """Deliver once, or raise ``DeliveryError``."""
