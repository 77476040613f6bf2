"""Generated services against third-party OAuth2 clients: Authlib finds every endpoint in the RFC 8414
metadata alone, and a user signs in and consents in real headless Chromium."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from playwright.sync_api import Page, expect

from .support.browser import callback_server, hidden_fields
from .support.services import PACKAGE, PASSWORD, USERNAME, run_module, running_service

# Never contacted: the HTTP-only flow reads the redirect from the Location header.
DASHBOARD_REDIRECT_URI = "https://dashboard.example.com/callback"
ALL_GRANT_TYPES = ("authorization_code", "client_credentials", "password", "refresh_token")
INTROSPECTION_FIELDS = {"active", "scope", "client_id", "sub", "exp", "iat", "aud", "iss", "jti", "token_type"}


@dataclass(frozen=True)
class Service:
    project: Path
    base_url: str
    metadata: dict[str, Any]

    def register_client(self, name: str, *options: str) -> dict[str, Any]:
        result = run_module(self.project, PACKAGE, "create-client", name, *options, "--json")
        assert result.returncode == 0, result.stderr
        credentials: dict[str, Any] = json.loads(result.stdout)
        return credentials


@pytest.fixture
def boot(make_project: Callable[..., Path], tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Boot a private copy of a rendered project (booting writes keys and a database into it),
    with a user who may have every scope."""
    with ExitStack() as running:

        def start(**answers: object) -> Service:
            project = Path(shutil.copytree(make_project(**answers), tmp_path / "service"))
            scopes = ("--scope", "profile", "--scope", "reports:read")
            created = run_module(project, PACKAGE, "create-user", USERNAME, "--password", PASSWORD, *scopes)
            assert created.returncode == 0, created.stderr
            base_url = running.enter_context(running_service(project, PACKAGE))
            response = httpx.get(f"{base_url}/.well-known/oauth-authorization-server")
            assert response.status_code == 200, response.text
            metadata = response.json()
            assert metadata["issuer"] == base_url
            return Service(project, base_url, metadata)

        yield start


@pytest.fixture
def service(boot: Callable[..., Service]) -> Service:
    return boot()


@pytest.fixture
def dashboard(service: Service) -> Iterator[OAuth2Client]:
    """A confidential client registered for every grant and scope, authenticating with HTTP Basic."""
    options = ["--redirect-uri", DASHBOARD_REDIRECT_URI, "--scope", "profile", "--scope", "reports:read"]
    for grant_type in ALL_GRANT_TYPES:
        options += ["--grant-type", grant_type]
    credentials = service.register_client("Reports Dashboard", *options)
    with OAuth2Client(
        credentials["client_id"],
        credentials["client_secret"],
        scope="profile reports:read",
        redirect_uri=DASHBOARD_REDIRECT_URI,
        code_challenge_method="S256",
    ) as client:
        assert client.token_endpoint_auth_method == "client_secret_basic"
        yield client


def protected(service: Service, access_token: str) -> httpx.Response:
    return httpx.get(f"{service.base_url}/protected", headers={"Authorization": f"Bearer {access_token}"})


def introspect(service: Service, client: OAuth2Client, token: str) -> dict[str, Any]:
    response = client.introspect_token(service.metadata["introspection_endpoint"], token=token)
    assert response.status_code == 200, response.text
    description: dict[str, Any] = response.json()
    return description


def oauth_error(call: Callable[[], object]) -> str:
    with pytest.raises(OAuthError) as raised:
        call()
    return str(raised.value.error)


def test_metadata_announces_what_clients_need(service: Service) -> None:
    metadata = service.metadata
    for endpoint in ("authorization", "token", "revocation", "introspection"):
        assert metadata[f"{endpoint}_endpoint"].startswith(service.base_url + "/")
    assert set(ALL_GRANT_TYPES) <= set(metadata["grant_types_supported"])
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]


def test_client_credentials_token_belongs_to_the_client(service: Service, dashboard: OAuth2Client) -> None:
    token = dashboard.fetch_token(service.metadata["token_endpoint"], grant_type="client_credentials")

    assert "refresh_token" not in token
    assert token["token_type"].lower() == "bearer"
    description = introspect(service, dashboard, token["access_token"])
    assert set(description) == INTROSPECTION_FIELDS
    assert description["active"] is True
    assert description["client_id"] == dashboard.client_id
    # A subject no username can be (RFC 9068 §5): a user named like the client is someone else.
    assert description["sub"] == "client:" + dashboard.client_id
    assert description["iss"] == service.metadata["issuer"]
    assert description["scope"] == "profile reports:read"
    assert protected(service, token["access_token"]).json()["message"] == (
        f"Hello, client:{dashboard.client_id}! This is a protected route."
    )

    with OAuth2Client(
        dashboard.client_id, dashboard.client_secret, token_endpoint_auth_method="client_secret_post"
    ) as posting:
        posted = posting.fetch_token(service.metadata["token_endpoint"], grant_type="client_credentials")
    assert introspect(service, dashboard, posted["access_token"])["sub"] == "client:" + dashboard.client_id


