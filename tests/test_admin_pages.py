"""Operating a generated service without a shell on its machine, in real headless Chromium against a real
service: an operator signs in, finds and disables a user, registers a client and copies its credentials once;
automation reads what they did from the admin API."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from .support.services import PACKAGE, run_module, running_service

OPERATOR = "root"
OTHER = "bob"
PASSWORD = "an operator's long passphrase"


def test_an_operator_disables_a_user_and_registers_a_client_in_the_browser(
    make_project: Callable[..., Path], tmp_path: Path, page: Page
) -> None:
    project = Path(shutil.copytree(make_project(), tmp_path / "service"))
    for name, scopes in ((OPERATOR, ["--scope", "admin"]), (OTHER, ["--scope", "reports:read"])):
        created = run_module(project, PACKAGE, "create-user", name, "--password", PASSWORD, *scopes)
        assert created.returncode == 0, created.stderr
    with running_service(project, PACKAGE) as base_url:
        others_token = _password_token(base_url, OTHER)
        page.goto(f"{base_url}/admin")
        expect(page.locator("main")).to_contain_text("Sign in on your account page")
        page.get_by_role("link", name="Go to your account page").click()
        page.locator('input[autocomplete="username"]').fill(OPERATOR)
        page.locator('input[autocomplete="current-password"]').fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("link", name="Administration").click()

        page.locator('input[name="q"]').fill(OTHER)
        page.get_by_role("button", name="Search").click()
        page.get_by_role("button", name=f"Disable {OTHER}").click()
        expect(page.locator("main")).to_contain_text("The user is disabled")
        expect(page.get_by_role("button", name=f"Enable {OTHER}")).to_be_visible()
        assert httpx.get(f"{base_url}/protected", headers=_bearer(others_token)).status_code == 401

        page.locator('input[name="name"]').fill("Nightly reports")
        page.locator('input[name="grant_type"][value="authorization_code"]').uncheck()
        page.locator('input[name="grant_type"][value="client_credentials"]').check()
        page.locator('input[name="scope"][value="reports:read"]').check()
        page.get_by_role("button", name="Register").click()
        client_id = page.locator("#client-id").inner_text()
        secret = page.locator("#client-secret").inner_text()
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        job = httpx.post(f"{base_url}/token", data=form)
        assert job.status_code == 200, job.text
        page.reload()
        expect(page.locator("main")).to_contain_text("Nightly reports")
        assert secret not in page.content()

        operators_token = _password_token(base_url, OPERATOR, scope="admin")
        events = httpx.get(f"{base_url}/admin/events", headers=_bearer(operators_token), params={"actor": "user:root"})
        assert events.status_code == 200, events.text
        done = {(event["type"], event["subject"]) for event in events.json()["items"]}
        assert {("user.disabled", OTHER), ("client.created", client_id)} <= done


def _password_token(base_url: str, username: str, **extra: str) -> str:
    form = {"grant_type": "password", "username": username, "password": PASSWORD, **extra}
    answer = httpx.post(f"{base_url}/token", data=form)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
