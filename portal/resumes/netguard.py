"""Outbound connections that only reach public addresses and stop at a deadline.

The address check happens where the socket is opened: the host is resolved once, every
address is checked, and only a checked address is connected to. A DNS answer that changes
between a check and the connection (DNS rebinding) therefore cannot slip through.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from portal.errors import PortalError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Special-purpose blocks that Python 3.11's is_global still calls global.
_ALSO_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.0.0/24", "64:ff9b:1::/48", "2001::/23", "3fff::/20", "5f00::/16")
)


class AddressRefused(PortalError):
    """The host resolved to an address we never connect to (private, loopback...)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to non-public address {address}")
        self.host = host
        self.address = address


def is_public_ip(ip: IPAddress) -> bool:
    """Whether `ip` is a globally routable unicast address, looking inside IPv6 wrappers."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-mapped, 6to4, Teredo and NAT64 addresses reach an IPv4 host; judge that host too.
        if ip.ipv4_mapped is not None:
            return is_public_ip(ip.ipv4_mapped)
        embedded: list[ipaddress.IPv4Address] = []
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if not all(is_public_ip(e) for e in embedded):
            return False
    if any(ip in net for net in _ALSO_NOT_PUBLIC):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, tuple[Any, ...]]]:
    """(family, socket address) for each TCP address of `host`; tests replace this."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos]


def _ip_of(sockaddr: tuple[Any, ...]) -> IPAddress:
    return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])


class FetchGuard:
    """One fetch's connection policy and overall deadline.

    When the deadline passes, every socket the fetch opened is shut down, which wakes any
    read blocked on a slow server; per-read timeouts alone would let a server that drips a
    byte at a time run on for ever.
    """

    def __init__(self, timeout: float, private_ok: Collection[str] = ()) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.private_ok = frozenset(h.lower() for h in private_ok)
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self.expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()
        if self._timer.is_alive():
            self._timer.join()

    def track(self, sock: socket.socket) -> None:
        """Remember a socket to shut down at the deadline (e.g. the TLS one after a handshake)."""
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def may_be_private(self, host: str, port: int) -> bool:
        host = host.lower()
        return host in self.private_ok or f"{host}:{port}" in self.private_ok

    def connect(
        self,
        host: str,
        port: int,
        timeout: float | None,
        socket_options: Sequence[tuple[int, int, int | bytes]] | None = None,
    ) -> socket.socket:
        """Resolve `host`, refuse non-public addresses, connect to a checked one."""
        if self.expired:
            raise TimeoutError("fetch deadline passed")
        infos = resolve(host, port)
        private_ok = self.may_be_private(host, port)
        for _family, sockaddr in infos:
            if not private_ok and not is_public_ip(_ip_of(sockaddr)):
                raise AddressRefused(host, str(sockaddr[0]))
        last_error: OSError = OSError(f"no address for {host}")
        for family, sockaddr in infos:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for level, option, value in socket_options or ():
                    sock.setsockopt(level, option, value)
                limit = self.remaining() if timeout is None else min(timeout, self.remaining())
                sock.settimeout(limit)
                sock.connect(sockaddr)
                peer = _ip_of(sock.getpeername())
                if peer != _ip_of(sockaddr) or not (private_ok or is_public_ip(peer)):
                    raise AddressRefused(host, str(peer))
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            except BaseException:
                sock.close()
                raise
            self.track(sock)
            return sock
        raise last_error


def _shutdown(sock: socket.socket) -> None:
    """Wake any thread blocked reading `sock`; closing is left to its owner."""
    # The plain socket method, also for an SSLSocket: ssl's own shutdown() would drop the TLS
    # state under the feet of the reading thread. A socket object keeps its descriptor only
    # while it owns it (detached on wrapping, -1 once really closed), so a descriptor number
    # reused by another connection is never hit.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def guarded_adapter(guard: FetchGuard, *, plain_http: bool = False) -> HTTPAdapter:
    """A requests adapter whose connections are opened by `guard`: HTTPS only, unless
    `plain_http` (then http:// too, for hosts the caller allows it on)."""

    class GuardedConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            # The TLS socket replaces the plain one, and may outlive this connection object
            # (a "Connection: close" response keeps reading from it).
            if self.sock is not None:
                guard.track(self.sock)

        def _new_conn(self) -> socket.socket:
            timeout = self.timeout if isinstance(self.timeout, int | float) else None
            return guard.connect(
                self._dns_host, self.port, timeout, socket_options=self.socket_options
            )

    class GuardedPlainConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            timeout = self.timeout if isinstance(self.timeout, int | float) else None
            return guard.connect(
                self._dns_host, self.port, timeout, socket_options=self.socket_options
            )

    class GuardedPool(HTTPSConnectionPool):
        ConnectionCls = GuardedConnection

    class GuardedPlainPool(HTTPConnectionPool):
        ConnectionCls = GuardedPlainConnection

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            # Only through the guarded pools.
            pools: dict[str, type[HTTPConnectionPool]] = {"https": GuardedPool}
            if plain_http:
                pools["http"] = GuardedPlainPool
            self.poolmanager.pool_classes_by_scheme = pools

    return GuardedAdapter(max_retries=0)


def guarded_session(guard: FetchGuard, *, plain_http: bool = False) -> requests.Session:
    """A requests session that connects only through `guard`, ignoring proxy settings."""
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment: we go direct
    adapter = guarded_adapter(guard, plain_http=plain_http)
    session.mount("https://", adapter)
    if plain_http:
        session.mount("http://", adapter)
    return session


def host_key(host: str, port: int | None, default_port: int = 443) -> str:
    """ "host", or "host:port" when the port is not the scheme's default; IPv6 in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port in (None, default_port) else f"{shown}:{port}"


def host_key_of_entry(entry: str) -> str:
    """A configured "host[:port]" as `host_key` spells it (":443" dropped, lowercase)."""
    entry = entry.strip().lower()
    return entry[: -len(":443")] if entry.endswith(":443") else entry


class UrlRefused(PortalError):
    """A URL we never call: scheme, credentials, or plain http:// to a host not allowed."""


def check_outbound_url(url: str, allowed: Collection[str], setting: str) -> str:
    """Refuse a URL we never call; return the host key it names.

    https:// to any host (public addresses only, checked when connecting); http:// only to
    a host in `allowed` (host keys, see `host_key_of_entry`), which `setting` configures.
    No user name or password in the URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise UrlRefused("the URL is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UrlRefused("the URL must start with https://")
    if not host or parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL must name a host and no user name or password")
    key = host_key(host, port, 443 if scheme == "https" else 80)
    if scheme == "http" and key not in allowed:
        raise UrlRefused(f"http:// is only for hosts in {setting}; use https:// for {key}")
    return key
