"""Normalise a page so that its hash changes when the content does, not the clock.

A government page changes on every request in ways that mean nothing: the
date and time in the header, a visit counter, a CSRF token, a nonce on inline
scripts, a session id in links, a cache-busting ``?v=1700000000``. These are
replaced by placeholders before hashing, so the ``content_hash`` of an
unchanged page is stable and a defacement changes it.

The rules, in order (each a regular expression over the decoded HTML):
1. HTML comments are dropped (build stamps, server timings).
2. Volatile attributes are dropped: ``nonce``, and ``value``/``content`` of
   inputs and metas whose name mentions csrf, xsrf, token, nonce, session,
   viewstate or eventvalidation.
3. Session ids and cache busters in URLs (``;jsessionid=``, ``sid=``,
   ``PHPSESSID=``, ``token=``, ``_=``, ``t=``, ``v=``, ``ts=``) keep their
   name and lose their value.
4. Dates (``2026-11-29``, ``2026/11/29``, ``2026年11月29日``, ``Nov 29, 2026``),
   times (``09:15``, ``09:15:02``) and weekdays (``星期日``, ``Sunday``) become
   ``<date>``, ``<time>``, ``<day>``.
5. Tokens (runs of 16+ hex digits; runs of 20+ letters, digits, ``-`` and
   ``_`` that mix letters and digits) become ``<token>``.
6. Every remaining run of digits becomes ``0``: counters, view counts and
   timestamps are not content. (A defacement changes words, not digits.)
7. Whitespace collapses to one space.
"""

from __future__ import annotations

import hashlib
import re

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NONCE = re.compile(r"""\snonce\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
_VOLATILE_TAG = re.compile(r"<(?:input|meta)\b[^>]*>", re.I)
_VOLATILE_NAME = re.compile(r"csrf|xsrf|token|nonce|session|viewstate|eventvalidation", re.I)
_VOLATILE_VALUE = re.compile(r"""(\s(?:value|content)\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
_SESSION = re.compile(
    r"""((?:;jsessionid=|[?&;](?:phpsessid|jsessionid|sessionid|sid|token|_|t|v|ts|timestamp)=))"""
    r"""[^"'&#\s>]*""",
    re.I,
)
_DATE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:T\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{4}",
    re.I,
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?", re.I)
_DAY = re.compile(
    r"(?:星期|周|礼拜)[一二三四五六日天]"
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.I,
)
_HEX = re.compile(r"\b[0-9a-fA-F]{16,}\b")
_TOKEN = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{20,}(?![\w-])", re.A)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _strip_volatile_values(m: re.Match[str]) -> str:
    tag = m.group(0)
    if _VOLATILE_NAME.search(tag):
        return _VOLATILE_VALUE.sub(r'\1""', tag)
    return tag


def normalise(html: str) -> str:
    """The page with its dynamic parts replaced (see the module docstring)."""
    s = _COMMENT.sub("", html)
    s = _NONCE.sub("", s)
    s = _VOLATILE_TAG.sub(_strip_volatile_values, s)
    s = _SESSION.sub(r"\1*", s)
    s = _DATE.sub("<date>", s)
    s = _TIME.sub("<time>", s)
    s = _DAY.sub("<day>", s)
    s = _HEX.sub("<token>", s)
    s = _TOKEN.sub("<token>", s)
    s = _DIGITS.sub("0", s)
    return _SPACE.sub(" ", s).strip()


def content_hash(html: str) -> str:
    """SHA-256 (hex) of the normalised page."""
    return hashlib.sha256(normalise(html).encode("utf-8")).hexdigest()


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
