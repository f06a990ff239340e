"""Sample web pages of a fictional city portal: normal, changing, defaced, with dark links.

``portal()`` is the approved page; ``portal_dynamic(request)`` is the same
page with the parts that change on every request (date, time, visit
counter, CSRF token, session id in links, script nonce); ``defaced()``
replaces it with a hacker's notice; ``with_dark_links()`` is the approved
page plus gambling links hidden in the ways SEO spammers hide them.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime, timedelta

from tests.servers.http import Page, Request

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_BODY = """
<div class="nav"><a href="/news">新闻</a> <a href="/services">政务服务</a>
<a href="https://www.example.org/partner">合作单位</a></div>
<h1>欢迎访问市人民政府门户网站</h1>
<p>市政府办公室主办。本站提供政务公开、办事服务和互动交流。</p>
<ul><li><a href="/news/1">关于做好冬季安全生产工作的通知</a></li>
<li><a href="/news/2">市政府常务会议研究部署重点工作</a></li></ul>
"""

_visits = itertools.count(10_000)


def portal() -> str:
    """The approved home page."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>市人民政府门户网站</title>"
        "</head><body>" + _BODY + "</body></html>"
    )


def portal_dynamic(request: Request | None = None) -> Page:
    """The home page with fresh dynamic parts on every request."""
    now = datetime.now(UTC) + timedelta(seconds=next(_visits))
    token = secrets.token_hex(16)
    nonce = secrets.token_urlsafe(12)
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>市人民政府门户网站</title>"
        f"<meta name='csrf-token' content='{token}'>"
        f"<script nonce='{nonce}'>var t={int(now.timestamp())};</script>"
        "</head><body>"
        f"<div class='top'>今天是{now:%Y年%m月%d日} {now:%H:%M:%S} 更新于 {now:%Y-%m-%d}</div>"
        + _BODY
        + f"<form><input type='hidden' name='csrf_token' value='{token}'></form>"
        f"<a href='/login;jsessionid={secrets.token_hex(8).upper()}'>登录</a>"
        f"<div class='footer'>访问量：{next(_visits)} 次</div></body></html>"
    )
    return Page(html, headers=SECURITY_HEADERS)


def defaced() -> str:
    """The home page after a defacement."""
    return (
        "<html><head><title>Hacked by Gh0st Team</title></head><body style='background:#000'>"
        "<h1>Hacked by Gh0st Team</h1><p>你的网站已被黑客入侵 — greetz to all crews</p>"
        "<a href='https://crew.example.net/'>our crew</a></body></html>"
    )


#: The hidden links ``with_dark_links`` inserts, and how each is hidden.
DARK_LINKS = {
    "https://bocai-888.example.com/": "display:none",
    "https://casino.example.net/vip": "off-screen",
    "https://yule.example.org/": "tiny font",
    "https://bet365-cn.example.com/": "class display:none",
    "https://sports.example.net/": "zero-size container",
}


def with_dark_links() -> str:
    """The approved page plus gambling links hidden by CSS (a typical SEO injection)."""
    hidden = (
        "<style>.hl{display:none} #x { color: red }</style>"
        "<div style='display:none'><a href='https://bocai-888.example.com/'>博彩</a></div>"
        "<div style='position:absolute; left:-9999px; top:0'>"
        "<a href='https://casino.example.net/vip'>真人娱乐城</a></div>"
        "<p style='font-size:0px'><a href='https://yule.example.org/'>娱乐城</a></p>"
        "<span class='hl'><a href='https://bet365-cn.example.com/'>体育投注</a></span>"
        "<div style='width:0;height:0;overflow:hidden'>"
        "<a href='https://sports.example.net/'>足球</a></div>"
    )
    return portal().replace("</body>", hidden + "</body>")
