"""The situation report as Markdown and as one self-contained HTML page.

Both are rendered from the same ``Report``. Every value that came from an
event (unit and asset names, titles, operators) is escaped: ``html.escape``
in HTML, and in Markdown the characters that would end a table cell or start
markup. The HTML page has no external resources: inline CSS and an inline
SVG chart of the risk trend.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from engine.audit.report import DEADLINES, Report
from engine.durations import format_duration

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def _t(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _d(d: timedelta | None) -> str:
    return "—" if d is None else format_duration(d.total_seconds())


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def _md(text: object) -> str:
    s = str(text).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s)


def title_of(r: Report) -> str:
    return f"ssa situation report — {r.period}, {_t(r.start)} to {_t(r.end)}"


# ---------------------------------------------------------------- Markdown


def render_markdown(r: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    out = [f"# {_md(title_of(r))}", ""]
    out += [
        f"{r.observations} availability observations, {r.alert_records} alert records.",
        "",
        "## Availability by unit",
        "",
    ]
    if r.availability:
        out += ["| unit | ok | total | availability |", "|---|---:|---:|---:|"]
        out += [f"| {_md(a.unit)} | {a.ok} | {a.total} | {_pct(a.ratio)} |" for a in r.availability]
    else:
        out.append("No http or icmp observations in the period.")
    out += ["", "## Alerts opened", "", "| severity | alerts |", "|---|---:|"]
    out += [f"| {s} | {n} |" for s, n in r.by_severity.items()]
    out += ["", "| rule | severity | alerts |", "|---|---|---:|"]
    out += [f"| {_md(rule)} | {s} | {n} |" for rule, s, n in r.by_rule]
    out += [
        "",
        "## Response",
        "",
        f"- Mean time to acknowledge: {_d(r.mtta)} ({r.mtta_n} alerts)",
        f"- Mean time to resolve: {_d(r.mttr)} ({r.mttr_n} alerts)",
        "",
        "## Overdue rectifications",
        "",
        "Deadlines: " + ", ".join(f"{s} {_d(d)}" for s, d in DEADLINES.items()) + ".",
        "",
    ]
    if r.overdue:
        out += [
            "| severity | unit | asset | rule | title | acknowledged by | started | overdue by |",
            "|---|---|---|---|---|---|---|---:|",
        ]
        out += [
            f"| {o.severity} | {_md(o.unit)} | {_md(o.asset)} | {_md(o.rule)} | {_md(o.title)} "
            f"| {_md(o.acknowledged_by)} | {_t(o.started_at)} | {_d(o.overdue_by)} |"
            for o in r.overdue
        ]
    else:
        out.append("None.")
    out += ["", "## Risk trend", "", "| from | mean risk | peak risk |", "|---|---:|---:|"]
    out += [f"| {_t(b.start)} | {b.mean:.2f} | {b.peak:.2f} |" for b in r.risk]
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em;color:#222;max-width:70em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}.critical{color:#a00;font-weight:bold}.high{color:#c50}
svg{border:1px solid #ccc;background:#fafafa}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(head: list[str], rows: list[list[tuple[str, bool]]]) -> str:
    """A table; each cell is (already-escaped html, is_number)."""
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if n else f"<td>{c}</td>" for c, n in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _chart(r: Report) -> str:
    if not r.risk:
        return ""
    w, h, pad = 720, 200, 30
    top = max(max(b.peak for b in r.risk), 1.0)
    bw = (w - 2 * pad) / len(r.risk)
    bars = []
    for i, b in enumerate(r.risk):
        x = pad + i * bw
        mh = (h - 2 * pad) * b.mean / top
        ph = (h - 2 * pad) * b.peak / top
        bars.append(
            f'<rect x="{x:.1f}" y="{h - pad - ph:.1f}" width="{bw * 0.8:.1f}" height="{ph:.1f}" '
            f'fill="#f4c7a1"><title>{_e(_t(b.start))} peak {b.peak:.2f}</title></rect>'
            f'<rect x="{x:.1f}" y="{h - pad - mh:.1f}" width="{bw * 0.8:.1f}" height="{mh:.1f}" '
            f'fill="#d9534f"><title>{_e(_t(b.start))} mean {b.mean:.2f}</title></rect>'
        )
    axis = (
        f'<text x="{pad}" y="{h - 8}" font-size="11">{_e(_t(r.start))}</text>'
        f'<text x="{w - pad}" y="{h - 8}" font-size="11" text-anchor="end">{_e(_t(r.end))}</text>'
        f'<text x="4" y="{pad - 8}" font-size="11">peak {top:.2f}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        f'aria-label="risk trend">{"".join(bars)}{axis}</svg>'
    )


def render_html(r: Report) -> str:
    """The report as one self-contained, escaped HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title_of(r))}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title_of(r))}</h1>",
        f"<p>{r.observations} availability observations, {r.alert_records} alert records.</p>",
        "<h2>Availability by unit</h2>",
    ]
    if r.availability:
        parts.append(
            _table(
                ["unit", "ok", "total", "availability"],
                [
                    [
                        (_e(a.unit), False),
                        (str(a.ok), True),
                        (str(a.total), True),
                        (_pct(a.ratio), True),
                    ]
                    for a in r.availability
                ],
            )
        )
    else:
        parts.append("<p>No http or icmp observations in the period.</p>")
    parts.append("<h2>Alerts opened</h2>")
    parts.append(
        _table(
            ["severity", "alerts"],
            [
                [(f'<span class="{_e(s)}">{_e(s)}</span>', False), (str(n), True)]
                for s, n in r.by_severity.items()
            ],
        )
    )
    parts.append(
        _table(
            ["rule", "severity", "alerts"],
            [[(_e(rule), False), (_e(s), False), (str(n), True)] for rule, s, n in r.by_rule],
        )
    )
    parts += [
        "<h2>Response</h2><ul>",
        f"<li>Mean time to acknowledge: {_e(_d(r.mtta))} ({r.mtta_n} alerts)</li>",
        f"<li>Mean time to resolve: {_e(_d(r.mttr))} ({r.mttr_n} alerts)</li></ul>",
        "<h2>Overdue rectifications</h2>",
        "<p>Deadlines: " + _e(", ".join(f"{s} {_d(d)}" for s, d in DEADLINES.items())) + ".</p>",
    ]
    if r.overdue:
        parts.append(
            _table(
                [
                    "severity",
                    "unit",
                    "asset",
                    "rule",
                    "title",
                    "acknowledged by",
                    "started",
                    "overdue by",
                ],
                [
                    [
                        (_e(o.severity), False),
                        (_e(o.unit), False),
                        (_e(o.asset), False),
                        (_e(o.rule), False),
                        (_e(o.title), False),
                        (_e(o.acknowledged_by), False),
                        (_e(_t(o.started_at)), False),
                        (_e(_d(o.overdue_by)), True),
                    ]
                    for o in r.overdue
                ],
            )
        )
    else:
        parts.append("<p>None.</p>")
    parts += ["<h2>Risk trend</h2>", _chart(r)]
    parts.append(
        _table(
            ["from", "mean risk", "peak risk"],
            [
                [(_e(_t(b.start)), False), (f"{b.mean:.2f}", True), (f"{b.peak:.2f}", True)]
                for b in r.risk
            ],
        )
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
