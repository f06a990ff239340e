"""``python -m engine.dashboards [--check] [DIR]``: write (or check) the dashboard JSON files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.dashboards import render


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.dashboards", description=__doc__)
    p.add_argument("dir", nargs="?", default="dashboards", help="where the JSON files go")
    p.add_argument("--check", action="store_true", help="only report files that are stale")
    args = p.parse_args(argv)
    out = Path(args.dir)
    stale = []
    for name, text in render().items():
        path = out / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    verb = "stale" if args.check else "written"
    print(f"{len(stale)} dashboard(s) {verb}: {', '.join(stale) or '-'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
