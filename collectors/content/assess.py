"""Judge one fetched page against its approved baseline (pure: no I/O, no clock).

``assess(page_url, html, baseline, threshold)`` gives the content probe's
data: ``defaced``, ``defacement_keywords``, ``dark_links``,
``dark_link_details``, ``new_domains``, ``baseline_diff`` and friends. It is
shared by the content probe and ``ssa baseline approve`` (which shows what
the new page would change before it is approved).

The page is *defaced* when
- defacement keywords appear that the approved page did not contain, and the
  page changed (or there is no baseline yet); or
- the page's normalised text differs from the baseline's by at least
  ``threshold`` (default 0.5: half the text is gone or new). Ordinary
  updates (a new notice, a changed menu item) stay below it.
"""

from __future__ import annotations

from typing import Any

from collectors.content.baseline import Baseline, diff, text_lines
from collectors.content.darklinks import dark_links, defacement_keywords
from collectors.content.normalise import content_hash
from collectors.content.page import PageFacts, read_page

DEFAULT_THRESHOLD = 0.5
MAX_DIFF_SAMPLES = 5


def assess(
    page_url: str, html: str, baseline: Baseline | None, threshold: float = DEFAULT_THRESHOLD
) -> tuple[dict[str, Any], PageFacts]:
    """The content observation's data for ``html``, and the page facts read from it."""
    facts = read_page(html, page_url)
    lines = text_lines(facts)
    digest = content_hash(html)
    found = defacement_keywords(lines, facts.title)
    external = facts.external_hosts(page_url)
    data: dict[str, Any] = {
        "title": facts.title,
        "content_hash": digest,
        "baseline": "missing" if baseline is None else "approved",
    }
    if baseline is None:
        changed = True
        data.update(baseline_hash=None, changed=None, baseline_diff=None, new_domains=[])
        data.update(diff_added=[], diff_removed=[])
    else:
        changed = digest != baseline.content_hash
        # A baseline without its text (``complete`` False) tells a change, not how big.
        d = diff(baseline.lines, lines) if changed and baseline.complete else None
        old_text = " ".join([baseline.title, *baseline.lines]).lower()
        found = [kw for kw in found if kw not in old_text]
        data.update(
            baseline_hash=baseline.content_hash,
            changed=changed,
            baseline_diff=d.changed if d else (None if changed else 0.0),
            new_domains=sorted(external - set(baseline.hosts)),
            diff_added=list(d.added[:MAX_DIFF_SAMPLES]) if d else [],
            diff_removed=list(d.removed[:MAX_DIFF_SAMPLES]) if d else [],
        )
    dark = dark_links(facts.links, page_url, set(baseline.hosts) if baseline else None)
    big_change = bool(data["baseline_diff"]) and data["baseline_diff"] >= threshold
    data.update(
        defaced=(bool(found) and changed) or big_change,
        defacement_keywords=found,
        dark_links=[x.url for x in dark],
        dark_link_details=[x.to_dict() for x in dark],
        external_domains=len(external),
    )
    return data, facts
