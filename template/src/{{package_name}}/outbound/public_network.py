"""The network under outbound HTTP: it resolves each host itself, checks every address, and connects
to a checked address, so no DNS answer given between the check and the connection can redirect it."""

import asyncio
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpcore
import httpx

from .addresses import refusal

# Host names resolved at once, at most. A name server that never answers holds a thread for its own
# timeout, long past the request's: these threads are the outbound requests' own, so such a server
# slows other outbound requests alone, never what runs in the loop's default executor (mail, files,
# the database driver's and the mail client's own host resolution).
RESOLVER_THREADS = 8


class RefusedAddress(httpcore.ConnectError):
    """The host is, or resolves to, an address an outbound request must not reach."""


class PublicNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network, connecting only to public addresses (and loopback ones when ALLOW_LOOPBACK).

    TLS is unchanged: httpcore starts it on the connected stream with the URL's host name, so the
    certificate is still checked against the name, never against the address."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        self._network = httpcore.AnyIOBackend()
        self._resolver = ThreadPoolExecutor(max_workers=RESOLVER_THREADS, thread_name_prefix="outbound-resolver")

    def close(self) -> None:
        """Let the resolver's threads go; one still waiting for a name server ends when it answers."""
        self._resolver.shutdown(wait=False, cancel_futures=True)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.checked_addresses(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """HOST's addresses, each one allowed: one that is not refuses the host, whatever the others."""
        loop = asyncio.get_running_loop()
        try:
            # getaddrinfo blocks: it runs in a thread of the resolver's own.
            resolve = partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
            found = await loop.run_in_executor(self._resolver, resolve)
        # RuntimeError: the resolver is shut down, the fetcher closing.
        except (OSError, UnicodeError, RuntimeError) as exc:
            raise httpcore.ConnectError(f"{host} cannot be resolved") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            if (problem := refusal(address, allow_loopback=self.allow_loopback)) is not None:
                said = f"{host} {problem}" if address == host else f"{host} resolves to {address}, which {problem}"
                raise RefusedAddress(said)
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("outbound requests do not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class PublicTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a `PublicNetwork`: no proxy, no connection kept for a later request, and
    the trust store httpx chooses (SSL_CERT_FILE or SSL_CERT_DIR when set, certifi's otherwise)."""

    def __init__(self, *, allow_loopback: bool, max_connections: int) -> None:
        context = httpx.create_ssl_context(trust_env=True)
        super().__init__(verify=context, trust_env=False)
        # httpx offers no way to choose the network under its transport; its pool is replaced by one
        # made as httpx makes it, on the checked network. A connection is never reused, so every
        # request resolves and checks its host again.
        self._network = PublicNetwork(allow_loopback=allow_loopback)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=max_connections,
            max_keepalive_connections=0,
            network_backend=self._network,
        )

    async def aclose(self) -> None:
        await super().aclose()
        self._network.close()
