"""``ssa alerts list | ack`` and ``ssa silence add | list | expire``: clients of the engine's API.

They talk to the API at ``settings.api`` host and port with the bearer token
``settings.api.token`` (``SSA_API_TOKEN``). Mutations go through the API so
that they become Control events on ``ssa.control`` like any other.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

import httpx

from engine.durations import parse_duration
from engine.errors import SsaError
from engine.settings import Settings

TIMEOUT_S = 10.0


class ApiClientError(SsaError):
    """The engine's API could not be reached or refused the request."""


def register(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="list and acknowledge alerts (via the engine API)")
    a = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    ls = a.add_parser("list", help="list alerts")
    ls.add_argument(
        "--state",
        default="active",
        help="firing, acknowledged, resolved, active (default: firing or acknowledged) or all",
    )
    ls.add_argument("--severity", help="info, low, medium, high or critical")
    ls.add_argument("--unit", help="a unit id")
    ls.add_argument("--json", action="store_true", help="print the API's JSON")
    ls.set_defaults(func=alerts_list)
    ack = a.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("fingerprint", help="the alert's fingerprint (a unique prefix will do)")
    ack.add_argument("--comment", default="", help="why, or what is being done")
    ack.add_argument("--actor", default=None, help="who acknowledges (default: your user name)")
    ack.set_defaults(func=alerts_ack)

    silence = sub.add_parser("silence", help="add, list and expire silences (via the engine API)")
    s = silence.add_subparsers(dest="silence_command", metavar="ACTION", required=True)
    add = s.add_parser("add", help="silence the alerts matching every --matcher")
    add.add_argument(
        "--matcher",
        action="append",
        required=True,
        help="label=value, label!=value, label=~regex or label!~regex "
        "(labels: rule, asset, unit, severity, tags); repeat for more",
    )
    add.add_argument("--duration", default="2h", help="how long, e.g. 30m, 2h, 1d (default 2h)")
    add.add_argument("--comment", required=True, help="why (recorded with the silence)")
    add.add_argument("--actor", default=None, help="who silences (default: your user name)")
    add.set_defaults(func=silence_add)
    sl = s.add_parser("list", help="list silences")
    sl.add_argument("--json", action="store_true", help="print the API's JSON")
    sl.set_defaults(func=silence_list)
    ex = s.add_parser("expire", help="end a silence now")
    ex.add_argument("id", help="the silence id")
    ex.set_defaults(func=silence_expire)


# ----------------------------------------------------------------- commands


def alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    params = {k: v for k in ("state", "severity", "unit") if (v := getattr(args, k))}
    if params.get("state") == "all":
        del params["state"]
    alerts = _call(settings, "GET", "/api/v1/alerts", params=params)["alerts"]
    if args.json:
        print(json.dumps(alerts, indent=2, ensure_ascii=False))
        return 0
    print(f"{'FINGERPRINT':<12} {'STATE':<12} {'SEVERITY':<8} {'RULE':<22} {'ASSET':<18} "
          f"{'UNIT':<18} {'SINCE':<20} NOTE")  # fmt: skip
    for a in alerts:
        note = ", ".join(a["suppressed_by"]) or (f"by {a['actor']}" if a["actor"] else "")
        print(
            f"{a['fingerprint'][:12]:<12} {a['state']:<12} {a['severity']:<8} {a['rule']:<22} "
            f"{a['asset']:<18} {a['unit']:<18} {a['started_at'][:19]:<20} {note}"
        )
    return 0


def alerts_ack(args: argparse.Namespace, settings: Settings) -> int:
    fp = _resolve_fingerprint(settings, args.fingerprint)
    body = {"comment": args.comment, "actor": args.actor or _user()}
    done = _call(settings, "POST", f"/api/v1/alerts/{fp}/ack", json_body=body)
    print(f"acknowledged {fp} (control {done['control']['id']})")
    return 0


def silence_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        parse_duration(args.duration)
    except ValueError as e:
        raise ApiClientError(f"--duration: {e}") from None
    body = {
        "matchers": args.matcher,
        "duration": args.duration,
        "comment": args.comment,
        "actor": args.actor or _user(),
    }
    done = _call(settings, "POST", "/api/v1/silences", json_body=body)
    c = done["control"]
    print(f"silence {c['id']} until {c['data']['ends_at']}: {', '.join(args.matcher)}")
    return 0


def silence_list(args: argparse.Namespace, settings: Settings) -> int:
    silences = _call(settings, "GET", "/api/v1/silences")["silences"]
    if args.json:
        print(json.dumps(silences, indent=2, ensure_ascii=False))
        return 0
    print(f"{'ID':<38} {'STATUS':<8} {'ENDS':<20} {'CREATOR':<12} MATCHERS / COMMENT")
    for s in silences:
        print(
            f"{s['id']:<38} {s['status']:<8} {s['ends_at'][:19]:<20} {s['creator']:<12} "
            f"{' '.join(s['matchers'])}  # {s['comment']}"
        )
    return 0


def silence_expire(args: argparse.Namespace, settings: Settings) -> int:
    done = _call(settings, "DELETE", f"/api/v1/silences/{args.id}")
    print(f"expired {args.id} (control {done['control']['id']})")
    return 0


# ------------------------------------------------------------------ helpers


def base_url(settings: Settings) -> str:
    """Where the API listens, as seen from this machine."""
    host = settings.api.host
    if host in ("", "0.0.0.0"):  # noqa: S104 - a wildcard bind is reached via loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api.port}"


def _call(
    settings: Settings,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {settings.api.token}"} if settings.api.token else {}
    url = base_url(settings)
    try:
        with httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:
            r = client.request(method, path, params=params, json=json_body, headers=headers)
    except httpx.HTTPError as e:
        raise ApiClientError(f"cannot reach the engine API at {url}: {e}") from None
    try:
        data = r.json()
    except ValueError:
        data = None
    if r.status_code >= 400:
        reason = data.get("error") if isinstance(data, dict) else r.text[:200]
        hint = " (set SSA_API_TOKEN)" if r.status_code == 401 and not settings.api.token else ""
        raise ApiClientError(f"{method} {path}: {r.status_code} {reason}{hint}")
    if not isinstance(data, dict):
        raise ApiClientError(f"{method} {path}: the API answered with something that is not JSON")
    return data


def _resolve_fingerprint(settings: Settings, given: str) -> str:
    """A full fingerprint, or the one alert whose fingerprint starts with ``given``."""
    if len(given) == 32:
        return given
    alerts = _call(settings, "GET", "/api/v1/alerts", params={"state": "active"})["alerts"]
    hits = sorted({a["fingerprint"] for a in alerts if a["fingerprint"].startswith(given)})
    if len(hits) != 1:
        what = "no active alert" if not hits else f"{len(hits)} active alerts"
        raise ApiClientError(f"{what} with a fingerprint starting {given!r}")
    return str(hits[0])


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
