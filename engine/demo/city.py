"""The simulated city on loopback: dozens of websites and services that misbehave on a script.

``City`` starts everything in ``engine.demo.plan`` on 127.0.0.0/8 — one
HTTP(S) server per website, TCP services for the fixed IPs and systems, an
authoritative DNS server for the city's names, a webhook receiver for the
notifier — writes the inventory the collectors read, and plays a
``Scenario`` (``engine.demo.scenario``) at ``speed`` times real time.

Use it as an async context manager::

    async with City(CityConfig(work_dir=Path("demo-run"), speed=15)) as city:
        print(city.inventory_path)
        await city.play()          # returns when the scenario is over

Everything binds loopback addresses only; no traffic leaves the machine.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from engine.broker.local import free_port
from engine.demo.baselines import approve_all
from engine.demo.dnsserver import DnsServer
from engine.demo.inventory import Layout, write_inventory
from engine.demo.pki import DemoCA, LeafCert
from engine.demo.plan import ZONE, CityPlan, city_plan
from engine.demo.pusher import IngestTarget, push_failed_logins
from engine.demo.scenario import DEFAULT_SCENARIO, DEFAULT_SPEED, Scenario, Step
from engine.demo.services import Service
from engine.demo.sites import Site
from engine.demo.webhook import WebhookReceiver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CityConfig:
    """How to run the city."""

    #: Certificates, the inventory and the webhook log are written here.
    work_dir: Path
    speed: float = DEFAULT_SPEED
    scenario: Scenario = DEFAULT_SCENARIO
    site_host: str = "127.0.0.1"
    #: First three octets of the fixed IPs' loopback block; empty picks a random one.
    host_net: str = ""
    dns_port: int = 0
    #: Where the identity platform pushes failed logins; ``None``: nowhere (logged).
    ingest: IngestTarget | None = None
    #: Run the webhook receiver on this port (0: a free port; ``None``: no receiver).
    webhook_port: int | None = 0
    #: The notifier's webhook secret, so the receiver verifies signatures ("": not checked).
    webhook_secret: str = field(default="", repr=False)
    key_interval: str = "5s"
    interval: str = "10s"
    #: Print each scenario step and each notification on stdout.
    echo: bool = True
    #: Approve every website's page as its content baseline here once the city is up
    #: (the collectors' ``collectors.baseline_dir``); ``None``: approve nothing.
    baseline_dir: Path | None = None
    plan: CityPlan = field(default_factory=city_plan)


@dataclass(frozen=True, slots=True)
class Happened:
    """A scenario step the city carried out, and when (seconds since it started)."""

    real_s: float
    step: Step


class City:
    """The running simulated city."""

    def __init__(self, config: CityConfig) -> None:
        self.config = config
        self.plan = config.plan
        self.host_net = config.host_net or _random_host_net()
        self.sites: dict[str, Site] = {}
        self.services: dict[tuple[str, int], Service] = {}
        self.certs: dict[str, LeafCert] = {}
        self.dns = DnsServer(config.site_host, config.dns_port or free_port(), ZONE)
        self.webhook: WebhookReceiver | None = None
        self.happened: list[Happened] = []
        #: Assets whose page was approved as the content baseline at start.
        self.baselines: list[str] = []
        self.ca_file: Path = config.work_dir / "pki" / "ca.pem"
        self.inventory_path: Path = config.work_dir / "inventory.yaml"
        self._started_at = 0.0
        self._actions: dict[str, Callable[[Step], Awaitable[None]]] = {
            "slow": lambda s: self.sites[s.target].slow_down(float(s.value or 0)),
            "down": lambda s: self.sites[s.target].go_down(),
            "fail": lambda s: self.sites[s.target].fail(int(s.value or 503)),
            "deface": lambda s: self.sites[s.target].deface(),
            "dark_links": lambda s: self.sites[s.target].plant_dark_links(),
            "restore": lambda s: self.sites[s.target].restore(),
            "open_port": lambda s: self.service(s.target, int(s.value or 0)).open(),
            "close_port": lambda s: self.service(s.target, int(s.value or 0)).close(),
            "dns": self._dns,
            "login_burst": self._login_burst,
        }

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> City:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Bring every part of the city up and write its inventory."""
        cfg = self.config
        cfg.work_dir.mkdir(parents=True, exist_ok=True)
        ca = DemoCA(cfg.work_dir / "pki", datetime.now(UTC))
        self.ca_file = ca.ca_file
        for spec in self.plan.sites:
            tls = None
            if spec.https:
                cert = ca.issue(spec.id, [spec.hostname, cfg.site_host], spec.cert_days)
                self.certs[spec.id] = cert
                tls = cert.server_context()
            site = Site(spec, cfg.site_host, free_port(cfg.site_host), tls, _utc_now)
            await site.start()
            self.sites[spec.id] = site
            self.dns.set_a(spec.hostname, cfg.site_host)
        for host in self.plan.hosts:
            address = f"{self.host_net}.{host.octet}"
            self.dns.set_a(f"{host.id}.{ZONE}", address)
            for svc in host.services:
                service = Service(address, svc.port, svc.kind)
                self.services[(host.id, svc.port)] = service
                if svc.open:
                    await service.open()
        for ns in self.dns.nameservers:
            self.dns.set_a(ns, cfg.site_host)
        await self.dns.start()
        if cfg.webhook_port is not None:
            self.webhook = WebhookReceiver(
                cfg.site_host,
                cfg.webhook_port,
                cfg.work_dir / "notifications.jsonl",
                cfg.echo,
                secret=cfg.webhook_secret,
            )
            await self.webhook.start()
        write_inventory(self.inventory_path, self.plan, self.layout())
        if cfg.baseline_dir is not None:
            self.baselines = await approve_all(self.inventory_path, cfg.baseline_dir)

    async def close(self) -> None:
        """Stop every server the city started."""
        for site in self.sites.values():
            await site.close()
        for service in self.services.values():
            await service.close()
        await self.dns.close()
        if self.webhook is not None:
            await self.webhook.close()

    def layout(self) -> Layout:
        """Where the city's parts listen (what the inventory is written from)."""
        return Layout(
            site_host=self.config.site_host,
            site_ports={sid: s.port for sid, s in self.sites.items()},
            host_net=self.host_net,
            dns_address=self.dns.address,
            ca_file=str(self.ca_file.resolve()),
            key_interval=self.config.key_interval,
            interval=self.config.interval,
        )

    def service(self, host_id: str, port: int) -> Service:
        try:
            return self.services[(host_id, port)]
        except KeyError:
            raise KeyError(f"host {host_id!r} has no service on port {port}") from None

    # -- the script ------------------------------------------------------------

    async def play(self) -> list[Happened]:
        """Carry out the scenario's steps on time; return when its length has passed.

        Scenario time starts when ``play`` is called.
        """
        loop = asyncio.get_running_loop()
        self._started_at = loop.time()
        speed = self.config.speed
        for real_s, step in self.config.scenario.real_times(speed):
            delay = self._started_at + real_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.apply(step)
        end = self._started_at + self.config.scenario.real_length(speed)
        if end > loop.time():
            await asyncio.sleep(end - loop.time())
        return list(self.happened)

    async def apply(self, step: Step) -> None:
        """Carry out one step now."""
        await self._actions[step.action](step)
        t = asyncio.get_running_loop().time() - self._started_at
        self.happened.append(Happened(round(t, 3), step))
        if self.config.echo:
            city_min = step.at_s / 60
            print(f"[city {city_min:5.1f} min] {step.describe()}", flush=True)

    async def _dns(self, step: Step) -> None:
        address = str(step.value) if step.value else self.config.site_host
        self.dns.set_a(step.target, address)

    async def _login_burst(self, step: Step) -> None:
        count = int(step.value or 20)
        target = self.config.ingest
        if target is None:
            log.warning("login burst of %s: no ingest target configured", step.target)
            return
        system_target = IngestTarget(target.url, target.token, step.target)
        accepted = await push_failed_logins(system_target, count)
        log.info("login burst of %s: %d/%d events accepted", step.target, accepted, count)

    def summary(self) -> str:
        """Where everything is, for the console."""
        lines = [
            f"city: {len(self.sites)} websites on {self.config.site_host}, "
            f"{len(self.plan.hosts)} hosts on {self.host_net}.0/24",
            f"  inventory: {self.inventory_path}",
            f"  DNS server: {self.dns.address} (zone {ZONE})",
            f"  CA certificate: {self.ca_file}",
        ]
        if self.webhook is not None:
            lines.append(f"  webhook receiver: {self.webhook.url}")
        if self.config.baseline_dir is not None:
            lines.append(
                f"  content baselines: {self.config.baseline_dir} ({len(self.baselines)} approved)"
            )
        portal = self.sites.get("portal")
        if portal is not None:
            lines.append(f"  portal: {portal.url}")
        return "\n".join(lines)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _random_host_net() -> str:
    """A /24 of loopback unlikely to be used by anything else (or another city)."""
    return f"127.{random.randint(64, 250)}.{random.randint(0, 250)}"
