"""The real database and cache servers the storage tests use, and a TCP proxy to cut them off.

Server URLs come from the environment, with this project's machines as defaults. Every test run
works in databases and key prefixes of its own and removes them afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from .ports import free_port

SERVER_URLS = {
    "postgresql": os.environ.get("TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/"),
}
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "redis": 6379}
# Locally, a developer without the servers may skip these tests on purpose; CI never does.
SKIP_SERVERS = os.environ.get("OAUTHGEN_SKIP_SERVER_TESTS") == "1" and not os.environ.get("CI")


def require(url: str) -> None:
    """Fail (or, when explicitly allowed, skip) when a server does not accept connections."""
    parsed = make_url(url)
    host = parsed.host or "127.0.0.1"
    port = parsed.port or DEFAULT_PORTS[parsed.get_backend_name()]
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        message = f"no server at {host}:{port} ({exc}); start it, or set OAUTHGEN_SKIP_SERVER_TESTS=1 locally"
        if SKIP_SERVERS:
            pytest.skip(message)
        pytest.fail(message)


@contextmanager
def temporary_database(storage: str) -> Iterator[str]:
    """A database of the test's own on the storage's server; yields its URL, drops it afterwards."""
    server = make_url(SERVER_URLS[storage])
    require(SERVER_URLS[storage])
    name = f"oauthgen_test_{secrets.token_hex(4)}"
    _run_apart(_on_server(SERVER_URLS[storage], "CREATE DATABASE {}", name))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_apart(_on_server(SERVER_URLS[storage], "DROP DATABASE {}", name))


def _run_apart(work: Coroutine[Any, Any, None]) -> None:
    """Run WORK to its end in an event loop of its own thread: the test's thread may be running one
    already (Playwright's, in a browser test)."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, work).result()


async def _on_server(url: str, statement: str, name: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            await connection.exec_driver_sql(statement.format(quoted))
    finally:
        await engine.dispose()


@contextmanager
def service_environment(storage: str, token_store: str, **proxies: TcpProxy) -> Iterator[dict[str, str]]:
    """DATABASE_URL, REDIS_URL and a key prefix of the test's own; through a proxy when given one."""
    env: dict[str, str] = {"DATABASE_TIMEOUT_SECONDS": "2", "REDIS_TIMEOUT_SECONDS": "1"}
    with ExitStack() as stack:
        if storage != "sqlite":
            url = make_url(stack.enter_context(temporary_database(storage)))
            if "database" in proxies:
                url = url.set(host="127.0.0.1", port=proxies["database"].port)
            env["DATABASE_URL"] = url.render_as_string(hide_password=False)
        if token_store == "redis":
            require(REDIS_URL)
            url = make_url(REDIS_URL)
            if "redis" in proxies:
                url = url.set(host="127.0.0.1", port=proxies["redis"].port)
            prefix = f"oauthgen-test:{time.monotonic_ns()}:"
            stack.callback(delete_redis_keys, prefix)
            env |= {"REDIS_URL": url.render_as_string(hide_password=False), "REDIS_KEY_PREFIX": prefix}
        yield env


def delete_redis_keys(prefix: str) -> None:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


class TcpProxy:
    """Forwards a local port to a server; `cut()` drops it and every open connection, `restore()`
    listens again on the same port. A service behind it sees a real outage, and a real return."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            doomed, self._connections = self._connections, []
            listener, self._listener = self._listener, None
        for sock in [*doomed, *([listener] if listener else [])]:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                # Accepted just before a cut, which could not see it yet: it is cut too.
                accepted_in_time = self._listener is listener
                if accepted_in_time:
                    self._connections += [client, upstream]
            if not accepted_in_time:
                for sock in (client, upstream):
                    sock.close()
                return
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
