"""What the simulated city is made of: its units, websites, systems and hosts.

This is plain data. ``city_plan()`` lists a fictional city's departments and
what each runs; ``engine.demo.city`` brings it up on loopback and
``engine.demo.inventory`` writes the inventory the collectors read. Names are
Chinese, as in a real register; DNS names live under the reserved
``.example`` TLD; hosts are addresses in a private ``127.x.y.0/24`` block of
loopback, so the fixed IPs of the city can open real ports (6379…) without
colliding with anything on the machine.

Ports of a host's services are unprivileged stand-ins for the real ones
(``10022`` for SSH, ``10443`` for HTTPS…) so the city runs without root.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The DNS zone the city's websites live in.
ZONE = "gov.example"

#: Dashboard variable values that show the default scenario best: a unit whose
#: key HTTPS site has an outage (``promql_check --var``, the demo's self-check).
SHOWCASE: dict[str, str] = {"unit": "city-hrss", "asset": "hrss-www"}


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A department of the city and its duty contact."""

    id: str
    name: str
    contact: str
    email: str


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A website: served by its own loopback HTTP(S) server."""

    id: str
    unit: str
    name: str
    #: The DNS label under ``ZONE`` (``www`` -> ``www.gov.example``).
    label: str
    https: bool = True
    criticality: int = 3
    mlps_level: int | None = None
    #: Lifetime of the site's certificate from now, in days (HTTPS only).
    cert_days: float = 365.0
    depends_on: tuple[str, ...] = ()

    @property
    def hostname(self) -> str:
        return f"{self.label}.{ZONE}"

    @property
    def key(self) -> bool:
        return self.criticality >= 5


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A TCP service of a host: ``kind`` picks what it says (see ``engine.demo.services``)."""

    port: int
    kind: str
    #: Open from the start; ``False`` means a scenario step opens it later.
    open: bool = True


@dataclass(frozen=True, slots=True)
class HostSpec:
    """A fixed IP (``kind="ip"``) or an information system (``kind="system"``)."""

    id: str
    unit: str
    name: str
    kind: str
    #: The last octet of the host's address in the city's loopback block.
    octet: int
    services: tuple[ServiceSpec, ...]
    criticality: int = 3
    mlps_level: int | None = None
    probes: tuple[str, ...] = ("icmp", "tcp")
    #: The system pushes its own security events to the collectors' ingest endpoint.
    pushes_events: bool = False

    @property
    def expected_ports(self) -> tuple[int, ...]:
        return tuple(s.port for s in self.services if s.open)


@dataclass(frozen=True, slots=True)
class CityPlan:
    """The whole city."""

    units: tuple[UnitSpec, ...]
    sites: tuple[SiteSpec, ...]
    hosts: tuple[HostSpec, ...]

    def site(self, site_id: str) -> SiteSpec:
        return next(s for s in self.sites if s.id == site_id)

    def host(self, host_id: str) -> HostSpec:
        return next(h for h in self.hosts if h.id == host_id)


def _unit(uid: str, name: str, n: int) -> UnitSpec:
    return UnitSpec(uid, name, f"{name}值班室", f"duty{n:02d}@example.org")


UNITS: tuple[UnitSpec, ...] = tuple(
    _unit(uid, name, n)
    for n, (uid, name) in enumerate(
        [
            ("city-gov-office", "市人民政府办公室"),
            ("city-edu", "市教育局"),
            ("city-health", "市卫生健康委员会"),
            ("city-police", "市公安局"),
            ("city-finance", "市财政局"),
            ("city-hrss", "市人力资源和社会保障局"),
            ("city-water", "市水务集团"),
            ("city-transport", "市交通运输局"),
            ("city-bigdata", "市大数据中心"),
            ("city-market", "市市场监督管理局"),
            ("city-culture", "市文化广电旅游局"),
            ("city-housing", "市住房和城乡建设局"),
        ],
        start=1,
    )
)

