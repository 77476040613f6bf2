"""Generated-service benchmarks: requests/s and latency of an open route and of /protected, against
a bare FastAPI route (the ceiling) and the seed tutorial's resource server, for several algorithms
and token stores; a generated resource server's /protected with tokens from a generated authorization
server; logins, refreshes, memory, /protected's tail latency while logins hash passwords, and a login
storm on every storage.

One uvicorn worker per server on loopback; wrk (Debian's package, one thread) generates the load.
The bare route, the seed and a service per algorithm run side by side and are loaded in turn, round
after round, so that a slower moment of a shared machine touches them all alike; each figure is
the median of --runs rounds, and every ratio compares figures of this one run.

Usage: python bench/service.py [--seconds 4] [--runs 5] [--connections 16] [--storm 200] [--quick]
"""

from __future__ import annotations

import argparse
import json
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt

BENCH = Path(__file__).resolve().parent
PASSWORD = "correct horse battery staple"
PACKAGE = "my_service"
# Many more tokens than the service keeps verified (1,024), cycled in order by each wrk thread from
# opposite ends: a token comes back only after some 8,000 others, so every request misses the cache.
TOKEN_POOL = 8192
METRICS_TOKEN = secrets.token_urlsafe(32)
ALGORITHMS = ["HS256", "RS256", "ES256", "Ed25519", "EdDSA"]
# The issuers a resource server verifies tokens of: it takes published (asymmetric) keys only.
RESOURCE_SERVER_ISSUERS = ["ES256", "RS256"]
# Valid tokens as the service itself issues them, printed one per line (run in the project).
MINT = f"""
import sys
from {PACKAGE}.config import Settings
from {PACKAGE}.tokens.signing_keys import load_keys
from {PACKAGE}.tokens.access_tokens import issue_access_token
settings = Settings()
keys = load_keys(settings)
for _ in range(int(sys.argv[1])):
    print(issue_access_token(keys, issuer=settings.issuer, audience=settings.issuer, subject="alice",
        client_id="first-party", scopes=frozenset({{"profile"}}), lifetime_seconds=settings.access_token_expire_minutes * 60))
"""
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
    # The server's own CPU time per request (user and system): the rate it could reach on a core of
    # its own. Far steadier than requests/s on a machine whose cores others use too.
    cpu_us: float = 0.0


@dataclass
class Options:
    seconds: int
    runs: int
    connections: int
    storm: int
    scratch: Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--storm", type=int, default=200, help="password grants sent at once in a login storm")
    parser.add_argument(
        "--quick", action="store_true", help="HS256 on SQLite, and a resource server of an ES256 issuer (a smoke test)"
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="oauthgen-bench-"))
    options = Options(args.seconds, args.runs, args.connections, args.storm, scratch)
    rows: list[tuple[str, str]] = []
    algorithms = ALGORITHMS[:1] if args.quick else ALGORITHMS
    issuer_algorithms = RESOURCE_SERVER_ISSUERS[:1] if args.quick else RESOURCE_SERVER_ISSUERS
    try:
        with ExitStack() as servers:
            bare, bare_pid = servers.enter_context(_bare())
            seed, seed_pid, seed_tokens = servers.enter_context(_seed())
            services = {
                algorithm: servers.enter_context(
                    _service(_generate(options, algorithm.lower(), jwt_algorithm=algorithm))
                )
                for algorithm in algorithms
            }
            # The same service counting every request for Prometheus (METRICS_TOKEN set).
            metered = servers.enter_context(
                _service(_generate(options, "metered", jwt_algorithm="HS256"), {"METRICS_TOKEN": METRICS_TOKEN})
            )
            # One resource server project, started once per issuer; an issuer not measured above
            # (--quick) is started for it.
            issuers = {
                algorithm: services.get(algorithm)
                or servers.enter_context(_service(_generate(options, algorithm.lower(), jwt_algorithm=algorithm)))
                for algorithm in issuer_algorithms
            }
            resource_project = _generate(options, "resource-server", kind="resource-server")
            resource_servers = {
                algorithm: servers.enter_context(_resource_server(resource_project, issuer.url))
                for algorithm, issuer in issuers.items()
            }
            loads = [
                Measure("bare", f"{bare}/", bare_pid),
                Measure("seed open", f"{seed}/", seed_pid),
                Measure("seed same", f"{seed}/protected", seed_pid, token=seed_tokens[0]),
                Measure("seed new", f"{seed}/protected", seed_pid, tokens=seed_tokens),
            ]
            for algorithm, service in services.items():
                loads += [
                    Measure(f"{algorithm} open", f"{service.url}/.well-known/oauth-authorization-server", service.pid),
                    Measure(f"{algorithm} same", f"{service.url}/protected", service.pid, token=service.login()),
                    Measure(
                        f"{algorithm} new", f"{service.url}/protected", service.pid, tokens=service.mint(TOKEN_POOL)
                    ),
                ]
            loads.append(Measure("HS256 metered", f"{metered.url}/protected", metered.pid, token=metered.login()))
            for algorithm, (url, pid) in resource_servers.items():
                issuer = issuers[algorithm]
                loads += [
                    Measure(f"RS {algorithm} open", f"{url}/health/live", pid),
                    Measure(f"RS {algorithm} same", f"{url}/protected", pid, token=issuer.login()),
                    Measure(f"RS {algorithm} new", f"{url}/protected", pid, tokens=issuer.mint(TOKEN_POOL)),
                ]
            found = _alternating(options, loads)
            rows += _comparison(found, algorithms)
            rows += _resource_server_comparison(found, issuer_algorithms)
            rows.append(
                (
                    "HS256: `/protected`, one token, with metrics (METRICS_TOKEN set)",
                    _fmt(found["HS256 metered"], found["HS256 same"], "without metrics"),
                )
            )
            hs256 = services["HS256"]
            rows += _grants_memory_and_loop_health(options, hs256, hs256.login())
            if args.quick:
                rows += _login_storm(options, "SQLite", hs256, hs256.login())
        if not args.quick:
            rows += _token_stores(options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"| Service (median of {options.runs} rounds of {options.seconds} s, {options.connections} connections) "
        "| result |"
    )
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


