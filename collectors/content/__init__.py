"""Understanding web pages: normalisation for stable hashes, HTML reading, dark links, baselines.

- ``normalise``: the page with its dynamic parts (dates, times, counters,
  tokens, session ids, nonces) replaced, and its ``content_hash``.
- ``page``: one pass of the stdlib HTML parser that collects the title,
  visible text lines, links (with whether CSS hides them) and external domains.
- ``darklinks``: which links are dark (hidden, or to gambling/porn domains).
- ``baseline``: the approved snapshot of a page, stored one file per asset.
"""
