"""Accounts people run themselves, in real headless Chromium against a real service and a real SMTP server:
sign up, confirm the address from the mailed link, sign in to a client, forget and reset the password, manage
the connected apps. The client is Authlib's; every link is the one the mail carried."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from playwright.sync_api import Page, expect

from .support.browser import callback_server
from .support.mail import Mailbox, link_in, smtp_server
from .support.servers import service_environment
from .support.services import PACKAGE, run_module, running_service

NEW_USER = "dinah"
ADDRESS = "dinah@example.com"
FIRST_PASSWORD = "a cat named dinah in wonderland"
SECOND_PASSWORD = "through the looking glass again"


def field(page: Page, autocomplete: str) -> Any:
    return page.locator(f'input[autocomplete="{autocomplete}"]')


def submit(page: Page, autocomplete: str) -> None:
    """Submit the form that holds the field marked AUTOCOMPLETE."""
    page.locator(f'form:has(input[autocomplete="{autocomplete}"]) button[type="submit"]').first.click()


def sign_in_to_client(page: Page, base_url: str, client_id: str, redirect_uri: str, password: str) -> dict[str, Any]:
    """The code flow with PKCE: the login page, the consent page, the tokens."""
    verifier = generate_token(48)
    scope = "openid profile email"
    with OAuth2Client(client_id, redirect_uri=redirect_uri, scope=scope, code_challenge_method="S256") as party:
        url, state = party.create_authorization_url(f"{base_url}/authorize", code_verifier=verifier)
        page.goto(url)
        if field(page, "current-password").count():
            field(page, "username").fill(NEW_USER)
            field(page, "current-password").fill(password)
            page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(lambda address: address.startswith(redirect_uri + "?"))
        token = dict(
            party.fetch_token(f"{base_url}/token", authorization_response=page.url, code_verifier=verifier, state=state)
        )
        token["userinfo"] = party.get(f"{base_url}/userinfo").json()
    return token


def refreshed(base_url: str, client_id: str, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return httpx.post(f"{base_url}/token", data=form)


@pytest.mark.parametrize(("storage", "token_store"), [("sqlite", "database"), ("postgresql", "redis")])
def test_a_person_signs_up_verifies_resets_ends_a_sign_in_and_withdraws_a_client_with_no_operator(
    make_project: Callable[..., Path], tmp_path: Path, page: Page, storage: str, token_store: str
) -> None:
    answers = {"storage": storage, "token_store": token_store} if storage != "sqlite" else {}
    project = Path(shutil.copytree(make_project(**answers), tmp_path / "service"))
    with (
        smtp_server() as mailbox,
        service_environment(storage, token_store) as servers,
        callback_server() as (
            redirect_uri,
            callbacks,
        ),
    ):
        env = {**servers, "ALLOW_REGISTRATION": "true", "SMTP_URL": mailbox.url, "MAIL_RETRY_SECONDS": "0"}
        with running_service(project, PACKAGE, env) as base_url:
            client = _register_client(project, env, redirect_uri)
            _sign_up_and_verify(page, base_url, mailbox)
            first = sign_in_to_client(page, base_url, client, redirect_uri, FIRST_PASSWORD)
            assert first["userinfo"]["email"] == ADDRESS
            assert first["userinfo"]["email_verified"] is True

            _forget_and_reset(page, base_url, mailbox)
            refused = refreshed(base_url, client, first["refresh_token"])
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_grant"
            assert (
                httpx.get(
                    f"{base_url}/protected", headers={"Authorization": f"Bearer {first['access_token']}"}
                ).status_code
                == 401
            )

            second = sign_in_to_client(page, base_url, client, redirect_uri, SECOND_PASSWORD)
            renewed = refreshed(base_url, client, second["refresh_token"])
            assert renewed.status_code == 200
            _end_sign_in(page, base_url, "Mail Reader")
            assert refreshed(base_url, client, renewed.json()["refresh_token"]).status_code == 400

            third = sign_in_to_client(page, base_url, client, redirect_uri, SECOND_PASSWORD)
            _withdraw(page, base_url, "Mail Reader", client)
            withdrawn = refreshed(base_url, client, third["refresh_token"])
            assert withdrawn.status_code == 400
            assert withdrawn.json()["error"] == "invalid_grant"
    assert len(callbacks) == 3


def _register_client(project: Path, env: dict[str, str], redirect_uri: str) -> str:
    options = ["--public", "--redirect-uri", redirect_uri, "--grant-type", "authorization_code"]
    options += ["--grant-type", "refresh_token", "--scope", "openid", "--scope", "profile", "--scope", "email"]
    result = run_module(project, PACKAGE, "create-client", "Mail Reader", *options, "--json", env=env)
    assert result.returncode == 0, result.stderr
    client_id: str = json.loads(result.stdout)["client_id"]
    return client_id


def _sign_up_and_verify(page: Page, base_url: str, mailbox: Mailbox) -> None:
    page.goto(f"{base_url}/sign-up")
    field(page, "username").fill(NEW_USER)
    field(page, "email").fill(ADDRESS)
    field(page, "new-password").fill(FIRST_PASSWORD)
    submit(page, "new-password")
    expect(page.locator("main")).to_contain_text("e-mail")
    verification = mailbox.wait_for(ADDRESS, "Confirm your e-mail address")
    link = link_in(verification)
    assert link.startswith(f"{base_url}/verify-email?token=")
    page.goto(link)
    page.locator('form button[type="submit"]').first.click()
    expect(page.locator("main")).to_contain_text("confirmed")


def _forget_and_reset(page: Page, base_url: str, mailbox: Mailbox) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/forgot-password")
    page.locator('input[name="login"]').fill(ADDRESS)
    page.locator('form:has(input[name="login"]) button[type="submit"]').click()
    expect(page.locator("main")).to_contain_text("e-mail")
    link = link_in(mailbox.wait_for(ADDRESS, "Reset your password"))
    assert link.startswith(f"{base_url}/reset-password?token=")
    page.goto(link)
    field(page, "new-password").fill(SECOND_PASSWORD)
    submit(page, "new-password")
    expect(page.locator("main")).to_contain_text("changed")
    mailbox.wait_for(ADDRESS, "Your password was changed")


def _end_sign_in(page: Page, base_url: str, client_name: str) -> None:
    page.goto(f"{base_url}/account")
    signed_in = page.locator("section", has=page.get_by_role("heading", name="Signed-in apps and devices"))
    expect(signed_in).to_contain_text(client_name)
    signed_in.get_by_role("button", name="End this sign-in").click()
    expect(page.locator("main")).to_contain_text("That sign-in has ended")
    expect(signed_in).to_contain_text("No app or device renews a sign-in of yours.")


def _withdraw(page: Page, base_url: str, client_name: str, client_id: str) -> None:
    page.goto(f"{base_url}/account")
    expect(page.locator("main")).to_contain_text(client_name)
    app = page.locator(f'form[action$="/account/apps/withdraw"]:has(input[name="client_id"][value="{client_id}"])')
    app.get_by_role("button", name="Withdraw").click()
    expect(page.locator("main")).not_to_contain_text(client_name)