# One line per site, as a table reads best.
SITES: tuple[SiteSpec, ...] = (
    SiteSpec("portal", "city-gov-office", "市政府门户网站", "www", True, 5, 3,
             depends_on=("dmz-web",)),
    SiteSpec("gov-open", "city-gov-office", "政府信息公开平台", "xxgk", True, 4, 3),
    SiteSpec("gov-hotline", "city-gov-office", "12345政务服务热线", "rx12345", False, 4, 2),
    SiteSpec("edu-www", "city-edu", "市教育局网站", "jyj", True, 5, 3),
    SiteSpec("edu-exam", "city-edu", "招生考试信息网", "zsks", False, 4, 2),
    SiteSpec("health-www", "city-health", "市卫生健康委网站", "wjw", True, 5, 3),
    SiteSpec("health-booking", "city-health", "预约挂号平台", "yygh", True, 4, 3),
    SiteSpec("police-www", "city-police", "市公安局网站", "gaj", True, 5, 3),
    SiteSpec("police-traffic", "city-police", "交警业务网", "jj", False, 3, 2),
    SiteSpec("finance-www", "city-finance", "市财政局网站", "czj", True, 5, 3, cert_days=5.0),
    SiteSpec("finance-budget", "city-finance", "预决算公开平台", "yjs", False, 3, 2),
    SiteSpec("hrss-www", "city-hrss", "市人社局网站", "rsj", True, 5, 3),
    SiteSpec("hrss-social", "city-hrss", "社保查询服务", "sbcx", True, 4, 3),
    SiteSpec("water-www", "city-water", "水务集团网站", "sw", False, 3, 2),
    SiteSpec("water-pay", "city-water", "水费缴纳平台", "jf", True, 4, 3),
    SiteSpec("transport-www", "city-transport", "市交通运输局网站", "jtj", True, 5, 3),
    SiteSpec("transport-bus", "city-transport", "公交实时查询", "gj", False, 2, None),
    SiteSpec("bigdata-www", "city-bigdata", "市大数据中心网站", "dsj", True, 4, 3),
    SiteSpec("bigdata-open", "city-bigdata", "公共数据开放平台", "data", True, 4, 3),
    SiteSpec("market-www", "city-market", "市市场监管局网站", "scjgj", False, 5, 3),
    SiteSpec("market-credit", "city-market", "企业信用信息公示", "xy", False, 3, 2),
    SiteSpec("culture-www", "city-culture", "市文化广电旅游局网站", "wlj", False, 3, 2),
    SiteSpec("culture-museum", "city-culture", "市博物馆", "bwg", False, 2, None),
    SiteSpec("housing-www", "city-housing", "市住建局网站", "zjj", True, 4, 3),
    SiteSpec("housing-fund", "city-housing", "住房公积金服务", "gjj", True, 5, 3),
)  # fmt: skip

HOSTS: tuple[HostSpec, ...] = (
    HostSpec("dmz-web", "city-gov-office", "门户网站DMZ区", "ip", 10,
             (ServiceSpec(10022, "ssh"), ServiceSpec(10443, "http")), 5, 3),
    HostSpec("gw-gov", "city-gov-office", "政务外网出口", "ip", 11,
             (ServiceSpec(10022, "ssh"), ServiceSpec(10443, "http")), 5, 3),
    HostSpec("gw-bigdata", "city-bigdata", "大数据中心出口", "ip", 12,
             (ServiceSpec(10022, "ssh"), ServiceSpec(6379, "redis", open=False)), 5, 3),
    HostSpec("gw-edu", "city-edu", "教育城域网出口", "ip", 13,
             (ServiceSpec(10022, "ssh"),), 4, 2),
    HostSpec("gw-health", "city-health", "卫健专网出口", "ip", 14,
             (ServiceSpec(10022, "ssh"),), 4, 3),
    HostSpec("dc-core", "city-bigdata", "数据中心核心区", "ip", 15,
             (ServiceSpec(10022, "ssh"), ServiceSpec(10443, "http")), 5, 3),
    HostSpec("idp", "city-bigdata", "统一身份认证平台", "system", 20,
             (ServiceSpec(10443, "http"),), 5, 3, ("tcp", "ingest"), pushes_events=True),
    HostSpec("mail", "city-gov-office", "政务邮件系统", "system", 21,
             (ServiceSpec(10025, "smtp"),), 4, 3, ("tcp",)),
    HostSpec("oa", "city-gov-office", "协同办公系统", "system", 22,
             (ServiceSpec(10443, "http"),), 4, 3, ("tcp",)),
    HostSpec("social-core", "city-hrss", "社保核心业务系统", "system", 23,
             (ServiceSpec(10443, "http"), ServiceSpec(10022, "ssh")), 5, 3, ("tcp",)),
    HostSpec("video", "city-gov-office", "视频会议系统", "system", 24,
             (ServiceSpec(10443, "http"),), 3, 2, ("tcp",)),
)  # fmt: skip


def city_plan() -> CityPlan:
    """The demo city: 12 units, 25 websites, 6 fixed IPs and 5 systems."""
    return CityPlan(UNITS, SITES, HOSTS)
