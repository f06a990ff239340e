"""The content probe and its parts: normalisation, hiding heuristics, dark links, baselines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.content import baseline as baselines
from collectors.content.darklinks import dark_links
from collectors.content.normalise import content_hash, normalise
from collectors.content.page import Link, hiding_reason, read_page
from collectors.probes import content
from collectors.probes.base import ProbeConfig
from engine.events import Control
from tests.collectors.probes.helpers import valid_event, website
from tests.servers import HttpServer, Page, closed_port, pages

APPROVED_AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def approve(config: ProbeConfig, url: str, html: str) -> baselines.Baseline:
    """Store ``html`` as site-1's approved baseline, as ``ssa baseline approve`` does."""
    b = baselines.Baseline.of("site-1", url, content_hash(html), read_page(html, url), APPROVED_AT)
    baselines.save(config.baseline_dir, b)
    return b


# -- normalisation


def test_dynamic_parts_do_not_change_the_hash() -> None:
    a, b = pages.portal_dynamic().body, pages.portal_dynamic().body
    assert a != b
    assert isinstance(a, str) and isinstance(b, str)
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a.replace("欢迎访问", "热烈欢迎"))


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("更新于 2026-11-29 09:15:02", "更新于 0-0-0 0:0:0"),
        ("今天是2026年11月29日 星期日", "今天是0年0月0日 <day>"),
        ("Updated Nov 29, 2026 at 9:15 pm, Sunday", "Updated <date> 0, 0 at 0:0 pm, <day>"),
        ("/static/app-3f9a8b7c6d5e1f2a.js", "/static/<token>.js"),
        ("a_long_identifier_without_digits", "a_long_identifier_without_digits"),
        ("访问量：123456 次", "访问量：0 次"),
        ('<a href="/x;jsessionid=ABC123DEF">', '<a href="/x;jsessionid=*">'),
        ('<script src="/app.js?v=1700000000">', '<script src="/app.js?v=*">'),
        ('<script nonce="r4nd0m">x</script>', "<script >x</script>"),
        (
            '<input type="hidden" name="_csrf" value="a1b2c3">',
            '<input type="hidden" name="_csrf" value="">',
        ),
        ("id 9f86d081884c7d659a2feaa0c55ad015", "id <token>"),
        ("<!-- built 2026-11-29 by ci -->hello", "hello"),
    ],
)
def test_normalise_rules(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


# -- hiding heuristics


@pytest.mark.parametrize(
    ("style", "reason"),
    [
        ("display:none", "display:none"),
        ("DISPLAY: NONE !important", "display:none"),
        ("visibility:hidden", "visibility:hidden"),
        ("opacity:0", "opacity:0"),
        ("font-size:0", "tiny font"),
        ("font-size: 1px", "tiny font"),
        ("font-size:0.1em", "tiny font"),
        ("position:absolute; left:-9999px", "off-screen"),
        ("position:fixed;top:-1000px", "off-screen"),
        ("text-indent:-5000px", "off-screen"),
        ("width:0;height:0;overflow:hidden", "zero-size"),
        ("height:1px;overflow:hidden", "zero-size"),
        ("width:0px;height:0px", "zero-size"),
        ("font-size:14px;color:red", None),
        ("position:absolute;left:10px", None),
        ("height:0", None),
        ("", None),
    ],
)
def test_hiding_reason(style: str, reason: str | None) -> None:
    assert hiding_reason(style) == reason


def test_hidden_links_are_found_through_ancestors_and_style_classes() -> None:
    facts = read_page(pages.with_dark_links(), "http://127.0.0.1/")
    hidden = {link.url: link.hidden for link in facts.links if link.hidden}
    assert hidden == {
        "https://bocai-888.example.com/": ("display:none",),
        "https://casino.example.net/vip": ("off-screen",),
        "https://yule.example.org/": ("tiny font",),
        "https://bet365-cn.example.com/": ("class .hl display:none",),
        "https://sports.example.net/": ("zero-size",),
    }
    assert facts.title == "市人民政府门户网站"
    assert "博彩" not in " ".join(facts.lines)  # hidden text is not visible text


@pytest.mark.parametrize(
    ("url", "text", "hidden", "reasons"),
    [
        ("https://casino.example.net/", "x", (), ("gambling:casino",)),
        ("https://bet365.example.com/", "x", (), ("gambling:bet",)),
        ("https://news.example.com/", "澳门博彩公司", (), ("gambling:博彩",)),
        ("https://xxx.example.com/", "x", (), ("porn:xxx",)),
        ("https://alphabet.example.com/", "x", (), ()),
        ("https://essex.example.com/", "x", (), ()),
        ("https://partner.example.org/", "x", ("display:none",), ("hidden:display:none",)),
        ("https://known.example.org/", "x", ("display:none",), ()),  # in the baseline
        ("http://127.0.0.1/menu", "菜单", ("display:none",), ()),  # same site: a menu
    ],
)
def test_dark_link_classification(
    url: str, text: str, hidden: tuple[str, ...], reasons: tuple[str, ...]
) -> None:
    found = dark_links([Link(url, text, hidden)], "http://127.0.0.1/", {"known.example.org"})
    assert (found[0].reasons if found else ()) == reasons


# -- the probe against a loopback site


async def test_without_a_baseline_only_keywords_and_dark_links_count(config: ProbeConfig) -> None:
    with HttpServer({"/": Page(pages.portal())}) as srv:
        obs = valid_event(await content.probe(website(srv.url("/")), config, timeout=5))
    d = obs.data
    assert obs.ok and d["baseline"] == "missing" and d["baseline_diff"] is None
    assert d["defaced"] is False and d["dark_links"] == [] and d["new_domains"] == []
    assert d["external_domains"] == 1 and d["status"] == 200


async def test_the_approved_page_with_fresh_dynamic_parts_is_unchanged(
    config: ProbeConfig,
) -> None:
    with HttpServer({"/": pages.portal_dynamic}) as srv:
        approved = pages.portal_dynamic().body
        assert isinstance(approved, str)
        approve(config, srv.url("/"), approved)
        obs = await content.probe(website(srv.url("/")), config, timeout=5)
    d = obs.data
    assert d["baseline"] == "approved" and d["changed"] is False
    assert d["baseline_diff"] == 0.0 and d["defaced"] is False
    assert d["content_hash"] == d["baseline_hash"]


async def test_a_defaced_page(config: ProbeConfig) -> None:
    with HttpServer({"/": Page(pages.portal())}) as srv:
        approve(config, srv.url("/"), pages.portal())
        srv.set("/", Page(pages.defaced()))
        obs = valid_event(await content.probe(website(srv.url("/")), config, timeout=5))
    d = obs.data
    assert obs.ok and d["defaced"] is True and d["changed"] is True
    assert d["defacement_keywords"] == [
        "hacked by", "hacked", "greetz", "黑客", "被黑", "入侵", "已被黑"
    ]  # fmt: skip
    assert d["baseline_diff"] > 0.9
    assert d["new_domains"] == ["crew.example.net"]
    assert "Hacked by Gh0st Team" in d["diff_added"]


async def test_an_ordinary_update_is_a_change_not_a_defacement(config: ProbeConfig) -> None:
    with HttpServer({"/": Page(pages.portal())}) as srv:
        approve(config, srv.url("/"), pages.portal())
        updated = pages.portal().replace(
            "<ul>", "<ul><li><a href='/news/3'>关于开展消防安全检查的通知</a></li>"
        )
        srv.set("/", Page(updated))
        obs = await content.probe(website(srv.url("/")), config, timeout=5)
    d = obs.data
    assert d["changed"] is True and d["defaced"] is False
    assert 0 < d["baseline_diff"] < 0.5
    assert d["diff_added"] == ["关于开展消防安全检查的通知"] and d["diff_removed"] == []


async def test_keywords_already_on_the_approved_page_do_not_count(config: ProbeConfig) -> None:
    notice = pages.portal().replace("</ul>", "<li>关于防范黑客入侵的提示</li></ul>")
    with HttpServer({"/": Page(notice)}) as srv:
        approve(config, srv.url("/"), notice)
        obs = await content.probe(website(srv.url("/")), config, timeout=5)
    assert obs.data["defacement_keywords"] == [] and obs.data["defaced"] is False


async def test_hidden_gambling_links_are_dark_links(config: ProbeConfig) -> None:
    with HttpServer({"/": Page(pages.portal())}) as srv:
        approve(config, srv.url("/"), pages.portal())
        srv.set("/", Page(pages.with_dark_links()))
        obs = valid_event(await content.probe(website(srv.url("/")), config, timeout=5))
    d = obs.data
    assert sorted(d["dark_links"]) == sorted(pages.DARK_LINKS)
    assert d["new_domains"] == sorted(h.split("/")[2] for h in pages.DARK_LINKS)
    details = {x["url"]: x["reasons"] for x in d["dark_link_details"]}
    assert details["https://bocai-888.example.com/"] == ["gambling:博彩", "hidden:display:none"]
    assert details["https://sports.example.net/"] == ["hidden:zero-size"]
    assert d["defaced"] is False  # the visible page is the same


async def test_a_fetch_failure_is_a_failed_observation(config: ProbeConfig) -> None:
    obs = await content.probe(website(f"http://127.0.0.1:{closed_port()}/"), config, timeout=2)
    assert not obs.ok and obs.error == "connect: connection refused"


async def test_a_corrupt_baseline_is_reported(config: ProbeConfig) -> None:
    Path(config.baseline_dir).mkdir(parents=True)
    (Path(config.baseline_dir) / "site-1.json").write_text("{not json")
    with HttpServer({"/": Page(pages.portal())}) as srv:
        obs = await content.probe(website(srv.url("/")), config, timeout=2)
    assert not obs.ok and obs.error is not None
    assert obs.error.startswith("baseline: ") and "not a valid baseline" in obs.error


def test_baselines_round_trip_and_refuse_unsafe_ids(tmp_path: Path) -> None:
    html = pages.portal()
    b = baselines.Baseline.of(
        "portal", "http://x/", content_hash(html), read_page(html, "http://x/"), APPROVED_AT
    )
    baselines.save(tmp_path, b)
    assert baselines.load(tmp_path, "portal") == b
    assert baselines.load(tmp_path, "other") is None
    with pytest.raises(Exception, match="not a valid asset id"):
        baselines.path_for(tmp_path, "../etc/passwd")


def _approval(at: datetime, html: str) -> Control:
    b = baselines.Baseline.of(
        "site-1", "http://x/", content_hash(html), read_page(html, "http://x/"), at
    )
    return Control(
        id=f"c{int(at.timestamp())}", kind="approve_baseline", at=at, actor="duty",
        target="site-1", data={"asset": "site-1", "baseline": b.to_dict()},
    )  # fmt: skip


def test_approvals_from_the_control_topic_reach_the_baseline_dir(tmp_path: Path) -> None:
    newer, older = APPROVED_AT, APPROVED_AT.replace(month=10)
    assert baselines.apply_control(tmp_path, _approval(newer, pages.portal())) is not None
    # replaying an older approval does not undo the newer one
    assert baselines.apply_control(tmp_path, _approval(older, pages.defaced())) is None
    stored = baselines.load(tmp_path, "site-1")
    assert stored is not None and stored.approved_at == newer
    assert stored.content_hash == content_hash(pages.portal())
    ack = Control(id="a1", kind="ack", at=newer, actor="duty", target="fp")
    assert baselines.apply_control(tmp_path, ack) is None


async def test_a_baseline_without_its_text_still_tells_a_change(config: ProbeConfig) -> None:
    with HttpServer({"/": Page(pages.portal())}) as srv:
        full = approve(config, srv.url("/"), pages.portal())
        baselines.save(config.baseline_dir, full.without_lines())
        same = await content.probe(website(srv.url("/")), config, timeout=5)
        srv.set("/", Page(pages.portal().replace("欢迎访问", "热烈欢迎访问")))
        changed = await content.probe(website(srv.url("/")), config, timeout=5)
    assert (same.data["changed"], same.data["baseline_diff"]) == (False, 0.0)
    assert (changed.data["changed"], changed.data["baseline_diff"]) == (True, None)
    assert changed.data["defaced"] is False
