"""The error hierarchy of ssa.

Every error a user can cause carries its data as attributes so callers can
decide what to do without parsing messages. Errors about a file carry a
``Mark`` (file, line, column) and print as ``file:line:col: message``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mark:
    """A place in a user-written file; line and column count from 1."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SsaError(Exception):
    """Base of every error ssa raises on purpose."""


class LocatedError(SsaError):
    """An error at a place in a user-written file."""

    def __init__(self, message: str, mark: Mark | None = None) -> None:
        self.message = message
        self.mark = mark
        super().__init__(f"{mark}: {message}" if mark else message)


class ConfigError(LocatedError):
    """Settings or a YAML file that cannot be used."""


class InventoryError(LocatedError):
    """An invalid unit or asset in the inventory."""


class RuleError(LocatedError):
    """An invalid rule, list, macro or expression."""


class RouteError(LocatedError):
    """An invalid notification route."""


class EventError(SsaError):
    """A message that does not follow the event contract.

    ``field`` is the dotted path of the offending field (``"observed_at"``,
    ``"data.status"``) or ``""`` for the message as a whole.
    """

    def __init__(self, kind: str, field: str, reason: str) -> None:
        self.kind = kind
        self.field = field
        self.reason = reason
        where = f"{kind}.{field}" if field else kind
        super().__init__(f"{where}: {reason}")


class ProbeError(SsaError):
    """A probe that is misconfigured (not a target that fails: that is data)."""


class NotifyError(SsaError):
    """A notification that could not be delivered."""


class BrokerError(SsaError):
    """The local Kafka broker could not be fetched, started or reached."""
