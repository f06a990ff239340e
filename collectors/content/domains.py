"""Which site a host name belongs to, without a public-suffix list.

``site_of("news.example.gov.cn")`` is ``"example.gov.cn"``: the last two
labels, or three when the second-level label is a generic one under a
two-letter country code (``gov.cn``, ``com.cn``, ``org.cn``, ``co.uk``, ...).
This is the common case for government sites and is good enough to tell a
redirect to another site, or a link to an external domain, from an internal
one. IP addresses are their own site.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_SECOND_LEVEL = frozenset({"gov", "com", "org", "net", "edu", "ac", "co", "mil", "or", "ne", "go"})


def site_of(host: str) -> str:
    """The registrable domain ("site") of a host name, lower case."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return host
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def host_of(url: str) -> str:
    """The host of an absolute URL, lower case ('' if it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def same_site(a: str, b: str) -> bool:
    """Whether two host names belong to the same site."""
    return site_of(a) == site_of(b)
