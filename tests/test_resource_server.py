"""A generated resource server against generated authorization servers, each a real process on loopback: it
accepts the issuer's access tokens and nothing else, follows key rotations without a restart, fetches the
issuer's keys a bounded number of times however many unknown keys it is shown, and rides out the issuer's
outages on the keys it holds."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from .support.ports import free_port
from .support.services import (
    PACKAGE,
    PASSWORD,
    USERNAME,
    eventually,
    run_module,
    running_service,
    uvicorn_command,
)

AUTHORIZATION_SERVER = {"jwt_algorithm": "ES256"}  # signs with a key pair, so that others can verify
RESOURCE_SERVER = {"kind": "resource-server", "project_name": "Reports API"}
RESOURCE_PACKAGE = "reports_api"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-protected-resource"
# The resource server's defaults: at most one key-set fetch per interval for unknown keys.
UNKNOWN_KEY_INTERVAL_SECONDS = 10
# The shortest refresh the resource server allows: what the outage test waits through.
REFRESH_SECONDS = 10
OTHER_API = "http://127.0.0.1:9/orders"  # a resource registered at the issuer; never contacted


@dataclass
class Issuer:
    """A generated authorization server in a project folder of its own, on a port it keeps across restarts
    (the resource server knows it by its URL), logging one JSON access line per request."""

    project: Path
    port: int = field(default_factory=free_port)
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serving(self) -> AbstractContextManager[str]:
        """`python -m PACKAGE serve`, which writes the access lines with LOG_FORMAT=json (uvicorn alone does not)."""
        return running_service(
            self.project,
            PACKAGE,
            env={"LOG_FORMAT": "json", "PYTHONPATH": str(self.project / "src")},
            command=lambda port: [sys.executable, "-m", PACKAGE, "serve", "--port", str(port)],
            log=self.log,
            issuer_host="127.0.0.1",
            port=self.port,
            # Its first start makes its keys (and, without a user yet, its database): slow on a busy machine.
            startup_seconds=90,
        )

    def cli(self, *args: str) -> str:
        result = run_module(self.project, PACKAGE, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def password_token(self, scope: str | None, **extra: str) -> dict[str, Any]:
        """Alice's tokens for SCOPE, or with no scope asked for, those her grant allows."""
        form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD, **extra}
        return self._token(form if scope is None else {**form, "scope": scope})

    def refreshed(self, token: dict[str, Any]) -> dict[str, Any]:
        return self._token({"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        # A password grant waits for a hashing slot: long on a busy machine.
        response = httpx.post(f"{self.url}/token", data=form, timeout=60)
        assert response.status_code == 200, response.text
        token: dict[str, Any] = response.json()
        return token

    def signed_with_its_key(self, claims: dict[str, Any]) -> str:
        """A token with CLAIMS signed as the issuer signs its access tokens, with its own key (in the project,
        made at its first start) and that key's `kid`, its RFC 7638 thumbprint."""
        key = ECKey.import_key((self.project / "var" / "keys" / "signing.pem").read_bytes())
        return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.thumbprint()}, claims, key)

    def jwks_fetches(self) -> int:
        """Requests for the key set in the access lines of every run so far (complete once it stopped)."""
        lines = (json.loads(line) for output in self.log for line in output.splitlines() if line.startswith("{"))
        return sum(1 for line in lines if line.get("path") == JWKS_PATH)


def new_issuer(make_project: Callable[..., Path], folder: Path, *, with_user: bool = True) -> Issuer:
    project = Path(shutil.copytree(make_project(**AUTHORIZATION_SERVER), folder))
    issuer = Issuer(project)
    if with_user:
        scopes = ("--scope", "openid", "--scope", "profile", "--scope", "reports:read")
        issuer.cli("create-user", USERNAME, "--password", PASSWORD, *scopes)
    return issuer


def serving_resource_server(
    project: Path, issuer: Issuer, log: list[str] | None = None, **settings: str
) -> AbstractContextManager[str]:
    """The resource server under uvicorn, accepting ISSUER's tokens; up once it holds the issuer's keys. Without
    access lines: nothing reads its output while it runs, and a flood's would fill the pipe and stop it."""
    env = {
        "OAUTH_ISSUER": issuer.url,
        "PYTHONPATH": str(project / "src"),
        **{name.upper(): value for name, value in settings.items()},
    }
    command = uvicorn_command(RESOURCE_PACKAGE)
    return running_service(
        project, RESOURCE_PACKAGE, env=env, log=log, command=lambda port: [*command(port), "--no-access-log"]
    )


def header_of(token: str) -> dict[str, Any]:
    return _segment(token, 0)