def test_only_a_client_allowed_to_introspect_learns_of_other_clients_tokens(
    service: Service, dashboard: OAuth2Client
) -> None:
    token = dashboard.fetch_token(service.metadata["token_endpoint"], username=USERNAME, password=PASSWORD)
    endpoint = service.metadata["introspection_endpoint"]
    allowed = service.register_client("Reports API", "--grant-type", "client_credentials", "--introspect")
    other = service.register_client("Other app", "--grant-type", "client_credentials")

    with OAuth2Client(allowed["client_id"], allowed["client_secret"]) as resource_server:
        described = resource_server.introspect_token(endpoint, token=token["access_token"]).json()
    with OAuth2Client(other["client_id"], other["client_secret"]) as stranger:
        hidden = [
            stranger.introspect_token(endpoint, token=token[kind]).json() for kind in ("access_token", "refresh_token")
        ]

    assert described["active"] is True
    assert described["sub"] == USERNAME
    assert described["client_id"] == dashboard.client_id
    assert hidden == [{"active": False}, {"active": False}]


def test_password_grant_tokens_reach_the_protected_resource(service: Service, dashboard: OAuth2Client) -> None:
    token = dashboard.fetch_token(service.metadata["token_endpoint"], username=USERNAME, password=PASSWORD)

    assert token["refresh_token"]
    assert token["scope"] == "profile reports:read"
    response = protected(service, token["access_token"])
    assert response.status_code == 200, response.text
    assert response.json() == {"message": f"Hello, {USERNAME}! This is a protected route."}
    assert introspect(service, dashboard, token["access_token"])["client_id"] == dashboard.client_id

    wrong = oauth_error(
        lambda: dashboard.fetch_token(service.metadata["token_endpoint"], username=USERNAME, password="wrong")
    )
    assert wrong == "invalid_grant"


def test_refresh_rotates_and_a_replay_revokes_the_grant(service: Service, dashboard: OAuth2Client) -> None:
    token_endpoint = service.metadata["token_endpoint"]
    first = dict(dashboard.fetch_token(token_endpoint, username=USERNAME, password=PASSWORD))

    second = dict(dashboard.refresh_token(token_endpoint, refresh_token=first["refresh_token"]))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert protected(service, second["access_token"]).status_code == 200

    # Presented again at once by its own client (a retry after a lost answer): the grace period
    # gives it a working pair of the same grant.
    retried = dict(dashboard.refresh_token(token_endpoint, refresh_token=first["refresh_token"]))
    assert protected(service, retried["access_token"]).status_code == 200

    # The rotated token presented by another client looks stolen: it is refused and the whole grant ends.
    thief = service.register_client("Thief", "--grant-type", "refresh_token")
    with OAuth2Client(thief["client_id"], thief["client_secret"]) as stranger:
        replayed = oauth_error(lambda: stranger.refresh_token(token_endpoint, refresh_token=first["refresh_token"]))
    assert replayed == "invalid_grant"
    for pair in (second, retried):
        assert protected(service, pair["access_token"]).status_code == 401
        assert introspect(service, dashboard, pair["access_token"]) == {"active": False}
        newest = oauth_error(
            lambda pair=pair: dashboard.refresh_token(token_endpoint, refresh_token=pair["refresh_token"])
        )
        assert newest == "invalid_grant"


