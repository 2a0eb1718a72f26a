"""Which status-callback URLs this server may call: the guard against server-side request forgery.

A callback URL is chosen by whoever holds a project's credentials, and the server POSTs to it
from inside its own network: on a multi-tenant server a URL pointing at ``127.0.0.1``, at the
cloud's metadata service (``169.254.169.254``) or at a private address would let a tenant reach
what only the server can. So, unless ``ARCHIVIST_CALLBACK_ALLOW_PRIVATE=true`` (a single-tenant
server whose receivers live next to it):

* :func:`check_url` refuses, when a URL is set (the registry's ``POST …/callback``, ``archivist
  projects set-callback``, ``ARCHIVIST_CALLBACK_URL`` at start-up), a host that is a loopback,
  link-local, private or otherwise non-global address literal, in any spelling the resolver
  reads (``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]``), and ``localhost``;
* :func:`resolve_public` runs at every delivery attempt: the host's name is resolved and every
  address must be global; the request then goes to the address that was checked (the ``Host``
  header and TLS server name stay the URL's), so a name re-pointed between the check and the
  connection (DNS rebinding) still cannot reach an inside address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_VARIABLE = "ARCHIVIST_CALLBACK_ALLOW_PRIVATE"
_INET_ATON = re.compile(r"[0-9a-fA-FxX.]+")


def _ipv6() -> str:
    """RFC 3986's IPv6address, as a regular expression."""
    h16, octet = "[0-9A-Fa-f]{1,4}", r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"
    forms = [rf"(?:{h16}:){{6}}{ls32}", rf"::(?:{h16}:){{5}}{ls32}"]
    for before, after in ((0, 4), (1, 3), (2, 2), (3, 1)):
        forms.append(rf"(?:(?:{h16}:){{0,{before}}}{h16})?::(?:{h16}:){{{after}}}{ls32}")
    forms += [rf"(?:(?:{h16}:){{0,4}}{h16})?::{ls32}", rf"(?:(?:{h16}:){{0,5}}{h16})?::{h16}",
              rf"(?:(?:{h16}:){{0,6}}{h16})?::"]
    return "(?:" + "|".join(forms) + ")"


_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = (
    "^https?://(?:[A-Za-z0-9._~!$&'()*+,;=:%-]+@)?"
    rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[{_ipv6()}\])"
    rf"(?::{_PORT})?(?:[/?#][!-~]*)?$"
)
"""What a callback URL may look like: http(s), a host name or address, an optional port, then
printable ASCII (percent-encode the rest). The OpenAPI document states the same pattern."""
_URL = re.compile(URL_PATTERN)
MAX_URL = 2048


class ForbiddenTarget(ValueError):
    """A callback URL that is malformed or points where the server must not send requests."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_public(address: Address) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address is judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> Address | None:
    """The address a host names without any lookup, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _INET_ATON.fullmatch(host):  # the shorthand the C resolver also reads: 127.1, 2130706433
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _refusal(host: str, what: str) -> ForbiddenTarget:
    return ForbiddenTarget(
        f"callback URL host {host} {what}: status callbacks may not target loopback, link-local "
        f"or private addresses (set {ALLOW_VARIABLE}=true on a single-tenant server to allow it)"
    )


def check_url(url: str, *, allow_private: bool) -> str:
    """``url`` itself, or :class:`ForbiddenTarget` saying why it cannot be a callback URL."""
    if len(url) > MAX_URL:
        raise ForbiddenTarget(f"callback URL is longer than {MAX_URL} characters")
    if not _URL.fullmatch(url):
        raise ForbiddenTarget(
            "callback URL must be a complete http(s) URL: a host name or address, an optional port, "
            "then printable ASCII only (percent-encode the rest)"
        )
    if not allow_private:
        _check_host(urlsplit(url).hostname or "")
    return url


def _check_host(host: str) -> Address | None:
    """Refuse a host that names this machine or a non-public address; its address, if literal."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise _refusal(host, "is this machine")
    address = literal_address(name)
    if address is not None and not is_public(address):
        raise _refusal(host, f"is a non-public address ({address})")
    return address


@dataclass(frozen=True)
class Pinned:
    """Where one delivery attempt connects: ``url`` with the checked address as its host."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


async def resolve_public(url: str, *, allow_private: bool) -> Pinned:
    """Resolve the URL's host; :class:`ForbiddenTarget` unless every address is public.

    ``OSError`` (``socket.gaierror``) when the name does not resolve: the attempt fails like a
    refused connection and is retried.
    """
    if allow_private:
        return Pinned(url)
    try:  # a URL stored before these rules existed may be looser than check_url's grammar
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ForbiddenTarget("callback URL is not a valid URL") from None
    if not host:
        raise ForbiddenTarget("callback URL has no host")
    literal = _check_host(host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    bad = next((a for a in addresses if not is_public(a)), None)
    if bad is not None or not addresses:
        raise _refusal(host, f"resolves to a non-public address ({bad})")
    chosen = addresses[0]
    netloc = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    if parts.port is not None:
        netloc += f":{parts.port}"
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        netloc = f"{userinfo}@{netloc}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return Pinned(pinned, host_header=parts.netloc.rpartition("@")[2],
                  sni_hostname=host if parts.scheme == "https" and literal is None else None)
