"""Dark links and defacement keywords: what an attacker leaves on a government page.

A *dark link* is a link that
- goes to a gambling or porn site, judged by keywords in its host name or
  its text (``gambling:博彩``, ``porn:xxx``), hidden or not; or
- is hidden by CSS (see ``collectors.content.page``) and goes to another
  site that the approved baseline does not link to (with no baseline, every
  hidden external link). Hidden links within the site, or to sites the
  approved page already links to, are navigation menus, not dark links.

Host names are matched in two ways: long keywords (5+ characters, and all
Chinese ones) anywhere in the host or text; short ones (``bet``, ``sex``,
``xxx``, ``av``) only as a whole token of the host (split on ``.``, ``-``,
``_`` and digits), so ``alphabet.example`` and ``essex.example`` do not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collectors.content.domains import host_of, same_site
from collectors.content.page import Link

GAMBLING: tuple[str, ...] = (
    "博彩", "娱乐城", "赌场", "赌博", "百家乐", "六合彩", "时时彩", "老虎机", "真人娱乐",
    "棋牌", "体育投注", "太阳城", "葡京", "威尼斯人", "赌球", "网投",
    "casino", "poker", "baccarat", "roulette", "slots", "betting", "gamble", "gambling",
    "sportsbook", "jackpot", "bocai", "duchang", "yulecheng", "bet", "xpj",
)  # fmt: skip
PORN: tuple[str, ...] = (
    "色情", "成人视频", "黄色网站", "裸聊", "av女优", "一夜情",
    "porn", "hentai", "camgirl", "escort", "xxx", "sex", "adult", "av",
)  # fmt: skip
DEFACEMENT: tuple[str, ...] = (
    "hacked by", "owned by", "defaced by", "pwned by", "h4cked", "hacked", "greetz",
    "黑客", "被黑", "入侵", "攻陷", "已被黑",
)  # fmt: skip

MAX_DARK_LINKS = 50
_TOKEN_SPLIT = re.compile(r"[.\-_0-9]+")


def _is_cjk(word: str) -> bool:
    return any(ord(c) > 0x2E80 for c in word)


def _match(keywords: tuple[str, ...], host: str, text: str) -> str | None:
    tokens = set(_TOKEN_SPLIT.split(host))
    hay = f"{host} {text.lower()}"
    for kw in keywords:
        if len(kw) >= 5 or _is_cjk(kw):
            if kw in hay:
                return kw
        elif kw in tokens:
            return kw
    return None


def _display_host(host: str) -> str:
    if "xn--" in host:
        try:
            return host.encode("ascii").decode("idna")
        except UnicodeError:
            return host
    return host


@dataclass(frozen=True)
class DarkLink:
    """A dark link and why it is one."""

    url: str
    text: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"url": self.url, "text": self.text[:100], "reasons": list(self.reasons)}


def dark_links(links: list[Link], page_url: str, known_hosts: set[str] | None) -> list[DarkLink]:
    """The dark links among ``links``; ``known_hosts`` are the approved page's external hosts."""
    site = host_of(page_url)
    out: list[DarkLink] = []
    seen: set[str] = set()
    for link in links:
        host = _display_host(host_of(link.url))
        reasons: list[str] = []
        gambling = _match(GAMBLING, host, link.text)
        if gambling:
            reasons.append(f"gambling:{gambling}")
        porn = _match(PORN, host, link.text)
        if porn:
            reasons.append(f"porn:{porn}")
        external = bool(host) and not same_site(host, site)
        if link.hidden and (reasons or (external and host not in (known_hosts or set()))):
            reasons += [f"hidden:{r}" for r in link.hidden]
        if reasons and link.url not in seen:
            seen.add(link.url)
            out.append(DarkLink(link.url, link.text, tuple(reasons)))
        if len(out) >= MAX_DARK_LINKS:
            break
    return out


def defacement_keywords(lines: list[str], title: str) -> list[str]:
    """Defacement keywords in the visible text and title (each once, in list order)."""
    hay = " ".join([title, *lines]).lower()
    return [kw for kw in DEFACEMENT if kw in hay]
