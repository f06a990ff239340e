"""One pass over a page's HTML with the stdlib parser: title, visible text, links, hiding.

``read_page(html, base_url)`` returns a ``PageFacts``: the title, the
visible text as lines (script and style contents are not text), every link
with the reasons CSS hides it (if any), and the external sites the page
links to or loads scripts and frames from.

An element is *hidden* when it or an ancestor is hidden by one of these
heuristics (each reason is reported as written here):
- ``display:none``, ``visibility:hidden``, ``opacity:0`` in its ``style``;
- ``tiny font``: ``font-size`` of 0, or at most 2px / 2pt / 0.2em / 0.2rem / 20%;
- ``off-screen``: ``position`` absolute or fixed with ``left``/``top``/``right``/
  ``bottom`` at -500px or beyond, or a ``text-indent`` of -500px or beyond;
- ``zero-size``: ``width`` or ``height`` of at most 1px together with
  ``overflow:hidden``, or both at most 1px;
- ``hidden attribute``: the HTML ``hidden`` attribute;
- ``class .x`` / ``id #x``: a class or id that a ``<style>`` block of the page
  hides with any of the declarations above (simple ``.x`` / ``#x``
  selectors, also in comma lists).
Colours equal to the background and hiding done by scripts are not detected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from collectors.content.domains import host_of, same_site

VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
BLOCK = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 tr td th table section article header footer "
    "nav form title blockquote pre dd dt".split()
)
MAX_LINKS = 5000
MAX_LINES = 5000

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.I | re.S)
_LENGTH = re.compile(r"^(-?\d*\.?\d+)(px|pt|em|rem|%|vw|vh)?$")


@dataclass(frozen=True)
class Link:
    """One ``<a href>``: absolute URL, its text, and why it is hidden (empty if visible)."""

    url: str
    text: str
    hidden: tuple[str, ...] = ()


@dataclass
class PageFacts:
    """What a page shows and where it points."""

    title: str = ""
    lines: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    #: Hosts of scripts and frames the page loads (absolute URLs only).
    resource_hosts: set[str] = field(default_factory=set)

    def external_hosts(self, base_url: str) -> set[str]:
        """Hosts of links, scripts and frames that belong to another site than ``base_url``."""
        base = host_of(base_url)
        hosts = {host_of(link.url) for link in self.links} | self.resource_hosts
        return {h for h in hosts if h and not same_site(h, base)}


def _declarations(style: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in style.split(";"):
        if ":" in part:
            k, v = part.split(":", 1)
            out[k.strip().lower()] = v.strip().lower().replace("!important", "").strip()
    return out


def _length(value: str) -> tuple[float, str] | None:
    m = _LENGTH.match(value.replace(" ", ""))
    if not m:
        return None
    return float(m.group(1)), m.group(2) or "px"


def hiding_reason(style: str) -> str | None:
    """Why a ``style`` attribute (or CSS declaration block) hides its element, if it does."""
    d = _declarations(style)
    if d.get("display") == "none":
        return "display:none"
    if d.get("visibility") in ("hidden", "collapse"):
        return "visibility:hidden"
    opacity = _length(d.get("opacity", ""))
    if opacity is not None and opacity[0] == 0:
        return "opacity:0"
    size = _length(d.get("font-size", ""))
    if size is not None:
        n, unit = size
        tiny = {"px": 2, "pt": 2, "em": 0.2, "rem": 0.2, "%": 20}.get(unit, 0)
        if n <= tiny:
            return "tiny font"
    if d.get("position") in ("absolute", "fixed"):
        for side in ("left", "top", "right", "bottom"):
            pos = _length(d.get(side, ""))
            if pos is not None and pos[0] <= -500:
                return "off-screen"
    indent = _length(d.get("text-indent", ""))
    if indent is not None and indent[0] <= -500:
        return "off-screen"
    small = [
        v is not None and v[0] <= 1
        for v in (_length(d.get("width", "")), _length(d.get("height", "")))
    ]
    if (any(small) and d.get("overflow") == "hidden") or all(small):
        return "zero-size"
    return None


def hidden_selectors(html: str) -> dict[str, str]:
    """``{".cls": reason, "#id": reason}`` for simple selectors that ``<style>`` blocks hide."""
    out: dict[str, str] = {}
    for block in _STYLE_BLOCK.findall(html):
        for selectors, body in _RULE.findall(block):
            reason = hiding_reason(body)
            if reason is None:
                continue
            for sel in selectors.split(","):
                sel = sel.strip()
                if re.fullmatch(r"[.#][\w-]+", sel):
                    out[sel] = reason
    return out


class _Reader(HTMLParser):
    def __init__(self, base_url: str, hidden_css: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.hidden_css = hidden_css
        self.facts = PageFacts()
        # (tag, reason or None) for every open non-void element
        self.stack: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.link: tuple[str, tuple[str, ...], list[str]] | None = None
        self.in_title = False
        self.title: list[str] = []
        self.skip = 0  # inside <script>/<style>

    def _reason(self, attrs: dict[str, str | None]) -> str | None:
        if "hidden" in attrs:
            return "hidden attribute"
        reason = hiding_reason(attrs.get("style") or "")
        if reason:
            return reason
        for cls in (attrs.get("class") or "").split():
            if f".{cls}" in self.hidden_css:
                return f"class .{cls} {self.hidden_css['.' + cls]}"
        ident = attrs.get("id")
        if ident and f"#{ident}" in self.hidden_css:
            return f"id #{ident} {self.hidden_css['#' + ident]}"
        return None

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        if tag in BLOCK:
            self.text.append("\n")
        if tag in ("script", "iframe", "frame", "embed") and attrs.get("src"):
            host = host_of(urljoin(self.base_url, attrs["src"] or ""))
            if host:
                self.facts.resource_hosts.add(host)
        if tag in VOID:
            return
        reason = self._reason(attrs)
        self.stack.append((tag, reason))
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "a" and attrs.get("href") and len(self.facts.links) < MAX_LINKS:
            href = (attrs["href"] or "").strip()
            if not href.lower().startswith(("javascript:", "mailto:", "tel:", "#")):
                hidden = tuple(r for _, r in self.stack if r)
                self.link = (urljoin(self.base_url, href), hidden, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK:
            self.text.append("\n")
        if not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t in ("script", "style"):
                self.skip = max(0, self.skip - 1)
            elif t == "title":
                self.in_title = False
            elif t == "a" and self.link is not None:
                url, hidden, text = self.link
                self.facts.links.append(Link(url, " ".join("".join(text).split()), hidden))
                self.link = None
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.in_title:
            self.title.append(data)
            return
        if self.link is not None:
            self.link[2].append(data)
        if not any(r for _, r in self.stack):
            self.text.append(data)


def read_page(html: str, base_url: str) -> PageFacts:
    """Parse ``html`` (fetched from ``base_url``) into ``PageFacts``."""
    reader = _Reader(base_url, hidden_selectors(html))
    reader.feed(html)
    reader.close()
    reader.handle_endtag("html")  # flush a link left open at the end
    facts = reader.facts
    facts.title = " ".join("".join(reader.title).split())[:200]
    lines = (" ".join(line.split()) for line in "".join(reader.text).split("\n"))
    facts.lines = [line for line in lines if line][:MAX_LINES]
    return facts