def claims_of(token: str) -> dict[str, Any]:
    return _segment(token, 1)


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def call(resource_server: str, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{resource_server}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def accepted(resource_server: str, token: str) -> bool:
    return call(resource_server, "/protected", token).status_code == 200


def readiness(resource_server: str) -> dict[str, Any]:
    response = httpx.get(f"{resource_server}/health/ready", timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_refused_with_a_challenge(resource_server: str, token: str, what: str) -> None:
    """401 with an RFC 6750 challenge that names this API's protected-resource metadata (RFC 9728 §5.1)."""
    response = call(resource_server, "/protected", token)
    assert response.status_code == 401, f"{what}: {response.text}"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer realm=")
    assert 'error="invalid_token"' in challenge
    assert f'resource_metadata="{resource_server}{METADATA_PATH}"' in challenge


def forged_tokens(issuer: Issuer, count: int) -> list[str]:
    """Tokens that claim to be the issuer's, each naming a key id of its own, signed with a key it never had."""
    key = ECKey.generate_key("P-256")
    now = int(time.time())
    claims = {"iss": issuer.url, "aud": issuer.url, "sub": "mallory", "iat": now, "exp": now + 600, "scope": "profile"}
    header = {"alg": "ES256", "typ": "at+jwt"}
    return [jwt.encode({**header, "kid": secrets.token_urlsafe(16)}, claims, key) for _ in range(count)]


async def flood(url: str, tokens: list[str], concurrency: int = 20) -> list[int]:
    """Every token sent at once, at most CONCURRENCY requests in flight; their statuses."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # A request waits for a connection as long as the others take; the answer may be slow on a busy machine.
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120, pool=None)) as client:
        requests = (client.get(url, headers={"Authorization": f"Bearer {token}"}) for token in tokens)
        responses = await asyncio.gather(*requests)
    return [response.status_code for response in responses]


# --- Which tokens are accepted. One test, for one set of servers: a module-scoped fixture shared by several
# --- tests would be set up again on every worker that runs one of them, unless an xdist_group held them together.


def test_the_issuer_s_access_tokens_are_accepted_and_every_other_token_is_refused(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    issuer = new_issuer(make_project, tmp_path / "issuer")
    issuer.cli("create-resource", OTHER_API, "--name", "Orders", "--scope", "orders:read")
    # Another issuer: the same users, keys of its own (made at its first start) and a URL of its own.
    other = Issuer(Path(shutil.copytree(issuer.project, tmp_path / "other-issuer")))
    shutil.rmtree(other.project / "var" / "keys", ignore_errors=True)
    resource_project = make_project(**RESOURCE_SERVER)
    with ExitStack() as running:
        running.enter_context(issuer.serving())
        running.enter_context(other.serving())
        resource_server = running.enter_context(serving_resource_server(resource_project, issuer))
        token = issuer.password_token("openid profile reports:read")
        narrow = issuer.password_token("profile")["access_token"]
        now = int(time.time())
        control = issuer.signed_with_its_key({**claims_of(token["access_token"]), "iat": now, "exp": now + 300})
        refused = {
            "for another API": issuer.password_token(None, resource=OTHER_API)["access_token"],
            "expired": issuer.signed_with_its_key(
                {**claims_of(token["access_token"]), "iat": now - 900, "exp": now - 120}
            ),
            "from another issuer": other.password_token("profile reports:read")["access_token"],
            "an ID token": token["id_token"],
        }

        the_access_token_is_accepted(resource_server, token["access_token"])
        # A token without the route's scope passes elsewhere, and gets 403 there.
        assert accepted(resource_server, narrow)
        response = call(resource_server, "/reports", narrow)
        assert response.status_code == 403, response.text
        assert 'error="insufficient_scope", scope="reports:read"' in response.headers["www-authenticate"]
        # Signed with the issuer's key, as the issuer signs: accepted until it expires (refused below).
        assert accepted(resource_server, control)
        for wrong, refused_token in refused.items():
            assert_refused_with_a_challenge(resource_server, refused_token, wrong)
        the_refused_tokens_are_what_they_are_said_to_be(issuer, token["access_token"], refused)
        no_token_gets_a_challenge_without_an_error(resource_server, issuer)
        check_issuer_lists_the_published_keys(resource_project, issuer)


def the_access_token_is_accepted(resource_server: str, access_token: str) -> None:
    protected = call(resource_server, "/protected", access_token)
    me = call(resource_server, "/me", access_token)
    reports = call(resource_server, "/reports", access_token)

    assert protected.status_code == 200, protected.text
    assert protected.json() == {"message": f"Hello, {USERNAME}! This is a protected route."}
    assert me.status_code == 200, me.text
    assert me.json() == {
        "subject": USERNAME,
        "client_id": "first-party",
        "scopes": ["openid", "profile", "reports:read"],
        "roles": [],
    }
    assert reports.status_code == 200, reports.text
    assert reports.json() == {"owner": USERNAME, "reports": []}


def the_refused_tokens_are_what_they_are_said_to_be(issuer: Issuer, access_token: str, refused: dict[str, str]) -> None:
    """Each refused token differs from an accepted one in the one way its name says."""
    assert claims_of(access_token)["aud"] == issuer.url
    assert claims_of(refused["for another API"])["aud"] == OTHER_API
    assert header_of(refused["expired"])["kid"] == header_of(access_token)["kid"]
    assert claims_of(refused["expired"])["exp"] < time.time() - 60
    assert claims_of(refused["from another issuer"])["iss"] not in (issuer.url, "")
    assert header_of(refused["from another issuer"])["kid"] != header_of(access_token)["kid"]
    id_token = claims_of(refused["an ID token"])
    assert (id_token["iss"], id_token["aud"], id_token["sub"] != "") == (issuer.url, "first-party", True)
    # Its key is the issuer's, published in the key set the resource server uses: only `typ` tells it apart.
    published = {key["kid"] for key in httpx.get(f"{issuer.url}{JWKS_PATH}").json()["keys"]}
    assert header_of(refused["an ID token"])["kid"] in published


def no_token_gets_a_challenge_without_an_error(resource_server: str, issuer: Issuer) -> None:
    response = httpx.get(f"{resource_server}/protected")

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert "error=" not in challenge
    assert f'resource_metadata="{resource_server}{METADATA_PATH}"' in challenge
    metadata = httpx.get(f"{resource_server}{METADATA_PATH}").json()
    assert metadata["authorization_servers"] == [issuer.url]


def check_issuer_lists_the_published_keys(resource_project: Path, issuer: Issuer) -> None:
    result = run_module(resource_project, RESOURCE_PACKAGE, "check-issuer", env={"OAUTH_ISSUER": issuer.url})

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"issuer: {issuer.url}", f"keys: {issuer.url}{JWKS_PATH}"]
    published = httpx.get(f"{issuer.url}{JWKS_PATH}").json()["keys"]
    assert sorted(lines[2:]) == sorted(f"  {key['kid']}: {key['alg']}" for key in published)


# --- The issuer's keys change and the issuer goes away: a resource server that is never restarted.


def test_rotations_and_an_outage_of_the_issuer_need_no_restart(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    issuer = new_issuer(make_project, tmp_path / "issuer")
    resource_log: list[str] = []
    with ExitStack() as resource_server_running:
        with issuer.serving():
            resource_server = resource_server_running.enter_context(
                serving_resource_server(
                    make_project(**RESOURCE_SERVER), issuer, resource_log, jwks_refresh_seconds=str(REFRESH_SECONDS)
                )
            )
            first = issuer.password_token("profile reports:read")
            assert accepted(resource_server, first["access_token"])
            issuer.cli("rotate-key")

        with issuer.serving():  # restarted: it signs with the new key
            rotated = issuer.refreshed(first)
            unseen = issuer.refreshed(rotated)  # shown to the resource server only while the issuer is down
            kids = [header_of(token["access_token"])["kid"] for token in (first, rotated)]
            assert kids[0] != kids[1]
            # The first token with an unknown key fetches the key set at once; the old key is still published.
            assert accepted(resource_server, rotated["access_token"])
            assert accepted(resource_server, first["access_token"])

        # The issuer is down (and rotates again meanwhile): once a refresh has been due and failed, the keys
        # in hand still verify a token never seen before, and the resource server stays ready.
        issuer.cli("rotate-key")
        assert eventually(lambda: readiness(resource_server)["issuer_keys_age_seconds"] > REFRESH_SECONDS + 1, 20)
        assert readiness(resource_server)["status"] == "ok"
        assert accepted(resource_server, unseen["access_token"])

        with issuer.serving():  # back, with a key the resource server has not seen
            latest = issuer.refreshed(unseen)
            assert header_of(latest["access_token"])["kid"] not in kids
            assert eventually(
                lambda: accepted(resource_server, latest["access_token"]), UNKNOWN_KEY_INTERVAL_SECONDS + 5
            )
            assert accepted(resource_server, unseen["access_token"])
            assert readiness(resource_server)["status"] == "ok"
    assert "could not be fetched" in resource_log[0]  # the refresh during the outage was tried, and failed


# --- A flood of tokens with made-up key ids.


def test_a_flood_of_unknown_keys_costs_the_issuer_one_fetch_per_interval(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    issuer = new_issuer(make_project, tmp_path / "issuer", with_user=False)
    tokens = forged_tokens(issuer, 1000)
    with issuer.serving(), serving_resource_server(make_project(**RESOURCE_SERVER), issuer) as resource_server:
        started = time.monotonic()
        statuses = asyncio.run(flood(f"{resource_server}/protected", tokens))
        seconds = time.monotonic() - started
        # The issuer's own tokens still pass, at once.
        now = int(time.time())
        claims = {
            "iss": issuer.url,
            "aud": issuer.url,
            "sub": USERNAME,
            "scope": "profile",
            "iat": now,
            "exp": now + 300,
        }
        assert accepted(resource_server, issuer.signed_with_its_key(claims))

    assert statuses == [401] * len(tokens)
    # One fetch when the resource server started; the others are the flood's: at least the first unknown key's,
    # and no more than one per interval begun while it lasted, and one more.
    flood_fetches = issuer.jwks_fetches() - 1
    assert 1 <= flood_fetches <= math.ceil(seconds / UNKNOWN_KEY_INTERVAL_SECONDS) + 1, (flood_fetches, seconds)
