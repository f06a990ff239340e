"""The HTML the simulated city's websites serve, in each of their conditions.

A normal page looks like a small government portal: a title, navigation, a
news list with today's date and a visit counter (the dynamic parts a content
baseline must ignore). A defaced page is replaced by an attacker's banner
("Hacked by …"). A page with dark links keeps its look and carries links to
gambling domains hidden in the ways real SEO spam hides them: ``display:none``,
a zero font size, an off-screen position and a zero-size box.

Every linked domain is under a reserved name (``.example``, ``example.com``,
``example.net``), so nothing here points at a real site.
"""

from __future__ import annotations

import html
from datetime import datetime

#: The attacker signature a defaced page carries.
DEFACER = "Shadow Team"

#: The hidden links planted on a page with dark links.
DARK_LINKS: tuple[tuple[str, str], ...] = (
    ("https://casino-888.example.net/", "澳门娱乐城 casino"),
    ("https://bet365-vip.example.com/", "体育博彩 bet"),
    ("https://bocai-online.example.net/", "在线博彩 bocai"),
    ("https://lottery-king.example.com/", "六合彩 lottery"),
)

_HIDDEN_STYLES: tuple[str, ...] = (
    "display:none",
    "font-size:0",
    "position:absolute;left:-9999px;top:-9999px",
    "width:0;height:0;overflow:hidden",
)


def normal_page(title: str, hostname: str, now: datetime, visits: int, dark_links: bool) -> str:
    """The site as its owners meant it, optionally with hidden gambling links planted."""
    t = html.escape(title)
    day = now.strftime("%Y-%m-%d")
    news = "\n".join(
        f'      <li><a href="/news/{i}.html">{t}工作动态（第{i}期）</a>'
        f'<span class="date">{day}</span></li>'
        for i in range(1, 6)
    )
    hidden = ""
    if dark_links:
        hidden = "\n".join(
            f'    <div style="{style}"><a href="{url}">{html.escape(text)}</a></div>'
            for (url, text), style in zip(DARK_LINKS, _HIDDEN_STYLES, strict=True)
        )
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>{t}</title>
</head>
<body>
  <header><h1>{t}</h1><p>{html.escape(hostname)}</p></header>
  <nav>
    <a href="/">首页</a> <a href="/xxgk/">信息公开</a> <a href="/bsfw/">办事服务</a>
    <a href="/hdjl/">互动交流</a> <a href="https://www.gov.example/">市政府门户网站</a>
  </nav>
  <main>
    <h2>工作动态</h2>
    <ul>
{news}
    </ul>
{hidden}
  </main>
  <footer>访问量：<span id="visits">{visits}</span> 更新时间：{stamp}</footer>
</body>
</html>
"""


def defaced_page(title: str) -> str:
    """What an attacker put in place of the site."""
    return f"""<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Hacked by {DEFACER}</title></head>
<body style="background:#000;color:#0f0;text-align:center">
  <h1>Hacked by {DEFACER}</h1>
  <p>{html.escape(title)} has been owned. Your security is an illusion.</p>
  <p>Greetz to all crews</p>
</body>
</html>
"""


def error_page(status: int) -> str:
    """A bare error page, as a load balancer in front of a broken site sends."""
    return f"<html><body><h1>{status} Service Unavailable</h1></body></html>\n"