@dataclass(frozen=True)
class Measure:
    name: str
    url: str
    pid: int
    token: str | None = None
    tokens: list[str] | None = None


def _alternating(options: Options, loads: list[Measure]) -> dict[str, Load]:
    """Each load in turn, --runs rounds; the median of each. Rounds that differ much are a busy machine."""
    samples: dict[str, list[Load]] = {load.name: [] for load in loads}
    for _ in range(options.runs):
        for load in loads:
            samples[load.name].append(_wrk(options, load.url, load.token, load.tokens, pid=load.pid))
    spread = {
        name: max(sample.rps for sample in found) / min(sample.rps for sample in found)
        for name, found in samples.items()
    }
    print(f"rounds: highest/lowest requests/s per load: {json.dumps(spread)}", file=sys.stderr)
    return {
        name: Load(*(statistics.median(getattr(sample, field) for sample in found) for field in FIELDS))
        for name, found in samples.items()
    }


def _comparison(found: dict[str, Load], algorithms: list[str]) -> list[tuple[str, str]]:
    bare = found["bare"]
    rows = [
        ("bare FastAPI `async def` route (the ceiling)", _fmt(bare)),
        ("seed: `/` (open)", _fmt(found["seed open"], bare, "bare")),
        ("seed: `/protected`, one token", _fmt(found["seed same"], bare, "bare")),
        ("seed: `/protected`, a new token each request", _fmt(found["seed new"], bare, "bare")),
    ]
    for algorithm in algorithms:
        same, new = found[f"{algorithm} same"], found[f"{algorithm} new"]
        hs256 = found["HS256 new"]
        against_hs256 = f"; {_ratio(new, hs256)} HS256" if algorithm != "HS256" else ""
        rows += [
            (f"{algorithm}: open route (metadata)", _fmt(found[f"{algorithm} open"], bare, "bare")),
            (
                f"{algorithm}: `/protected`, one token",
                _fmt(same, bare, "bare") + f"; {_ratio(same, found['seed same'])} seed",
            ),
            (
                f"{algorithm}: `/protected`, a new token each request",
                _fmt(new, found["seed new"], "seed") + against_hs256,
            ),
        ]
    return rows


def _resource_server_comparison(found: dict[str, Load], algorithms: list[str]) -> list[tuple[str, str]]:
    """The resource server against the bare route, and a new token each request against the issuer's
    own /protected (the same signature check, in the service that made the token) where that was measured."""
    bare = found["bare"]
    rows = []
    for algorithm in algorithms:
        same, new = found[f"RS {algorithm} same"], found[f"RS {algorithm} new"]
        issuer_new = found.get(f"{algorithm} new")
        against_issuer = f"; {_ratio(new, issuer_new)} the issuer's own" if issuer_new is not None else ""
        rows += [
            (
                f"resource server, {algorithm} issuer: open route (`/health/live`)",
                _fmt(found[f"RS {algorithm} open"], bare, "bare"),
            ),
            (f"resource server, {algorithm} issuer: `/protected`, one token", _fmt(same, bare, "bare")),
            (
                f"resource server, {algorithm} issuer: `/protected`, a new token each request",
                _fmt(new, bare, "bare") + against_issuer,
            ),
        ]
    return rows


