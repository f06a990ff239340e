"""Who is sending: mapping a push to the registered system asset it comes from.

An HTTP push is identified by its bearer token: ``collectors.ingest_tokens``
is ``"system-id=token,..."``, each token belonging to one asset id. A syslog
message is identified by its source address (the asset's host, when that is
an IP) or by its HOSTNAME field (the asset's host name or its id). Tokens
are compared in constant time and never logged or shown.
"""

from __future__ import annotations

import hmac
import ipaddress

from engine.errors import ConfigError
from engine.inventory.model import Asset


def parse_tokens(text: str) -> dict[str, str]:
    """``"oa=abc,mail=def"`` → ``{"oa": "abc", "mail": "def"}``; ConfigError names the entry."""
    out: dict[str, str] = {}
    for n, item in enumerate(x.strip() for x in text.split(",")):
        if not item:
            continue
        system, sep, token = item.partition("=")
        if not sep or not system.strip() or not token.strip():
            # Never echo the entry: it may hold a secret.
            raise ConfigError(f"collectors.ingest_tokens entry {n + 1} is not system-id=token")
        out[system.strip()] = token.strip()
    return out


class Directory:
    """The registered systems that may push, and their tokens."""

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self._tokens = dict(tokens or {})
        self.assets: dict[str, Asset] = {}
        self._by_host: dict[str, str] = {}

    def put(self, asset: Asset) -> None:
        self.remove(asset.id)
        self.assets[asset.id] = asset
        host = asset.host.lower()
        if host:
            self._by_host[_norm(host)] = asset.id

    def remove(self, asset_id: str) -> None:
        old = self.assets.pop(asset_id, None)
        if old is not None and self._by_host.get(_norm(old.host.lower())) == asset_id:
            del self._by_host[_norm(old.host.lower())]

    def by_token(self, token: str) -> Asset | None:
        """The asset whose token this is (constant-time comparison), if registered."""
        found = None
        for system, expected in self._tokens.items():
            if hmac.compare_digest(expected.encode(), token.encode()):
                found = system
        return None if found is None else self.assets.get(found)

    def by_sender(self, address: str | None, hostname: str | None) -> Asset | None:
        """The asset a syslog message comes from: its HOSTNAME, else its source address."""
        if hostname:
            h = hostname.lower()
            if h in self.assets:
                return self.assets[h]
            aid = self._by_host.get(_norm(h))
            if aid is not None:
                return self.assets.get(aid)
        if address:
            aid = self._by_host.get(_norm(address))
            if aid is not None:
                return self.assets.get(aid)
        return None


def _norm(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.rstrip(".")
