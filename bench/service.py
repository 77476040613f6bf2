"""Generated-service benchmarks: requests/s and latency of an open route and of /protected, against
the seed tutorial's resource server, for several algorithms and token stores; logins, refreshes,
memory, /protected's tail latency while logins hash passwords, and a login storm on every storage.

One uvicorn worker on loopback; wrk (Debian's package) generates the load. Each figure is the
median of --runs runs, and every comparison is made side by side in this one run.

Usage: python bench/service.py [--seconds 10] [--runs 3] [--connections 32] [--storm 200] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from dotenv import dotenv_values

BENCH = Path(__file__).resolve().parent
PASSWORD = "correct horse battery staple"
PACKAGE = "my_service"
# Many more tokens than the service keeps verified (1,024), cycled in order by each wrk thread from
# opposite ends: a token comes back only after some 8,000 others, so every request misses the cache.
TOKEN_POOL = 8192
LUA_TOKENS = """
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  tokens = {}
  for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
  i = math.floor(id * #tokens / 2)
end
function request()
  i = i % #tokens + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[i]})
end
"""


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass
class Options:
    seconds: int
    runs: int
    connections: int
    storm: int
    scratch: Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--storm", type=int, default=200, help="password grants sent at once in a login storm")
    parser.add_argument("--quick", action="store_true", help="HS256 on SQLite only (a smoke test)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="oauthgen-bench-"))
    options = Options(args.seconds, args.runs, args.connections, args.storm, scratch)
    rows: list[tuple[str, str]] = []
    try:
        seed_open, seed_same, seed_distinct = _seed(options)
        rows.append(("seed: `/` (open)", _fmt(seed_open)))
        rows.append(("seed: `/protected`, one token", _fmt(seed_same, seed_open)))
        rows.append(("seed: `/protected`, a new token each request", _fmt(seed_distinct, seed_open)))
        algorithms = ["HS256"] if args.quick else ["HS256", "RS256", "ES256", "EdDSA"]
        uncached: dict[str, Load] = {}
        for algorithm in algorithms:
            project = _generate(options, algorithm.lower(), jwt_algorithm=algorithm)
            with _service(project) as service:
                open_route = _median(options, f"{service.url}/.well-known/oauth-authorization-server")
                token = service.login()
                same = _median(options, f"{service.url}/protected", token=token)
                distinct = _median(options, f"{service.url}/protected", tokens=service.mint(algorithm, TOKEN_POOL))
                uncached[algorithm] = distinct
                rows.append((f"{algorithm}: open route (metadata)", _fmt(open_route)))
                rows.append((f"{algorithm}: `/protected`, one token", _fmt(same, open_route)))
                rows.append(
                    (f"{algorithm}: `/protected`, a new token each request", _fmt(distinct, seed_distinct, "seed"))
                )
                if algorithm == "HS256":
                    rows += _grants_memory_and_loop_health(options, service, token)
                    if args.quick:
                        rows += _login_storm(options, "SQLite", service, token)
        for algorithm in algorithms[1:]:
            ratio = uncached[algorithm].rps / uncached["HS256"].rps
            rows.append((f"{algorithm} vs HS256, new tokens", f"{ratio:.2f}"))
        if not args.quick:
            rows += _token_stores(options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"| Service (median of {options.runs} runs of {options.seconds} s, {options.connections} connections) | result |"
    )
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


class Service:
    def __init__(self, project: Path, url: str, pid: int) -> None:
        self.project, self.url, self.pid = project, url, pid

    def login(self) -> str:
        response = httpx.post(
            f"{self.url}/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def login_pair(self) -> dict[str, str]:
        form = {"grant_type": "password", "username": "alice", "password": PASSWORD}
        return dict(httpx.post(f"{self.url}/token", data=form, timeout=30).json())

    def mint(self, algorithm: str, count: int) -> list[str]:
        """Valid tokens signed with the service's own key, each different (as after many logins)."""
        if algorithm.startswith("HS"):
            key: object = dotenv_values(self.project / ".env")["SECRET_KEY"]
        else:
            key = load_pem_private_key((self.project / "var/keys/signing.pem").read_bytes(), password=None)
        template = jwt.get_unverified_header(self.login())
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.url, "sub": "alice", "client_id": "first-party", "scope": "profile"}
        return [
            jwt.encode(
                {**claims, "iat": now, "exp": now + 1800, "jti": secrets.token_urlsafe(16)},
                key,
                algorithm=algorithm,
                headers=template,
            )  # type: ignore[arg-type]
            for _ in range(count)
        ]

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def _grants_memory_and_loop_health(options: Options, service: Service, token: str) -> list[tuple[str, str]]:
    rows = [("idle RSS after warm-up", f"{service.rss_mb():.0f} MB")]
    logins = _timed_many(service.login, 24, workers=4)
    rows.append(("password grant (Argon2id, pwdlib defaults), 4 at a time", f"{24 / logins:.1f} logins/s"))
    pair = service.login_pair()
    latencies = []
    for _ in range(20):
        started = time.perf_counter()
        pair = dict(
            httpx.post(
                f"{service.url}/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
            ).json()
        )
        latencies.append(time.perf_counter() - started)
    rows.append(("refresh grant, one after another", f"median {statistics.median(latencies) * 1000:.1f} ms"))
    quiet = _median(options, f"{service.url}/protected", token=token)
    stop = threading.Event()

    def keep_logging_in() -> None:
        while not stop.is_set():
            service.login()

    threads = [threading.Thread(target=keep_logging_in) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        busy = _median(options, f"{service.url}/protected", token=token)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    rows.append(("loaded RSS", f"{service.rss_mb():.0f} MB"))
    rows.append(
        (
            "`/protected` p99 alone / during 4 concurrent logins",
            f"{quiet.p99_ms:.1f} / {busy.p99_ms:.1f} ms ({busy.p99_ms / quiet.p99_ms:.2f}x)",
        )
    )
    return rows


def _token_stores(options: Options) -> list[tuple[str, str]]:
    """The revocation check on each store: SQLite, PostgreSQL and Redis answer it from a mirror in
    the process, MySQL looks it up on every request; and a login storm on each."""
    rows = []
    variants = {
        "SQLite": {},
        "PostgreSQL": {"storage": "postgresql"},
        "MySQL": {"storage": "mysql"},
        "Redis": {"token_store": "redis"},
    }
    for name, answers in variants.items():
        project = _generate(options, name.lower(), **answers)
        with _database(name) as env, _service(project, env) as service:
            token = service.login()
            if name != "MySQL":
                open_route = _median(options, f"{service.url}/.well-known/oauth-authorization-server")
                same = _median(options, f"{service.url}/protected", token=token)
                distinct = _median(options, f"{service.url}/protected", tokens=service.mint("HS256", TOKEN_POOL))
                rows.append((f"{name}: open route (metadata)", _fmt(open_route)))
                rows.append((f"{name}: `/protected`, one token", _fmt(same, open_route)))
                rows.append((f"{name}: `/protected`, a new token each request", _fmt(distinct, open_route)))
            rows += _login_storm(options, name, service, token)
    return rows


def _login_storm(options: Options, name: str, service: Service, token: str) -> list[tuple[str, str]]:
    """Waves of --storm password grants sent at once (right and wrong passwords alternating, each
    from an address of its own), for as long as wrk measures /protected and /health beside them."""
    quiet = _protected_and_health(options, service, token)
    stop = threading.Event()
    answers: list[tuple[int, str, float]] = []

    def login(n: int) -> tuple[int, str, float]:
        form = {"grant_type": "password", "username": "alice", "password": PASSWORD if n % 2 else "wrong password"}
        headers = {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
        started = time.perf_counter()
        response = httpx.post(f"{service.url}/token", data=form, headers=headers, timeout=120)
        return response.status_code, response.text, time.perf_counter() - started

    def storm() -> None:
        wave = 0
        # The clients' threads run at the lowest priority, standing in for clients on other machines:
        # the server's cores are for the server.
        with ThreadPoolExecutor(options.storm, initializer=_lowest_priority) as pool:
            while not stop.is_set():
                answers.extend(pool.map(login, range(wave * options.storm, (wave + 1) * options.storm)))
                wave += 1

    stormer = threading.Thread(target=storm)
    stormer.start()
    try:
        time.sleep(0.5)  # the first wave is in flight
        busy = _protected_and_health(options, service, token)
    finally:
        stop.set()
        stormer.join()
    shed = sum(1 for status, text, _ in answers if status == 503 and "Too many logins" in text)
    failures = {text for status, text, _ in answers if status >= 500 and "Too many logins" not in text}
    failed = sum(1 for status, text, _ in answers if status >= 500 and "Too many logins" not in text)
    for text in sorted(failures)[:5]:
        print(f"{name}: a login during the storm failed: {text[:200]}", file=sys.stderr)
    paused = sum(1 for status, _, _ in answers if status == 429)
    slowest = max(seconds for _, _, seconds in answers)
    rows = [
        (
            f"{name}: login storm, {options.storm} at once",
            f"{len(answers)} logins; slowest {slowest:.2f} s; shed {shed} (503); 429 {paused}; other 5xx {failed}",
        )
    ]
    for route in ("/protected", "/health"):
        alone, during = quiet[route].p99_ms, busy[route].p99_ms
        rows.append(
            (
                f"{name}: `{route}` p99 alone / during the storm",
                f"{alone:.1f} / {during:.1f} ms ({during / alone:.2f}x)",
            )
        )
    return rows


def _lowest_priority() -> None:
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _protected_and_health(options: Options, service: Service, token: str) -> dict[str, Load]:
    """/protected and /health loaded side by side, each with half the connections."""
    half = Options(options.seconds, options.runs, max(1, options.connections // 2), options.storm, options.scratch)
    with ThreadPoolExecutor(2) as pool:
        protected = pool.submit(_median, half, f"{service.url}/protected", token)
        health = pool.submit(_median, half, f"{service.url}/health")
        return {"/protected": protected.result(), "/health": health.result()}


@contextmanager
def _database(name: str) -> Iterator[dict[str, str]]:
    database = f"oauthgen_bench_{secrets.token_hex(4)}"
    if name == "PostgreSQL":
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
        subprocess.run([*psql, f"CREATE DATABASE {database}"], check=True)
        try:
            yield {"DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"}
        finally:
            subprocess.run([*psql, f"DROP DATABASE {database} WITH (FORCE)"], check=True)
    elif name == "MySQL":
        mariadb = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-e"]
        subprocess.run([*mariadb, f"CREATE DATABASE {database}"], check=True)
        try:
            yield {"DATABASE_URL": f"mysql+aiomysql://root@127.0.0.1:3306/{database}"}
        finally:
            subprocess.run([*mariadb, f"DROP DATABASE {database}"], check=True)
    else:
        yield {"REDIS_KEY_PREFIX": f"bench:{secrets.token_hex(4)}:"}


def _generate(options: Options, name: str, **answers: str) -> Path:
    dest = options.scratch / name
    data = [arg for key, value in {"package_name": PACKAGE, **answers}.items() for arg in ("-d", f"{key}={value}")]
    oauthgen = Path(sys.executable).parent / "oauthgen"
    subprocess.run([str(oauthgen), "new", str(dest), "--defaults", *data], check=True, capture_output=True)
    return dest


@contextmanager
def _service(project: Path, extra_env: dict[str, str] | None = None) -> Iterator[Service]:
    """The service as deployed: the schema migrated beforehand (so the server never loads Alembic)
    and a fixed ISSUER."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "AUTO_MIGRATE": "false",
        "ISSUER": url,
        # A storm logs one user in over and over: measure the load, not the brute-force pause.
        "MAX_FAILED_LOGINS_PER_ACCOUNT": "1000000",
        **(extra_env or {}),
    }
    for command in (["migrate"], ["create-user", "alice", "--password", PASSWORD, "--scope", "profile"]):
        subprocess.run([sys.executable, "-m", PACKAGE, *command], cwd=project, env=env, check=True, capture_output=True)
    with _uvicorn(project, f"{PACKAGE}.main:create_app", env, port, factory=True) as pid:
        yield Service(project, url, pid)


def _seed(options: Options) -> tuple[Load, Load, Load]:
    """The seed's open route, and its `/protected` with one token and with a new token each request."""
    secret = secrets.token_urlsafe(32)
    env = {**os.environ, "SECRET_KEY": secret, "PYTHONPATH": str(BENCH)}
    expires = int(time.time()) + 3600
    tokens = [jwt.encode({"sub": f"user-{n}", "exp": expires}, secret, algorithm="HS256") for n in range(TOKEN_POOL)]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with _uvicorn(BENCH, "seed_app:app", env, port):
        return (
            _median(options, f"{url}/"),
            _median(options, f"{url}/protected", token=tokens[0]),
            _median(options, f"{url}/protected", tokens=tokens),
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _uvicorn(cwd: Path, app: str, env: dict[str, str], port: int, *, factory: bool = False) -> Iterator[int]:
    command = [sys.executable, "-m", "uvicorn", *(["--factory"] if factory else []), app, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        for _ in range(300):
            try:
                # Any answer will do; /openapi.json would build the schema and skew the memory figures.
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)


def _median(options: Options, url: str, token: str | None = None, tokens: list[str] | None = None) -> Load:
    loads = [_wrk(options, url, token, tokens) for _ in range(options.runs)]
    return Load(*(statistics.median(getattr(load, name) for load in loads) for name in ("rps", "p50_ms", "p99_ms")))


def _wrk(options: Options, url: str, token: str | None, tokens: list[str] | None) -> Load:
    command = ["wrk", "-t", "2", "-c", str(options.connections), "-d", f"{options.seconds}s", "--latency", url]
    env = dict(os.environ)
    if token is not None:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    if tokens is not None:
        (options.scratch / "tokens.txt").write_text("\n".join(tokens) + "\n")
        (options.scratch / "tokens.lua").write_text(LUA_TOKENS)
        command[1:1] = ["-s", str(options.scratch / "tokens.lua")]
        env["TOKENS_FILE"] = str(options.scratch / "tokens.txt")
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
    )


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _timed_many(call: object, count: int, workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: call(), range(count)))  # type: ignore[operator]
    return time.perf_counter() - started


def _fmt(load: Load, baseline: Load | None = None, against: str = "open") -> str:
    text = f"{load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms"
    if baseline is not None:
        text += f"; {load.rps / baseline.rps:.2f}x {against}"
    return text


if __name__ == "__main__":
    main()
