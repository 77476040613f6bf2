"""An MCP client built on the official SDK reaches a tool behind a generated service with no client set up
by hand: `401` at /mcp, protected-resource metadata, authorization server metadata, registration (by a Client
ID Metadata Document, or by RFC 7591 dynamic registration), the code flow with PKCE and `resource`, the tool.
Real processes on loopback: the service, an HTTPS server hosting the client's metadata document, Chromium."""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
import trustme
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from playwright.sync_api import Page, expect

from .support.browser import hidden_fields, serving
from .support.services import PACKAGE, PASSWORD, USERNAME, password_token, run_module, running_service

# Never contacted: the browser step stops at the redirect, whose query holds the code.
REDIRECT_URI = "http://127.0.0.1:9/callback"
CLIENT_NAME = "Desk Assistant"


@dataclass(frozen=True)
class Service:
    project: Path
    base_url: str

    @property
    def mcp(self) -> str:
        return f"{self.base_url}/mcp"


class MemoryStorage(TokenStorage):
    """What an MCP client keeps between runs: here, nothing outlives the test."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def metadata_host(authority: trustme.CA) -> Iterator[tuple[str, dict[str, bytes]]]:
    """An HTTPS server on loopback, its certificate from AUTHORITY, serving the documents put in its dict."""
    documents: dict[str, bytes] = {}

    class Documents(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "max-age=300")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Documents)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield f"https://localhost:{server.server_port}", documents


@pytest.fixture(scope="module")
def service(
    make_project: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory, authority: trustme.CA
) -> Iterator[Service]:
    """The default project with its MCP endpoint on, open dynamic registration, and a user; it trusts AUTHORITY,
    as a deployed service trusts the public CAs, to fetch metadata documents."""
    project = Path(shutil.copytree(make_project(), tmp_path_factory.mktemp("mcp") / "service"))
    created = run_module(project, PACKAGE, "create-user", USERNAME, "--password", PASSWORD)
    assert created.returncode == 0, created.stderr
    ca_file = project / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    env = {"MCP": "true", "CLIENT_REGISTRATION": "open", "SSL_CERT_FILE": str(ca_file)}
    with running_service(project, PACKAGE, env=env, issuer_host="127.0.0.1") as base_url:
        yield Service(project, base_url)


def client_metadata(**changes: Any) -> OAuthClientMetadata:
    fields: dict[str, Any] = {
        "client_name": CLIENT_NAME,
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **changes,
    }
    return OAuthClientMetadata.model_validate(fields)


def approve_over_http(service: Service) -> Callable[[str], str]:
    """The user's step as a plain HTTP client: sign in, approve, and give back the redirect's address."""

    def approve(authorization_url: str) -> str:
        with httpx.Client() as browser:
            login = browser.get(authorization_url)
            _, fields = hidden_fields(login, "/login")
            consent = browser.post(
                f"{service.base_url}/login",
                data={**fields, "username": USERNAME, "password": PASSWORD},
                follow_redirects=True,
            )
            assert "MCP server" in consent.text, consent.text
            _, fields = hidden_fields(consent, "/authorize")
            answer = browser.post(f"{service.base_url}/authorize", data={**fields, "decision": "approve"})
            assert answer.status_code == 303, answer.text
            return str(answer.headers["location"])

    return approve


def reach_whoami(service: Service, approve: Callable[[str], str], **options: Any) -> dict[str, Any]:
    """Run the SDK's client against /mcp, APPROVE standing for the user; the whoami tool's answer, and what the
    client registered as."""
    return asyncio.run(_reach_whoami(service, lambda url: asyncio.to_thread(approve, url), **options))


async def _reach_whoami(service: Service, approve: Callable[[str], Awaitable[str]], **options: Any) -> dict[str, Any]:
    storage = MemoryStorage()
    redirects: list[str] = []

    async def redirect_handler(authorization_url: str) -> None:
        query = parse_qs(urlsplit(authorization_url).query)
        assert query["resource"] == [service.mcp]
        assert query["code_challenge_method"] == ["S256"]
        redirects.append(await approve(authorization_url))

    async def callback_handler() -> AuthorizationCodeResult:
        answer = {name: values[0] for name, values in parse_qs(urlsplit(redirects[-1]).query).items()}
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    auth = OAuthClientProvider(
        server_url=service.mcp,
        client_metadata=client_metadata(),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        **options,
    )
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        streamable_http_client(service.mcp, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool("whoami", {})
    assert [tool.name for tool in tools.tools] == ["whoami"]
    assert result.is_error is False, result
    assert storage.client_info is not None and storage.tokens is not None
    return {
        "whoami": result.structured_content,
        "client_id": storage.client_info.client_id,
        "access_token": storage.tokens.access_token,
    }


def test_an_mcp_client_registers_itself_and_calls_a_tool(service: Service) -> None:
    reached = reach_whoami(service, approve_over_http(service))

    assert reached["whoami"]["subject"] == USERNAME
    assert reached["whoami"]["scopes"] == ["mcp:tools"]
    assert reached["whoami"]["client_id"] == reached["client_id"]
    # Registered by RFC 7591: an id of the service's making, shown to operators as self-registered.
    assert not reached["client_id"].startswith("https://")
    listed = run_module(service.project, PACKAGE, "list-clients")
    assert listed.returncode == 0, listed.stderr
    assert reached["client_id"] in listed.stdout and "self" in listed.stdout
    # The token is for /mcp alone: the service's own API refuses it.
    protected = httpx.get(
        f"{service.base_url}/protected", headers={"Authorization": f"Bearer {reached['access_token']}"}
    )
    assert protected.status_code == 401


def test_an_mcp_client_known_by_its_metadata_document_calls_a_tool(
    service: Service, metadata_host: tuple[str, dict[str, bytes]], page: Page
) -> None:
    origin, documents = metadata_host
    document_url = f"{origin}/clients/desk-assistant.json"
    documents["/clients/desk-assistant.json"] = json.dumps(
        {"client_id": document_url, **client_metadata().model_dump(mode="json", exclude_none=True)}
    ).encode()
    browser = _BrowserStep(page, service)

    reached = browser.drive(lambda approve: reach_whoami(service, approve, client_metadata_url=document_url))

    assert reached["client_id"] == document_url
    assert reached["whoami"]["client_id"] == document_url
    assert reached["whoami"]["subject"] == USERNAME
    # The consent page named the document's client and where it came from, as not verified by the operator.
    assert CLIENT_NAME in browser.consent_text
    assert "localhost" in browser.consent_text
    assert "not verified" in browser.consent_text.lower()


def test_a_token_for_another_resource_is_refused_at_mcp(service: Service) -> None:
    own_api = password_token(service.base_url, USERNAME)
    assert own_api.status_code == 200, own_api.text

    response = httpx.post(
        service.mcp,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {own_api.json()['access_token']}", "Accept": "application/json"},
    )

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert f'resource_metadata="{service.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge


class _BrowserStep:
    """The user's step in headless Chromium: Playwright's sync API belongs to this thread, so the SDK's client
    runs in another, and hands each authorization URL over."""

    def __init__(self, page: Page, service: Service) -> None:
        self.page = page
        self.service = service
        self.consent_text = ""

    def drive(self, run: Callable[[Callable[[str], str]], dict[str, Any]]) -> dict[str, Any]:
        asked: queue.Queue[str] = queue.Queue()
        answered: queue.Queue[str] = queue.Queue()
        outcome: dict[str, Any] = {}

        def client() -> None:
            try:
                outcome["reached"] = run(lambda url: (asked.put(url), answered.get(timeout=60))[1])
            except BaseException as exc:  # handed to the test's thread
                outcome["error"] = exc
            finally:
                asked.put("")

        worker = threading.Thread(target=client)
        worker.start()
        with _joined(worker):
            while url := asked.get(timeout=120):
                answered.put(self.approve(url))
        if "error" in outcome:
            raise outcome["error"]
        return dict(outcome["reached"])

    def approve(self, authorization_url: str) -> str:
        page = self.page
        page.goto(authorization_url)
        page.locator('input[autocomplete="username"]').fill(USERNAME)
        page.locator('input[autocomplete="current-password"]').fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        allow = page.get_by_role("button", name="Allow", exact=True)
        expect(allow).to_be_visible()
        self.consent_text = page.locator("body").inner_text()
        with page.expect_request(lambda request: request.url.startswith(REDIRECT_URI)) as redirected:
            allow.click()
        return redirected.value.url


@contextmanager
def _joined(worker: threading.Thread) -> Iterator[None]:
    try:
        yield
    finally:
        worker.join(timeout=120)
