"""Normalise a page so that its hash changes when the content does, not the clock.

A government page changes on every request in ways that mean nothing: the
date and time in the header, a visit counter, a CSRF token, a nonce on inline
scripts, a session id in links, a cache-busting ``?v=1700000000``. These are
replaced by placeholders before hashing, so the ``content_hash`` of an
unchanged page is stable and a defacement changes it.

The rules, in order (each one regular-expression pass over the decoded HTML;
they are few and cheap because the http probe runs this on every fetch):
1. HTML comments are dropped (build stamps, server timings).
2. Volatile attributes are dropped: ``nonce``, and ``value``/``content`` of
   inputs and metas whose name mentions csrf, xsrf, token, nonce, session,
   viewstate or eventvalidation.
3. Session ids and cache busters in URLs (``;jsessionid=``, ``sid=``,
   ``PHPSESSID=``, ``token=``, ``_=``, ``t=``, ``v=``, ``ts=``) keep their
   name and lose their value.
4. Tokens become ``<token>``: runs of 16+ letters, digits, ``-`` and ``_``
   that are all hex digits, or letters mixed with at least 4 digits (CSRF
   tokens, nonces, session and request ids, asset fingerprints).
5. Month and weekday names (``Nov``, ``November``, ``Sunday``, ``星期日``,
   ``周日``) become ``<date>`` and ``<day>``.
6. Every run of digits becomes ``0``: dates (``0-0-0``, ``0年0月0日``), times
   (``0:0:0``), counters, view counts and timestamps are not content.
   (A defacement changes words, not digits.)
7. Whitespace collapses to one space.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NONCE = re.compile(r"""nonce\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")
_VOLATILE_TAG = re.compile(r"<(?:input|meta|INPUT|META)\b[^>]*>")
_VOLATILE_NAME = re.compile(r"csrf|xsrf|token|nonce|session|viewstate|eventvalidation", re.I)
_VOLATILE_VALUE = re.compile(r"""(\s(?:value|content)\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
_SESSION = re.compile(
    r"""((?:;jsessionid=|[?&;](?:phpsessid|jsessionid|sessionid|sid|token|_|t|v|ts|timestamp)=))"""
    r"""[^"'&#\s>]*""",
    re.I,
)
_RUN = re.compile(r"[\w-]{16,}", re.A)
_HEX = frozenset("0123456789abcdefABCDEF")
_NAMES = re.compile(
    r"\b(?:(?P<day>(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
    r"|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b",
    re.I,
)
_CN_DAY = re.compile(r"(?:星期|周|礼拜)[一二三四五六日天]")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _token(m: re.Match[str]) -> str:
    """A run of 16+ word characters is a token if all hex, or letters mixed with 4+ digits."""
    run = m.group(0)
    if set(run) <= _HEX:
        return "<token>"
    digits = sum(c.isdigit() for c in run)
    return "<token>" if digits >= 4 and digits < len(run) else run


def _name(m: re.Match[str]) -> str:
    return "<day>" if m.group("day") else "<date>"


def _strip_volatile_values(m: re.Match[str]) -> str:
    tag = m.group(0)
    if _VOLATILE_NAME.search(tag):
        return _VOLATILE_VALUE.sub(r'\1""', tag)
    return tag


def normalise(html: str) -> str:
    """The page with its dynamic parts replaced (see the module docstring)."""
    s = _COMMENT.sub("", html) if "<!--" in html else html
    s = _NONCE.sub("", s)
    s = _VOLATILE_TAG.sub(_strip_volatile_values, s)
    s = _SESSION.sub(r"\1*", s)
    s = _RUN.sub(_token, s)
    s = _NAMES.sub(_name, s)
    s = _CN_DAY.sub("<day>", s)
    s = _DIGITS.sub("0", s)
    return _SPACE.sub(" ", s).strip()


#: Recently hashed pages by a digest of their raw text: most pages do not change
#: between probes, and normalising is the costliest step of an http probe.
_memo: OrderedDict[bytes, str] = OrderedDict()
MEMO_SIZE = 4096


def content_hash(html: str) -> str:
    """SHA-256 (hex) of the normalised page (memoised by the raw page's digest)."""
    key = hashlib.blake2b(html.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    digest = _memo.get(key)
    if digest is None:
        digest = hashlib.sha256(normalise(html).encode("utf-8")).hexdigest()
        _memo[key] = digest
        if len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return digest


def decode(body: bytes, content_type: str = "") -> str:
    """The page's text: the charset of Content-Type or a ``<meta charset>``, else UTF-8."""
    charset = _charset(content_type) or _meta_charset(body[:4096]) or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([\w.:-]+)""", re.I)


def _charset(content_type: str) -> str | None:
    m = _CHARSET.search(content_type.encode("latin-1", "replace"))
    return m.group(1).decode("ascii") if m else None


def _meta_charset(head: bytes) -> str | None:
    m = _CHARSET.search(head)
    return m.group(1).decode("ascii", "replace") if m else None