class Service:
    def __init__(self, project: Path, url: str, pid: int, env: dict[str, str]) -> None:
        self.project, self.url, self.pid, self.env = project, url, pid, env

    def login(self) -> str:
        response = httpx.post(
            f"{self.url}/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def login_pair(self) -> dict[str, str]:
        form = {"grant_type": "password", "username": "alice", "password": PASSWORD}
        return dict(httpx.post(f"{self.url}/token", data=form, timeout=30).json())

    def mint(self, count: int) -> list[str]:
        """Valid tokens issued by the service's own code and key, each different (as after many logins)."""
        minted = subprocess.run(
            [sys.executable, "-c", MINT, str(count)], cwd=self.project, env=self.env, check=True, capture_output=True
        )
        return minted.stdout.decode().split()

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
                distinct = _median(options, f"{service.url}/protected", tokens=service.mint(TOKEN_POOL))
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
    subprocess.run([str(oauthgen), "new", str(dest), "--defaults", "--no-git", *data], check=True, capture_output=True)
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
        yield Service(project, url, pid, env)


@contextmanager
def _resource_server(project: Path, issuer: str) -> Iterator[tuple[str, int]]:
    """A resource server as deployed, accepting ISSUER's tokens (their audience is the issuer, the
    oauthgen preset's default); yielded once it holds the issuer's keys."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "OAUTH_ISSUER": issuer}
    with _uvicorn(project, f"{PACKAGE}.main:create_app", env, port, factory=True) as pid:
        for _ in range(300):
            if httpx.get(f"{url}/health/ready", timeout=5).status_code == 200:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"the resource server never held the keys of {issuer}")
        yield url, pid


@contextmanager
def _seed() -> Iterator[tuple[str, int, list[str]]]:
    """The seed's resource server, and tokens it accepts, each different."""
    secret = secrets.token_urlsafe(32)
    env = {**os.environ, "SECRET_KEY": secret, "PYTHONPATH": str(BENCH)}
    expires = int(time.time()) + 3600
    tokens = [jwt.encode({"sub": f"user-{n}", "exp": expires}, secret, algorithm="HS256") for n in range(TOKEN_POOL)]
    port = _free_port()
    with _uvicorn(BENCH, "seed_app:app", env, port) as pid:
        yield f"http://127.0.0.1:{port}", pid, tokens


@contextmanager
def _bare() -> Iterator[tuple[str, int]]:
    port = _free_port()
    with _uvicorn(BENCH, "bare_app:app", {**os.environ, "PYTHONPATH": str(BENCH)}, port) as pid:
        yield f"http://127.0.0.1:{port}", pid


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
    return Load(*(statistics.median(getattr(load, name) for load in loads) for name in FIELDS))


FIELDS = ("rps", "p50_ms", "p99_ms", "cpu_us")


def _wrk(options: Options, url: str, token: str | None, tokens: list[str] | None, pid: int | None = None) -> Load:
    command = ["wrk", "-t", "1", "-c", str(options.connections), "-d", f"{options.seconds}s", "--latency", url]
    env = dict(os.environ)
    if token is not None:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    if tokens is not None:
        (options.scratch / "tokens.txt").write_text("\n".join(tokens) + "\n")
        (options.scratch / "tokens.lua").write_text(LUA_TOKENS)
        command[1:1] = ["-s", str(options.scratch / "tokens.lua")]
        env["TOKENS_FILE"] = str(options.scratch / "tokens.txt")
    cpu_before = _cpu_seconds(pid)
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    cpu = _cpu_seconds(pid) - cpu_before
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        cpu_us=cpu / max(requests, 1) * 1e6,
    )


def _cpu_seconds(pid: int | None) -> float:
    """User and system time of a process so far (proc(5): fields 14 and 15, in clock ticks)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _timed_many(call: object, count: int, workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: call(), range(count)))  # type: ignore[operator]
    return time.perf_counter() - started


def _ratio(load: Load, baseline: Load) -> str:
    return f"{load.rps / baseline.rps:.2f}x (by CPU {baseline.cpu_us / load.cpu_us:.2f}x)"


def _fmt(load: Load, baseline: Load | None = None, against: str = "open") -> str:
    text = f"{load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms"
    if load.cpu_us:
        text += f", CPU {load.cpu_us:.0f} µs/req"
    if baseline is not None:
        text += f"; {load.rps / baseline.rps:.2f}x {against}"
        if load.cpu_us and baseline.cpu_us:
            text += f" (by CPU {baseline.cpu_us / load.cpu_us:.2f}x)"
    return text


if __name__ == "__main__":
    main()
