"""How the server's peers and its clients find each other across networks (docs/deploy.md).

One :class:`IceConfig` per server, built from the settings, is all the media layer needs:

- :meth:`IceConfig.rtc_configuration` is the ``RTCConfiguration`` of one server peer (the
  factory's, ``media/factory.py``): STUN servers to discover the public address, and with the ``relay`` policy the
  TURN server the server itself allocates on (with credentials of its own).
- :meth:`IceConfig.client_servers` is what the ``connected`` reply hands a client: RTCIceServer
  dicts (``urls``, ``username``, ``credential``) with fresh credentials for that connection.
- :meth:`IceConfig.prepare` is called on a server peer connection before it gathers: its media
  sockets bind inside ``ARCHIVIST_ICE_PORT_RANGE`` on the ``ARCHIVIST_ICE_HOSTS`` addresses, and
  its host candidates announce ``ARCHIVIST_PUBLIC_IPS`` (the aioice side is in ``seams``).

TURN credentials follow coturn's ``use-auth-secret`` REST scheme: username
``<expiry>:<connectionId>``, password ``base64(HMAC-SHA1(secret, username))``; or they are the
static ``ARCHIVIST_TURN_USERNAME`` / ``_PASSWORD``. Secrets and credentials are never logged.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import ipaddress
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from archivist.media import seams

if TYPE_CHECKING:
    from archivist.config import Settings

POLICIES = ("all", "relay")


class IceConfigError(ValueError):
    """A media network setting is invalid (the message names the variable)."""


class PortRangeFull(OSError):
    """Every port of the range is taken on that address."""

    def __init__(self, ports: PortRange, host: str) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"no free media port: ARCHIVIST_ICE_PORT_RANGE {ports} ({ports.size} ports) is full on {host}",
        )
        self.ports = ports


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    @classmethod
    def parse(cls, text: str) -> PortRange | None:
        """``"40000-40199"`` (inclusive) or a single port; empty: None (any port)."""
        text = text.strip()
        if not text:
            return None
        match = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", text)
        if match is None:
            raise IceConfigError(f"ARCHIVIST_ICE_PORT_RANGE must look like 40000-40199, not {text!r}")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not 1 <= low <= high <= 65535:
            raise IceConfigError(f"ARCHIVIST_ICE_PORT_RANGE {text!r}: need 1 <= first <= last <= 65535")
        return cls(low, high)

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


class PortAllocator:
    """Binds UDP sockets on free ports of a range. The kernel is the only bookkeeping (a port
    frees when its socket closes); a rotating start spreads sockets over the range so a port
    is not reused right after it was freed (late packets of a closed peer)."""

    def __init__(self, ports: PortRange) -> None:
        self.ports = ports
        self._cursor = random.randrange(ports.size)
        self._lock = threading.Lock()

    def bind(self, family: int, host: str) -> socket.socket:
        size = self.ports.size
        with self._lock:
            for i in range(size):
                port = self.ports.low + (self._cursor + i) % size
                sock = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    sock.bind((host, port))
                except OSError as exc:
                    sock.close()
                    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                        continue
                    raise
                self._cursor = (self._cursor + i + 1) % size
                return sock
        raise PortRangeFull(self.ports, host)


# ---- ICE server URLs -----------------------------------------------------------------------
_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>[^?:/\[\]]+)(?::(?P<port>\d+))?(?:\?transport=(?P<transport>\w+))?"
)


@dataclass(frozen=True)
class IceUrl:
    """One STUN/TURN URL (RFC 7064/7065), as aiortc reads it."""

    url: str
    scheme: str
    host: str
    port: int
    transport: str

    @classmethod
    def parse(cls, url: str, variable: str) -> IceUrl:
        match = _URL.fullmatch(url.strip())
        if match is None:
            raise IceConfigError(
                f"{variable}: {url!r} is not a STUN/TURN URL like turn:turn.example.com:3478?transport=udp"
            )
        scheme = match.group("scheme")
        secure = scheme.endswith("s")
        transport = (match.group("transport") or ("tcp" if secure else "udp")).lower()
        if transport not in ("udp", "tcp"):
            raise IceConfigError(f"{variable}: {url!r}: transport must be udp or tcp")
        if scheme.startswith("stun") and match.group("transport"):
            raise IceConfigError(f"{variable}: {url!r}: a STUN URL takes no transport")
        port = int(match.group("port") or (5349 if secure else 3478))
        return cls(url.strip(), scheme, match.group("host"), port, transport)

    @property
    def is_turn(self) -> bool:
        return self.scheme.startswith("turn")

    @property
    def server_usable(self) -> bool:
        """aiortc (the server's own peers) allocates over turn: UDP/TCP and turns: TCP (TLS)."""
        return self.scheme == "turn" or (self.scheme == "turns" and self.transport == "tcp")


def turn_rest_credentials(secret: str, name: str, ttl: int, now: float) -> tuple[str, str]:
    """coturn ``use-auth-secret``: username ``<expiry>:<name>``, password
    base64(HMAC-SHA1(secret, username))."""
    username = f"{int(now) + ttl}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _addresses(values: Sequence[str], variable: str) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_address(value.strip())))
        except ValueError:
            raise IceConfigError(f"{variable}: {value!r} is not an IP address") from None
    return tuple(out)


@dataclass(frozen=True)
class IceConfig:
    hosts: tuple[str, ...] = ()
    public_ips: tuple[str, ...] = ()
    stun_urls: tuple[IceUrl, ...] = ()
    turn_urls: tuple[IceUrl, ...] = ()
    turn_secret: str = field(default="", repr=False)
    turn_username: str = ""
    turn_password: str = field(default="", repr=False)
    turn_ttl: int = 3600
    transport_policy: str = "all"
    port_range: PortRange | None = None
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    _ports: PortAllocator | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.transport_policy not in POLICIES:
            raise IceConfigError(f"ARCHIVIST_ICE_TRANSPORT_POLICY must be all or relay, not {self.transport_policy!r}")
        if bool(self.turn_username) != bool(self.turn_password):
            raise IceConfigError("ARCHIVIST_TURN_USERNAME and ARCHIVIST_TURN_PASSWORD go together")
        for url in self.stun_urls:
            if url.is_turn:
                raise IceConfigError(f"ARCHIVIST_STUN_URLS: {url.url!r} is a TURN URL (ARCHIVIST_TURN_URLS)")
        for url in self.turn_urls:
            if not url.is_turn:
                raise IceConfigError(f"ARCHIVIST_TURN_URLS: {url.url!r} is a STUN URL (ARCHIVIST_STUN_URLS)")
        if self.turn_urls and not (self.turn_secret or (self.turn_username and self.turn_password)):
            raise IceConfigError(
                "ARCHIVIST_TURN_URLS needs ARCHIVIST_TURN_SECRET (coturn use-auth-secret) or "
                "ARCHIVIST_TURN_USERNAME and ARCHIVIST_TURN_PASSWORD"
            )
        if self.turn_secret and (self.turn_username or self.turn_password):
            raise IceConfigError("set ARCHIVIST_TURN_SECRET or ARCHIVIST_TURN_USERNAME/_PASSWORD, not both")
        if self.turn_ttl <= 0:
            raise IceConfigError("ARCHIVIST_TURN_TTL must be a positive number of seconds")
        if self.transport_policy == "relay" and self.server_turn_url is None:
            raise IceConfigError(
                "ARCHIVIST_ICE_TRANSPORT_POLICY=relay needs a TURN server the server can allocate on: "
                "a turn: (udp or tcp) or turns: (tcp) URL in ARCHIVIST_TURN_URLS"
            )
        if self.port_range is not None:
            object.__setattr__(self, "_ports", PortAllocator(self.port_range))

    @classmethod
    def from_settings(cls, settings: Settings) -> IceConfig:
        return cls(
            hosts=_addresses(settings.ice_hosts, "ARCHIVIST_ICE_HOSTS"),
            public_ips=_addresses(settings.public_ips, "ARCHIVIST_PUBLIC_IPS"),
            stun_urls=tuple(IceUrl.parse(u, "ARCHIVIST_STUN_URLS") for u in settings.stun_urls),
            turn_urls=tuple(IceUrl.parse(u, "ARCHIVIST_TURN_URLS") for u in settings.turn_urls),
            turn_secret=settings.turn_secret,
            turn_username=settings.turn_username,
            turn_password=settings.turn_password,
            turn_ttl=settings.turn_ttl,
            transport_policy=settings.ice_transport_policy.strip().lower(),
            port_range=PortRange.parse(settings.ice_port_range),
        )

    @property
    def server_turn_url(self) -> IceUrl | None:
        """The TURN URL the server's own peers allocate on (aiortc takes one): the first usable."""
        return next((u for u in self.turn_urls if u.is_turn and u.server_usable), None)

    def turn_credentials(self, name: str) -> tuple[str, str]:
        """Username and password for TURN allocations of ``name`` (a connection id)."""
        if self.turn_secret:
            return turn_rest_credentials(self.turn_secret, name, self.turn_ttl, self.clock())
        return self.turn_username, self.turn_password

    # ---- what clients get --------------------------------------------------------------------
    def client_servers(self, connection_id: str) -> list[dict[str, Any]]:
        """RTCIceServer dicts for a client's ``connected`` reply (fresh TURN credentials)."""
        servers: list[dict[str, Any]] = []
        if self.stun_urls:
            servers.append({"urls": [u.url for u in self.stun_urls]})
        if self.turn_urls:
            username, credential = self.turn_credentials(connection_id)
            servers.append({"urls": [u.url for u in self.turn_urls], "username": username, "credential": credential})
        return servers

    # ---- the server's own peers --------------------------------------------------------------
    def rtc_configuration(self, name: str) -> RTCConfiguration:
        """The configuration of one server peer (``name``: its label, in its TURN username
        ``<expiry>:server-<name>``). With ``all`` the server offers its host (and STUN-discovered)
        candidates and clients relay through TURN themselves if they must; with ``relay`` it
        offers only its own TURN allocation."""
        servers: list[RTCIceServer] = []
        if self.transport_policy == "relay":
            url = self.server_turn_url
            assert url is not None  # checked in __post_init__
            username, credential = self.turn_credentials(f"server-{name}")
            servers.append(RTCIceServer(urls=url.url, username=username, credential=credential))
            return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        if self.stun_urls:
            servers.append(RTCIceServer(urls=self.stun_urls[0].url))  # aiortc asks one STUN server
        return RTCConfiguration(iceServers=servers)

    def prepare(self, pc: RTCPeerConnection) -> None:
        """Before ``pc`` gathers (after setRemoteDescription): bind in the port range, on the
        chosen hosts, and announce the public addresses. A full range makes the gathering
        raise :class:`PortRangeFull`."""
        bind = self._ports.bind if self._ports is not None else None
        seams.configure_gathering(pc, bind=bind, hosts=self.hosts, announce=self.public_ips)

    def describe(self) -> dict[str, Any]:
        """For the startup log line: no secret, no credential."""
        return {
            "port_range": str(self.port_range) if self.port_range else "any",
            "hosts": list(self.hosts) or "all interfaces",
            "public_ips": list(self.public_ips),
            "stun": [u.url for u in self.stun_urls],
            "turn": [u.url for u in self.turn_urls],
            "turn_auth": "rest" if self.turn_secret else ("static" if self.turn_username else "none"),
            "policy": self.transport_policy,
        }
