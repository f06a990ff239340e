"""A small authoritative DNS server on 127.0.0.1 (UDP), built on dnspython's message API.

    zone = {"www.example.gov": {"A": ["192.0.2.10"], "AAAA": ["2001:db8::10"]},
            "portal.example.gov": {"CNAME": ["www.example.gov"]},
            "example.gov": {"NS": ["ns1.example.gov"]}}
    with DnsServer(zone) as dns:
        dns.port

Names are matched case-insensitively without the trailing dot. A CNAME is
followed inside the zone, as a recursive resolver would. Unknown names get
NXDOMAIN; ``silent=True`` makes a server that never answers at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.servers.loop import BackgroundLoop

Zone = Mapping[str, Mapping[str, Sequence[str]]]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.queries += 1
        if self.server.silent or self.transport is None:
            return
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return
        self.transport.sendto(self.server.answer(query).to_wire(), addr)


class DnsServer:
    """Answers A/AAAA/CNAME/NS queries from a dict zone."""

    def __init__(self, zone: Zone | None = None, *, silent: bool = False, ttl: int = 60) -> None:
        self.zone = {k.lower().rstrip("."): dict(v) for k, v in (zone or {}).items()}
        self.silent = silent
        self.ttl = ttl
        self.port = 0
        self.queries = 0
        self._bg: BackgroundLoop | None = None
        self._transport: asyncio.BaseTransport | None = None

    def start(self) -> DnsServer:
        self._bg = BackgroundLoop("dns-test-server")
        self._transport = self._bg.run(self._start())
        self.port = self._transport.get_extra_info("sockname")[1]
        return self

    async def _start(self) -> asyncio.BaseTransport:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=("127.0.0.1", 0)
        )
        return transport

    def stop(self) -> None:
        if self._bg is None:
            return
        if self._transport is not None:
            self._bg.loop.call_soon_threadsafe(self._transport.close)
        self._bg.close()
        self._bg = None

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The response to one query (public so tests can check the zone logic)."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        rdtype = dns.rdatatype.to_text(question.rdtype)
        if name not in self.zone:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        for _ in range(8):  # follow CNAMEs inside the zone
            records = self.zone.get(name, {})
            if rdtype != "CNAME" and "CNAME" in records:
                target = records["CNAME"][0].rstrip(".")
                response.answer.append(self._rrset(name, "CNAME", [target + "."]))
                name = target.lower()
                continue
            if rdtype in records:
                values = [v + "." if rdtype in ("CNAME", "NS") else v for v in records[rdtype]]
                response.answer.append(self._rrset(name, rdtype, values))
            break
        return response

    def _rrset(self, name: str, rdtype: str, values: Sequence[str]) -> dns.rrset.RRset:
        return dns.rrset.from_text_list(
            dns.name.from_text(name), self.ttl, dns.rdataclass.IN, rdtype, list(values)
        )