def test_revoking_the_refresh_token_ends_its_grant(service: Service, dashboard: OAuth2Client) -> None:
    token = dashboard.fetch_token(service.metadata["token_endpoint"], username=USERNAME, password=PASSWORD)
    assert introspect(service, dashboard, token["refresh_token"])["active"] is True

    revoked = dashboard.revoke_token(
        service.metadata["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token"
    )

    assert revoked.status_code == 200, revoked.text
    assert introspect(service, dashboard, token["access_token"]) == {"active": False}
    assert introspect(service, dashboard, token["refresh_token"]) == {"active": False}
    assert protected(service, token["access_token"]).status_code == 401
    again = dashboard.revoke_token(service.metadata["revocation_endpoint"], token=token["refresh_token"])
    assert again.status_code == 200, "revoking an unknown token is not an error (RFC 7009 §2.2)"


def test_introspection_reveals_nothing_to_strangers(service: Service, dashboard: OAuth2Client) -> None:
    endpoint = service.metadata["introspection_endpoint"]
    token = dashboard.fetch_token(service.metadata["token_endpoint"], grant_type="client_credentials")

    assert introspect(service, dashboard, "garbage") == {"active": False}
    assert introspect(service, dashboard, token["access_token"] + "x") == {"active": False}

    anonymous = httpx.post(endpoint, data={"token": token["access_token"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    with OAuth2Client(dashboard.client_id, "not the secret") as impostor:
        assert impostor.introspect_token(endpoint, token=token["access_token"]).status_code == 401


def test_authorization_code_over_plain_http_and_a_code_replay(service: Service, dashboard: OAuth2Client) -> None:
    verifier = generate_token(48)
    url, state = dashboard.create_authorization_url(service.metadata["authorization_endpoint"], code_verifier=verifier)

    with httpx.Client() as browser:
        login_url, login_fields = hidden_fields(browser.get(url), "/login")
        # The form's CSRF token is derived from the browser's pre-sign-in id, never a copy of the cookie.
        assert login_fields["csrf_token"] and login_fields["csrf_token"] != browser.cookies["pre_sign_in"]
        assert login_fields["state"] == state
        signed_in = browser.post(login_url, data={**login_fields, "username": USERNAME, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(signed_in.headers["location"])
        assert "Reports Dashboard" in consent.text
        consent_url, consent_fields = hidden_fields(consent, "/authorize")
        decided = browser.post(consent_url, data={**consent_fields, "decision": "approve"})
    assert decided.status_code == 303, decided.text
    callback = decided.headers["location"]
    assert callback.startswith(DASHBOARD_REDIRECT_URI + "?")

    token_endpoint = service.metadata["token_endpoint"]
    token = dict(
        dashboard.fetch_token(token_endpoint, authorization_response=callback, code_verifier=verifier, state=state)
    )
    assert token["refresh_token"]
    assert protected(service, token["access_token"]).json()["message"] == (
        f"Hello, {USERNAME}! This is a protected route."
    )

    replayed = oauth_error(
        lambda: dashboard.fetch_token(token_endpoint, authorization_response=callback, code_verifier=verifier)
    )
    assert replayed == "invalid_grant"
    # RFC 6749 §4.1.2: the tokens already issued from a code used twice are revoked.
    assert protected(service, token["access_token"]).status_code == 401


@dataclass(frozen=True)
class PhotoApp:
    """A public client (a native app with a loopback redirect URI) and its pending authorization."""

    service: Service
    client: OAuth2Client
    redirect_uri: str
    received: list[str]
    authorization_url: str
    state: str
    verifier: str


@pytest.fixture
def photo_app(boot: Callable[..., Service]) -> Iterator[PhotoApp]:
    service = boot(jwt_algorithm="ES256")
    with callback_server() as (redirect_uri, received):
        options = ("--public", "--redirect-uri", redirect_uri, "--scope", "profile")
        credentials = service.register_client("Photo App", *options)
        assert "client_secret" not in credentials
        with OAuth2Client(
            credentials["client_id"], redirect_uri=redirect_uri, scope="profile", code_challenge_method="S256"
        ) as client:
            verifier = generate_token(48)
            url, state = client.create_authorization_url(
                service.metadata["authorization_endpoint"], code_verifier=verifier
            )
            yield PhotoApp(service, client, redirect_uri, received, url, state, verifier)


def sign_in_to_consent(page: Page, app: PhotoApp) -> None:
    page.goto(app.authorization_url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow Photo App to access your account?")
    expect(page.get_by_role("checkbox", name="Remember this decision")).not_to_be_checked()


def wait_for_callback(page: Page, app: PhotoApp) -> dict[str, list[str]]:
    page.wait_for_url(lambda url: url.startswith(app.redirect_uri + "?"))
    expect(page.locator("body")).to_have_text("done")
    query = urlsplit(page.url).query
    assert app.received == [query]
    return parse_qs(query)


def test_browser_user_allows_and_the_public_client_gets_tokens(photo_app: PhotoApp, page: Page, tmp_path: Path) -> None:
    app = photo_app
    sign_in_to_consent(page, app)
    expect(page.locator("ul.scopes li")).to_have_count(1)
    expect(page.locator("ul.scopes li")).to_contain_text("Read your user profile (profile)")
    screenshot = tmp_path / "consent.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 5_000

    page.get_by_role("button", name="Allow", exact=True).click()
    query = wait_for_callback(page, app)

    assert query["state"] == [app.state]
    token = app.client.fetch_token(
        app.service.metadata["token_endpoint"],
        authorization_response=page.url,
        code_verifier=app.verifier,
        state=app.state,
    )
    assert token["scope"] == "profile"
    response = protected(app.service, token["access_token"])
    assert response.status_code == 200, response.text
    assert response.json() == {"message": f"Hello, {USERNAME}! This is a protected route."}


def test_browser_user_denies_and_the_client_hears_access_denied(photo_app: PhotoApp, page: Page) -> None:
    app = photo_app
    sign_in_to_consent(page, app)

    page.get_by_role("button", name="Deny", exact=True).click()
    query = wait_for_callback(page, app)

    assert query["error"] == ["access_denied"]
    assert query["state"] == [app.state]
    assert "code" not in query
