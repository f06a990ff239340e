"""A small authoritative DNS server on loopback for the city's names.

It answers A, NS and CNAME questions for the names it was given, over UDP and
TCP, from a table that scenario steps change at run time (``set_a``): that is
how the demo shows a DNS answer changing (a hijacked record pointing the
portal somewhere else). Names it does not know get NXDOMAIN; it never
recurses or forwards, so no query leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Iterable
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

log = logging.getLogger(__name__)

TTL = 30


class DnsServer:
    """Answers for a zone from a mutable table of A records."""

    def __init__(self, host: str, port: int, zone: str, nameservers: Iterable[str] = ()) -> None:
        self.host = host
        self.port = port
        self.zone = dns.name.from_text(zone)
        self.nameservers = tuple(nameservers) or (f"ns1.{zone}", f"ns2.{zone}")
        self._a: dict[dns.name.Name, tuple[str, ...]] = {}
        self._cname: dict[dns.name.Name, dns.name.Name] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.queries = 0

    @property
    def address(self) -> str:
        """``host:port`` as a resolver option spells it."""
        return f"{self.host}:{self.port}"

    def set_a(self, name: str, *addresses: str) -> None:
        """Make ``name`` answer these addresses (replacing what it answered)."""
        self._a[dns.name.from_text(name)] = tuple(addresses)

    def set_cname(self, name: str, target: str) -> None:
        self._cname[dns.name.from_text(name)] = dns.name.from_text(target)

    def a_records(self, name: str) -> tuple[str, ...]:
        return self._a.get(dns.name.from_text(name), ())

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
        )
        self._udp = transport
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query in wire form, or ``None`` for garbage."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:  # a malformed packet is dropped, as servers do
            return None
        self.queries += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        q = query.question[0]
        name, rdtype = q.name, q.rdtype
        if not name.is_subdomain(self.zone):
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        if name in self._cname:
            target = self._cname[name]
            response.answer.append(dns.rrset.from_text(name, TTL, "IN", "CNAME", target.to_text()))
            name = target
        if rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and name in self._a:
            response.answer.append(dns.rrset.from_text_list(name, TTL, "IN", "A", self._a[name]))
        elif rdtype == dns.rdatatype.NS and name == self.zone:
            response.answer.append(
                dns.rrset.from_text_list(name, TTL, "IN", "NS", [f"{n}." for n in self.nameservers])
            )
        elif name not in self._a and name != self.zone and not response.answer:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = self.answer(await reader.readexactly(length))
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.server.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
