"""Signing in with another provider, in real headless Chromium: one generated service is the upstream OpenID
Provider of a second one, which offers "Sign in with Corp" on its login page. A new user signs in through it
into a client of the second service, comes back later as the same user, and the provider's answer cannot be
used twice; a user of both links the two accounts on the account page and then signs in with Corp. The client is Authlib's; the ID tokens are read by PyJWT."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from playwright.sync_api import Page, expect

from .support.browser import callback_server
from .support.ports import free_port
from .support.services import PACKAGE, PASSWORD, run_module, running_service

UPSTREAM_USER = "carol"
UPSTREAM_EMAIL = "carol@corp.example"
# A user of both services, whose accounts are linked on the account page.
LOCAL_USER = "dave"


def test_a_user_of_one_generated_service_signs_in_to_another_through_it(
    make_project: Callable[..., Path], tmp_path: Path, page: Page
) -> None:
    rendered = make_project()
    upstream_project = Path(shutil.copytree(rendered, tmp_path / "corp"))
    service_project = Path(shutil.copytree(rendered, tmp_path / "service"))
    service_port = free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    corp_callback = f"{service_url}/upstream/corp/callback"

    created = run_module(
        upstream_project,
        PACKAGE,
        "create-user",
        UPSTREAM_USER,
        "--password",
        PASSWORD,
        "--email",
        UPSTREAM_EMAIL,
        "--email-verified",
    )
    assert created.returncode == 0, created.stderr
    scopes = ["--scope", "openid", "--scope", "profile", "--scope", "email"]
    registered = run_module(
        upstream_project, PACKAGE, "create-client", "Our service", "--redirect-uri", corp_callback, *scopes, "--json"
    )
    assert registered.returncode == 0, registered.stderr
    at_corp = json.loads(registered.stdout)

    # Two hosts, so that the browser keeps each service's cookies apart (cookies do not tell ports apart).
    with (
        running_service(upstream_project, PACKAGE, issuer_host="localhost") as corp_url,
        callback_server() as (
            redirect_uri,
            callbacks,
        ),
    ):
        provider = {
            "name": "corp",
            "kind": "oidc",
            "display_name": "Corp",
            "issuer": corp_url,
            "client_id": at_corp["client_id"],
            "client_secret": at_corp["client_secret"],
        }
        env = {"UPSTREAM_PROVIDERS": json.dumps([provider]), "ALLOW_REGISTRATION": "true"}
        client_id = _register_client(service_project, env, redirect_uri)
        with running_service(service_project, PACKAGE, env, port=service_port) as base_url:
            assert base_url == service_url
            first, callback_url = _sign_in_through_corp(page, base_url, client_id, redirect_uri, password=True)
            claims = jwt.decode(first["id_token"], options={"verify_signature": False})
            assert claims["amr"] == ["fed"]
            assert first["userinfo"]["preferred_username"] == UPSTREAM_USER
            assert first["userinfo"]["email"] == UPSTREAM_EMAIL
            # Corp vouched for the address; this service verifies it only with a link of its own.
            assert first["userinfo"]["email_verified"] is False

            # The provider's answer, brought back again, signs no one in.
            page.goto(callback_url)
            expect(page.locator("main")).to_contain_text("cannot be finished")

            # Later, signed out of this service but still signed in at Corp: the same user, without a password.
            page.context.clear_cookies(domain="127.0.0.1")
            again, _ = _sign_in_through_corp(page, base_url, client_id, redirect_uri, password=False)
            assert again["userinfo"]["sub"] == first["userinfo"]["sub"]

            page.goto(f"{base_url}/account")
            linked = page.locator("section", has=page.get_by_role("heading", name="Sign in with another account"))
            expect(linked).to_contain_text(UPSTREAM_EMAIL)

            # A user of this service links their Corp account on the account page, then signs in with it.
            for project in (upstream_project, service_project):
                made = run_module(project, PACKAGE, "create-user", LOCAL_USER, "--password", PASSWORD, env=env)
                assert made.returncode == 0, made.stderr
            page.context.clear_cookies()
            _link_corp_on_the_account_page(page, base_url)
            page.context.clear_cookies(domain="127.0.0.1")
            linked_user, _ = _sign_in_through_corp(page, base_url, client_id, redirect_uri, password=False)
            assert linked_user["userinfo"]["preferred_username"] == LOCAL_USER
            assert linked_user["userinfo"]["sub"] != first["userinfo"]["sub"]
    assert len(callbacks) == 3


def _link_corp_on_the_account_page(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/account")
    page.locator('input[autocomplete="username"]').fill(LOCAL_USER)
    page.locator('input[autocomplete="current-password"]').fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    link = page.locator("form", has=page.get_by_role("button", name="Link a Corp account"))
    link.locator('input[autocomplete="current-password"]').fill(PASSWORD)
    link.get_by_role("button", name="Link a Corp account").click()
    # At Corp: its login page, then its consent page for this service.
    page.locator('input[autocomplete="username"]').fill(LOCAL_USER)
    page.locator('input[autocomplete="current-password"]').fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Allow", exact=True).click()
    expect(page.locator("main")).to_contain_text("You can now sign in with that account too.")


def _register_client(project: Path, env: dict[str, str], redirect_uri: str) -> str:
    options = [
        "--public",
        "--redirect-uri",
        redirect_uri,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "email",
    ]
    result = run_module(project, PACKAGE, "create-client", "Mail Reader", *options, "--json", env=env)
    assert result.returncode == 0, result.stderr
    client_id: str = json.loads(result.stdout)["client_id"]
    return client_id


def _sign_in_through_corp(
    page: Page, base_url: str, client_id: str, redirect_uri: str, *, password: bool
) -> tuple[dict[str, Any], str]:
    """The code flow of the service's client, signing in with Corp: the tokens with the userinfo, and the URL
    Corp sent the browser back to."""
    verifier = generate_token(48)
    scope = "openid profile email"
    answers: list[str] = []
    page.on(
        "request", lambda request: answers.append(request.url) if "/upstream/corp/callback" in request.url else None
    )
    with OAuth2Client(client_id, redirect_uri=redirect_uri, scope=scope, code_challenge_method="S256") as party:
        url, state = party.create_authorization_url(f"{base_url}/authorize", code_verifier=verifier)
        page.goto(url)
        page.get_by_role("link", name="Sign in with Corp").click()
        if password:
            # Corp's own login page; signed in there already, the browser goes straight on.
            page.locator('input[autocomplete="username"]').fill(UPSTREAM_USER)
            page.locator('input[autocomplete="current-password"]').fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
        # Corp's consent page, for this service; then this service's, for its client.
        expect(page.locator("main")).to_contain_text("Our service")
        page.get_by_role("button", name="Allow", exact=True).click()
        expect(page.locator("main")).to_contain_text("Mail Reader")
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(lambda address: address.startswith(redirect_uri + "?"))
        token = dict(
            party.fetch_token(f"{base_url}/token", authorization_response=page.url, code_verifier=verifier, state=state)
        )
        token["userinfo"] = party.get(f"{base_url}/userinfo").json()
    assert len(answers) == 1, answers
    return token, answers[0]
